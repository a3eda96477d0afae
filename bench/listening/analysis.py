"""MUSHRA results: post-screening of raters, condition means with 95 % intervals, paired differences.

Ratings are nested: every rater scores every condition of every trial, so scores of one rater
share that rater's bias and scores of one item share that item's difficulty. Treating all ratings
as independent (the textbook BS.1534-3 §9 interval over all scores of a condition) therefore makes
intervals too narrow. Two intervals that respect the design are reported per condition:

* **headline -- t interval over raters**: each rater's mean over the items they rated, then a
  Student-t interval over those per-rater means (``scipy.stats.t.interval``). The rater is the
  unit sampled from a population of listeners and the claim is about *this material*, which is what
  a listening test licenses; with raters' means close to normal it is exact for any panel size, and
  the simulated-panel test checks that it covers the true means at its nominal rate.
* **two-way bootstrap over raters and items**: raters and items are resampled independently
  (crossed design) and the percentile interval of the resampled statistic is reported. It also
  carries the uncertainty of which items were chosen (generalising to other material of the same
  kind), so it is wider when items differ; with few raters (< ~10) percentile intervals run narrow.
  ``scipy.stats.bootstrap`` resamples one unit (or paired rows), not two crossed units, so this
  resampling is written here, vectorised and seeded.

Estimate: the mean of per-rater means (every rater counts once); with the MUSHRA design (every
rater rates every trial) it equals the mean of all ratings, which is also reported.

Paired differences A - B: per rater, the mean over the trials that rater scored both in, then the
t interval of those differences (and the same two-way bootstrap on the per-cell differences).
Because a table of k conditions makes k(k-1)/2 comparisons, ``significant`` uses Holm-adjusted
p-values (family = every pair in the table, family-wise error 5 %); ``ci_excludes_zero`` is the
unadjusted 95 % statement for one pair decided in advance.

Everything is seeded and computed on ratings sorted by (rater, trial, condition), so reruns and
the order of the input rows give identical numbers.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as st

from bench.errors import BenchError
from bench.listening.testdef import ListeningTest
from bench.stats import LEVEL, ROUNDS, SEED

SCREENINGS = ("bs1534", "encodec", "none")
#: score thresholds of the screening rules
REF_MIN, ANCHOR_MAX = 90, 80
#: BS.1534-3 §4.1.2: excluded when the hidden reference is below 90 for *more than* 15 % of items
BS1534_FRACTION = 0.15
#: EnCodec (Défossez et al. 2022, §4.2): removed when the reference is below 90 in *at least* 20 % of
#: cases, or the low anchor above 80 in at least 20 %
ENCODEC_FRACTION = 0.20
KIND_ORDER = {"reference": 0, "codec": 1, "anchor": 2}


# ----------------------------------------------------------------------------------------- screening


@dataclass
class Screening:
    rule: str
    #: one row per rater: counts, fractions, removed (bool) and reason (text, "" when kept)
    table: pd.DataFrame
    reference: str | None
    low_anchor: str | None

    @property
    def kept(self) -> list[str]:
        return sorted(self.table.loc[~self.table["removed"], "rater"])

    @property
    def removed(self) -> list[str]:
        return sorted(self.table.loc[self.table["removed"], "rater"])


def _condition_of_kind(test: ListeningTest, kind: str) -> list:
    return [c for c in test.conditions if c.kind == kind]


def low_anchor(test: ListeningTest) -> str | None:
    """The low anchor: the anchor with the lowest low-pass cut-off (BS.1534-3: 3.5 kHz)."""
    anchors = _condition_of_kind(test, "anchor")
    if not anchors:
        return None
    return min(anchors, key=lambda c: (c.lowpass_hz if c.lowpass_hz is not None else math.inf, c.id)).id


def screen(test: ListeningTest, ratings: pd.DataFrame, rule: str = "bs1534",
           kinds: dict[str, str] | None = None) -> Screening:
    """Apply a post-screening rule; every rater is listed with the fractions the rule looks at.

    ``bs1534``: removed if the hidden reference scored < 90 in more than 15 % of the rater's trials
    with the reference. ``encodec``: removed if reference < 90 in at least 20 % of those trials, or
    the low anchor > 80 in at least 20 % of the trials with it. ``none``: keeps everyone.
    """
    if rule not in SCREENINGS:
        raise BenchError(f"--screening {rule!r}: choose one of {', '.join(SCREENINGS)}")
    refs = _condition_of_kind(test, "reference")
    ref = refs[0].id if refs else None
    anchor = low_anchor(test)
    if rule != "none" and ref is None:
        raise BenchError(f"{_where(test)}: screening {rule!r} needs a hidden reference condition and this test has "
                         "none; use --screening none")
    raters = sorted(set(ratings["rater"]))
    recs = []
    for r in raters:
        mine = ratings[ratings["rater"] == r]
        ref_s = mine.loc[mine["condition"] == ref, "score"] if ref else pd.Series(dtype=float)
        anc_s = mine.loc[mine["condition"] == anchor, "score"] if anchor else pd.Series(dtype=float)
        ref_low = int((ref_s < REF_MIN).sum())
        anc_high = int((anc_s > ANCHOR_MAX).sum())
        ref_frac = ref_low / len(ref_s) if len(ref_s) else math.nan
        anc_frac = anc_high / len(anc_s) if len(anc_s) else math.nan
        reasons = []
        if rule == "bs1534" and ref_frac > BS1534_FRACTION:
            reasons.append(f"reference < {REF_MIN} in {ref_low}/{len(ref_s)} trials "
                           f"({ref_frac:.0%} > {BS1534_FRACTION:.0%})")
        if rule == "encodec":
            if ref_frac >= ENCODEC_FRACTION:
                reasons.append(f"reference < {REF_MIN} in {ref_low}/{len(ref_s)} trials "
                               f"({ref_frac:.0%} >= {ENCODEC_FRACTION:.0%})")
            if anc_frac >= ENCODEC_FRACTION:
                reasons.append(f"low anchor {anchor} > {ANCHOR_MAX} in {anc_high}/{len(anc_s)} trials "
                               f"({anc_frac:.0%} >= {ENCODEC_FRACTION:.0%})")
        recs.append({"rater": r, "kind": (kinds or {}).get(r, ""), "trials": int(mine["trial"].nunique()),
                     "ratings": len(mine), "ref_trials": len(ref_s), "ref_below_90": ref_low,
                     "ref_below_90_frac": ref_frac, "anchor_trials": len(anc_s), "anchor_above_80": anc_high,
                     "anchor_above_80_frac": anc_frac, "removed": bool(reasons), "reason": "; ".join(reasons)})
    cols = ["rater", "kind", "trials", "ratings", "ref_trials", "ref_below_90", "ref_below_90_frac", "anchor_trials",
            "anchor_above_80", "anchor_above_80_frac", "removed", "reason"]
    return Screening(rule, pd.DataFrame(recs, columns=cols), ref, anchor)


def _where(test: ListeningTest) -> str:
    return str(test.path) if test.path is not None else f"test {test.name!r}"


# ------------------------------------------------------------------------------------------ matrices


def canonical(ratings: pd.DataFrame, test: ListeningTest) -> pd.DataFrame:
    """Ratings with an ``item`` column from the trials, sorted by (rater, trial, condition)."""
    items = {t.id: t.item for t in test.trials}
    unknown = sorted(set(ratings["trial"]) - set(items))
    if unknown:
        raise BenchError(f"{_where(test)}: ratings for trials not in test.json: {', '.join(map(str, unknown[:5]))}")
    known = {c.id for c in test.conditions}
    bad = sorted(set(ratings["condition"]) - known)
    if bad:
        raise BenchError(f"{_where(test)}: ratings for conditions not in test.json: {', '.join(map(str, bad[:5]))}")
    df = ratings.assign(item=ratings["trial"].map(items), score=ratings["score"].astype(float))
    return df.sort_values(["rater", "trial", "condition"], kind="stable").reset_index(drop=True)


def cell_cube(df: pd.DataFrame, conditions: list[str], raters: list[str], items: list[str]) -> np.ndarray:
    """Condition x rater x item array of mean scores (NaN where that rater did not rate that item)."""
    c = pd.Categorical(df["condition"], categories=conditions).codes
    r = pd.Categorical(df["rater"], categories=raters).codes
    i = pd.Categorical(df["item"], categories=items).codes
    ok = (c >= 0) & (r >= 0) & (i >= 0)
    shape = (len(conditions), len(raters), len(items))
    total, count = np.zeros(shape), np.zeros(shape)
    np.add.at(total, (c[ok], r[ok], i[ok]), df["score"].to_numpy(dtype=float)[ok])
    np.add.at(count, (c[ok], r[ok], i[ok]), 1.0)
    return np.divide(total, count, out=np.full(shape, np.nan), where=count > 0)


def rater_means(m: np.ndarray) -> np.ndarray:
    """Each rater's mean over the items they rated (raters with none are dropped)."""
    have = ~np.isnan(m)
    n = have.sum(axis=1)
    return np.nansum(m, axis=1)[n > 0] / n[n > 0]


