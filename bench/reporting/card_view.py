"""What a card leads with: the tables that hold numbers, then one line for what was not run, plus a
table for metrics that were run but that no table of the layout names.

A layout names every suite and column of the card it reproduces (LibriSpeech, MCV, VoxCeleb, ...);
a run on the demo suite fills a fraction of it. Every cell still exists in the data (``card.csv``
keeps them as "missing"), but a reader of the HTML page first needs what was measured: empty
sections and columns collapse into one "not run" line, and a metric the runs hold that the layout
has no column for (e.g. PESQ-wb on the NeMo card) gets a table instead of vanishing.
"""

from __future__ import annotations

import math

import pandas as pd

from bench.reporting.layouts import CardTable, Layout, _precision, shown_label

EXTRA_ID = "other-metrics"
EXTRA_TITLE = "Other metrics run (no table of the layout names them)"


def layout_metrics(layout: Layout) -> set[str]:
    """Metrics some table of the layout shows (columns, a suites table's metric, its original row)."""
    named: set[str] = set()
    for t in layout.tables:
        named.update(c["metric"] for c in t.get("columns", []) or [] if isinstance(c, dict) and "metric" in c)
        if t.get("metric"):
            named.add(t["metric"])
        if isinstance(t.get("original"), dict) and t["original"].get("metric"):
            named.add(t["original"]["metric"])
    return named


def extra_metric_tables(layout: Layout, summary: pd.DataFrame) -> list[CardTable]:
    """One table per run suite: codec settings x the run metrics no layout table shows, with CIs."""
    if summary.empty or any(t.get("kind") == "summary" for t in layout.tables):  # it shows every metric
        return []
    named = layout_metrics(layout)
    tables = []
    for suite in dict.fromkeys(summary["suite"]):
        s = summary[(summary["suite"] == suite) & ~summary["metric"].isin(named)]
        metrics = list(dict.fromkeys(s["metric"]))
        if not metrics:
            continue
        labels = list(dict.fromkeys(s["label"]))
        index = [shown_label(summary, lab) for lab in labels]
        frame = lambda fill: pd.DataFrame(fill, index=index, columns=metrics, dtype=object)  # noqa: E731
        values, status, runs = frame(math.nan), frame("missing"), frame("")
        lo, hi = frame(math.nan), frame(math.nan)
        for rec in s.itertuples(index=False):
            r, c = shown_label(summary, rec.label), rec.metric
            ok = pd.notna(rec.mean)
            values.at[r, c], status.at[r, c] = (float(rec.mean) if ok else math.nan), ("ok" if ok else "failed")
            runs.at[r, c] = getattr(rec, "run", "") or ""
            lo.at[r, c], hi.at[r, c] = getattr(rec, "ci_low", math.nan), getattr(rec, "ci_high", math.nan)
        values.index.name = "codec"
        tables.append(CardTable(EXTRA_ID, EXTRA_TITLE, values, status, runs, section=suite,
                                note="mean [95 % CI] per codec setting, as in the tables above",
                                ci_low=lo, ci_high=hi, formats={m: _precision(m) for m in metrics}))
    return tables


def _short(t: CardTable) -> str:
    """'Table 1: signal quality ...' -> 'Table 1'; a title without a colon stays whole."""
    head = t.title.split(":", 1)[0].strip() if ":" in t.title else t.title.strip()
    return head or t.id


def collapse(tables: list[CardTable]) -> tuple[list[tuple[CardTable, list[str]]], list[str]]:
    """(tables that hold something, each with its columns that do) and the "not run" entries:
    whole tables/sections with every cell missing, and all-missing columns of the others."""
    shown, not_run = [], []
    for t in tables:
        missing = t.status == "missing"
        if missing.all().all():
            not_run.append(f"{t.section} ({_short(t)})" if t.section else t.title)
            continue
        cols = [c for c in t.values.columns if not missing[c].all()]
        dropped = [str(c) for c in t.values.columns if missing[c].all()]
        if dropped:
            where = _short(t) + (f", {t.section}" if t.section else "")
            not_run.append(f"{', '.join(dropped)} ({where})")
        shown.append((t, cols))
    return shown, not_run
