"""Batched vs one by one, in one run: GE2E, Whisper and the neural codecs (``bench run --batch N``).

    .venv/bin/python benchmarks/batch_speed.py [--limit 24] [--batch 8] [--codec ours,encodec@6,dac@6]
        [--codec-limit 8] [--codec-seconds 3] [--part ge2e,whisper,codecs,run]

The first ``--limit`` demo clips are grouped as ``bench run --batch N`` groups them (by duration)
and each group is processed one by one and as one batch, alternately (odd groups batch first), so
that both see the same load; printed per model: the summed seconds of each, their ratio, and how
far the batched outputs are from the one-by-one ones (embeddings: max abs difference; Whisper:
transcripts equal; codecs: tokens equal and max abs difference of the decoded samples, overall and
before the last 0.2 s of each item). One thread, as the runner's workers run.

The neural codecs have random weights (no trained checkpoint ships; built as ``--allow-untrained``
does, labelled untrained): their speed is real, their outputs are not speech. Codec clips are the
first ``--codec-limit`` clips cut to ``--codec-seconds`` (DAC runs at ~2x real time on one core).

``--part run`` runs ``bench run`` twice on the ``--limit`` clips (``--batch 1`` and ``--batch N``,
inline, one process) with opus@6 and the codecs, and prints per (codec, metric) the max abs
difference of the rows and the two wall times. On the CPU runs code neural codecs one by one
(batches are slower here); ``--coded-batches`` makes them code batches as a CUDA run does, to
measure what batched coding changes in the rows.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parents[1] / "reports" / "cache" / "numba"))

RUN_METRICS = ["si-sdr", "snr", "stoi", "pesq-wb", "mel-distance", "stft-distance", "spk-sim", "eer", "wer"]


def _alternate(groups, alone, together):
    """Seconds of ``alone(group)`` and ``together(group)`` summed over groups, run alternately, and
    both outputs (flattened in group order)."""
    t_alone = t_together = 0.0
    out_alone, out_together = [], []
    for k, group in enumerate(groups):
        order = ((alone, 0), (together, 1)) if k % 2 == 0 else ((together, 1), (alone, 0))
        for fn, which in order:
            t0 = time.perf_counter()
            result = fn(group)
            took = time.perf_counter() - t0
            if which == 0:
                t_alone += took
                out_alone += result
            else:
                t_together += took
                out_together += result
    return t_alone, t_together, out_alone, out_together


def _line(name: str, t_alone: float, t_together: float, note: str) -> None:
    print(f"{name:12s} one by one {t_alone:8.2f} s   batched {t_together:8.2f} s   "
          f"one-by-one / batched {t_alone / t_together:5.2f}   {note}", flush=True)


def ge2e(groups) -> None:
    import numpy as np

    from bench.metrics.downstream.speaker import speaker_model

    model = speaker_model()
    model.embed(groups[0][0])  # load and JIT outside the timing
    ta, tb, a, b = _alternate(groups, lambda g: [model.embed(x) for x in g], model.embed_batch)
    diff = max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))
    same = sum(np.array_equal(x, y) for x, y in zip(a, b))
    _line("GE2E", ta, tb, f"max |embedding diff| {diff:.2g}, bit-identical {same}/{len(a)}")


def whisper(groups) -> None:
    from bench.metrics.downstream.asr import asr_model

    model = asr_model()
    model.transcribe(groups[0][0])
    ta, tb, a, b = _alternate(groups, lambda g: [model.transcribe(x) for x in g], model.transcribe_batch)
    _line("Whisper", ta, tb, f"transcripts equal {sum(x == y for x, y in zip(a, b))}/{len(a)}")


def codecs(labels: list[str], clips, size: int, seconds: float) -> None:
    import numpy as np

    from bench.adapters import create_codec
    from bench.adapters.base import CodecOptions
    from bench.audio import resample

    for label in labels:
        codec = create_codec(label, CodecOptions(allow_untrained=True))
        xs = [resample(c, codec.sample_rate) for c in clips]
        xs = [x.with_samples(x.samples[: int(seconds * x.sample_rate)]) for x in xs]
        order = sorted(range(len(xs)), key=lambda i: len(xs[i]))  # as bench run groups them
        groups = [[xs[i] for i in order[k:k + size]] for k in range(0, len(order), size)]
        codec.decode(codec.encode(xs[0]))  # first-call set-up outside the timing

        def alone(g):
            return [(p, codec.decode(p)) for p in (codec.encode(x) for x in g)]

        def together(g):
            payloads = codec.encode_batch(g)
            return list(zip(payloads, codec.decode_batch(payloads)))

        ta, tb, a, b = _alternate(groups, alone, together)
        tokens = np.mean([np.mean(pa.data == pb.data) for (pa, _), (pb, _) in zip(a, b)]) * 100
        diff = max(float(np.max(np.abs(da.samples - db.samples))) for (_, da), (_, db) in zip(a, b))
        tail = int(0.2 * codec.sample_rate)
        body = max(float(np.max(np.abs(da.samples[:-tail] - db.samples[:-tail])) if len(da) > tail else 0.0)
                   for (_, da), (_, db) in zip(a, b))
        _line(label, ta, tb, f"tokens equal {tokens:.2f} %, max |sample diff| {diff:.2g} "
                            f"({body:.2g} before each item's last 0.2 s)  [random weights]")


def runs(labels: list[str], limit: int, size: int, coded_batches: bool) -> None:
    import pandas as pd

    from bench.adapters.neural import NeuralCodec
    from bench.pipeline.runner import run

    if coded_batches:  # what a CUDA run does (NeuralCodec.batch_in_runs), on the CPU
        NeuralCodec.batch_in_runs = property(lambda self: self.batch_coding)

    with tempfile.TemporaryDirectory() as tmp:
        common = dict(limit=limit, jobs=1, progress=False, allow_untrained=True, executor="inline",
                      cache_dir=Path(tmp) / "cache")
        # suite cache, models and first calls warm for both timed runs
        run(["opus@6", *labels], "demo", RUN_METRICS, out=Path(tmp) / "warm", **{**common, "limit": 2})
        rows, wall = {}, {}
        for b in (1, size):
            t0 = time.perf_counter()
            result = run(["opus@6", *labels], "demo", RUN_METRICS, out=Path(tmp) / f"b{b}", batch=b, **common)
            wall[b] = time.perf_counter() - t0
            rows[b] = result.rows.set_index(["label", "item", "metric"])["value"].sort_index()
        diff = (rows[1] - rows[size]).abs().groupby(level=["label", "metric"]).max()
    how = "neural codecs coding batches" if coded_batches else "neural codecs one by one (CPU)"
    print(f"bench run, {limit} clips, {how}: --batch 1 {wall[1]:.1f} s, --batch {size} {wall[size]:.1f} s "
          f"(ratio {wall[1] / wall[size]:.2f}); max |row difference| per codec and metric "
          "(item rows and set-level '*' rows; NaN: failed in both):")
    with pd.option_context("display.max_rows", None, "display.float_format", "{:.3g}".format):
        print(diff.unstack("metric").to_string())


def main(argv: list[str] | None = None) -> int:
    from bench.audio import load_audio
    from bench.pipeline.executors import init_worker
    from bench.pipeline.runner import batches
    from bench.suites import load_suite

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit", type=int, default=24)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--codec", default="ours,encodec@6,dac@6")
    p.add_argument("--codec-limit", type=int, default=8)
    p.add_argument("--codec-seconds", type=float, default=3.0)
    p.add_argument("--part", default="ge2e,whisper,codecs")
    p.add_argument("--coded-batches", action="store_true", help="with --part run: neural codecs code batches")
    args = p.parse_args(argv)
    parts = set(args.part.split(","))
    init_worker()  # one thread, as in the runner's workers

    items = load_suite("demo").items[: args.limit]
    audio = {it.id: load_audio(it.path) for it in items}
    groups = [[audio[it.id] for it in g] for g in batches(items, args.batch)]
    total = sum(a.duration for a in audio.values())
    print(f"{len(items)} demo clips ({total:.0f} s), batches of {args.batch}, 1 thread; load average "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())} at start", flush=True)
    labels = [s for s in args.codec.split(",") if s]
    if "ge2e" in parts:
        ge2e(groups)
    if "whisper" in parts:
        whisper(groups)
    if "codecs" in parts:
        codecs(labels, list(audio.values())[: args.codec_limit], args.batch, args.codec_seconds)
    if "run" in parts:
        runs(labels, args.limit, args.batch, args.coded_batches)
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())} at the end", file=sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
