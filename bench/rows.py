"""The rows' vocabulary and the summary every run and report shares: one low module.

A run's result is long-form rows (one per item x codec setting x metric, :data:`ROW_COLUMNS`),
set-level rows under item :data:`SET_ITEM`, and the measured bitrate under metric :data:`KBPS`.
The pipeline writes them, and the pipeline, the gate and reporting all read them through these
names and :func:`summarize` (tables are pandas views of the rows), so none of them imports
another for the vocabulary.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from bench.markdown import md_escape
from bench.stats import summary_ci

#: item id of set-level rows (EER over trials, corpus statistics) produced by Metric.finalize
SET_ITEM = "*"
#: metric name of the measured bitrate row every item gets (payload bits / input seconds); its
#: unit, direction and column rank are ``bench.metrics.KBPS_META``

def marked_label(label: str, weights: str | None) -> str:
    """The label a person reads: ``enc@6 (untrained)`` for random-weight codecs, so such numbers
    never pass for a codec's quality in any table, legend or plot (rows carry ``weights``)."""
    return f"{label} (untrained)" if weights == "untrained" else label


def untrained_labels(frame: pd.DataFrame) -> set[str]:
    """Labels whose rows (or summary rows) say the weights were untrained."""
    if frame.empty or "weights" not in frame:
        return set()
    return set(frame.loc[frame["weights"] == "untrained", "label"])


KBPS = "kbps"
#: what identifies a summary row: one per (suite, codec setting, metric)
KEYS = ["suite", "label", "codec", "setting", "metric"]
#: columns every long-form row has (metrics add ``x_`` extras, ``seconds``, backend fields)
ROW_COLUMNS = ["suite", "item", "codec", "setting", "label", "metric", "value", "weight", "error"]
#: counts a set-level row carries into the summary (speaker verification: trials and speakers)
SET_COUNTS = ("n_trials", "n_speakers")
#: below these, an EER / minDCF gets a caveat in every table: EER moves in steps of one trial (with
#: T target trials one error shifts it by 100/T %) and its interval resamples speakers, so with
#: fewer than 100 trials or 10 speakers the value and its interval are too coarse to rank codecs
#: (VoxCeleb1-O, the usual test set, has 37 720 trials over 40 speakers; the demo 510 over 16)
MIN_TRIALS = 100
MIN_SPEAKERS = 10

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
        for col in SET_COUNTS:  # what a set-level value was computed over (EER: trials, speakers)
            if len(set_level) and col in set_level and pd.notna(set_level.iloc[-1].get(col)):
                row[col] = int(set_level.iloc[-1][col])
        out.append(row)
    if any("weights" in r for r in out):
        cols = [*cols, "weights"]
    cols += [c for c in SET_COUNTS if any(c in r for r in out)]
    df = pd.DataFrame(out, columns=cols)
    order = order or list(dict.fromkeys(rows["label"]))
    if order:
        rank = {label: i for i, label in enumerate(order)}
        df = df.sort_values("label", key=lambda s: s.map(lambda x: rank.get(x, len(rank))), kind="stable")
    return df.reset_index(drop=True)


def _row_keys(summary: pd.DataFrame) -> list[tuple[str, str]]:
    """(suite, label) rows: suites by name, settings in summary order within each."""
    keys = list(dict.fromkeys(zip(summary["suite"], summary["label"])))
    return sorted(keys, key=lambda k: str(k[0]))


def card_order(metrics: list[str]) -> list[str]:
    """Columns by the rank each metric declares (bitrate, perceptual quality, intelligibility,
    signal, spectral, downstream); set-level metrics right after the metric that derives them;
    unknown names last, in their order (a stable sort)."""
    from bench.metrics import metric_meta

    return sorted(metrics, key=lambda m: metric_meta(m).rank)


def interval_text(mean: float, low: float, high: float, floatfmt: str = ".3f") -> str:
    """``mean ± half`` when the interval is symmetric at the printed precision, else
    ``mean [low, high]`` (bootstrap intervals of WER or EER are often far from symmetric: WER
    12.5 with [3.5, 34.9] must not read as 12.5 ± 15.7, which would reach below 0)."""
    f = "{:" + floatfmt + "}"
    if pd.isna(mean):
        return "n/a"
    if pd.isna(low) or pd.isna(high):
        return f.format(mean)
    below, above = f.format(mean - low), f.format(high - mean)
    if below == above:
        return f"{f.format(mean)} ± {above}"
    return f"{f.format(mean)} [{f.format(low)}, {f.format(high)}]"


def set_level_notes(summary: pd.DataFrame) -> tuple[list[str], set[tuple[str, str, str]]]:
    """Lines saying what each set-level value was computed over, with the caveat below
    MIN_TRIALS / MIN_SPEAKERS; and the (suite, label, metric) cells that get the caveat mark."""
    if "n_trials" not in summary:
        return [], set()
    sub = summary[summary["n_trials"].notna()]
    groups: dict[tuple, dict[str, list]] = {}
    marked = set()
    for r in sub.itertuples():
        trials = int(r.n_trials)
        speakers = int(r.n_speakers) if "n_speakers" in sub and pd.notna(r.n_speakers) else None
        low = trials < MIN_TRIALS or (speakers is not None and speakers < MIN_SPEAKERS)
        if low:
            marked.add((str(r.suite), r.label, r.metric))
        g = groups.setdefault((trials, speakers, low), {"metrics": [], "labels": []})
        for key, value in (("metrics", display_name(r.metric)), ("labels", r.label)):
            if value not in g[key]:
                g[key].append(value)
    lines = []
    for (trials, speakers, low), g in groups.items():
        over = f"{trials} trials" + (f", {speakers} speakers" if speakers is not None else "")
        line = f"{', '.join(g['metrics'])} over {over} ({md_escape(', '.join(g['labels']))})"
        if low:
            line = (f"† {line}: fewer than {MIN_TRIALS} trials or {MIN_SPEAKERS} speakers, too few to rank "
                    "codecs (one trial moves EER by 100/target-trials %)")
        lines.append(line)
    return lines, marked