def t_interval(values: np.ndarray, level: float = LEVEL) -> tuple[float, float, float]:
    """Mean and Student-t interval of independent values (the per-rater means)."""
    v = np.asarray(values, dtype=float)
    if len(v) == 0:
        return math.nan, math.nan, math.nan
    mean = float(np.mean(v))
    if len(v) < 2:
        return mean, math.nan, math.nan
    sem = float(np.std(v, ddof=1) / math.sqrt(len(v)))
    if sem == 0.0:
        return mean, mean, mean
    lo, hi = st.t.interval(level, len(v) - 1, loc=mean, scale=sem)
    return mean, float(lo), float(hi)


def twoway_bootstrap(m: np.ndarray, *, level: float = LEVEL, rounds: int = ROUNDS, seed: int = SEED,
                     chunk: int = 500) -> tuple[float, float]:
    """Percentile interval of the mean of per-rater means, resampling raters and items (crossed).

    A resample draws raters and items with replacement; a rater's mean is over the drawn items they
    rated (weighted by how often each was drawn), the statistic the mean over drawn raters.
    """
    r, i = m.shape
    if rounds <= 0 or r < 2 or np.isnan(m).all():
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    stats = []
    for start in range(0, rounds, chunk):
        b = min(chunk, rounds - start)
        ri = rng.integers(0, r, size=(b, r))
        ii = rng.integers(0, i, size=(b, i))
        sub = m[ri[:, :, None], ii[:, None, :]]  # b x r x i: the drawn raters' scores on the drawn items
        have = ~np.isnan(sub)
        cnt = have.sum(axis=2)
        rm = np.divide(np.where(have, sub, 0.0).sum(axis=2), cnt, out=np.zeros(cnt.shape), where=cnt > 0)
        ok = cnt > 0
        tot = ok.sum(axis=1)
        stats.append(np.divide((rm * ok).sum(axis=1), tot, out=np.full(b, np.nan), where=tot > 0))
    s = np.concatenate(stats)
    s = s[np.isfinite(s)]
    if len(s) == 0:
        return math.nan, math.nan
    a = (1 - level) / 2
    return float(np.quantile(s, a)), float(np.quantile(s, 1 - a))


