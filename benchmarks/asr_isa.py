"""Does Whisper tiny.en (CTranslate2) transcribe the same on another CPU? Measured here by forcing
the instruction set CTranslate2 dispatches to (CT2_FORCE_CPU_ISA: a stand-in for "another CPU")
per compute type, with MKL's conditional bitwise reproducibility (MKL_CBWR) pinned.

Each setting runs in its own process (the variables are read when ctranslate2 loads) over the
demo originals; prints seconds, corpus WER and how many transcripts differ from the AVX512 run of
the same compute type. Usage: python benchmarks/asr_isa.py [N_CLIPS]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = [("int8", "AVX512"), ("int8", "AVX2"), ("float32", "AVX512"), ("float32", "AVX2")]

CHILD = r"""
import json, sys, time
import numpy as np
from bench.suites import load_suite
from bench.audio import load_audio, resample
from bench.models import asr
from bench.metrics.downstream.text import word_errors
compute, n = sys.argv[1], int(sys.argv[2])
items = load_suite("demo").items[:n]
m = asr.WhisperCT2(asr.default_whisper_dir(), expected_sha256=asr.TINY_EN_SHA256, name="whisper-tiny.en", compute_type=compute)
audios = [resample(load_audio(it.path), 16000) for it in items]
t = time.perf_counter()
out = [m.transcribe(a) for a in audios]
sec = time.perf_counter() - t
errs = [word_errors(it.text, h) for it, h in zip(items, out)]
wer = 100 * sum(e.errors for e in errs) / sum(e.reference_length for e in errs)
print(json.dumps({"seconds": sec, "wer": wer, "hyp": out}))
"""


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 96
    results = {}
    for compute, isa in SETTINGS:
        env = {**os.environ, "CT2_FORCE_CPU_ISA": isa, "MKL_CBWR": "COMPATIBLE", "PYTHONPATH": str(ROOT),
               "OMP_NUM_THREADS": "1"}
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", CHILD, compute, str(n)], env=env, capture_output=True, text=True)
        if out.returncode:
            print(compute, isa, "failed:", out.stderr[-800:])
            continue
        results[(compute, isa)] = json.loads(out.stdout.strip().splitlines()[-1])
        r = results[(compute, isa)]
        print(f"{compute:8s} {isa:7s} {r['seconds']:7.1f} s for {n} clips, WER {r['wer']:.2f} %  "
              f"(wall {time.perf_counter() - t:.0f} s)", flush=True)
    for compute in ("int8", "float32"):
        a, b = results.get((compute, "AVX512")), results.get((compute, "AVX2"))
        if a and b:
            diff = sum(x != y for x, y in zip(a["hyp"], b["hyp"]))
            print(f"{compute}: {diff} of {n} transcripts differ between AVX512 and AVX2; "
                  f"WER {a['wer']:.2f} vs {b['wer']:.2f}")
    a, b = results.get(("int8", "AVX512")), results.get(("float32", "AVX512"))
    if a and b:
        print(f"float32 / int8 time: {b['seconds'] / a['seconds']:.2f}x; "
              f"{sum(x != y for x, y in zip(a['hyp'], b['hyp']))} of {n} transcripts differ int8 vs float32")


if __name__ == "__main__":
    main()
