"""One unit of work: one or a batch of items with one codec setting -> rows. Independent, so it can
run anywhere.

Workers keep codec and metric instances per process (models load once), and every failure
becomes rows with NaN and the reason instead of an exception. A unit of several items (``--batch
N``) is coded in one call where the codec batches in runs (neural codecs on CUDA: one padded
forward pass) and scored in one call where the metric batches (GE2E, Whisper); everything else
runs item by item inside it.
An item that fails fails alone, with its own reason: a batch call that raises is redone item by
item. A batch of one runs exactly the item-by-item code, so ``--batch 1`` (the default) gives
the item-by-item values.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

from bench.adapters.base import CodecOptions, CodecSetting
from bench.audio import Audio, AudioPolicy, load_audio, load_audio_facts, resample
from bench.config import RunConfig
from bench.errors import BenchError
from bench.metrics import MetricContext, metric_class
from bench.metrics.base import Metric
from bench.metrics.measure import AlignedPair, measure, measure_batch, short_error
from bench.pipeline import identity
from bench.pipeline.align import align
from bench.pipeline.delay import SettingDelay
from bench.pipeline.tokens import save_tokens
from bench.rows import KBPS
from bench.suites.items import Item



#: a unit's options are its run's config (every worker gets the whole record); tests and scripts
#: import it under this name
RunOptions = RunConfig


@dataclass
class WorkUnit:
    """What a worker needs to code and score items with one codec setting, all but the items
    themselves (:class:`~bench.pipeline.executors.Unit` pairs it with them); picklable: no live
    models cross the process boundary."""

    suite: str
    setting: CodecSetting  # parsed once by the runner: workers never re-read the cards
    metrics: list[str]
    context: MetricContext
    policy: AudioPolicy = field(default_factory=AudioPolicy)
    options: RunConfig = field(default_factory=RunConfig)
    save_audio: bool = False  # keep RUN/audio/LABEL/ITEM.wav (decoded, aligned: what was scored)
    #: ``setting``: every item shifted by ``delay``; ``item``: each by its own lag (bench/pipeline/align.py)
    align: str = "setting"
    #: the setting's delay, fixed by the runner before any unit starts (bench/pipeline/delay.py)
    delay: SettingDelay | None = None
    metrics_all: tuple[str, ...] = ()  # a crashed unit's parts: the whole unit's metrics
    #: metrics added to items this run already coded and scored (a run extended with new metrics):
    #: the unit writes only those metrics' rows (its kbps row and record are on disk already) and
    #: scores the reconstruction ``--save-audio`` kept, running the codec only where none was kept
    extend: bool = False
    #: the setting's weights status from the manifest ("trained"/"untrained"; "" for classical
    #: codecs): labels the rows of an extension that never builds the codec
    weights: str = ""


#: (rows, record) of one item: long-form metric rows and the item-level record
UnitResult = tuple[list[dict[str, Any]], dict[str, Any]]


_CODECS: dict[tuple[str, CodecOptions], Any] = {}
_METRICS: dict[tuple[Any, ...], Metric] = {}


def _codec(setting: CodecSetting, options: CodecOptions):
    from bench.adapters import create_codec

    key = (setting.label, options)
    if key not in _CODECS:
        _CODECS[key] = create_codec(setting, options)
    return _CODECS[key]


def _metric(name: str, ctx: MetricContext) -> Metric:
    # keyed by the whole context, not the suite alone: a process that runs two runs of one suite
    # (the inline executor, benchmarks) must not write the second run's files into the first's
    key = (name, ctx.suite_hash, str(ctx.cache_dir), str(ctx.run_dir), ctx.model_options)
    if key not in _METRICS:
        _METRICS[key] = metric_class(name)(ctx)
    return _METRICS[key]


_short_error = short_error


def _base(work: WorkUnit, item: Item) -> dict[str, Any]:
    s = work.setting
    return {"suite": work.suite, "item": item.id, "codec": s.card.name, "setting": s.bitrate_text, "label": s.label}


def failed_unit(work: WorkUnit, item: Item, reason: str, base: dict[str, Any] | None = None) -> UnitResult:
    """Rows for a unit that produced nothing: every metric (and kbps) NaN with the reason."""
    if base is None:
        base = _base(work, item)
    record = {**base, "error": reason}
    metrics = work.metrics if work.extend else [KBPS, *work.metrics]  # an extension's kbps row is on disk
    rows = [{**base, "metric": m, "value": math.nan, "weight": 1.0, "error": reason} for m in metrics]
    return rows, None if work.extend else record


@dataclass
class _Coded:
    """One item's codec round trip; ``batch``: how many items that encode/decode call held."""

    payload: Any
    decoded: Audio
    encode_s: float
    decode_s: float
    batch: int = 1


