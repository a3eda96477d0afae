"""Is setting B better than setting A? Paired differences per metric, with CIs and a verdict.

Both settings must have scored the same items of the same suite: each item is compared with
itself (B minus A), the mean difference gets the seeded paired bootstrap CI of :mod:`bench.stats`
(weighted like the summary: corpus WER by reference words), and the verdict uses the gate's
practical margin for the metric (its ``gate_margin``, or ``reports/gate.yaml``'s override; :func:`bench.gate.load_tolerances`)
and the metric's direction from its metadata record:

- ``better`` / ``worse``: the CI excludes 0 on that side *and* the estimate is beyond the margin
  (the gate's REGRESSION rule, in both directions);
- ``indistinguishable``: the whole CI lies within ±margin (any difference is too small to matter);
- ``inconclusive``: neither (the suite is too small or too noisy to tell).

Settings may come from one run directory or several (and baseline CSVs with their rows file);
items are never paired across suites: each suite present for both settings gets its own rows.
Set-level metrics (EER, minDCF over trials) cannot be paired item by item; they are listed with
each side's value and interval and the verdict ``not paired``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench import stats
from bench.errors import BenchError
from bench.gate import default_margins, load_side, load_tolerances
from bench.markdown import md_escape, md_table

BETTER, WORSE, SAME, UNSURE, UNPAIRED = "better", "worse", "indistinguishable", "inconclusive", "not paired"
COLUMNS = ["suite", "metric", "direction", "n", "mean_a", "mean_b", "diff", "diff_ci_low", "diff_ci_high",
           "margin", "verdict", "a_ci_low", "a_ci_high", "b_ci_low", "b_ci_high"]
#: below this many paired items a bootstrap interval is too narrow to trust (it cannot see the
#: spread of a population from a handful of draws); the verdict is still given, with a warning
MIN_ITEMS = 10


@dataclass
class Comparison:
    a: str
    b: str
    table: pd.DataFrame  # one row per (suite, metric): COLUMNS
    level: float = stats.LEVEL
    notes: list[str] = field(default_factory=list)

    @property
    def markdown(self) -> str:
        if self.table.empty:
            return "(nothing compared)"
        t = self.table
        def side(r, x):  # set-level rows: each side's own interval, since the difference has none
            v, lo, hi = getattr(r, f"mean_{x}"), getattr(r, f"{x}_ci_low"), getattr(r, f"{x}_ci_high")
            if r.verdict == UNPAIRED and np.isfinite(lo) and np.isfinite(hi):
                return f"{_num(v)} [{_num(lo)}, {_num(hi)}]"
            return _num(v)

        shown = pd.DataFrame({
            "suite": t["suite"], "metric": t["metric"] + " " + t["direction"], "n": t["n"].astype(int),
            "A": [side(r, "a") for r in t.itertuples()], "B": [side(r, "b") for r in t.itertuples()],
            "B − A [95 % CI]": [_diff_text(r) for r in t.itertuples()],
            "margin": [_num(v) for v in t["margin"]], "verdict": t["verdict"],
        })
        head = f"A = {md_escape(self.a)}, B = {md_escape(self.b)}"
        if shown["suite"].nunique() == 1:
            head += f", suite {md_escape(shown['suite'].iloc[0])}"
            shown = shown.drop(columns="suite")
        head = [head + "; the verdict says how B compares with A", ""]
        return "\n".join([*head, md_table(shown, index=False, disable_numparse=True), "",
                          *(f"- {md_escape(n)}" for n in self.notes)]).rstrip()


def _num(v: float) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{v:.4g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"


def _diff_text(r) -> str:
    d = "n/a" if not np.isfinite(r.diff) else f"{r.diff:+.4g}"
    if np.isfinite(r.diff_ci_low) and np.isfinite(r.diff_ci_high):
        d += f" [{r.diff_ci_low:+.4g}, {r.diff_ci_high:+.4g}]"
    return d


def verdict(ci: stats.Interval, margin: float, higher_is_better: bool) -> str:
    """The rule in the module docstring, on the CI of B − A."""
    if not (np.isfinite(ci.low) and np.isfinite(ci.high)):
        return UNSURE
    sign = 1.0 if higher_is_better else -1.0
    gain, lo, hi = sign * ci.estimate, *sorted((sign * ci.low, sign * ci.high))
    eps = 1e-12
    if lo > 0 and gain > margin + eps:
        return BETTER
    if hi < 0 and -gain > margin + eps:
        return WORSE
    if lo >= -margin - eps and hi <= margin + eps:
        return SAME
    return UNSURE


def _direction(metric: str, summary: pd.DataFrame) -> tuple[bool, bool]:
    """(higher_is_better, set_level) from the metric registry; a metric not installed here falls
    back to the direction recorded in the summary."""
    from bench.metrics import all_metrics, metric_meta

    meta = metric_meta(metric)
    known = metric in all_metrics() or meta.parent is not None or metric == "kbps"
    hib = meta.higher_is_better
    if not known:
        rec = summary[summary["metric"] == metric]
        if len(rec):
            hib = bool(rec["higher_is_better"].iloc[0])
    return hib, meta.set_level


def _margin(tolerances: dict[str, Any], metric: str, base_mean: float) -> float:
    tol = {**tolerances["default"], **tolerances["metrics"].get(metric, {})}
    return max(float(tol.get("abs", 0.0)), float(tol.get("rel", 0.0)) * abs(base_mean))


def _load(sources: list[Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Item rows and summaries of every source; a later source's row for the same (suite, label,
    metric, item) wins, as in ``bench report``."""
    items, summaries = [], []
    for src in sources:
        side = load_side(Path(src))
        if side.items is None:
            raise BenchError(f"{src}: no item-level rows (a summary-only baseline cannot be compared item by item)")
        it = side.items.copy()
        if "suite" not in it or it["suite"].isna().all():
            it["suite"] = (side.manifest.get("suite") or {}).get("name", "?")
        items.append(it)
        s = side.summary.copy()
        if "suite" not in s:
            s["suite"] = (side.manifest.get("suite") or {}).get("name", "?")
        summaries.append(s)
    rows = pd.concat(items, ignore_index=True).drop_duplicates(["suite", "label", "metric", "item"], keep="last")
    summary = pd.concat(summaries, ignore_index=True).drop_duplicates(["suite", "label", "metric"], keep="last")
    rows["suite"] = rows["suite"].astype(str)
    summary["suite"] = summary["suite"].astype(str)
    return rows, summary


