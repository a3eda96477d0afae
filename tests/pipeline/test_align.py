import numpy as np
import pytest

from bench.audio import Audio
from bench.pipeline.align import align, estimate_lag


def _noise(n=8000, seed=0):
    return np.random.default_rng(seed).standard_normal(n).astype(np.float32) * 0.1


@pytest.mark.parametrize("lag", [0, 1, 37, 1105, -20])
def test_recovers_known_lag_exactly(lag):
    x = _noise()
    y = np.concatenate([np.zeros(lag, np.float32), x]) if lag >= 0 else x[-lag:]
    y = np.concatenate([y, np.zeros(300, np.float32)])  # frame padding at the end
    est, al = align(Audio(x, 16000), Audio(y, 16000))
    assert al.lag == lag
    assert len(est) == len(x)  # trimmed to the reference, never the other way
    valid = slice(max(0, -lag), len(x))  # an early estimate lacks its first samples
    np.testing.assert_array_equal(est.samples[valid], x[valid])


def test_lag_search_is_bounded():
    x = _noise()
    y = np.concatenate([np.zeros(6000, np.float32), x])
    assert abs(estimate_lag(x, y, max_lag=100)) <= 100


def test_short_estimate_is_zero_extended_and_recorded():
    x = _noise()
    est, al = align(Audio(x, 16000), Audio(x[:7000], 16000))
    assert len(est) == 8000 and al.padded == 1000 and al.length_change == -1000


def test_rates_must_match():
    with pytest.raises(ValueError):
        align(Audio(_noise(), 16000), Audio(_noise(), 8000))
