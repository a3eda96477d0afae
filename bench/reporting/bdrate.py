"""Bjøntegaard deltas between codec families: bitrate saving at equal quality, and quality gain at
equal bitrate, averaged over the range where both curves overlap.

The integration is the ``bjontegaard`` package's (FAU-LMS; its PCHIP matches the JVET CTC Excel
sheet): Akima interpolation by default, PCHIP on request, as in current video-coding practice;
the VCEG-M33 cubic fit is available for comparison with old papers. This module only prepares
the points (one per codec setting, sorted, monotone) and states why a pair has no value.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from bench.reporting.plots import curve_points

METHODS = ("akima", "pchip", "cubic")
#: below these, a BD value is shown with a caveat: with 2 settings a curve is a straight line (the
#: interpolation adds nothing), and a mean over few items moves a curve by more than codec differences
MIN_SETTINGS = 3
MIN_ITEMS = 20
CAVEAT = "CAVEAT"


def bd_rate(rate_a, quality_a, rate_b, quality_b, method: str = "akima") -> float:
    """Bitrate of B relative to A at equal quality, in % (negative: B needs fewer bits)."""
    import bjontegaard as bd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # little overlap: the value is still defined; the table says so
        return float(bd.bd_rate(rate_a, quality_a, rate_b, quality_b, method=method,
                                require_matching_points=False, min_overlap=0))


def bd_quality(rate_a, quality_a, rate_b, quality_b, method: str = "akima") -> float:
    """Quality of B minus A at equal (log) bitrate, in the metric's unit."""
    import bjontegaard as bd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(bd.bd_psnr(rate_a, quality_a, rate_b, quality_b, method=method,
                                require_matching_points=False, min_overlap=0))


def _curve(pts: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Points sorted by rate; a reason instead when the curve cannot enter a BD integral."""
    g = pts.sort_values("kbps")
    r, q = g["kbps"].to_numpy(float), g["value"].to_numpy(float)
    if len(r) < 2:
        return r, q, f"{len(r)} setting (needs 2+)"
    if np.any(np.diff(r) <= 0):
        return r, q, "two settings share a bitrate"
    d = np.diff(q)
    if not (np.all(d > 0) or np.all(d < 0)):
        return r, q, "quality is not monotone in bitrate"
    return r, q, None


def _caveat(summary: pd.DataFrame, suite: str, metric: str, curves: dict[str, pd.DataFrame]) -> str:
    """Why a BD value between these curves rests on thin evidence ('' when it does not)."""
    few_settings = [f"{f} {len(g)}" for f, g in curves.items() if len(g) < MIN_SETTINGS]
    labels = [lab for g in curves.values() for lab in g["label"]]
    n = summary.loc[(summary["suite"] == suite) & (summary["metric"] == metric) & summary["label"].isin(labels), "n"]
    n_min = int(n.min()) if len(n) and pd.notna(n.min()) else None
    why = []
    if few_settings:
        why.append(f"settings per curve: {', '.join(few_settings)} (fewer than {MIN_SETTINGS})")
    if n_min is not None and n_min < MIN_ITEMS:
        why.append(f"{n_min} items per setting (fewer than {MIN_ITEMS})")
    return f"{CAVEAT}: " + " and ".join(why) + ": read as indicative only" if why else ""


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    lo, hi = max(a.min(), b.min()), min(a.max(), b.max())
    return max(hi - lo, 0.0)


def bd_table(summary: pd.DataFrame, metrics: list[str], method: str = "akima") -> pd.DataFrame:
    """One row per (suite, metric, anchor A, test B) with BD-rate (%) and BD-quality; each pair of
    families once, A being the one that appears first in the runs (swap by reading -saving).

    "bitrate saving of B vs A at equal METRIC" = -BD-rate. Pairs whose rate or quality ranges do
    not overlap, or with fewer than two settings, get NaN and the reason; values from fewer than
    ``MIN_SETTINGS`` settings per curve or ``MIN_ITEMS`` items per setting carry a CAVEAT note.
    """
    if method not in METHODS:
        raise ValueError(f"BD method {method!r}: choose one of {', '.join(METHODS)}")
    recs = []
    for metric in metrics:
        pts = curve_points(summary, metric)
        for suite in dict.fromkeys(pts["suite"]):
            fam = {f: g for f, g in pts[pts["suite"] == suite].groupby("family", sort=False)}
            order = list(dict.fromkeys(pts["family"]))
            order = [f for f in dict.fromkeys(summary["codec"]) if f in order] + order  # order of the runs
            names = sorted(fam, key=lambda f: order.index(f) if f in order else len(order))
            single = [f for f in names if len(fam[f]) < 2]
            for f in single:  # one line per family that cannot form a curve, not one per pair
                recs.append({"suite": suite, "metric": metric, "A": f, "B": "-", "method": method,
                             "bd_rate_pct": math.nan, "bitrate_saving_pct": math.nan, "bd_quality": math.nan,
                             "note": f"{f}: 1 setting (needs 2+ for a curve): not compared"})
            names = [f for f in names if f not in single]
            for i, a in enumerate(names):  # each pair once, anchor = the family listed first
                for b in names[i + 1:]:
                    ra, qa, why_a = _curve(fam[a])
                    rb, qb, why_b = _curve(fam[b])
                    rec = {"suite": suite, "metric": metric, "A": a, "B": b, "method": method,
                           "bd_rate_pct": math.nan, "bitrate_saving_pct": math.nan, "bd_quality": math.nan,
                           "note": ""}
                    reasons = [f"{n}: {w}" for n, w in ((a, why_a), (b, why_b)) if w]
                    if reasons:
                        rec["note"] = "; ".join(reasons)
                        recs.append(rec)
                        continue
                    q_overlap = _overlap(qa, qb)
                    r_overlap = _overlap(np.log10(ra), np.log10(rb))
                    if q_overlap > 0:
                        # the package wants rate rising with quality; a lower-is-better metric
                        # (WER) is negated, which leaves the average log-rate gap unchanged
                        sa = 1.0 if qa[-1] > qa[0] else -1.0
                        sb = 1.0 if qb[-1] > qb[0] else -1.0
                        if sa != sb:
                            rec["note"] = "curves run in opposite directions"
                            recs.append(rec)
                            continue
                        rec["bd_rate_pct"] = bd_rate(ra, sa * qa, rb, sb * qb, method)
                        rec["bitrate_saving_pct"] = -rec["bd_rate_pct"]
                    if r_overlap > 0:
                        rec["bd_quality"] = bd_quality(ra, qa, rb, qb, method)
                    notes = []
                    joint = max(qa.max(), qb.max()) - min(qa.min(), qb.min())
                    if 0 < q_overlap < 0.75 * joint:  # the package's own warning threshold
                        notes.append(f"quality ranges overlap {100 * q_overlap / joint:.0f} %: "
                                     "BD-rate rests on that part")
                    if q_overlap == 0:
                        notes.append("no common quality range (no BD-rate)")
                    if r_overlap == 0:
                        notes.append("no common bitrate range (no BD-quality)")
                    caveat = _caveat(summary, suite, metric, {a: fam[a], b: fam[b]})
                    if caveat and (pd.notna(rec["bd_rate_pct"]) or pd.notna(rec["bd_quality"])):
                        notes.insert(0, caveat)
                    rec["note"] = "; ".join(notes)
                    recs.append(rec)
    cols = ["suite", "metric", "A", "B", "method", "bd_rate_pct", "bitrate_saving_pct", "bd_quality", "note"]
    return pd.DataFrame(recs, columns=cols)