# ------------------------------------------------------------------------------------------- results


@dataclass
class Results:
    """Everything ``bench listen results`` reports (frames in a fixed order)."""

    test: ListeningTest
    screening: Screening
    conditions: pd.DataFrame  # one row per condition
    pairs: pd.DataFrame  # one row per pair of conditions
    ratings: pd.DataFrame  # the kept ratings, with item
    options: dict = field(default_factory=dict)


def condition_order(test: ListeningTest, present: set[str] | None = None) -> list[str]:
    """Reference, then codecs by nominal rate, then anchors by cut-off; ties by id."""
    def key(c):
        if c.kind == "codec":
            rate = c.kbps if c.kbps is not None else math.inf
        elif c.kind == "anchor":  # the wider (better) anchor first
            rate = -(c.lowpass_hz or 0.0)
        else:
            rate = 0.0
        return KIND_ORDER.get(c.kind, 9), rate, c.id

    return [c.id for c in sorted(test.conditions, key=key) if present is None or c.id in present]


def condition_table(df: pd.DataFrame, test: ListeningTest, *, level: float = LEVEL, rounds: int = ROUNDS,
                    seed: int = SEED) -> pd.DataFrame:
    """Per condition: mean of per-rater means, t interval (headline), two-way bootstrap interval, n."""
    raters = sorted(set(df["rater"]))
    items = sorted(set(df["item"]))
    order = condition_order(test, set(df["condition"]))
    cube = cell_cube(df, order, raters, items)
    by_cond = {c: g for c, g in df.groupby("condition", sort=False)}
    recs = []
    for c, m in zip(order, cube):
        cond = test.condition(c)
        rm = rater_means(m)
        mean, lo, hi = t_interval(rm, level)
        blo, bhi = twoway_bootstrap(m, level=level, rounds=rounds, seed=seed)
        sub = by_cond[c]
        recs.append({"condition": c, "kind": cond.kind, "label": cond.label or c, "kbps": cond.kbps,
                     "mean": mean, "ci_low": lo, "ci_high": hi, "boot_low": blo, "boot_high": bhi,
                     "mean_of_ratings": float(sub["score"].mean()), "sd_rater_means": float(np.std(rm, ddof=1))
                     if len(rm) > 1 else math.nan, "median": float(sub["score"].median()),
                     "n_ratings": len(sub), "n_raters": int(sub["rater"].nunique()),
                     "n_items": int(sub["item"].nunique())})
    return pd.DataFrame(recs, columns=["condition", "kind", "label", "kbps", "mean", "ci_low", "ci_high", "boot_low",
                                       "boot_high", "mean_of_ratings", "sd_rater_means", "median", "n_ratings",
                                       "n_raters", "n_items"])


