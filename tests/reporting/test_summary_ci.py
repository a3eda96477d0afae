import numpy as np
import pandas as pd

from bench.metrics import metric_meta
from bench.reporting.formats import table_markdown
from bench.reporting.layouts import summary_tables
from bench.reporting.tables import summarize


def summary_markdown(summary, width=None):
    """The plain report's tables (the summary layout), as `bench report RUN` prints them."""
    return "\n\n".join(f"{t.section}\n{t.note}\n{table_markdown(t, width)}" for t in summary_tables(summary))


def _rows(seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for label in ("opus@6", "codec2@3.2"):
        for k in range(40):
            rows.append({"suite": "demo", "label": label, "codec": label.split("@")[0], "setting": label.split("@")[1],
                         "metric": "pesq-wb", "item": f"i{k:02d}", "value": rng.normal(3.0, 0.3), "weight": 1.0})
            words = float(rng.integers(5, 30))
            rows.append({"suite": "demo", "label": label, "codec": label.split("@")[0], "setting": label.split("@")[1],
                         "metric": "wer", "item": f"i{k:02d}", "value": 100 * rng.integers(0, 4) / words,
                         "weight": words})
        rows.append({"suite": "demo", "label": label, "codec": label.split("@")[0], "setting": label.split("@")[1],
                     "metric": "eer", "item": "*", "value": 4.0, "weight": 1.0, "eer_ci_low": 2.5, "eer_ci_high": 6.0,
                     "n": 500})
    return pd.DataFrame(rows)


def test_summary_has_cis_bit_identical_under_reordering():
    rows = _rows()
    a = summarize(rows)
    b = summarize(rows.sample(frac=1.0, random_state=1))
    pd.testing.assert_frame_equal(a.sort_values(["label", "metric"]).reset_index(drop=True),
                                  b.sort_values(["label", "metric"]).reset_index(drop=True), check_exact=True)
    assert (a["ci_low"] <= a["mean"]).all() and (a["mean"] <= a["ci_high"]).all()
    eer = a[a.metric == "eer"].iloc[0]
    assert (eer["ci_low"], eer["ci_high"]) == (2.5, 6.0)  # set-level rows bring their own interval
    wer = a[(a.metric == "wer") & (a.label == "opus@6")].iloc[0]
    g = rows[(rows.metric == "wer") & (rows.label == "opus@6")]
    assert wer["mean"] == np.sum(g.value * g.weight) / np.sum(g.weight)  # corpus WER, CI around it
    assert wer["ci_low"] < wer["mean"] < wer["ci_high"]


def test_markdown_shows_plus_minus_only_for_symmetric_intervals():
    s = summarize(_rows())
    md = summary_markdown(s)
    for row in s.itertuples():
        if row.metric == "eer":
            continue  # [2.5, 6.0] around 4.0
        f = metric_meta(row.metric).precision  # the metric's own display precision
        below, above = f.format(row.mean - row.ci_low), f.format(row.ci_high - row.mean)
        if below == above:
            assert f"{f.format(row.mean)} ± {above}" in md
        else:
            assert f"{f.format(row.mean)} [{f.format(row.ci_low)}, {f.format(row.ci_high)}]" in md
    f = metric_meta("eer").precision
    assert f"{f.format(4.0)} [{f.format(2.5)}, {f.format(6.0)}]" in md and "± 1.75" not in md


def test_interval_text_cases_from_the_issue():
    from bench.reporting.tables import interval_text

    assert interval_text(33.333, 0.0, 33.333) == "33.333 [0.000, 33.333]"  # was "33.333 ± 16.667"
    assert interval_text(12.5, 3.5, 34.9) == "12.500 [3.500, 34.900]"  # was "12.500 ± 15.700"
    assert interval_text(2.0, 1.9, 2.1) == "2.000 ± 0.100"
    assert interval_text(2.0, float("nan"), float("nan")) == "2.000"


def _eer_row(suite, label, trials, speakers):
    return {"suite": suite, "label": label, "codec": label.split("@")[0], "setting": label.split("@")[1],
            "metric": "eer", "item": "*", "value": 33.3, "weight": 1.0, "eer_ci_low": 0.0, "eer_ci_high": 50.0,
            "n": 6, "n_trials": trials, "n_speakers": speakers}


def test_set_level_metrics_show_their_n_and_a_caveat_below_the_minimum():
    from bench.reporting.tables import MIN_SPEAKERS, MIN_TRIALS

    few = pd.DataFrame([_eer_row("demo", "opus@6", 6, 3)])
    s = summarize(few)
    assert (s.iloc[0]["n_trials"], s.iloc[0]["n_speakers"]) == (6, 3)
    md = summary_markdown(s)
    f = metric_meta("eer").precision
    assert f"{f.format(33.3)} [{f.format(0.0)}, {f.format(50.0)}]†" in md
    assert f"† EER over 6 trials, 3 speakers (opus@6): fewer than {MIN_TRIALS} trials or {MIN_SPEAKERS}" in md
    many = summary_markdown(summarize(pd.DataFrame([_eer_row("demo", "opus@6", 510, 16)])))
    assert "EER over 510 trials, 16 speakers (opus@6)" in many and "†" not in many


def test_two_suites_get_a_section_each_and_never_share_a_row():
    rows = pd.concat([_rows().assign(suite="demo"), _rows(seed=1).assign(suite="other")], ignore_index=True)
    s = summarize(rows)
    tables = summary_tables(s)
    assert [t.section for t in tables] == ["demo", "other"]
    for t in tables:
        mean = s[(s.suite == t.section) & (s.label == "opus@6") & (s.metric == "pesq-wb")]["mean"].iloc[0]
        assert t.values.at["opus@6", "pesq-wb"] == mean
    assert [t.section for t in summary_tables(summarize(_rows()))] == ["demo"]  # one suite: one section


def test_width_narrows_to_key_metrics_and_names_the_rest():
    s = summarize(_rows())
    full = summary_markdown(s)
    narrow = summary_markdown(s, width=60)
    table = [ln for ln in narrow.splitlines() if ln.startswith("|")]
    assert max(map(len, table)) <= 60 < max(len(ln) for ln in full.splitlines() if ln.startswith("|"))
    assert "pesq-wb" in table[0] and "EER" not in table[0]  # the rightmost key metric goes first
    assert "more column(s) in the report files / `--wide`" in narrow and "EER" in narrow.split("more column(s)")[1]