def _code(codec, audios: list[Audio]) -> list[_Coded | Exception]:
    """Encode and decode: several items in one call each where the codec batches in runs (neural
    codecs on CUDA; its seconds shared out by length), else item by item (each timed on its own);
    and item by item when a batch call raises, so that an item the codec cannot take fails alone
    with its own reason."""
    if len(audios) > 1 and codec.batch_in_runs:
        try:
            t0 = time.perf_counter()
            payloads = codec.encode_batch(audios)
            t1 = time.perf_counter()
            decoded = codec.decode_batch(payloads)
            t2 = time.perf_counter()
        except Exception:
            pass
        else:
            total = sum(len(a) for a in audios) or 1
            return [_Coded(p, d, (t1 - t0) * len(a) / total, (t2 - t1) * len(a) / total, len(audios))
                    for p, d, a in zip(payloads, decoded, audios)]
    out: list[_Coded | Exception] = []
    for audio in audios:
        try:
            t0 = time.perf_counter()
            payload = codec.encode(audio)
            t1 = time.perf_counter()
            decoded = codec.decode(payload)
            out.append(_Coded(payload, decoded, t1 - t0, time.perf_counter() - t1))
        except Exception as exc:  # one item's failure must never abort the others
            out.append(exc)
    return out


def process_unit(work: WorkUnit, items: Sequence[Item]) -> list[UnitResult]:
    """Code the items with one codec and score each with every metric.

    Returns one (rows, record) per item, in the order given: rows are long-form metric values;
    record holds the item-level facts (alignment, lengths, timings, batch size, error) that
    explain them.
    """
    setting = work.setting
    bases = [_base(work, item) for item in items]
    records: list[dict[str, Any]] = [{**base, "error": None} for base in bases]
    results: dict[int, UnitResult] = {}

    def fail(i: int, exc: BaseException) -> None:
        reason = _short_error(exc)
        rows, _ = failed_unit(work, items[i], reason, bases[i])
        records[i]["error"] = reason
        results[i] = (rows, None if work.extend else records[i])

    references: dict[int, Audio] = {}
    for i, item in enumerate(items):
        try:
            references[i], facts = load_audio_facts(item.path, work.policy)
            records[i].update(facts.as_record())
        except Exception as exc:
            fail(i, exc)
    pairs: dict[int, AlignedPair] = {}
    if work.extend:  # new metrics for coded items: the kept reconstruction, where it is exact
        for i in list(references):
            if work.weights:
                bases[i]["weights"] = work.weights
            try:
                kept = saved_reconstruction(work.context.run_dir, setting.label, items[i].id, references[i])
            except Exception:  # an unreadable kept file: code the item again instead
                kept = None
            if kept is not None:
                pairs[i] = AlignedPair(references.pop(i), kept, items[i])
    inputs: dict[int, Audio] = {}
    try:
        codec = _codec(setting, work.options.codec_options) if references else None
    except Exception as exc:
        for i in references:
            fail(i, exc)
        references = {}
    for i in references:
        records[i]["codec_weights"] = codec.weights_info.get("status", "")
        if records[i]["codec_weights"]:  # neural codecs: "trained" / "untrained" on every row
            bases[i]["weights"] = records[i]["codec_weights"]
        try:
            inputs[i] = resample(references[i], codec.sample_rate)
        except Exception as exc:
            fail(i, exc)

    for i, coded in zip(inputs, _code(codec, list(inputs.values()))):
        item, reference = items[i], references[i]
        if isinstance(coded, Exception):
            fail(i, coded)
            continue
        try:
            # an extension codes an item again only to score new metrics: the token file the run
            # wrote with the item's kbps row stays the one token statistics read
            save_tokens(work.context.run_dir, setting.label, item.id, coded.payload, keep_existing=work.extend)
            if len(coded.decoded) == 0:
                raise BenchError(f"{item.path}: codec {setting.label} returned no samples")
            recon = resample(coded.decoded, reference.sample_rate)
            delay = work.delay.at(reference.sample_rate) if work.delay is not None else None
            estimate, alignment = align(reference, recon, delay=delay, per_item=work.align == "item")
            if work.save_audio:
                save_reconstruction(work.context.run_dir, setting.label, item.id, estimate)
            records[i].update(alignment.as_dict(), setting_delay=delay, duration=reference.duration,
                              encode_s=coded.encode_s,
                              decode_s=coded.decode_s, kbps=coded.payload.kbps, batch=coded.batch)
        except Exception as exc:  # one item's failure must never abort the run
            fail(i, exc)
            continue
        pairs[i] = AlignedPair(reference, estimate, item)

    rows = {i: [] if work.extend else [{**bases[i], "metric": KBPS, "value": records[i]["kbps"],
                                         "weight": pairs[i].reference.duration, "error": None}] for i in pairs}
    order = sorted(pairs)  # item order, whichever way each pair was made
    for name in work.metrics:
        for i, fields in zip(order, _score(name, work.context, [pairs[i] for i in order])):
            rows[i].append({**bases[i], "metric": name, **fields})
    results.update({i: (rows[i], None if work.extend else records[i]) for i in pairs})
    return [results[i] for i in range(len(items))]


