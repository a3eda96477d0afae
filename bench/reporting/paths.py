"""Paths as a committed report shows them: relative to the repository, or by package name.

A report is read on other machines; ``/work/main/.venv/lib/python3.11/site-packages/resemblyzer/
pretrained.pt`` says nothing there and leaks the layout of the machine that made the run. Files
inside an installed package become ``resemblyzer:pretrained.pt``, files inside the repository
become repository-relative, files in the cache folder ``cache:REST``, anything else keeps only its
file name.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from bench import resources

_SITE = re.compile(r".*/(?:site|dist)-packages/([^/]+)/(.*)$")


def portable_path(value: str | None, repo_root: str | None = None) -> str:
    """``value`` without the machine's absolute prefix (see module docstring).

    Non-path strings pass through unchanged; ``repo_root`` defaults to this checkout.
    """
    if not value:
        return "" if value is None else value
    text = str(value)
    if not text.startswith("/"):
        return text
    m = _SITE.match(text)
    if m:
        return f"{m.group(1)}:{m.group(2)}"
    cache = str(resources.cache_dir()).rstrip("/")
    if text == cache or text.startswith(cache + "/"):
        return "cache:" + text[len(cache) + 1:]
    roots = [str(repo_root or resources.data_root()).rstrip("/")]
    for root in roots:
        if text == root:
            return "."
        if text.startswith(root + "/"):
            return text[len(root) + 1:]
    # another checkout of this repository (e.g. a worktree): keep what follows a known top folder
    parts = PurePosixPath(text).parts
    for top in ("reports", "data", "codecs", "third_party"):
        if top in parts:
            return str(PurePosixPath(*parts[parts.index(top):]))
    return PurePosixPath(text).name

