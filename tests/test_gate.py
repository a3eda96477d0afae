import pandas as pd
import pytest

from bench.errors import ConfigError
from bench.gate import compare, load_tolerances

TOL = {"default": {"abs": 0.0, "rel": 0.0}, "metrics": {"si-sdr": {"abs": 0.1}}}


def _summary(over=None):
    rows = [
        {"label": "opus@6", "metric": "si-sdr", "mean": 3.0, "n": 96, "n_failed": 0, "higher_is_better": True},
        {"label": "opus@6", "metric": "kbps", "mean": 6.0, "n": 96, "n_failed": 0, "higher_is_better": False},
    ]
    df = pd.DataFrame(rows)
    for (label, metric, col), value in (over or {}).items():
        df.loc[(df.label == label) & (df.metric == metric), col] = value
    return df


def test_identical_runs_pass():
    assert compare(_summary(), _summary(), TOL).exit_code == 0


def test_drop_beyond_tolerance_fails_within_passes():
    assert compare(_summary(), _summary({("opus@6", "si-sdr", "mean"): 2.95}), TOL).exit_code == 0
    res = compare(_summary(), _summary({("opus@6", "si-sdr", "mean"): 2.8}), TOL)
    assert res.exit_code == 1
    assert res.table.set_index("metric").loc["si-sdr", "status"] == "REGRESSION"


def test_direction_lower_is_better():
    assert compare(_summary(), _summary({("opus@6", "kbps", "mean"): 6.5}), TOL).exit_code == 1
    assert compare(_summary(), _summary({("opus@6", "kbps", "mean"): 5.5}), TOL).exit_code == 0


def test_improvement_passes():
    assert compare(_summary(), _summary({("opus@6", "si-sdr", "mean"): 9.0}), TOL).exit_code == 0


def test_more_failures_is_a_regression_even_if_mean_improves():
    run = _summary({("opus@6", "si-sdr", "mean"): 3.5, ("opus@6", "si-sdr", "n_failed"): 2,
                      ("opus@6", "si-sdr", "n"): 94})
    assert compare(_summary(), run, TOL).exit_code == 1


def test_missing_rows_or_other_items_are_unusable_not_pass():
    run = _summary().iloc[[1]]
    res = compare(_summary(), run, TOL)
    assert res.exit_code == 2 and "not in the run" in res.problems[0]
    res = compare(_summary(), _summary({("opus@6", "si-sdr", "n"): 50}), TOL)
    assert res.exit_code == 2 and "not the same item set" in res.problems[0]


def test_nan_now_is_regression():
    assert compare(_summary(), _summary({("opus@6", "si-sdr", "mean"): float("nan")}), TOL).exit_code == 1


def test_relative_tolerance(tmp_path):
    cfg = tmp_path / "g.yaml"
    cfg.write_text("default: {rel: 0.05}\nmetrics: {}\n")
    tol = load_tolerances(cfg)
    assert compare(_summary(), _summary({("opus@6", "si-sdr", "mean"): 2.9}), tol).exit_code == 0
    assert compare(_summary(), _summary({("opus@6", "si-sdr", "mean"): 2.8}), tol).exit_code == 1


def test_malformed_config(tmp_path):
    cfg = tmp_path / "g.yaml"
    cfg.write_text("metrics: {si-sdr: 0.1}\n")
    with pytest.raises(ConfigError, match="metrics.si-sdr must map"):
        load_tolerances(cfg)


# --- paired gate on item-level rows -------------------------------------------------------------
import numpy as np  # noqa: E402

from bench.gate import Side, item_rows  # noqa: E402
from bench.reporting.tables import summarize  # noqa: E402

PTOL = {"default": {"abs": 0.0, "rel": 0.0}, "metrics": {"visqol-speech": {"abs": 0.02}}}


def _rows(values, metric="visqol-speech", items=None):
    items = items or [f"item{k:03d}" for k in range(len(values))]
    return pd.DataFrame({"suite": "demo", "label": "opus@6", "codec": "opus", "setting": "6", "metric": metric,
                         "item": items, "value": values, "weight": 1.0, "error": None})


def _side(rows):
    return Side(summarize(rows), item_rows(rows), {}, None)


BASE = np.random.default_rng(0).normal(3.0, 0.4, 96)


