"""One escaping policy for markdown output.

Labels, suite names, item ids and transcripts come from users' files. In a markdown table a ``|``
in a cell adds a column to that row only, and raw HTML passes straight into any page that renders
the markdown (GitHub job summaries, docs sites), so every user-controlled string goes through
:func:`md_escape` before it is written: HTML-significant characters become entities, table and
code delimiters get a backslash (emphasis characters are left as they are: plain-text readers
of summary.md see names such as ``n_failed`` unchanged), newlines become spaces. Numbers are left alone so ``floatfmt``
still applies.

Example::

    >>> md_escape("opus|6 <b>")
    'opus\\\\|6 &lt;b&gt;'
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

_BACKSLASHED = str.maketrans({"\\": "\\\\", "|": "\\|", "`": "\\`"})


def md_escape(value: Any) -> str:
    """A string that renders as itself inside a markdown table cell or inline text."""
    text = " ".join(str(value).splitlines())
    return html.escape(text, quote=False).translate(_BACKSLASHED)


def _cell(v: Any) -> Any:
    return md_escape(v) if isinstance(v, str) else v


def md_table(df: pd.DataFrame, **kwargs: Any) -> str:
    """``df.to_markdown(**kwargs)`` with every string cell, column name and index label escaped."""
    safe = df.copy()
    safe.columns = [md_escape(c) for c in safe.columns]
    if kwargs.get("index", True):
        safe.index = [md_escape(i) if isinstance(i, str) else i for i in safe.index]
    safe = safe.apply(lambda col: col.map(_cell)) if not safe.empty else safe
    return safe.to_markdown(**kwargs)
