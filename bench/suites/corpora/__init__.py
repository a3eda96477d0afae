"""Corpus loaders: read public/licensed evaluation corpora in their original on-disk layouts.

Each module registers one loader (``format:`` in datasets.yaml). Importing this package imports
every public module in it (so a new corpus format is one new module, no list to edit);
:mod:`bench.suites` imports it so every suite format is known when suites load.
"""

from __future__ import annotations

import importlib
import pkgutil

from bench.suites.corpora.common import corpus_root_env, missing_corpus_message

for _mod in pkgutil.iter_modules(__path__):
    if not _mod.name.startswith("_") and _mod.name != "common":  # helpers, not formats
        importlib.import_module(f"{__name__}.{_mod.name}")

__all__ = ["corpus_root_env", "missing_corpus_message"]
