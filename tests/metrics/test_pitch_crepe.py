"""CREPE pitch metrics against torchcrepe's own ``predict`` (CREPE tiny, 24 pairs of generated
signals), and the reproducibility the metrics promise: identical reruns (torchcrepe's dither left
out, the global RNG untouched), identical values whatever the caller's thread count."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.audio import Audio
from bench.metrics import pitch
from bench.metrics.pitch import (F0Rmse, F0RmseTiny, PeriodicityRmseTiny, VuvErrorTiny, pitch_track,
                                 torchcrepe)

pytestmark = [pytest.mark.models,
              pytest.mark.skipif(F0RmseTiny.availability() is not None, reason=str(F0RmseTiny.availability()))]
RATE = 16000


def _voice(f0: float, seconds: float = 0.45, seed: int = 0, snr: float | None = None) -> np.ndarray:
    """A harmonic 'vowel' with vibrato, a silent gap and (optionally) white noise at ``snr`` dB."""
    t = np.arange(int(seconds * RATE)) / RATE
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.02 * np.sin(2 * np.pi * 5 * t))) / RATE
    x = sum(np.sin(k * phase) / k for k in range(1, 12)) * 0.2 * ((t < 0.25) | (t > 0.35))
    if snr is not None:
        noise = np.random.default_rng(seed).standard_normal(len(x))
        x = x + noise * np.sqrt(np.mean(x**2) / np.mean(noise**2) / 10 ** (snr / 10))
    return x.astype(np.float32)


# 6 references (f0 100-250 Hz) x 4 estimates (noise 20 / 10 / 5 dB, 3 % sharp) = 24 pairs
F0S = (100, 130, 160, 190, 220, 250)
REFS = [_voice(f0, seed=i) for i, f0 in enumerate(F0S)]
PAIRS = [(i, est) for i, f0 in enumerate(F0S)
         for est in (_voice(f0, seed=i, snr=20), _voice(f0, seed=i, snr=10), _voice(f0, seed=i, snr=5),
                     _voice(f0 * 1.03, seed=i))]


def _package_track(x: np.ndarray, model: str = "tiny"):
    """torchcrepe.predict as documented (its Viterbi decoder), with numpy's global RNG seeded: the
    decoder dithers the returned frequency with ``scipy.stats.triang.rvs`` (+-20 cents, one draw
    per batch); the same draw, repeated from the same seed, is taken off again and the decoded
    bins read back exactly."""
    import scipy.stats

    tc = torchcrepe()
    audio = torch.from_numpy(x)[None]
    np.random.seed(1234)
    f0, periodicity = tc.predict(audio, RATE, hop_length=160, fmin=50.0, fmax=550.0, model=model,
                                 decoder=tc.decode.viterbi, return_periodicity=True, batch_size=512, device="cpu")
    np.random.seed(1234)
    noise = scipy.stats.triang.rvs(c=0.5, loc=-tc.CENTS_PER_BIN, scale=2 * tc.CENTS_PER_BIN, size=tuple(f0.shape))
    cents = 1200 * torch.log2(f0.double() / 10) - torch.from_numpy(noise)
    bins = torch.round((cents - pitch.CENTS_OFFSET) / tc.CENTS_PER_BIN)
    assert torch.max(torch.abs((cents - pitch.CENTS_OFFSET) / tc.CENTS_PER_BIN - bins)) < 1e-3  # really undone
    f0_centre = 10 * 2 ** ((tc.CENTS_PER_BIN * bins + pitch.CENTS_OFFSET) / 1200)
    gated = tc.threshold.Silence(-60.0)(periodicity, audio, RATE, 160, True)
    return f0_centre[0].numpy(), periodicity[0].double().numpy(), gated[0].double().numpy() >= 0.21


def _expected(ref, est):
    (fr, pr, vr), (fe, pe, ve) = ref, est
    both = vr & ve
    return (float(np.sqrt(np.mean((1200 * np.log2(fe[both] / fr[both])) ** 2))),
            float(100 * np.mean(vr != ve)), float(np.sqrt(np.mean((pe - pr) ** 2))))


def _ours(ref: np.ndarray, est: np.ndarray, metrics=(F0RmseTiny, VuvErrorTiny, PeriodicityRmseTiny)):
    return tuple(m().score(reference=Audio(ref, RATE), estimate=Audio(est, RATE)).value for m in metrics)


@pytest.fixture(scope="module")
def package_tracks():
    return {id(x): _package_track(x) for x in REFS + [e for _, e in PAIRS]}


def test_agreement_with_torchcrepe_predict_on_24_pairs(package_tracks):
    assert len(PAIRS) >= 20
    for i, est in PAIRS:
        ours_ref, ours_est = pitch_track(Audio(REFS[i], RATE), "tiny"), pitch_track(Audio(est, RATE), "tiny")
        for ours, theirs in ((ours_ref, package_tracks[id(REFS[i])]), (ours_est, package_tracks[id(est)])):
            np.testing.assert_allclose(ours.f0, theirs[0], rtol=1e-12)  # same decoded bins
            np.testing.assert_array_equal(ours.periodicity, theirs[1])
            np.testing.assert_array_equal(ours.voiced, theirs[2])
        expected = _expected(package_tracks[id(REFS[i])], package_tracks[id(est)])
        assert _ours(REFS[i], est) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_values_order_as_degradation_grows():
    for i in range(len(REFS)):
        light, heavy = PAIRS[4 * i][1], PAIRS[4 * i + 2][1]
        f0_light, vuv_light, per_light = _ours(REFS[i], light)
        f0_heavy, vuv_heavy, per_heavy = _ours(REFS[i], heavy)
        assert per_light < per_heavy
        assert vuv_light <= vuv_heavy
    assert _ours(REFS[0], REFS[0]) == (0.0, 0.0, 0.0)
    shifted = _ours(REFS[2], PAIRS[11][1])[0]  # 3 % sharp = 51 cents
    assert 30 < shifted < 80


def test_reruns_identical_rng_untouched_and_thread_count_irrelevant():
    ref, est = REFS[1], PAIRS[4][1]
    np.random.seed(7)
    expected_draw = np.random.random()
    np.random.seed(7)
    pitch._TRACKS.clear()
    first = _ours(ref, est)
    assert np.random.random() == expected_draw  # numpy's global RNG is where it was
    values = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        pitch._TRACKS.clear()
        values.append(_ours(ref, est))
        assert torch.get_num_threads() == threads  # restored after the one-thread call
    assert values[0] == values[1] == first


@pytest.mark.slow
def test_full_model_agrees_with_torchcrepe_predict():
    """CREPE full (the default model) is ~20x the cost of tiny: one short pair."""
    ref, est = REFS[3][:4800], PAIRS[13][1][:4800]
    expected = _expected(_package_track(ref, "full"), _package_track(est, "full"))
    pitch._TRACKS.clear()
    ours = _ours(ref, est, (F0Rmse, pitch.VuvError, pitch.PeriodicityRmse))
    assert ours == pytest.approx(expected, rel=1e-12, abs=1e-12)
