import numpy as np
import pytest

from bench.audio import Audio
from bench.pipeline.align import align, estimate_lag, lag_tolerance


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


def test_setting_delay_is_applied_and_own_lag_only_recorded():
    x = _noise()
    y = np.concatenate([np.zeros(130, np.float32), x, np.zeros(50, np.float32)])  # this item: 130
    est, al = align(Audio(x, 16000), Audio(y, 16000), delay=100)  # the setting's delay: 100
    assert (al.lag, al.own_lag, al.lag_flag) == (100, 130, True)  # 30 samples > 1 ms at 16 kHz
    np.testing.assert_array_equal(est.samples, y[100:100 + len(x)])  # shifted by the setting's delay only
    _, near = align(Audio(x, 16000), Audio(y, 16000), delay=130 - lag_tolerance(16000))
    assert near.lag_flag is False  # exactly at the tolerance: not flagged
    per_item, al = align(Audio(x, 16000), Audio(y, 16000), delay=100, per_item=True)
    assert (al.lag, al.own_lag, al.lag_flag) == (130, 130, True)  # flagged against the setting either way
    np.testing.assert_array_equal(per_item.samples, x)


def test_zero_delay_keeps_the_codec_output_bit_identical():
    x = _noise()
    y = np.pad(np.convolve(x, [0.4, 0.6]), (0, 6)).astype(np.float32)  # no delay, but peaks at lag 1
    est, al = align(Audio(x, 16000), Audio(y, 16000), delay=0)
    assert (al.lag, al.own_lag, al.lag_flag, al.length_change) == (0, 1, False, 7)
    np.testing.assert_array_equal(est.samples, y[: len(x)])
    _, own = align(Audio(x, 16000), Audio(y, 16000))  # no delay known: the item's own lag
    assert own.lag == 1


def test_tolerance_is_one_millisecond():
    assert (lag_tolerance(16000), lag_tolerance(8000), lag_tolerance(48000)) == (16, 8, 48)
