"""The rows' vocabulary and the summary every run and report shares: one low module.

A run's result is long-form rows (one per item x codec setting x metric, :data:`ROW_COLUMNS`),
set-level rows under item :data:`SET_ITEM`, and the measured bitrate under metric :data:`KBPS`.
The pipeline writes them, and the pipeline, the gate and reporting all read them through these
names and :func:`summarize`, so none of them imports another for the vocabulary.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from bench.markdown import md_table
from bench.stats import summary_ci

#: item id of set-level rows (EER over trials, corpus statistics) produced by Metric.finalize
SET_ITEM = "*"
#: metric name of the measured bitrate row every item gets (payload bits / input seconds); its
#: unit, direction and column rank are ``bench.metrics.KBPS_META``
KBPS = "kbps"
#: what identifies a summary row: one per (suite, codec setting, metric)
KEYS = ["suite", "label", "codec", "setting", "metric"]
#: columns every long-form row has (metrics add ``x_`` extras, ``seconds``, backend fields)
ROW_COLUMNS = ["suite", "item", "codec", "setting", "label", "metric", "value", "weight", "error"]


def _metric_meta(name: str) -> dict:
    """Unit and direction for a metric name, from its metadata record (kbps is built in)."""
    from bench.metrics import metric_meta

    m = metric_meta(name)
    return {"unit": m.unit, "higher_is_better": m.higher_is_better}


def display_name(name: str) -> str:
    """Column title as on model cards (e.g. 'WER original'), declared in the metric's record."""
    from bench.metrics import metric_meta

    return metric_meta(name).display or name


def summarize(rows: pd.DataFrame, order: list[str] | None = None) -> pd.DataFrame:
    """Weighted mean, its 95 % CI, n and n_failed per (suite, codec setting, metric).

    A failed item counts in n_failed and never silently vanishes from the mean's denominator
    without trace. Set-level rows (item == '*') give the value directly, and their interval when
    the metric computed one (``ci_low``/``ci_high``, or EER's ``eer_ci_low``/``eer_ci_high``).
    Per-item means get a seeded bootstrap over items (:mod:`bench.stats`), so reruns are
    bit-identical.
    """
    cols = [*KEYS, "mean", "ci_low", "ci_high", "n", "n_failed", "unit", "higher_is_better"]
    if rows.empty:
        return pd.DataFrame(columns=cols)
    out = []
    # Sort first: items finish in any order in a pool, and float sums must not depend on it.
    rows = rows.sort_values(["label", "metric", "item"], kind="stable")
    for key, g in rows.groupby(KEYS, sort=False, dropna=False):
        per_item = g[g["item"] != SET_ITEM]
        set_level = g[g["item"] == SET_ITEM]
        ok = per_item[per_item["value"].notna()]
        low = high = math.nan
        if len(set_level):
            last = set_level.iloc[-1]
            mean = float(last["value"])
            n = int(last["n"]) if "n" in set_level and pd.notna(last["n"]) else len(ok)
            for lo_col, hi_col in (("ci_low", "ci_high"), ("eer_ci_low", "eer_ci_high")):
                if lo_col in set_level and pd.notna(last.get(lo_col)):
                    low, high = float(last[lo_col]), float(last[hi_col])
                    break
        elif len(ok):
            w = ok["weight"].fillna(1.0).to_numpy(dtype=float)
            v = ok["value"].to_numpy(dtype=float)
            mean = float(np.sum(w * v) / np.sum(w)) if np.sum(w) > 0 else float(np.mean(v))
            n = len(ok)
            ci = summary_ci(ok)
            low, high = ci.low, ci.high
        else:
            mean, n = math.nan, 0
        n_failed = int(per_item["value"].isna().sum()) + int(set_level["value"].isna().sum())
        row = {**dict(zip(KEYS, key)), "mean": mean, "ci_low": low, "ci_high": high, "n": n, "n_failed": n_failed, **_metric_meta(key[-1])}
        if "weights" in g and g["weights"].notna().any():  # neural codecs: trained / untrained
            row["weights"] = g["weights"].dropna().iloc[-1]
        out.append(row)
    if any("weights" in r for r in out):
        cols = [*cols, "weights"]
    df = pd.DataFrame(out, columns=cols)
    order = order or list(dict.fromkeys(rows["label"]))
    if order:
        rank = {label: i for i, label in enumerate(order)}
        df = df.sort_values("label", key=lambda s: s.map(lambda x: rank.get(x, len(rank))), kind="stable")
    return df.reset_index(drop=True)


