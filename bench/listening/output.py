"""What ``bench listen results --out DIR`` writes: CSV tables, a markdown report and a plot.

Files: ``results.csv`` (per condition), ``pairs.csv`` (paired differences), ``raters.csv``
(screening, one row per rater), ``agreement.csv`` (when the runs are available), ``results.md``
and ``results.png`` (box plot of every kept rating per condition, with the mean and its 95 % t
interval over raters drawn beside each box). Condition ids and rater names come from user files,
so every markdown cell is escaped.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd

from bench.listening.agreement import NOTE as AGREEMENT_NOTE
from bench.listening.analysis import Results
from bench.figures import save_figure

_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}#|!])")


def md_escape(text: object) -> str:
    """Text safe inside a markdown table cell: markdown punctuation backslash-escaped, HTML tags
    and entities neutralised, line breaks flattened."""
    s = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = s.replace("\r", " ").replace("\n", " ")
    return _MD_SPECIAL.sub(r"\\\1", s)


def _f(v, fmt="{:.1f}") -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else fmt.format(v)


def _table(df: pd.DataFrame) -> str:
    head = "| " + " | ".join(md_escape(c) for c in df.columns) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(md_escape(v) for v in row) + " |" for row in df.astype(str).itertuples(index=False)]
    return "\n".join([head, sep, *body])


def condition_view(results: Results) -> pd.DataFrame:
    c = results.conditions
    return pd.DataFrame({
        "condition": c["condition"], "kind": c["kind"],
        "kbps": [_f(v, "{:g}") for v in c["kbps"]],
        "MUSHRA mean [95 % t CI]": [f"{_f(m)} [{_f(lo)}, {_f(hi)}]" for m, lo, hi in
                                    zip(c["mean"], c["ci_low"], c["ci_high"])],
        "bootstrap CI (raters x items)": [f"[{_f(lo)}, {_f(hi)}]" for lo, hi in zip(c["boot_low"], c["boot_high"])],
        "n (ratings, raters, items)": [f"{a}, {b}, {i}" for a, b, i in
                                       zip(c["n_ratings"], c["n_raters"], c["n_items"])]})


def pair_view(results: Results) -> pd.DataFrame:
    p = results.pairs
    return pd.DataFrame({
        "A - B": [f"{a} - {b}" for a, b in zip(p["a"], p["b"])],
        "difference [95 % t CI]": [f"{_f(d, '{:+.1f}')} [{_f(lo, '{:+.1f}')}, {_f(hi, '{:+.1f}')}]"
                                   for d, lo, hi in zip(p["diff"], p["ci_low"], p["ci_high"])],
        "p": [_f(v, "{:.2g}") for v in p["p"]], "p (Holm)": [_f(v, "{:.2g}") for v in p["p_holm"]],
        "significant": ["yes" if s else "no" for s in p["significant"]],
        "bootstrap CI": [f"[{_f(lo, '{:+.1f}')}, {_f(hi, '{:+.1f}')}]" for lo, hi in zip(p["boot_low"],
                                                                                          p["boot_high"])],
        "n (pairs, raters)": [f"{a}, {b}" for a, b in zip(p["n_pairs"], p["n_raters"])]})


def screening_view(results: Results) -> pd.DataFrame:
    t = results.screening.table
    return pd.DataFrame({
        "rater": t["rater"], "kind": t["kind"], "trials": t["trials"],
        "reference < 90": [f"{a}/{b} ({_f(f * 100, '{:.0f}')} %)" for a, b, f in
                           zip(t["ref_below_90"], t["ref_trials"], t["ref_below_90_frac"])],
        "low anchor > 80": [f"{a}/{b} ({_f(f * 100, '{:.0f}')} %)" for a, b, f in
                            zip(t["anchor_above_80"], t["anchor_trials"], t["anchor_above_80_frac"])],
        "removed": ["yes" if r else "no" for r in t["removed"]], "reason": t["reason"]})


def agreement_view(agree: pd.DataFrame) -> pd.DataFrame:
    def cell(e, lo, hi):
        return f"{_f(e, '{:+.2f}')} [{_f(lo, '{:+.2f}')}, {_f(hi, '{:+.2f}')}]"

    return pd.DataFrame({
        "level": agree["level"], "metric": agree["metric"], "better": agree["direction"],
        "n (points, ratings)": [f"{a}, {b}" for a, b in zip(agree["n"], agree["n_ratings"])],
        "Pearson": [cell(*r) for r in zip(agree["pearson"], agree["pearson_low"], agree["pearson_high"])],
        "Spearman": [cell(*r) for r in zip(agree["spearman"], agree["spearman_low"], agree["spearman_high"])],
        "Kendall": [cell(*r) for r in zip(agree["kendall"], agree["kendall_low"], agree["kendall_high"])]})


SCREENING_TEXT = {
    "bs1534": "BS.1534-3 §4.1.2: a rater is removed when they scored the hidden reference below 90 in more than "
              "15 % of their trials",
    "encodec": "EnCodec card: a rater is removed when they scored the reference below 90 in at least 20 % of "
               "their trials, or the low anchor above 80 in at least 20 %",
    "none": "no post-screening: every rater is kept",
}


def markdown(results: Results, agree: pd.DataFrame | None = None, agree_note: str = "") -> str:
    test, scr, o = results.test, results.screening, results.options
    kinds = scr.table.set_index("rater")["kind"]
    kept_kinds = kinds[kinds.index.isin(scr.kept)]
    lines = [f"# MUSHRA results: {md_escape(test.name)}", "",
             f"- screening **{md_escape(scr.rule)}**: {md_escape(SCREENING_TEXT[scr.rule])}"
             + (f" (low anchor: {md_escape(scr.low_anchor)})" if scr.rule == "encodec" and scr.low_anchor else ""),
             f"- raters: {len(scr.table)} rated, {len(scr.removed)} removed, {len(scr.kept)} kept"]
    if (kept_kinds == "simulated").any():
        lines.append(f"- **{int((kept_kinds == 'simulated').sum())} of the kept raters are SIMULATED** "
                     "(`bench listen simulate`): these numbers check the pipeline, they are not listener data")
    lines += [f"- intervals: 95 %, seed {o.get('seed')}, {o.get('rounds')} bootstrap rounds", "",
              "## Mean score per condition", "",
              "_mean of per-rater means; headline interval: Student t over per-rater means (raters are the sampled "
              "unit, items fixed); bootstrap: raters and items resampled together (also generalises over items)._",
              "", _table(condition_view(results)), "",
              "## Paired differences", "",
              "_per rater, the mean of A - B over the trials they rated both in; t interval and p over raters; "
              "significant = Holm-adjusted p < 0.05 over all the pairs in this table._", "",
              _table(pair_view(results)), "",
              "## Screening", "", _table(screening_view(results)), ""]
    if agree is not None and not agree.empty:
        lines += ["## Agreement of objective metrics with the listeners", "", f"_{md_escape(AGREEMENT_NOTE)}_", "",
                  _table(agreement_view(agree)), ""]
    elif agree_note:
        lines += ["## Agreement of objective metrics with the listeners", "", f"_{md_escape(agree_note)}_", ""]
    lines += ["![ratings per condition](results.png)", ""]
    return "\n".join(lines)


def box_plot(results: Results, path: Path) -> Path:
    """Box plot of the kept ratings per condition, with the mean and its t interval beside it."""
    from bench.figures import pyplot as _pyplot

    plt = _pyplot()
    c = results.conditions
    order = list(c["condition"])
    data = [results.ratings.loc[results.ratings["condition"] == k, "score"].to_numpy() for k in order]
    x = list(range(1, len(order) + 1))
    with plt.rc_context({"font.size": 8}):
        fig, ax = plt.subplots(figsize=(max(4.0, 0.9 * len(order) + 1.5), 3.6), dpi=100)
        ax.boxplot(data, positions=x, widths=0.45, showfliers=True, flierprops={"markersize": 3})
        err = [(c["mean"] - c["ci_low"]).to_numpy(), (c["ci_high"] - c["mean"]).to_numpy()]
        ax.errorbar([v + 0.35 for v in x], c["mean"], yerr=err, fmt="o", ms=4, capsize=3, color="C3",
                    label="mean, 95 % t CI (raters)")
        ax.set_xticks(x)
        ax.set_xticklabels(order, rotation=30, ha="right")
        ax.set_ylim(-2, 102)
        ax.set_ylabel("MUSHRA score")
        ax.set_title(f"{results.test.name}: ratings per condition ({results.screening.rule} screening)")
        ax.grid(True, axis="y", alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")
        save_figure(fig, path)
    return path


def write(results: Results, out: Path, agree: pd.DataFrame | None = None, agree_note: str = "") -> list[Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = [out / "results.csv", out / "pairs.csv", out / "raters.csv"]
    results.conditions.to_csv(files[0], index=False)
    results.pairs.to_csv(files[1], index=False)
    results.screening.table.to_csv(files[2], index=False)
    if agree is not None and not agree.empty:
        agree.to_csv(out / "agreement.csv", index=False)
        files.append(out / "agreement.csv")
    (out / "results.md").write_text(markdown(results, agree, agree_note) + "\n")
    files.append(out / "results.md")
    files.append(box_plot(results, out / "results.png"))
    return files
