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


def environment() -> dict[str, Any]:
    return {"python": sys.version.split()[0], "platform": platform.platform(),
            "packages": package_versions(), "resampler": RESAMPLER}
