"""Every table is a pandas view of the long-form rows (summary, card layout, gate deltas).

The vocabulary and the views themselves live in :mod:`bench.rows`, below both the pipeline and
reporting; this module keeps their reporting-side names (every public and private name of
bench.rows is reachable here).
"""

from __future__ import annotations

from typing import Any

import bench.rows as _rows
from bench.rows import *  # noqa: F401,F403


def __getattr__(name: str) -> Any:
    return getattr(_rows, name)
