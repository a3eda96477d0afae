"""Real-time factor of each metric on the demo suite, in one run.

    .venv/bin/python benchmarks/metric_speed.py [--limit N] [--codec opus@6] [--metric NAME ...]

For each metric: the first call (imports, model load, numba JIT or its disk cache) is timed on its
own as "first_s", on a 1 s excerpt of the first pair, so that per-process memos of a pair (spectral.py's
STFTs, pitch.py's CREPE tracks) do not make the warm pass look cheaper; the RTF is then metric
seconds / audio seconds over all clips, warm, in this one process (the runner spreads items over
both cores, so a run's wall time is about half of this). "CPU RTF" is the process's CPU seconds per
audio second over the same pass: on a shared machine it is the figure that load does not inflate.
Estimates are real codec output (default Opus 6 kbps), aligned as `bench run` aligns them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main(argv: list[str] | None = None) -> int:
    import bench  # noqa: F401  (sets NUMBA_CACHE_DIR before any backend imports numba)
    from bench.adapters import create_codec
    from bench.audio import load_audio, resample
    from bench.metrics import all_metrics
    from bench.pipeline.align import align
    from bench.suites import load_suite, select_items

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--suite", default="demo")
    p.add_argument("--limit", type=int, default=16, help="clips (default 16; 0 = whole suite)")
    p.add_argument("--codec", default="opus@6")
    p.add_argument("--metric", action="append", help="metric name(s); default: every available one")
    args = p.parse_args(argv)

    suite = load_suite(args.suite)
    items = select_items(suite.items, args.limit or None)
    codec = create_codec(args.codec)
    pairs = []
    for item in items:
        ref = load_audio(item.path, suite.policy)
        est = resample(codec.decode(codec.encode(resample(ref, codec.sample_rate))), ref.sample_rate)
        pairs.append((ref, align(ref, est)[0]))
    audio_s = sum(r.duration for r, _ in pairs)
    names = args.metric or [n for n, c in all_metrics().items() if c.availability() is None and not c.requires]
    print(f"{len(pairs)} clips, {audio_s:.1f} s of audio, {args.codec}, 1 process, NUMBA_CACHE_DIR="
          f"{os.environ.get('NUMBA_CACHE_DIR')}")
    print(f"| metric | first_s | warm_s | RTF | CPU RTF | failed |\n|---|---:|---:|---:|---:|---:|")
    for name in names:
        metric = all_metrics()[name]()
        rate = metric.sample_rate
        prepared = [(resample(r, rate), resample(e, rate)) if rate else (r, e) for r, e in pairs]
        t0 = time.perf_counter()
        failed = 0
        try:
            ref0, est0 = prepared[0]
            n = min(len(ref0), ref0.sample_rate)
            metric.score(reference=ref0.with_samples(ref0.samples[:n]), estimate=est0.with_samples(est0.samples[:n]))
        except Exception:
            failed += 1
        first = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), time.process_time()
        for ref, est in prepared:
            try:
                metric.score(reference=ref, estimate=est)
            except Exception:
                failed += 1
        warm, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(f"| {name} | {first:.2f} | {warm:.2f} | {warm / audio_s:.4f} | {cpu / audio_s:.4f} | {failed} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