def compare(sources: list[Path] | Path, a: str, b: str, *, metrics: list[str] | None = None,
            config: Path | None = None, suite: str | None = None) -> Comparison:
    """Paired comparison of setting ``b`` against setting ``a`` (labels such as ``opus@6``); margins
    from ``config``, default the checkout's ``reports/gate.yaml`` (as ``bench gate``)."""
    sources = [sources] if isinstance(sources, (str, Path)) else list(sources)
    if not sources:
        raise BenchError("bench compare: give at least one run directory")
    if a == b:
        raise BenchError(f"bench compare: --a and --b are both {a!r}")
    tolerances = load_tolerances(config if config is not None else default_margins())
    level = float(tolerances.get("confidence", stats.LEVEL))
    rows, summary = _load(sources)
    labels = list(dict.fromkeys(summary["label"]))
    for name, flag in ((a, "--a"), (b, "--b")):
        if name not in labels:
            raise BenchError(f"{flag} {name}: not in {', '.join(map(str, sources))}; settings there: "
                             f"{', '.join(labels)}")
    notes_pre: list[str] = []
    suites_a = set(summary.loc[summary["label"] == a, "suite"])
    suites_b = set(summary.loc[summary["label"] == b, "suite"])
    common = sorted(suites_a & suites_b)
    if suite is not None:
        if suite not in common:
            raise BenchError(f"--suite {suite}: {a} was run on {', '.join(sorted(suites_a))}, {b} on "
                             f"{', '.join(sorted(suites_b))}")
        common = [suite]
    for name, theirs in ((a, suites_a), (b, suites_b)):
        if theirs - set(common):
            notes_pre.append(f"{name} was also run on {', '.join(sorted(theirs - set(common)))}: not compared "
                             f"(only items of one suite pair with each other)")
    if not common:
        raise BenchError(f"{a} was run on suite(s) {', '.join(sorted(suites_a))} and {b} on "
                         f"{', '.join(sorted(suites_b))}: no suite in common, so no item can be paired")
    wanted = None
    if metrics:
        wanted = [m.strip() for part in metrics for m in part.split(",") if m.strip()]
        have = set(summary["metric"])
        unknown = [m for m in wanted if m not in have]
        if unknown:
            raise BenchError(f"--metric {', '.join(unknown)}: not in these runs; metrics there: "
                             f"{', '.join(sorted(have))}")
    from bench.reporting.tables import card_order

    out, notes = [], list(notes_pre)
    skipped_original: set[str] = set()
    for s in common:
        sa = summary[(summary["suite"] == s) & (summary["label"] == a)]
        sb = summary[(summary["suite"] == s) & (summary["label"] == b)]
        shared = [m for m in card_order(list(dict.fromkeys(sa["metric"]))) if m in set(sb["metric"])]
        if wanted is not None:
            shared = [m for m in shared if m in wanted]
        ra = rows[(rows["suite"] == s) & (rows["label"] == a)]
        rb = rows[(rows["suite"] == s) & (rows["label"] == b)]
        for metric in shared:
            if metric.endswith("-original") and wanted is None:
                skipped_original.add(metric)  # scores of the originals: the same for both settings
                continue
            hib, set_level = _direction(metric, summary)
            rec_a, rec_b = sa[sa["metric"] == metric].iloc[0], sb[sb["metric"] == metric].iloc[0]
            mean_a, mean_b = float(rec_a["mean"]), float(rec_b["mean"])
            margin = _margin(tolerances, metric, mean_a)
            rec = {"suite": s, "metric": metric, "direction": "↑" if hib else "↓", "margin": margin,
                   **{f"{x}_ci_{e}": float(r.get(f"ci_{e}", math.nan)) for x, r in (("a", rec_a), ("b", rec_b))
                      for e in ("low", "high")}}
            ia = ra[ra["metric"] == metric].set_index("item")
            ib = rb[rb["metric"] == metric].set_index("item")
            if set_level or ia.empty or ib.empty:
                out.append({**rec, "n": int(sa.loc[sa["metric"] == metric, "n"].iloc[0]), "mean_a": mean_a,
                            "mean_b": mean_b, "diff": mean_b - mean_a, "diff_ci_low": math.nan,
                            "diff_ci_high": math.nan, "verdict": UNPAIRED})
                continue
            ids = sorted(set(ia.index) & set(ib.index))
            va, vb = ia.loc[ids, "value"].to_numpy(float), ib.loc[ids, "value"].to_numpy(float)
            w = ia.loc[ids, "weight"].to_numpy(float)
            ok = np.isfinite(va) & np.isfinite(vb)
            dropped = len(set(ia.index) ^ set(ib.index)) + int((~ok).sum())
            if dropped:
                notes.append(f"{s} / {metric}: {dropped} item(s) scored on one side only or failed, left out")
            va, vb, w = va[ok], vb[ok], w[ok]
            weighted = len(w) > 0 and not np.all(w == w[0])
            ci = stats.paired_diff_ci(va, vb, w if weighted else None, level=level)
            ma = float(np.sum(va * w) / np.sum(w)) if weighted else float(np.mean(va)) if len(va) else math.nan
            out.append({**rec, "n": ci.n, "mean_a": ma, "mean_b": ma + ci.estimate, "diff": ci.estimate,
                        "diff_ci_low": ci.low, "diff_ci_high": ci.high, "verdict": verdict(ci, margin, hib)})
    table = pd.DataFrame(out, columns=COLUMNS)
    if skipped_original:
        notes.append(f"left out: {', '.join(sorted(skipped_original))} (the originals' scores, the same for both "
                     "settings; ask with --metric to see them)")
    few = table[(table["verdict"] != UNPAIRED) & (table["n"] < MIN_ITEMS)]
    if len(few):
        notes.append(f"only {int(few['n'].min())} paired items: bootstrap intervals from fewer than {MIN_ITEMS} "
                     "items are too narrow to trust; score more items before relying on a verdict")
    if (table["verdict"] == UNPAIRED).any():
        notes.append("not paired: set-level metrics (EER, minDCF over trials) have no per-item values; each "
                     "side's own interval is in its summary.csv")
    notes.append(f"CI: {level:.0%} seeded paired bootstrap over items (corpus WER weighted by reference words); "
                 "better/worse: the CI excludes 0 and the difference exceeds the metric's margin (its gate_margin; reports/gate.yaml may override); "
                 "indistinguishable: the CI lies within ±margin; inconclusive: neither")
    return Comparison(a, b, table, level, notes)
