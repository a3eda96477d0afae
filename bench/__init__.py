"""codecbench.

Numba (used by the ViSQOL and librosa backends) compiles its kernels on first use; pointing its
cache at a known folder under the repo (before anything imports numba) makes that a one-time
cost shared by every worker process and every later run, instead of ~10-20 s per process.
"""

import os as _os
from pathlib import Path as _Path

_os.environ.setdefault("NUMBA_CACHE_DIR", str(_Path(__file__).resolve().parents[1] / "reports" / "cache" / "numba"))