def test_paired_identical_and_tiny_noise_pass():
    assert compare(_side(_rows(BASE)), _side(_rows(BASE)), PTOL).exit_code == 0
    noisy = BASE + np.random.default_rng(1).normal(0, 0.003, 96)
    res = compare(_side(_rows(BASE)), _side(_rows(noisy)), PTOL)
    assert res.exit_code == 0 and res.table["status"].iloc[0] == "ok"
    assert res.table["test"].iloc[0] == "paired bootstrap"


def test_paired_small_consistent_drop_beyond_margin_is_a_regression():
    # 0.05 on every item: the unpaired CIs of the two means (width ~0.16) would overlap
    res = compare(_side(_rows(BASE)), _side(_rows(BASE - 0.05)), PTOL)
    assert res.exit_code == 1 and res.table["status"].iloc[0] == "REGRESSION"
    assert res.table["delta_ci_high"].iloc[0] < -0.02


def test_significant_but_below_margin_passes():
    res = compare(_side(_rows(BASE)), _side(_rows(BASE - 0.005)), PTOL)
    assert res.exit_code == 0 and res.table["status"].iloc[0] == "ok"


def test_one_item_outlier_is_inconclusive_not_a_failure_unless_strict():
    run = BASE.copy()
    run[7] -= 3.0  # mean drops 0.031 > margin, but from one item: not significant
    res = compare(_side(_rows(BASE)), _side(_rows(run)), PTOL)
    assert res.table["status"].iloc[0] == "inconclusive" and res.exit_code == 0
    assert compare(_side(_rows(BASE)), _side(_rows(run)), PTOL, strict=True).exit_code == 1


def test_paired_different_items_are_unusable_and_new_nan_is_regression():
    other = [f"other{k:03d}" for k in range(96)]
    res = compare(_side(_rows(BASE)), _side(_rows(BASE, items=other)), PTOL)
    assert res.exit_code == 2 and "different item set" in res.problems[0]
    run = BASE.copy()
    run[3] = np.nan
    res = compare(_side(_rows(BASE)), _side(_rows(run)), PTOL)
    assert res.exit_code == 1 and "1 more failed" in res.table["status"].iloc[0]


def test_summary_only_baseline_is_compared_unpaired_with_a_note():
    res = compare(summarize(_rows(BASE)), _side(_rows(BASE - 0.05)), PTOL)
    assert res.exit_code == 1 and res.table["test"].iloc[0].startswith("unpaired")
    assert any("unpaired" in n for n in res.notes)


def test_wer_original_is_paired_over_utterances():
    words = np.arange(5, 101, dtype=float)
    errs = (words * 0.1).round()

    def wer_rows(orig_errs):
        df = _rows(100 * errs / words, metric="wer")
        df["weight"] = words
        df["x_orig_errors"], df["x_ref_len"] = orig_errs, words
        set_row = {**df.iloc[0].to_dict(), "item": "*", "metric": "wer-original", "weight": 1.0,
                   "value": 100 * orig_errs.sum() / words.sum(), "n": len(words)}
        return pd.concat([df, pd.DataFrame([set_row])], ignore_index=True)

    extra = errs.copy()
    extra[::2] += 2  # about 2 points more on the originals' corpus WER
    res = compare(_side(wer_rows(errs)), _side(wer_rows(extra)),
                  {"default": {"abs": 0.5}, "metrics": {}})
    t = res.table.set_index("metric")
    assert t.loc["wer", "status"] == "ok"
    assert t.loc["wer-original", "test"] == "paired bootstrap" and t.loc["wer-original", "status"] == "REGRESSION"


def test_confidence_level_is_configurable_and_checked(tmp_path):
    cfg = tmp_path / "g.yaml"
    cfg.write_text("confidence: 0.99\ndefault: {abs: 0.0}\nmetrics: {visqol-speech: {abs: 0.02}}\n")
    tol = load_tolerances(cfg)
    assert tol["confidence"] == 0.99
    run = BASE - 0.03 + np.random.default_rng(5).normal(0, 0.1, 96)
    wide = compare(_side(_rows(BASE)), _side(_rows(run)), tol).table.iloc[0]
    narrow = compare(_side(_rows(BASE)), _side(_rows(run)), PTOL).table.iloc[0]
    assert wide["delta_ci_high"] - wide["delta_ci_low"] > narrow["delta_ci_high"] - narrow["delta_ci_low"]
    cfg.write_text("confidence: 95\n")
    with pytest.raises(ConfigError, match="confidence"):
        load_tolerances(cfg)
