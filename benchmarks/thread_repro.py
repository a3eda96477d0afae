"""Do the metric backends give bit-identical values with 1 and 2 threads?

Each thread count runs in its own process (thread pools are sized when numpy/numba/torch load):
OMP/MKL/OpenBLAS/NUMBA thread variables and torch.set_num_threads. Pairs: N demo clips against a
soxr 8 kHz round trip plus seeded noise (deterministic). Prints, per metric, how many of N values
differ bitwise and the largest difference (soxr output and resemblyzer embeddings: by hash). Usage: python benchmarks/thread_repro.py [N] [METRIC ...]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
METRICS = ["visqol-speech", "pesq-wb", "stoi", "si-sdr"]

CHILD = r"""
import hashlib, json, sys
import numpy as np, torch
threads = int(sys.argv[1]); n = int(sys.argv[2]); names = sys.argv[3:]
torch.set_num_threads(threads)
from bench.audio import load_audio, resample
from bench.metrics import metric_class
from bench.scoring import score_pair
from bench.suites import load_suite
items = load_suite("demo").items[:n]
metrics = [metric_class(m)() for m in names]
from bench.models.speaker import load_speaker
spk = load_speaker()
out = {m: [] for m in names}; out["soxr"] = []; out["resemblyzer"] = []
for k, it in enumerate(items):
    ref = resample(load_audio(it.path), 16000)
    deg = resample(resample(ref, 8000), 16000)
    out["soxr"].append(hashlib.sha1(np.ascontiguousarray(deg.samples).tobytes()).hexdigest())
    noise = np.random.default_rng(k).normal(0, 0.003, len(deg.samples)).astype(deg.samples.dtype)
    est = deg.with_samples(deg.samples + noise)
    out["resemblyzer"].append(hashlib.sha1(np.ascontiguousarray(spk.embed(est), dtype=np.float32).tobytes()).hexdigest())
    for row in score_pair(ref, est, metrics):
        out[row["metric"]].append(float(row["value"]).hex())
print(json.dumps(out))
"""


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 12
    names = sys.argv[2:] or METRICS
    res = {}
    for threads in (1, 2):
        env = {**os.environ, "PYTHONPATH": str(ROOT), **{k: str(threads) for k in (
            "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")}}
        p = subprocess.run([sys.executable, "-c", CHILD, str(threads), str(n), *names], env=env,
                           capture_output=True, text=True)
        if p.returncode:
            sys.exit(f"threads={threads} failed: {p.stderr[-1500:]}")
        res[threads] = json.loads(p.stdout.strip().splitlines()[-1])
    for m in [*names, "soxr", "resemblyzer"]:
        a, b = res[1][m], res[2][m]
        diff = sum(x != y for x, y in zip(a, b))
        big = 0.0 if m in ("soxr", "resemblyzer") else max((abs(float.fromhex(x) - float.fromhex(y)) for x, y in zip(a, b)), default=0)
        print(f"{m:14s} 1 vs 2 threads: {diff} of {len(a)} values differ bitwise (max |diff| {big:.3g})")


if __name__ == "__main__":
    main()
