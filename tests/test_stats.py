import numpy as np
import pandas as pd
import pytest

from bench import stats


def test_bootstrap_ci_covers_true_mean_at_nominal_rate():
    # skewed data (exponential, true mean 1): BCa should cover close to 95 %
    rng = np.random.default_rng(123)
    hits = 0
    sims = 300
    for k in range(sims):
        x = rng.exponential(1.0, 60)
        ci = stats.mean_ci(x, rounds=999, seed=k)
        hits += ci.low <= 1.0 <= ci.high
    assert 0.91 <= hits / sims <= 0.985


def test_weighted_mean_ci_is_corpus_ratio_and_covers_it():
    errors = np.array([1, 0, 3, 2, 0, 5, 1, 0, 2, 4], float)
    words = np.array([10, 8, 20, 15, 5, 30, 12, 7, 9, 25], float)
    ci = stats.mean_ci(100 * errors / words, words)
    assert ci.estimate == pytest.approx(100 * errors.sum() / words.sum())
    assert ci.low < ci.estimate < ci.high


def test_paired_test_finds_a_constructed_shift_and_not_a_null():
    rng = np.random.default_rng(7)
    base = rng.normal(3.0, 0.5, 96)  # large between-item spread ...
    run = base - 0.1 + rng.normal(0, 0.02, 96)  # ... small within-item noise: paired test sees 0.1
    ci = stats.paired_diff_ci(base, run)
    assert ci.high < 0 and ci.estimate == pytest.approx(-0.1, abs=0.01) and ci.half_width < 0.01
    null = stats.paired_diff_ci(base, base + rng.normal(0, 0.02, 96))
    assert null.low < 0 < null.high
    # the unpaired intervals of the two means overlap: only pairing detects the drop
    a, b = stats.mean_ci(base), stats.mean_ci(run)
    assert a.low < b.high
    assert stats.min_detectable_effect(ci) == pytest.approx(2.8016 * ci.se, rel=1e-3)


def test_constant_data_and_tiny_samples():
    ci = stats.paired_diff_ci(np.ones(20), np.ones(20))
    assert (ci.estimate, ci.low, ci.high, ci.se) == (0.0, 0.0, 0.0, 0.0)
    one = stats.mean_ci([2.0])
    assert one.estimate == 2.0 and np.isnan(one.low)
    assert np.isnan(stats.mean_ci([]).estimate)


def test_summary_ci_is_bit_identical_and_independent_of_item_order():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"item": [f"i{k:03d}" for k in range(96)], "value": rng.normal(3, 0.4, 96), "weight": 1.0})
    df.loc[5, "value"] = np.nan  # failed item: left out
    a = stats.summary_ci(df)
    b = stats.summary_ci(df.sample(frac=1.0, random_state=3))
    assert a == b and a.n == 95
