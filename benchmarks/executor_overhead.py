"""What crash/hang isolation costs: the same run in worker processes vs in this process.

    .venv/bin/python benchmarks/executor_overhead.py [--limit N] [--codec opus@6] [--metric snr]

Runs one `bench run` with the ``local`` executor (one worker process, as ``--jobs 1`` now does:
a segfault or hang costs one unit, not the run) and once with ``inline`` (no isolation), into
fresh temporary directories, and prints both wall times and their ratio, measured in this one
invocation. The difference is mostly the worker's start-up (a spawned interpreter importing
codecbench); per unit it adds one pipe round trip. Values are checked identical.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main(argv: list[str] | None = None) -> int:
    import pandas as pd

    from bench.pipeline.runner import run

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit", type=int, default=24)
    p.add_argument("--codec", default="opus@6")
    p.add_argument("--metric", action="append", default=None)
    args = p.parse_args(argv)
    metrics = args.metric or ["snr"]
    times, results = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        run([args.codec], "demo", metrics, out=Path(tmp) / "warm", limit=2, jobs=1, progress=False,
            executor="inline")  # imports and disk caches warm for both timed runs
        for name in ("inline", "local"):
            t0 = time.perf_counter()
            results[name] = run([args.codec], "demo", metrics, out=Path(tmp) / name, limit=args.limit, jobs=1,
                                progress=False, executor=name)
            times[name] = time.perf_counter() - t0
    pd.testing.assert_frame_equal(results["inline"].summary, results["local"].summary)
    print(f"{args.limit} items x {args.codec}, metrics {', '.join(metrics)}, --jobs 1")
    print(f"inline (no isolation)  {times['inline']:7.2f} s")
    print(f"local (worker process) {times['local']:7.2f} s")
    print(f"ratio local / inline   {times['local'] / times['inline']:7.2f}  (values identical)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