def holm(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (neither scipy nor the project's dependencies provide Holm;
    scipy.stats.false_discovery_control is Benjamini-Hochberg, which controls a different error)."""
    p = np.asarray(p, dtype=float)
    out = np.full(len(p), np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if len(ok) == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(order)
    adj = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
    out[order] = adj
    return out


def pair_table(df: pd.DataFrame, test: ListeningTest, *, level: float = LEVEL, rounds: int = ROUNDS,
               seed: int = SEED, alpha: float = 0.05) -> pd.DataFrame:
    """Every pair A, B (A before B in :func:`condition_order`): mean of per-rater differences A - B,
    t interval, p-value, Holm-adjusted p, significance, two-way bootstrap interval and n."""
    raters = sorted(set(df["rater"]))
    items = sorted(set(df["item"]))
    order = condition_order(test, set(df["condition"]))
    mats = dict(zip(order, cell_cube(df, order, raters, items)))
    recs = []
    for a, b in itertools.combinations(order, 2):
        d = mats[a] - mats[b]  # NaN where either is missing: only cells both were rated in
        both = ~np.isnan(d)
        rd = rater_means(d)
        mean, lo, hi = t_interval(rd, level)
        if len(rd) >= 2 and np.std(rd) > 0:
            p = float(st.ttest_1samp(rd, 0.0).pvalue)
        elif len(rd) >= 2:  # every rater gave the same difference: zero variance
            p = 1.0 if mean == 0 else 0.0
        else:
            p = math.nan
        blo, bhi = twoway_bootstrap(d, level=level, rounds=rounds, seed=seed)
        recs.append({"a": a, "b": b, "diff": mean, "ci_low": lo, "ci_high": hi, "p": p, "boot_low": blo,
                     "boot_high": bhi, "sd_rater_diffs": float(np.std(rd, ddof=1)) if len(rd) > 1 else math.nan,
                     "n_pairs": int(both.sum()), "n_raters": len(rd)})
    cols = ["a", "b", "diff", "ci_low", "ci_high", "p", "p_holm", "significant", "ci_excludes_zero", "boot_low",
            "boot_high", "sd_rater_diffs", "n_pairs", "n_raters"]
    out = pd.DataFrame(recs, columns=[c for c in cols if c not in ("p_holm", "significant", "ci_excludes_zero")])
    out["p_holm"] = holm(out["p"].to_numpy()) if len(out) else []
    out["significant"] = out["p_holm"] < alpha
    out["ci_excludes_zero"] = (out["ci_low"] > 0) | (out["ci_high"] < 0)
    return out[cols]


def analyse(test: ListeningTest, ratings: pd.DataFrame, *, screening: str = "bs1534", level: float = LEVEL,
            rounds: int = ROUNDS, seed: int = SEED, kinds: dict[str, str] | None = None) -> Results:
    """Screen raters, then condition and pair tables on the kept ratings."""
    if ratings.empty:
        raise BenchError(f"{_where(test)}: no ratings yet (serve the test with `bench listen serve`, "
                         "or fill it with `bench listen simulate`)")
    df = canonical(ratings, test)
    scr = screen(test, df, screening, kinds)
    kept = df[df["rater"].isin(scr.kept)].reset_index(drop=True)
    if kept.empty:
        raise BenchError(f"{_where(test)}: screening {screening!r} removed every rater "
                         f"({len(scr.removed)}); see the reasons with --screening none, or check the ratings")
    return Results(test, scr, condition_table(kept, test, level=level, rounds=rounds, seed=seed),
                   pair_table(kept, test, level=level, rounds=rounds, seed=seed), kept,
                   {"screening": screening, "level": level, "rounds": rounds, "seed": seed})
