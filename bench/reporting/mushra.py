"""A listening test in a card: a MUSHRA column in the main table and a rate–MUSHRA curve.

``bench report RUN... --layout nemo-card --listening TEST`` analyses the test
(:mod:`bench.listening.analysis`, screened as asked) and puts each codec condition's MUSHRA mean
with its 95 % t interval over raters into the first ``metrics`` table of the layout, in the section
of the suite the test's items came from; the hidden reference's score goes on the ``original`` row.
Codec settings that were not in the test show as missing. The curve is drawn with the same
plotting code as every other rate–quality curve, at the runs' measured kbps.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from bench.errors import BenchError
from bench.listening.analysis import Results
from bench.reporting.layouts import shown_label

COLUMN = "MUSHRA"
METRIC = "MUSHRA"


def _run_suite(card, section: str, present: set[str]) -> str:
    for s in card.layout.aliases.get(section, [section]):
        if s in present:
            return s
    return section


def add_mushra(card, test_dir: Path, screening: str = "bs1534") -> Results:
    """Analyse the test and add the MUSHRA column to the card's main table; returns the results."""
    from bench.listening.results import results

    res = results(Path(test_dir), screening=screening, agreement=False).results
    test = res.test
    suites = list(dict.fromkeys(t.suite for t in test.trials))
    main = next((s.get("id", "table") for s in card.layout.tables if s["kind"] in ("metrics", "summary")), None)
    if main is None:
        raise BenchError(f"--listening: layout {card.layout.source} has no 'metrics' or 'summary' table to put "
                         "MUSHRA in")
    summary = card.summary
    present = set(summary["suite"]) if not summary.empty else set()
    targets = [t for t in card.tables if t.id == main and _run_suite(card, t.section, present) in suites]
    if not targets:
        raise BenchError(f"--listening {test_dir}: the test's suite ({', '.join(suites)}) is in no section of table "
                         f"{main!r} (sections: {', '.join(t.section for t in card.tables if t.id == main)}); "
                         "pass the runs the test was made from")
    cond = res.conditions.set_index("condition")
    ref = next((c.id for c in test.conditions if c.kind == "reference"), None)
    source = f"listening test {test.path.name if test.path else test.name}"
    for t in targets:
        labels = {shown_label(summary, lab): lab for lab in dict.fromkeys(summary["label"])}
        t.values[COLUMN] = math.nan
        t.status[COLUMN] = "missing"
        t.runs[COLUMN] = ""
        if t.ci_low is None or t.ci_high is None:
            t.ci_low = pd.DataFrame(math.nan, index=t.values.index, columns=t.values.columns)
            t.ci_high = pd.DataFrame(math.nan, index=t.values.index, columns=t.values.columns)
        t.ci_low[COLUMN], t.ci_high[COLUMN] = math.nan, math.nan
        for row in t.values.index:
            lab = labels.get(row, row)
            key = ref if lab == "original" and ref is not None else lab
            if key not in cond.index or (key != ref and cond.at[key, "kind"] != "codec"):
                continue
            t.values.at[row, COLUMN] = float(cond.at[key, "mean"])
            t.ci_low.at[row, COLUMN], t.ci_high.at[row, COLUMN] = cond.at[key, "ci_low"], cond.at[key, "ci_high"]
            t.status.at[row, COLUMN] = "ok" if pd.notna(cond.at[key, "mean"]) else "failed"
            t.runs.at[row, COLUMN] = source
        t.formats[COLUMN] = "{:.1f}"
        scr = res.screening
        note = (f"MUSHRA: mean of per-rater means [95 % t interval over raters] of {source} ({len(scr.kept)} of "
                f"{len(scr.table)} raters kept by {scr.rule} screening; excerpts of this suite's items; the original "
                "row is the hidden reference)")
        t.note = f"{t.note}; {note}" if t.note else note
    card.options["listening"] = {"test": str(test_dir), "screening": screening}
    return res


def curve_frame(summary: pd.DataFrame, res: Results) -> pd.DataFrame:
    """A summary-shaped frame (kbps rows from the runs + MUSHRA rows) for the rate–quality plot."""
    suites = set(t.suite for t in res.test.trials)
    cond = res.conditions[res.conditions["kind"] == "codec"].set_index("condition")
    base = summary[summary["suite"].isin(suites) & summary["label"].isin(cond.index)]
    rate = base[base["metric"] == "kbps"]
    q = rate.drop_duplicates(["suite", "label"]).copy()
    q["metric"] = METRIC
    q["mean"] = [cond.at[lab, "mean"] for lab in q["label"]]
    q["ci_low"] = [cond.at[lab, "ci_low"] for lab in q["label"]]
    q["ci_high"] = [cond.at[lab, "ci_high"] for lab in q["label"]]
    q["unit"], q["higher_is_better"] = "0-100", True
    return pd.concat([rate, q], ignore_index=True)


def rate_mushra_plot(summary: pd.DataFrame, res: Results, out_dir: Path) -> list[Path]:
    from bench.reporting.plots import curve_points, rate_quality_plot

    frame = curve_frame(summary, res)
    if curve_points(frame, METRIC).empty:
        return []
    return rate_quality_plot(frame, METRIC, out_dir, stem="rq-mushra")
