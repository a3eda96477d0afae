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

from bench.markdown import md_escape, md_table
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


def wide_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Card layout: one row per codec setting, one column per metric (plus measured kbps). With
    more than one suite, one row per (suite, setting) and a ``suite`` column: a row never mixes
    values from two suites."""
    if summary.empty:
        return pd.DataFrame()
    metrics = card_order(list(dict.fromkeys(summary["metric"])))
    keys = ["suite", "label"]
    s = summary.assign(suite=summary["suite"].fillna("") if "suite" in summary else "")
    index = _row_keys(s)
    table = s.pivot_table(index=keys, columns="metric", values="mean", aggfunc="first", sort=False, dropna=False)
    table = table.reindex(index=pd.MultiIndex.from_tuples(index, names=keys), columns=metrics)
    n = s.groupby(keys, sort=False)["n"].max().reindex(table.index)
    failed = s.groupby(keys, sort=False)["n_failed"].max().reindex(table.index)
    table.insert(0, "items", n.astype(int))
    table["failed"] = failed.astype(int)
    labels = [lab for _, lab in table.index]
    untrained = untrained_labels(summary)  # marked in every table a person reads
    labels = [marked_label(lab, "untrained" if lab in untrained else None) for lab in labels]
    suites = [su for su, _ in table.index]
    table.index = pd.Index(labels, name="codec")
    if len(set(suites)) > 1:
        table.insert(0, "suite", suites)
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
    return f"{shown} ({unit}) {arrow}" if unit and isinstance(unit, str) else f"{shown} {arrow}"


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


#: the metrics a terminal-width table keeps longest (the rest are in summary.md / --wide)
TERMINAL_METRICS = ("kbps", "visqol-speech", "pesq-wb", "stoi", "wer", "eer")


def _column_format(cells: list) -> str:
    """Decimals for a terminal table's column: one significant digit of the column's median CI
    half-width (0.04 -> 2 decimals, 15 -> 0), so a cell shows what its interval can support."""
    halves = [(hi - lo) / 2 for c in cells if c is not None for _, lo, hi in [c]
              if pd.notna(lo) and pd.notna(hi) and hi > lo]
    if not halves:
        return ".3f"
    decimals = int(min(4, max(0, -math.floor(math.log10(float(np.median(halves)))))))
    return f".{decimals}f"


def summary_markdown(summary: pd.DataFrame, floatfmt: str = ".3f", width: int | None = None) -> str:
    """Only for :attr:`bench.pipeline.runner.RunResult.markdown` (the pipeline cannot import reporting);
    every report, RUN/summary.md included, is the ``summary`` layout (bench.reporting.layouts).
    The table a person reads: ``mean ± half`` or ``mean [low, high]`` per cell (95 % CI), a
    suite column when several suites are present, and notes on set-level values. ``width``: drop
    metric columns from the right (the least central by card order) until the table fits that
    many characters, and name the ones left out (the files keep every column)."""
    from bench.metrics import metric_meta

    table = wide_table(summary)
    if table.empty:
        return "(no results)"
    notes, marked = set_level_notes(summary)
    s = summary.assign(suite=summary["suite"].fillna("").astype(str) if "suite" in summary else "")
    nan = pd.Series(np.nan, index=s.index)
    cis = {(su, lab, m): (mean, lo, hi) for su, lab, m, mean, lo, hi in
           zip(s["suite"], s["label"], s["metric"], s["mean"], s.get("ci_low", nan), s.get("ci_high", nan))}
    index = _row_keys(s)
    shown = pd.DataFrame(index=table.index)
    for col in table.columns:
        if col == "suite":
            shown[col] = table[col].astype(str).to_list()
            continue
        if col in ("items", "failed"):
            shown[col] = [str(int(v)) for v in table[col]]
            continue
        cells = []
        fmt = _column_format([cis.get((su, lab, col)) for su, lab in index]) if width else floatfmt
        for (su, lab), v in zip(index, table[col]):
            mean, lo, hi = cis.get((su, lab, col), (v, np.nan, np.nan))
            cell = interval_text(mean, lo, hi, fmt)
            cells.append(cell + ("†" if (su, lab, col) in marked else ""))
        shown[col] = cells
    header = (lambda m: f"{display_name(m)} {'↑' if metric_meta(m).higher_is_better else '↓'}") if width else \
        (lambda m: _header(m, summary))
    if width and table["items"].nunique() == 1 and (table["failed"] == 0).all():  # say it once, below
        notes.insert(0, f"{int(table['items'].iloc[0])} items per row, none failed")
        shown = shown.drop(columns=["items", "failed"])
    if width:
        units = {}
        for m in table.columns:
            if m not in ("items", "failed", "suite") and metric_meta(m).unit:
                units.setdefault(metric_meta(m).unit, []).append(display_name(m))
        notes.append("units: " + "; ".join(f"{', '.join(ms)} in {u}" for u, ms in units.items()))
    shown = shown.rename(columns={m: header(m) for m in table.columns if m not in ("items", "failed", "suite")})
    align = ["left"] + ["left" if c == "suite" else "right" for c in shown.columns]

    def render(frame: pd.DataFrame) -> str:
        # the index as a column: md_table escapes index labels and drops the index's name ("codec")
        return md_table(frame.reset_index(), index=False, disable_numparse=True,
                        colalign=align[:len(frame.columns) + 1])

    text = render(shown)
    left_out: list[str] = []
    # narrowing: derived companions go first (WER original is the same for every codec), then the
    # metrics outside TERMINAL_METRICS, then those from the right; kbps stays
    metrics = [m for m in table.columns if m not in ("items", "failed", "suite")]
    derived = [m for m in reversed(metrics) if metric_meta(m).parent]
    other = [m for m in reversed(metrics) if m not in derived and m not in TERMINAL_METRICS]
    drop_order = derived + other + [m for m in reversed(metrics) if m in TERMINAL_METRICS and m != "kbps"]
    while width and max(map(len, text.splitlines())) > width and drop_order:
        col = header(drop_order.pop(0))
        left_out.append(col)
        shown = shown.drop(columns=col)
        text = render(shown)
    if left_out:
        notes = notes + [
            f"{len(left_out)} more column(s) in the run's summary.md / `bench report RUN --wide`: "
            + md_escape(", ".join(left_out))]
    return text + ("\n\n" + "\n".join(f"- {n}" for n in notes) if notes else "")
