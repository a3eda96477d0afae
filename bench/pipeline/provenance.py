"""What goes into a run manifest so any number can be traced to code, data, models and settings."""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.audio import RESAMPLER

PACKAGES = ("codecbench", "numpy", "scipy", "torch", "torchmetrics", "soundfile", "soxr", "av",
            "pycodec2", "pandas", "visqol-python", "pesq", "pystoi", "faster-whisper", "jiwer",
            "resemblyzer", "transformers", "nemo-toolkit", "lhotse")


def git_state(repo: Path) -> dict[str, Any]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                                  timeout=10, check=True).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    sha = git("rev-parse", "HEAD")
    return {"sha": sha or None, "dirty": bool(git("status", "--porcelain", "--untracked-files=no")) if sha else None}


def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


#: instruction-set flags that change which kernels numeric libraries dispatch to (CTranslate2,
#: oneDNN/MKL, numpy's SIMD), i.e. the ones that can change a float result from one CPU to another
ISA_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512dq",
             "avx512_vnni", "avx512_bf16", "amx_tile", "asimd", "sve")
#: environment variables that pin those kernels (recorded when set)
KERNEL_ENV = ("CT2_FORCE_CPU_ISA", "CT2_USE_MKL", "ONEDNN_MAX_CPU_ISA", "MKL_CBWR", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
              "NUMBA_NUM_THREADS")


def cpu_info(cpuinfo: Path = Path("/proc/cpuinfo")) -> dict[str, Any]:
    """CPU model, vendor, core count and the ISA flags that matter, so a gate can say 'baseline
    made on X, run on Y'. Linux reads /proc/cpuinfo; elsewhere platform's processor string."""
    import os

    model, vendor, flags = platform.processor() or platform.machine(), "", set()
    try:
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key in ("model name", "Model") and model in ("", platform.processor(), platform.machine()):
                model = value.strip()
            elif key == "vendor_id" and not vendor:
                vendor = value.strip()
            elif key in ("flags", "Features") and not flags:
                flags = set(value.split())
    except OSError:
        pass
    return {"model": model, "vendor": vendor, "machine": platform.machine(), "logical_cores": os.cpu_count(),
            "isa": [f for f in ISA_FLAGS if f in flags]}


def environment() -> dict[str, Any]:
    from bench import procenv

    return {"python": sys.version.split()[0], "platform": platform.platform(), "cpu": cpu_info(),
            "kernel_env": procenv.in_effect(KERNEL_ENV),
            "packages": package_versions(), "resampler": RESAMPLER}