def wide_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Card layout: one row per codec setting, one column per metric (plus measured kbps)."""
    if summary.empty:
        return pd.DataFrame()
    labels = list(dict.fromkeys(summary["label"]))
    metrics = list(dict.fromkeys(summary["metric"]))
    metrics = card_order(metrics)
    table = summary.pivot_table(index="label", columns="metric", values="mean", aggfunc="first", sort=False)
    table = table.reindex(index=labels, columns=metrics)
    n = summary.groupby("label", sort=False)["n"].max().reindex(labels)
    failed = summary.groupby("label", sort=False)["n_failed"].max().reindex(labels)
    table.insert(0, "items", n.astype(int))
    table["failed"] = failed.astype(int)
    if "weights" in summary:  # label untrained weights in every table a person reads
        untrained = set(summary.loc[summary["weights"] == "untrained", "label"])
        table.index = [f"{lab} (untrained)" if lab in untrained else lab for lab in table.index]
    table.index.name = "codec"
    return table


def card_order(metrics: list[str]) -> list[str]:
    """Columns by the rank each metric declares (bitrate, perceptual quality, intelligibility,
    signal, spectral, downstream); set-level metrics right after the metric that derives them;
    unknown names last, in their order (a stable sort)."""
    from bench.metrics import metric_meta

    return sorted(metrics, key=lambda m: metric_meta(m).rank)


def _header(metric: str, summary: pd.DataFrame) -> str:
    sub = summary[summary["metric"] == metric]
    if sub.empty:
        return display_name(metric)
    unit, hib = sub["unit"].iloc[0], bool(sub["higher_is_better"].iloc[0])
    arrow = "↑" if hib else "↓"
    shown = display_name(metric)
    return f"{shown} ({unit}) {arrow}" if unit else f"{shown} {arrow}"


def _half_widths(summary: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Half the 95 % CI width per cell, aligned with :func:`wide_table` (markdown shows
    ``mean ± half-width``; the exact, possibly asymmetric bounds are in summary.csv)."""
    if "ci_low" not in summary:
        return pd.DataFrame(index=table.index)
    hw = summary.assign(hw=(summary["ci_high"] - summary["ci_low"]) / 2.0)
    wide = hw.pivot_table(index="label", columns="metric", values="hw", aggfunc="first", sort=False, dropna=False)
    labels = list(dict.fromkeys(summary["label"]))
    wide = wide.reindex(index=labels, columns=[c for c in table.columns if c in wide.columns])
    wide.index = table.index
    return wide


def summary_markdown(summary: pd.DataFrame, floatfmt: str = ".3f") -> str:
    table = wide_table(summary)
    if table.empty:
        return "(no results)"
    shown = table.astype(object)
    half = _half_widths(summary, table)
    for col in table.columns:
        fmt = "{:d}" if col in ("items", "failed") else "{:" + floatfmt + "}"
        cells = []
        for i, v in enumerate(table[col]):
            cell = "n/a" if pd.isna(v) else fmt.format(int(v) if col in ("items", "failed") else v)
            hw = half[col].iloc[i] if col in half else math.nan
            if cell != "n/a" and pd.notna(hw):
                cell += " ± " + ("{:" + floatfmt + "}").format(hw)
            cells.append(cell)
        shown[col] = cells
    shown = shown.rename(columns={m: _header(m, summary) for m in table.columns if m not in ("items", "failed")})
    return md_table(shown, disable_numparse=True, colalign=["left"] + ["right"] * len(shown.columns))
