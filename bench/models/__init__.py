"""Pretrained models used by downstream metrics (ASR, speaker embeddings), behind small interfaces.

Every loader works from local files only and verifies what it loads (sha256), so a score can say
exactly which model made it; a missing model raises UnavailableError saying how to provide one.
"""

from __future__ import annotations

import importlib.metadata

from bench.checksums import sha256_file

__all__ = ["device_key", "dist_version", "sha256_file"]


def dist_version(dist: str) -> str:
    """Installed version of a distribution, or 'missing' (recorded with every score)."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "missing"


def device_key(key: str, device: str) -> str:
    """A model's cache key on ``device``: outputs on a GPU differ from the CPU's in the last bits, so
    the suite cache of the originals keeps them apart (CPU keys stay as they always were)."""
    return key if device == "cpu" else f"{key}-{device.replace(':', '')}"
