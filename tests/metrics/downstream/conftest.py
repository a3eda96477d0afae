"""Downstream-metric tests run offline; librosa/numba compile once into the repo's cache."""

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parents[3] / "reports" / "cache" / "numba"))
