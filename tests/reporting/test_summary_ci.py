import numpy as np
import pandas as pd

from bench.reporting.tables import summarize, summary_markdown


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


def test_markdown_shows_mean_plus_minus_half_width():
    s = summarize(_rows())
    md = summary_markdown(s)
    row = s[(s.metric == "pesq-wb") & (s.label == "opus@6")].iloc[0]
    assert f"{row['mean']:.3f} ± {(row['ci_high'] - row['ci_low']) / 2:.3f}" in md
