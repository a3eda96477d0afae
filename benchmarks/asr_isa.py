"""Does Whisper tiny.en (CTranslate2) transcribe the same on another CPU? Stand-ins for other CPUs
on this Intel AVX-512 machine: the kernel paths CTranslate2 would take there, forced by its
environment variables (read when ctranslate2 loads, so each setting runs in its own process):

- intel-avx512: what this Xeon does by default (MKL GEMM, AVX-512 kernels);
- intel-avx2:   an Intel CPU without AVX-512 (MKL, AVX2; MKL_CBWR=AVX2 pins MKL's branch);
- amd-avx2:     an AMD EPYC / any non-Intel CPU (oneDNN GEMM, AVX2) = codecbench's pinned default.

Prints CPU seconds and corpus WER per compute type and setting, and how many transcripts differ
between settings. Usage: python benchmarks/asr_isa.py [N_CLIPS]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CPUS = {"intel-avx512": {"CT2_USE_MKL": "1", "CT2_FORCE_CPU_ISA": "AVX512", "ONEDNN_MAX_CPU_ISA": "ALL"},
        "intel-avx2": {"CT2_USE_MKL": "1", "CT2_FORCE_CPU_ISA": "AVX2", "ONEDNN_MAX_CPU_ISA": "ALL", "MKL_CBWR": "AVX2"},
        "amd-avx2": {"CT2_USE_MKL": "0", "CT2_FORCE_CPU_ISA": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"}}
SETTINGS = [(ct, cpu) for ct in ("int8", "float32") for cpu in CPUS]

CHILD = r"""
import json, os, sys, time
import numpy as np
from bench.suites import load_suite
from bench.audio import load_audio, resample
from bench.models import asr
from bench.metrics.downstream.text import word_errors
compute, n = sys.argv[1], int(sys.argv[2])
items = load_suite("demo").items[:n]
kernels = {k: os.environ[k] for k in asr.REPRODUCIBLE_ENV if k in os.environ}  # this setting's, given explicitly
m = asr.WhisperCT2(asr.default_whisper_dir(), expected_sha256=asr.TINY_EN_SHA256, name="whisper-tiny.en", compute_type=compute,
                   kernels=kernels)
audios = [resample(load_audio(it.path), 16000) for it in items]
m.transcribe(audios[0])
t = time.process_time()
out = [m.transcribe(a) for a in audios]
sec = time.process_time() - t
errs = [word_errors(it.text, h) for it, h in zip(items, out)]
wer = 100 * sum(e.errors for e in errs) / sum(e.reference_length for e in errs)
print(json.dumps({"seconds": sec, "wer": wer, "hyp": out}))
"""


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 96
    results = {}
    for compute, isa in SETTINGS:
        env = {k: v for k, v in os.environ.items() if k not in ("MKL_CBWR", *CPUS["intel-avx2"])}
        env.update({**CPUS[isa], "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"})
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", CHILD, compute, str(n)], env=env, capture_output=True, text=True)
        if out.returncode:
            print(compute, isa, "failed:", out.stderr[-800:])
            continue
        results[(compute, isa)] = json.loads(out.stdout.strip().splitlines()[-1])
        r = results[(compute, isa)]
        print(f"{compute:8s} {isa:12s} {r['seconds']:7.1f} CPU s for {n} clips, WER {r['wer']:.2f} %  "
              f"(wall {time.perf_counter() - t:.0f} s)", flush=True)
    for compute in ("int8", "float32"):
        for a_name, b_name in (("intel-avx512", "intel-avx2"), ("intel-avx512", "amd-avx2"), ("intel-avx2", "amd-avx2")):
            a, b = results.get((compute, a_name)), results.get((compute, b_name))
            if a and b:
                diff = sum(x != y for x, y in zip(a["hyp"], b["hyp"]))
                print(f"{compute}: {diff} of {n} transcripts differ {a_name} vs {b_name} "
                      f"(WER {a['wer']:.2f} vs {b['wer']:.2f})")
    a, b = results.get(("int8", "intel-avx512")), results.get(("float32", "amd-avx2"))
    if a and b:
        print(f"pinned default (float32, amd-avx2) / old default (int8 on this Xeon) CPU time: "
              f"{b['seconds'] / a['seconds']:.2f}x; {sum(x != y for x, y in zip(a['hyp'], b['hyp']))} of {n} "
              f"transcripts differ")


if __name__ == "__main__":
    main()
