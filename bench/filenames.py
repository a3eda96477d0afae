"""File names made from names in user data (codec labels, item ids, suite names).

One rule for every file codecbench names after such a name: run directories (saved audio, tokens),
the per-suite caches (transcripts, embeddings, reference features, identity scores) and reports.
It lives at the bottom layer so that metrics and the pipeline both use it.
"""

from __future__ import annotations

import hashlib
import re


def safe_name(text: str) -> str:
    """A file name for a codec label or item id from user data (no slashes, no markup); a name
    that had to be changed gets a hash suffix so two ids never share a file. A name that needs no
    change is kept as it is, so the files of a run stay readable (``opus@6/1089-134686-0000.wav``)."""
    clean = re.sub(r"[^A-Za-z0-9._@-]+", "_", str(text)).strip("._")[:60] or "x"
    return clean if clean == str(text) else f"{clean}-{hashlib.sha256(str(text).encode()).hexdigest()[:8]}"
