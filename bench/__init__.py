"""codecbench.

Numba (used by the ViSQOL and librosa backends) compiles its kernels on first use; pointing its
cache at a known folder in the per-user cache (before anything imports numba) makes that a
one-time cost shared by every worker process and every later run, instead of ~10-20 s per process.
"""

from bench import procenv as _procenv
from bench.resources import cache_dir as _cache_dir

_procenv.set_default("NUMBA_CACHE_DIR", str(_cache_dir() / "numba"))
