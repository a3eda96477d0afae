"""One unit of work: an (item, codec setting) pair -> rows. Independent, so it can run anywhere.

Workers keep codec and metric instances per process (models load once), and every failure
becomes rows with NaN and the reason instead of an exception.
"""

from __future__ import annotations

import math
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from bench.audio import Audio, AudioPolicy, load_audio, resample
from bench.errors import BenchError
from bench.metrics import MetricContext, Score, metric_class
from bench.metrics.base import Metric
from bench.pipeline import identity
from bench.pipeline.align import align
from bench.pipeline.tokens import save_tokens
from bench.suites.items import Item

#: metric name for the measured bitrate row (payload bits / input seconds)
KBPS = "kbps"


@dataclass
class UnitSpec:
    """Everything a worker needs, picklable: no live models cross the process boundary."""

    suite: str
    codec: str  # setting spec such as "opus@6"
    metrics: list[str]
    context: MetricContext
    policy: AudioPolicy = field(default_factory=AudioPolicy)


_CODECS: dict[str, Any] = {}
_METRICS: dict[tuple[str, str], Metric] = {}


def _codec(spec: str):
    from bench.adapters import create_codec

    if spec not in _CODECS:
        _CODECS[spec] = create_codec(spec)
    return _CODECS[spec]


def _metric(name: str, ctx: MetricContext) -> Metric:
    key = (name, ctx.suite_hash)
    if key not in _METRICS:
        _METRICS[key] = metric_class(name)(ctx)
    return _METRICS[key]


def _short_error(exc: BaseException) -> str:
    if isinstance(exc, BenchError):
        return str(exc)
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}"


def process_unit(spec: UnitSpec, item: Item) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Code one item with one codec and score it with every metric.

    Returns (rows, record): rows are long-form metric values; record holds the item-level facts
    (alignment, lengths, timings, error) that explain them.
    """
    from bench.adapters import parse_setting

    setting = parse_setting(spec.codec)
    base = {"suite": spec.suite, "item": item.id, "codec": setting.card.name,
            "setting": setting.setting, "label": setting.label}
    record: dict[str, Any] = {**base, "error": None}
    try:
        reference = load_audio(item.path, spec.policy)
        codec = _codec(spec.codec)
        record["codec_weights"] = codec.weights_info.get("status", "")
        if record["codec_weights"]:  # neural codecs: "trained" / "untrained" on every row
            base["weights"] = record["codec_weights"]
        x = resample(reference, codec.sample_rate)
        t0 = time.perf_counter()
        payload = codec.encode(x)
        t1 = time.perf_counter()
        decoded = codec.decode(payload)
        t2 = time.perf_counter()
        save_tokens(spec.context.run_dir, setting.label, item.id, payload)
        if len(decoded) == 0:
            raise BenchError(f"{item.path}: codec {setting.label} returned no samples")
        recon = resample(decoded, reference.sample_rate)
        estimate, alignment = align(reference, recon)
        record.update(alignment.as_dict(), duration=reference.duration, encode_s=t1 - t0,
                      decode_s=t2 - t1, kbps=payload.kbps)
    except Exception as exc:  # one item's failure must never abort the run
        reason = _short_error(exc)
        record["error"] = reason
        rows = [{**base, "metric": m, "value": math.nan, "weight": 1.0, "error": reason}
                for m in [KBPS, *spec.metrics]]
        return rows, record

    rows = [{**base, "metric": KBPS, "value": payload.kbps, "weight": reference.duration, "error": None}]
    for name in spec.metrics:
        rows.append({**base, "metric": name, **_score(name, spec.context, reference, estimate, item)})
    return rows, record


def _score(name: str, ctx: MetricContext, reference: Audio, estimate: Audio, item: Item) -> dict[str, Any]:
    # ``seconds``: wall time of this metric on this item (resampling and first-call model loading
    # included), so benchmarks/pipeline_speed.py can say where a run's time goes.
    t0 = time.perf_counter()
    try:
        metric = _metric(name, ctx)
        rate = metric.sample_rate
        ref, est = (reference, estimate) if rate is None else (resample(reference, rate), resample(estimate, rate))
        score = identity.score(metric, reference=ref, estimate=est, item=item)  # original row: once per suite
    except Exception as exc:
        score = Score.failed(_short_error(exc))
    if score.error is None and not math.isfinite(score.value):
        score = Score.failed(f"metric returned {score.value}")  # never a silent NaN
    out = {"value": score.value, "weight": score.weight, "error": score.error,
           "seconds": round(time.perf_counter() - t0, 6)}
    out.update({f"x_{k}": v for k, v in score.extra.items()})
    return out
