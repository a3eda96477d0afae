"""Which objective metric predicts your listeners on this material: correlations with MUSHRA.

Two levels, one table:

* ``item``: one point per (item, codec condition): the mean MUSHRA score of the kept raters on
  that item against the metric's value for that item and codec label in the runs. The metric was
  computed on the whole item, the listeners heard an excerpt of it (``Trial.start``/``seconds``),
  so item-level agreement is bounded by how representative the excerpt is.
* ``condition``: one point per codec condition: its MUSHRA mean (mean of per-rater means) against
  the metric's mean over the test's items. Few points (one per codec setting), so wide intervals.

Reference and anchor conditions have no objective rows (they were made by the test builder, not
by a codec run) and are left out; the bitrate (``kbps``) is the design variable, not a quality
metric, and is left out too. Correlations are oriented by the metric's direction
(``higher_is_better`` in its registry record), so a positive ``agreement`` always means "the metric
ranks like the listeners": a lower-is-better metric such as WER that tracks MUSHRA well shows
a positive agreement although its raw correlation is negative.

Intervals: Pearson by Fisher's z (``scipy.stats.pearsonr(...).confidence_interval``); Spearman
and Kendall (tau-b) by a seeded bootstrap over the points (:func:`bench.stats.statistic_ci`).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as st

from bench.errors import BenchError
from bench.listening.analysis import Results
from bench.listening.testdef import TEST_FILE, ListeningTest
from bench.stats import LEVEL, ROUNDS, SEED, statistic_ci

#: rows that are not quality metrics
NOT_COMPARED = {"kbps"}
SET_ITEM = "*"
COLUMNS = ["level", "metric", "direction", "n", "n_ratings", "pearson", "pearson_low", "pearson_high", "spearman",
           "spearman_low", "spearman_high", "kendall", "kendall_low", "kendall_high", "raw_pearson", "p_pearson"]


def run_dirs(test: ListeningTest, runs: list[Path] | None = None) -> list[Path]:
    """The run directories of the test (its ``provenance["runs"]``, relative paths tried against the
    working directory and then the test folder), or ``runs`` when given."""
    named = [Path(p) for p in (runs if runs is not None else test.provenance.get("runs") or [])]
    where = (test.path / TEST_FILE) if test.path is not None else f"test {test.name!r}"
    out = []
    for p in named:
        cands = [p] if p.is_absolute() or test.path is None else [p, test.path / p]
        found = next((c for c in cands if c.is_dir()), None)
        if found is None:
            raise BenchError(f"{where}: run directory {p} not found (pass the runs with --runs, or --no-agreement)")
        out.append(found)
    return out


def objective_rows(paths: list[Path]) -> pd.DataFrame:
    """Per-item metric rows of the runs (later runs win a repeated (suite, item, label, metric))."""
    from bench.pipeline.rundir import read_rows

    frames = [read_rows(p) for p in paths]
    if not frames:
        return pd.DataFrame(columns=["suite", "item", "label", "metric", "value"])
    df = pd.concat(frames, ignore_index=True)
    keys = [k for k in ("suite", "item", "label", "metric") if k in df]
    df = df.drop_duplicates(keys, keep="last")
    df = df[(df["item"] != SET_ITEM) & ~df["metric"].isin(NOT_COMPARED)]
    return df.reset_index(drop=True)


def _ranks(a: np.ndarray) -> np.ndarray:
    return st.rankdata(a, axis=-1)


def _pearson_axis(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    x = x - x.mean(axis=-1, keepdims=True)
    y = y - y.mean(axis=-1, keepdims=True)
    den = np.sqrt((x * x).sum(axis=-1) * (y * y).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (x * y).sum(axis=-1) / den


def spearman_stat(x, y, axis=-1):
    """Spearman's rho along ``axis`` (Pearson of average ranks, as scipy.stats.spearmanr)."""
    return _pearson_axis(_ranks(np.moveaxis(x, axis, -1)), _ranks(np.moveaxis(y, axis, -1)))


def kendall_stat(x, y, axis=-1, chunk: int = 64):
    """Kendall's tau-b along ``axis`` (as scipy.stats.kendalltau), vectorised over resamples:
    sum of sign products over all pairs divided by the geometric mean of untied pairs in x and y.
    Written out because scipy's kendalltau takes one sample at a time (thousands of calls)."""
    x, y = np.moveaxis(np.asarray(x, float), axis, -1), np.moveaxis(np.asarray(y, float), axis, -1)
    shape, n = x.shape[:-1], x.shape[-1]
    xf, yf = x.reshape(-1, n), y.reshape(-1, n)
    out = np.empty(len(xf))
    for s in range(0, len(xf), chunk):
        a, b = xf[s:s + chunk], yf[s:s + chunk]
        sx = np.sign(a[:, :, None] - a[:, None, :])
        sy = np.sign(b[:, :, None] - b[:, None, :])
        with np.errstate(invalid="ignore", divide="ignore"):
            out[s:s + chunk] = (sx * sy).sum(axis=(1, 2)) / np.sqrt((sx * sx).sum(axis=(1, 2)) *
                                                                    (sy * sy).sum(axis=(1, 2)))
    return out.reshape(shape)