def save_reconstruction(run_dir, label: str, item_id: str, audio: Audio) -> None:
    """RUN/audio/LABEL/ITEM.wav: the aligned reconstruction exactly as it was scored (32-bit float,
    the pipeline's own sample format), so a metric added to the run later scores these very
    samples without running the codec again; reports and listening tests read it too."""
    import soundfile as sf

    from bench.pipeline.rundir import audio_path

    path = audio_path(run_dir, label, item_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), audio.samples, audio.sample_rate, subtype="FLOAT")


def saved_reconstruction(run_dir, label: str, item_id: str, reference: Audio) -> Audio | None:
    """The reconstruction :func:`save_reconstruction` kept for this item, or None where there is
    none that is exactly what was scored: absent, 16-bit (rounded, so not the float samples that
    were scored), or not at the reference's rate and length."""
    import soundfile as sf

    from bench.pipeline.rundir import audio_path

    path = audio_path(run_dir, label, item_id)
    if not path.is_file():
        return None
    info = sf.info(str(path))
    if info.subtype != "FLOAT" or info.channels != 1 or info.samplerate != reference.sample_rate \
            or info.frames != len(reference):
        return None
    samples, rate = sf.read(str(path), dtype="float32")
    return Audio(samples, rate, str(path))


def reconstruct(label: str, item: Item, policy: AudioPolicy | None = None,
                options: CodecOptions | None = None, manifest: dict[str, Any] | None = None) -> tuple[Audio, Audio]:
    """(reference, aligned reconstruction) of one item, by the same steps as :func:`process_unit`;
    for re-decoding a few items to listen to (``bench report --listen``) without a new run.

    ``manifest``: the run's, whose alignment mode and setting delay are applied, so the audio is
    what that run scored; a run that recorded neither (or none given) aligned each item by its own lag.
    ``options``: how to build the codec; None: as the manifest's config built it (device, weights
    policy, checkpoints; :func:`run_codec_options`), not as this process's environment would.
    """
    from bench.adapters import parse_setting

    mode, delay = run_alignment(manifest or {}, label)
    reference = load_audio(item.path, policy or AudioPolicy())
    codec = _codec(parse_setting(label), options if options is not None else run_codec_options(manifest or {}))
    decoded = codec.decode(codec.encode(resample(reference, codec.sample_rate)))
    at = delay.at(reference.sample_rate) if delay is not None else None
    estimate, _ = align(reference, resample(decoded, reference.sample_rate), delay=at, per_item=mode == "item")
    return reference, estimate


def run_codec_options(manifest: dict[str, Any]) -> CodecOptions:
    """How a run built its codecs, from its manifest (``config``; a manifest without ``config``:
    ``execution``'s device, every other option at its default)."""
    if manifest.get("config"):
        return RunConfig.from_dict(manifest["config"]).codec_options
    return CodecOptions(device=(manifest.get("execution") or {}).get("device", "cpu"))


def run_alignment(manifest: dict[str, Any], label: str) -> tuple[str, SettingDelay | None]:
    """(alignment mode, setting delay) a run manifest records for one codec setting; a manifest
    that records neither is of a run that aligned each item by its own lag: ``("item", None)``."""
    mode = (manifest.get("execution") or {}).get("align", "item")
    recorded = ((manifest.get("codecs") or {}).get(label) or {}).get("delay")
    return mode, SettingDelay.from_dict(recorded) if recorded else None


def _score(name: str, ctx: MetricContext, pairs: list[AlignedPair]) -> list[dict[str, Any]]:
    """One metric's row fields for each pair: in one call where the metric batches, else one by one."""
    # ``seconds``: wall time of this metric on this item (resampling and first-call model loading
    # included), so benchmarks/pipeline_speed.py can say where a run's time goes; a batch's time is
    # shared out by duration.
    t0 = time.perf_counter()
    try:
        metric = _metric(name, ctx)
    except Exception as exc:  # a metric that cannot even be built fails its rows, not the unit
        failed = {"value": math.nan, "weight": 1.0, "error": _short_error(exc),
                  "seconds": round(time.perf_counter() - t0, 6)}
        return [dict(failed) for _ in pairs]
    if metric.batch_scoring and len(pairs) > 1:
        measured = measure_batch(metric, pairs)
        took, total = time.perf_counter() - t0, sum(p.reference.duration for p in pairs) or 1.0
        return [{**m.row_fields(), "seconds": round(took * p.reference.duration / total, 6)}
                for m, p in zip(measured, pairs)]
    out = []
    for pair in pairs:
        # the original row's identity scores are computed once per suite (bench/pipeline/identity.py)
        fields = measure(metric, reference=pair.reference, estimate=pair.estimate, item=pair.item,
                         scorer=identity.score).row_fields()
        out.append({**fields, "seconds": round(time.perf_counter() - t0, 6)})
        t0 = time.perf_counter()
    return out
