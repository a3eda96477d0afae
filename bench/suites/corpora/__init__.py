"""Corpus loaders: read public/licensed evaluation corpora in their original on-disk layouts.

Each module registers one loader (``format:`` in datasets.yaml). Importing this package registers
them all; :mod:`bench.suites` imports it so every suite format is known when suites load.
"""

from __future__ import annotations

from bench.suites.corpora import commonvoice, fisher, librispeech, spgispeech, voxceleb, voxpopuli  # noqa: F401
from bench.suites.corpora.common import corpus_root_env, missing_corpus_message

__all__ = ["corpus_root_env", "missing_corpus_message"]
