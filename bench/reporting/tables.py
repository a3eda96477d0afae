"""Every table is a pandas view of the long-form rows (summary, card layout, gate deltas).

The vocabulary and the views themselves live in :mod:`bench.rows`, below both the pipeline and
reporting; this module keeps their reporting-side names.
"""

from __future__ import annotations

from bench.rows import (KBPS, KEYS, ROW_COLUMNS, SET_ITEM, card_order, display_name,  # noqa: F401
                        summarize, summary_markdown, wide_table)
from bench.rows import _half_widths, _header, _metric_meta  # noqa: F401  (used by tests and layouts)
