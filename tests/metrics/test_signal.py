import numpy as np
import pytest
import torch
from torchmetrics.functional.audio import scale_invariant_signal_distortion_ratio

from bench.audio import Audio
from bench.errors import MetricInputError
from bench.metrics import metric_class


def _noisy(speech, snr_db, seed=0):
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(len(speech)).astype(np.float32)
    noise *= np.sqrt(np.mean(speech.samples**2) / np.mean(noise**2) / 10 ** (snr_db / 10))
    return speech.with_samples(speech.samples + noise)


@pytest.mark.parametrize("name", ["si-sdr", "snr"])
def test_noise_ladder_is_monotone_and_identity_is_best(speech, name):
    m = metric_class(name)()
    scores = [m.score(reference=speech, estimate=_noisy(speech, snr)).value for snr in (40, 20, 10, 0)]
    assert scores == sorted(scores, reverse=True)
    assert m.score(reference=speech, estimate=speech).value > scores[0]
    # white noise at a known SNR: both metrics recover it within a fraction of a dB
    assert abs(scores[2] - 10) < 0.3


def test_si_sdr_matches_torchmetrics_zero_mean(speech):
    est = _noisy(speech, 5)
    ours = metric_class("si-sdr")().score(reference=speech, estimate=est).value
    ref = scale_invariant_signal_distortion_ratio(
        torch.from_numpy(est.samples.astype(np.float64)), torch.from_numpy(speech.samples.astype(np.float64)), zero_mean=True)
    assert ours == pytest.approx(float(ref), abs=1e-9)


def test_si_sdr_is_scale_invariant_snr_is_not(speech):
    est = _noisy(speech, 10)
    louder = est.with_samples(est.samples * 0.5)
    sisdr, snr = metric_class("si-sdr")(), metric_class("snr")()
    assert sisdr.score(reference=speech, estimate=louder).value == pytest.approx(
        sisdr.score(reference=speech, estimate=est).value, abs=1e-4)
    assert snr.score(reference=speech, estimate=louder).value < snr.score(reference=speech, estimate=est).value - 1


def test_silent_estimate_and_mismatch_are_input_errors(speech):
    m = metric_class("snr")()
    with pytest.raises(MetricInputError, match="all zeros"):
        m.score(reference=speech, estimate=speech.with_samples(np.zeros(len(speech))))
    with pytest.raises(MetricInputError, match="pair mismatch"):
        m.score(reference=speech, estimate=Audio(speech.samples[:-5], 16000))


def test_metric_metadata_is_declared():
    info = metric_class("si-sdr")().info()
    assert info["unit"] == "dB" and info["higher_is_better"] is True
    assert info["backend"] == "torchmetrics" and info["version"] and info["mode"] == "zero_mean=True"
