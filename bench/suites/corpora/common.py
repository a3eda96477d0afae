"""Helpers shared by corpus loaders: where a corpus is looked for and what to say when it is not."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bench.errors import ConfigError


def corpus_root_env(suite: str) -> str:
    """Per-suite override variable, e.g. ``BENCH_DATA_LIBRISPEECH_TEST_CLEAN``."""
    return "BENCH_DATA_" + re.sub(r"[^A-Za-z0-9]+", "_", suite).upper().strip("_")


def how_to_get(suite: str, entry: dict[str, Any]) -> str:
    """One sentence telling a user how to obtain the corpus (download command or licence holder)."""
    source = entry.get("source") or {}
    if source.get("fetch"):
        return f"download it with `bench data fetch {suite}` ({', '.join(a['url'] for a in source.get('archives', []))})"
    how = source.get("how") or "see datasets.yaml"
    holder = source.get("licence_holder")
    return f"{how}" + (f" (licence holder: {holder})" if holder else "")


def missing_corpus_message(suite: str, entry: dict[str, Any], root: Path) -> str:
    return (
        f"suite {suite!r}: corpus not found at {root}. "
        f"Get it: {how_to_get(suite, entry)}; then point $BENCH_DATA at the folder holding it "
        f"or set ${corpus_root_env(suite)} to the corpus root itself. `bench data check {suite}` shows what is looked for."
    )


def require(path: Path, what: str, root: Path) -> Path:
    """A file/folder the layout must have; the error names it and the layout it belongs to."""
    if not path.exists():
        raise ConfigError(f"{path}: missing {what} (expected inside corpus root {root}; is the corpus complete and in its original layout?)")
    return path


def nonempty(items: list, root: Path, what: str) -> list:
    if not items:
        raise ConfigError(f"{root}: no {what} found (is this the corpus root, in its original layout?)")
    return items
