"""codecbench.

Numba (used by the ViSQOL and librosa backends) compiles its kernels on first use; pointing its
cache at a known folder under the repo (before anything imports numba) makes that a one-time
cost shared by every worker process and every later run, instead of ~10-20 s per process.
"""

from pathlib import Path as _Path

from bench import procenv as _procenv

_procenv.set_default("NUMBA_CACHE_DIR", str(_Path(__file__).resolve().parents[1] / "reports" / "cache" / "numba"))
