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
