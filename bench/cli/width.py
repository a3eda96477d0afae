"""The width tables printed to a terminal are narrowed to."""

from __future__ import annotations

import shutil

#: when stdout is not a terminal and $COLUMNS is unset (piped into a file or a CI log)
FALLBACK = 100


def terminal_width() -> int:
    """$COLUMNS, else the terminal's width, else :data:`FALLBACK`."""
    return shutil.get_terminal_size(fallback=(FALLBACK, 24)).columns
