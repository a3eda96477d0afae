"""One unit of work: an (item, codec setting) pair -> rows. Independent, so it can run anywhere.

Workers keep codec and metric instances per process (models load once), and every failure
becomes rows with NaN and the reason instead of an exception.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from bench.adapters.base import CodecOptions, CodecSetting
from bench.audio import Audio, AudioPolicy, load_audio, resample
from bench.errors import BenchError
from bench.metrics import MetricContext, metric_class
from bench.metrics.base import Metric
from bench.metrics.measure import measure, short_error
from bench.pipeline import identity
from bench.pipeline.align import align
from bench.pipeline.tokens import save_tokens
from bench.suites.items import Item

#: metric name for the measured bitrate row (payload bits / input seconds)
KBPS = "kbps"


@dataclass(frozen=True)
class RunOptions:
    """How a run executes, passed explicitly to every worker (not through the environment)."""

    #: run neural codecs with random-init weights when none are found (labelled untrained)
    allow_untrained: bool = False
    #: torch device for neural codecs
    device: str = "cpu"
    #: per-unit time limit in seconds; None: 20 x the item's duration + 300 s; 0: no limit
    timeout: float | None = None
    #: modules imported in the parent and in every worker before any work, to register extra
    #: codecs/metrics/corpus loaders (e.g. the test suite's fault-injecting metric)
    plugins: tuple[str, ...] = ()

    @property
    def codec_options(self) -> CodecOptions:
        return CodecOptions(allow_untrained=self.allow_untrained, device=self.device)


@dataclass
class UnitSpec:
    """Everything a worker needs, picklable: no live models cross the process boundary."""

    suite: str
    setting: CodecSetting  # parsed once by the runner: workers never re-read the cards
    metrics: list[str]
    context: MetricContext
    policy: AudioPolicy = field(default_factory=AudioPolicy)
    options: RunOptions = field(default_factory=RunOptions)
    save_audio: bool = False  # keep RUN/audio/LABEL/ITEM.wav (decoded, aligned: what was scored)


#: (rows, record): long-form metric rows and the unit's item-level record
UnitResult = tuple[list[dict[str, Any]], dict[str, Any]]


_CODECS: dict[tuple[str, CodecOptions], Any] = {}
_METRICS: dict[tuple[str, str], Metric] = {}


def _codec(setting: CodecSetting, options: CodecOptions):
    from bench.adapters import create_codec

    key = (setting.label, options)
    if key not in _CODECS:
        _CODECS[key] = create_codec(setting, options)
    return _CODECS[key]


def _metric(name: str, ctx: MetricContext) -> Metric:
    key = (name, ctx.suite_hash)
    if key not in _METRICS:
        _METRICS[key] = metric_class(name)(ctx)
    return _METRICS[key]


_short_error = short_error


def _base(spec: UnitSpec, item: Item) -> dict[str, Any]:
    s = spec.setting
    return {"suite": spec.suite, "item": item.id, "codec": s.card.name, "setting": s.setting, "label": s.label}


def failed_unit(spec: UnitSpec, item: Item, reason: str, base: dict[str, Any] | None = None) -> UnitResult:
    """Rows for a unit that produced nothing: every metric (and kbps) NaN with the reason."""
    if base is None:
        base = _base(spec, item)
    record = {**base, "error": reason}
    rows = [{**base, "metric": m, "value": math.nan, "weight": 1.0, "error": reason} for m in [KBPS, *spec.metrics]]
    return rows, record


def process_unit(spec: UnitSpec, item: Item) -> UnitResult:
    """Code one item with one codec and score it with every metric.

    Returns (rows, record): rows are long-form metric values; record holds the item-level facts
    (alignment, lengths, timings, error) that explain them.
    """
    setting = spec.setting
    base = _base(spec, item)
    record: dict[str, Any] = {**base, "error": None}
    try:
        reference = load_audio(item.path, spec.policy)
        codec = _codec(setting, spec.options.codec_options)
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
        if spec.save_audio:
            save_reconstruction(spec.context.run_dir, setting.label, item.id, estimate)
        record.update(alignment.as_dict(), duration=reference.duration, encode_s=t1 - t0,
                      decode_s=t2 - t1, kbps=payload.kbps)
    except Exception as exc:  # one item's failure must never abort the run
        rows, _ = failed_unit(spec, item, _short_error(exc), base)
        record["error"] = rows[0]["error"]
        return rows, record

    rows = [{**base, "metric": KBPS, "value": payload.kbps, "weight": reference.duration, "error": None}]
    for name in spec.metrics:
        rows.append({**base, "metric": name, **_score(name, spec.context, reference, estimate, item)})
    return rows, record


def save_reconstruction(run_dir, label: str, item_id: str, audio: Audio) -> None:
    """RUN/audio/LABEL/ITEM.wav, 16-bit PCM, for the report's listening section."""
    import soundfile as sf

    from bench.pipeline.rundir import audio_path

    path = audio_path(run_dir, label, item_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), audio.samples, audio.sample_rate, subtype="PCM_16")


def reconstruct(codec_spec: str, item: Item, policy: AudioPolicy | None = None,
                options: CodecOptions | None = None) -> tuple[Audio, Audio]:
    """(reference, aligned reconstruction) of one item, by the same steps as :func:`process_unit`;
    for re-decoding a few items to listen to (``bench report --listen``) without a new run."""
    from bench.adapters import parse_setting

    reference = load_audio(item.path, policy or AudioPolicy())
    codec = _codec(parse_setting(codec_spec), options if options is not None else CodecOptions.from_env())
    decoded = codec.decode(codec.encode(resample(reference, codec.sample_rate)))
    estimate, _ = align(reference, resample(decoded, reference.sample_rate))
    return reference, estimate


def _score(name: str, ctx: MetricContext, reference: Audio, estimate: Audio, item: Item) -> dict[str, Any]:
    # ``seconds``: wall time of this metric on this item (resampling and first-call model loading
    # included), so benchmarks/pipeline_speed.py can say where a run's time goes.
    t0 = time.perf_counter()
    try:
        metric = _metric(name, ctx)
    except Exception as exc:  # a metric that cannot even be built fails its rows, not the unit
        return {"value": math.nan, "weight": 1.0, "error": _short_error(exc),
                "seconds": round(time.perf_counter() - t0, 6)}
    # the original row's identity scores are computed once per suite (bench/pipeline/identity.py)
    fields = measure(metric, reference=reference, estimate=estimate, item=item, scorer=identity.score).row_fields()
    return {**fields, "seconds": round(time.perf_counter() - t0, 6)}