def correlations(mushra, metric, *, higher_is_better: bool = True, level: float = LEVEL, rounds: int = ROUNDS,
                 seed: int = SEED) -> dict:
    """Pearson (Fisher-z interval), Spearman and Kendall (bootstrap intervals) between two paired
    samples, oriented so that positive = the metric agrees with the listeners."""
    x, y = np.asarray(mushra, float), np.asarray(metric, float)
    n = len(x)
    sign = 1.0 if higher_is_better else -1.0
    out = {"n": n}
    nan3 = (math.nan, math.nan, math.nan)
    if n < 3 or np.all(x == x[0]) or np.all(y == y[0]):
        pe = sp = ke = nan3
        raw, p = math.nan, math.nan
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = st.pearsonr(x, y)
            ci = res.confidence_interval(level) if n > 3 else None
        raw, p = float(res.statistic), float(res.pvalue)
        pe = (raw, float(ci.low) if ci else math.nan, float(ci.high) if ci else math.nan)
        rho = float(st.spearmanr(x, y).statistic)
        tau = float(st.kendalltau(x, y).statistic)
        si = statistic_ci((x, y), spearman_stat, rho, level=level, rounds=rounds, seed=seed)
        ki = statistic_ci((x, y), kendall_stat, tau, level=level, rounds=rounds, seed=seed)
        sp, ke = (rho, si.low, si.high), (tau, ki.low, ki.high)

    def orient(t):
        e, lo, hi = t
        return (sign * e, lo, hi) if sign > 0 else (sign * e, -hi, -lo)

    for name, t in (("pearson", pe), ("spearman", sp), ("kendall", ke)):
        e, lo, hi = orient(t)
        out.update({name: e, f"{name}_low": lo, f"{name}_high": hi})
    out.update(raw_pearson=raw, p_pearson=p)
    return out


def _direction(metric: str) -> bool:
    from bench.metrics import metric_meta

    return bool(metric_meta(metric).higher_is_better)


def agreement(results: Results, objective: pd.DataFrame, *, level: float = LEVEL, rounds: int = ROUNDS,
              seed: int = SEED) -> pd.DataFrame:
    """One row per (level, metric): n points, n ratings behind them, and the three correlations."""
    test = results.test
    codecs = [c.id for c in test.conditions if c.kind == "codec"]
    if objective.empty or not codecs:
        return pd.DataFrame(columns=COLUMNS)
    kept = results.ratings[results.ratings["condition"].isin(codecs)]
    suites = {t.item: t.suite for t in test.trials}
    # MUSHRA per (item, condition): mean over raters of each rater's mean on that item
    per_rater = kept.groupby(["item", "condition", "rater"], sort=True)["score"].mean()
    cells = per_rater.groupby(["item", "condition"], sort=True).agg(["mean", "size"])
    counts = kept.groupby(["item", "condition"], sort=True).size()
    obj = objective[objective["label"].isin(codecs) & objective["item"].isin(suites)]
    if "suite" in obj:
        obj = obj[[suites.get(i) == s for i, s in zip(obj["item"], obj["suite"])]]
    cond_means = results.conditions.set_index("condition")
    recs = []
    for metric in sorted(set(obj["metric"])):
        hib = _direction(metric)
        m = obj[obj["metric"] == metric].set_index(["item", "label"])["value"]
        m = m[m.notna()]
        both = cells.join(m.rename("metric").rename_axis(["item", "condition"]), how="inner").sort_index()
        n_r = int(counts.reindex(both.index).sum())
        recs.append({"level": "item", "metric": metric, "direction": "higher" if hib else "lower", "n_ratings": n_r,
                     **correlations(both["mean"], both["metric"], higher_is_better=hib, level=level, rounds=rounds,
                                    seed=seed)})
        per_cond = m.groupby(level="label").mean()
        conds = [c for c in codecs if c in per_cond.index and c in cond_means.index]
        n_r = int(cond_means.loc[conds, "n_ratings"].sum()) if conds else 0
        recs.append({"level": "condition", "metric": metric, "direction": "higher" if hib else "lower",
                     "n_ratings": n_r,
                     **correlations(cond_means.loc[conds, "mean"].to_numpy(float), per_cond[conds].to_numpy(float),
                                    higher_is_better=hib, level=level, rounds=rounds, seed=seed)})
    out = pd.DataFrame(recs)
    out["_lv"] = out["level"].map({"item": 0, "condition": 1})
    out["_key"] = -out["spearman"].fillna(-np.inf)
    out = out.sort_values(["_lv", "_key", "metric"], kind="stable").drop(columns=["_lv", "_key"])
    return out[COLUMNS].reset_index(drop=True)


NOTE = ("agreement = correlation oriented by the metric's direction (positive: the metric ranks like the "
        "listeners). item level: one point per (item, codec condition), MUSHRA mean of kept raters on the excerpt "
        "vs the metric on the whole item; condition level: one point per codec condition (mean of per-rater means vs "
        "the metric's mean over the test's items). Reference and anchors have no objective rows and are left out; "
        "kbps is the design variable and is left out. Pearson CI: Fisher z; Spearman/Kendall CI: bootstrap over "
        "points.")
