"""Import a package that imports ``torchaudio`` at module load only for file reading.

``torchcrepe`` (``torchcrepe/load.py``) and ``distillmos`` (``sqa.py``) import ``torchaudio`` at
the top of a module but call it only to read or resample files, which codecbench never asks them
to do (it hands them 16 kHz arrays). The registry's torchaudio is a CUDA build that cannot import
with the CPU torch pinned here, and no torchaudio release matches torch 2.13 (see
/work/shared/NOTES.md). So, when torchaudio cannot be imported, the package is imported with a
placeholder module in its place for the duration of that one import: every attribute access on the
placeholder raises :class:`UnavailableError`, so a code path that did need torchaudio fails loudly,
never silently. The placeholder is removed from ``sys.modules`` right after, so no other library
ever sees it (``importlib.util.find_spec("torchaudio")`` stays None). The models and weights are
the packages' own: nothing here stands in for them.
"""

from __future__ import annotations

import importlib
import sys
import types
from functools import lru_cache

from bench.errors import UnavailableError

NAMES = ("torchaudio", "torchaudio.transforms", "torchaudio.functional")


class _Absent(types.ModuleType):
    def __getattr__(self, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        raise UnavailableError(f"torchaudio.{attr}: torchaudio is not importable here (a CUDA build that does not "
                               "load with the CPU torch); codecbench passes arrays and never calls this path")


@lru_cache(maxsize=None)
def torchaudio_importable() -> bool:
    try:
        importlib.import_module("torchaudio")
        return True
    except Exception:  # ImportError, or OSError from a CUDA build's missing libc10_cuda.so
        for name in NAMES:
            sys.modules.pop(name, None)
        return False


def import_module(name: str, *, install: str) -> types.ModuleType:
    """``importlib.import_module(name)``, with a placeholder torchaudio when the real one cannot
    load. A missing package raises :class:`UnavailableError` naming it and ``install`` (how to get it)."""
    if name in sys.modules:
        return sys.modules[name]
    placed = []
    if not torchaudio_importable():
        for mod in NAMES:
            if mod not in sys.modules:
                sys.modules[mod] = _Absent(mod)
                placed.append(mod)
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        missing = (getattr(exc, "name", None) or name).split(".")[0]
        raise UnavailableError(f"missing Python package {missing!r} (needed by {name}); install it with: {install}") from exc
    finally:
        for mod in placed:
            sys.modules.pop(mod, None)
