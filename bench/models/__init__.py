"""Pretrained models used by downstream metrics (ASR, speaker embeddings), behind small interfaces.

Every loader works from local files only and verifies what it loads (sha256), so a score can say
exactly which model made it; a missing model raises UnavailableError saying how to provide one.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=32)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_file(path: Path) -> str:
    """sha256 of a model file, memoised per process by (path, size, mtime)."""
    st = Path(path).stat()
    return _sha256_cached(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


def dist_version(dist: str) -> str:
    """Installed version of a distribution, or 'missing' (recorded with every score)."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "missing"
