"""Confidence intervals and paired comparisons: every statistic codecbench reports lives here.

Why bootstrap: codec metrics are bounded, skewed and item-dependent (MOS-like scores, error
rates of short utterances), so normal-theory intervals mislead on 96-clip suites. We resample
*items* (utterances), which is the unit the suite samples; a weighted mean (corpus WER =
sum(errors) / sum(words), i.e. item rates weighted by reference words) is resampled as a ratio
of sums, so its interval is the bootstrap-over-utterances interval of the corpus rate.

Reproducibility: every call uses a fixed seed and the caller passes values sorted by item id
(:func:`ordered` does it), so reruns, thread counts and item completion order give bit-identical
intervals. The resampling itself is ``scipy.stats.bootstrap`` (BCa by default): no hand-rolled
statistics except the two-line statistics being resampled.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as _st

SEED = 0
ROUNDS = 2000
LEVEL = 0.95
METHOD = "BCa"
#: z-values for the minimum detectable effect: two-sided 5 % test, 80 % power
_Z_ALPHA, _Z_POWER = 1.959963984540054, 0.8416212335729143


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float
    n: int
    #: bootstrap standard error of the estimate (0 for constant data)
    se: float = 0.0

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2.0


def ordered(items, *columns):
    """Sort parallel arrays by item id, so the resampling sees items in one canonical order."""
    order = np.argsort(np.asarray(items, dtype=str), kind="stable")
    return [np.asarray(c, dtype=float)[order] for c in columns]


def _wmean(v, w, axis=-1):
    return np.sum(v * w, axis=axis) / np.sum(w, axis=axis)


def _bootstrap(data: tuple[np.ndarray, ...], statistic, estimate: float, level: float, rounds: int,
               seed: int, method: str) -> Interval:
    n = len(data[0])
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    if n == 1 or not np.isfinite(estimate):
        return Interval(estimate, math.nan, math.nan, n)
    if np.all(data[0] == data[0][0]):  # constant values (any weights): the interval is the point
        return Interval(estimate, estimate, estimate, n, 0.0)
    with warnings.catch_warnings():
        # BCa on near-degenerate data (e.g. almost all differences 0) warns and may return NaN:
        # fall back to the percentile interval then, which is defined for any data.
        warnings.simplefilter("ignore")
        res = _st.bootstrap(data, statistic, n_resamples=rounds, confidence_level=level, method=method,
                            paired=len(data) > 1, vectorized=True, random_state=np.random.default_rng(seed))
        low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
        if not (np.isfinite(low) and np.isfinite(high)) and method != "percentile":
            res = _st.bootstrap(data, statistic, n_resamples=rounds, confidence_level=level, method="percentile",
                                paired=len(data) > 1, vectorized=True, random_state=np.random.default_rng(seed))
            low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return Interval(estimate, min(low, estimate), max(high, estimate), n, float(res.standard_error))


def statistic_ci(data, statistic, estimate: float, *, level: float = LEVEL, rounds: int = ROUNDS, seed: int = SEED,
                 method: str = METHOD) -> Interval:
    """CI of any vectorised ``statistic(*samples, axis=-1)`` of paired samples (rows resampled
    jointly), seeded like every other interval here (e.g. a rank correlation over items)."""
    return _bootstrap(tuple(np.asarray(d, dtype=float) for d in data), statistic, estimate, level, rounds, seed,
                      method)


def mean_ci(values, weights=None, *, level: float = LEVEL, rounds: int = ROUNDS, seed: int = SEED,
            method: str = METHOD) -> Interval:
    """CI of a (weighted) mean by resampling items; weighted = ratio of sums (corpus WER).

    Pass values already in item-id order (see :func:`ordered`) for order-independent results.
    """
    v = np.asarray(values, dtype=float)
    if weights is None:
        return _bootstrap((v,), lambda x, axis=-1: np.mean(x, axis=axis), float(np.mean(v)) if len(v) else math.nan,
                          level, rounds, seed, method)
    w = np.asarray(weights, dtype=float)
    if len(v) and np.sum(w) <= 0:
        raise ValueError("weights sum to zero")
    est = float(_wmean(v, w)) if len(v) else math.nan
    return _bootstrap((v, w), _wmean, est, level, rounds, seed, method)


def paired_diff_ci(base, run, weights=None, *, level: float = LEVEL, rounds: int = ROUNDS, seed: int = SEED,
                   method: str = METHOD) -> Interval:
    """CI of mean(run) - mean(base) over the same items, resampling items jointly (paired).

    With ``weights`` (the same per item on both sides, e.g. reference words) it is the difference
    of the two weighted means, i.e. of the two corpus rates.
    """
    b, r = np.asarray(base, dtype=float), np.asarray(run, dtype=float)
    if b.shape != r.shape:
        raise ValueError(f"paired samples differ in length ({len(b)} vs {len(r)})")
    d = r - b
    if weights is None:
        return mean_ci(d, level=level, rounds=rounds, seed=seed, method=method)
    return mean_ci(d, weights, level=level, rounds=rounds, seed=seed, method=method)


def min_detectable_effect(interval: Interval) -> float:
    """Smallest true shift a paired test at 5 % finds with 80 % power, from the paired spread
    (bootstrap SE of the mean difference): (z_0.975 + z_0.8) * SE."""
    return (_Z_ALPHA + _Z_POWER) * interval.se if np.isfinite(interval.se) else math.nan


def summary_ci(group: pd.DataFrame, **kw) -> Interval:
    """CI of one summary cell from its item rows (columns item, value, weight): failed (NaN)
    items are left out, as in the mean."""
    ok = group[group["value"].notna()]
    w = ok["weight"].fillna(1.0) if "weight" in ok else pd.Series(1.0, index=ok.index)
    v, w = ordered(ok["item"], ok["value"], w)
    if len(w) and np.all(w == w[0]):
        return mean_ci(v, **kw)
    return mean_ci(v, w, **kw)
