"""PESQ and STOI are the reference packages' numbers, to float precision: codecbench adds input
checks and bookkeeping, never a different computation."""

from __future__ import annotations

import numpy as np
import pytest

for _backend in ("visqol", "pesq", "pystoi", "librosa"):  # the `metrics` extra
    pytest.importorskip(_backend)

from bench.audio import resample
from bench.metrics import metric_class

from perceptual_fixtures import clip, ladder  # noqa: F401  (pytest fixtures)

STEPS = ["identity", "noise20dB", "noise0dB", "lowpass3500"]


@pytest.mark.parametrize("name,mode", [("pesq-wb", "wb"), ("pesq-nb", "nb")])
def test_pesq_equals_the_pesq_package(name, mode, clip, ladder):
    from pesq import pesq

    rate = metric_class(name).sample_rate
    ref = resample(clip, rate)
    for step in STEPS:
        est = resample(ladder[step], rate)
        ours = metric_class(name)().score(reference=ref, estimate=est).value
        theirs = pesq(rate, ref.samples, est.samples, mode)
        assert ours == pytest.approx(theirs, rel=1e-7, abs=1e-7), step


@pytest.mark.parametrize("name,extended", [("stoi", False), ("estoi", True)])
def test_stoi_equals_pystoi(name, extended, clip, ladder):
    from pystoi import stoi

    rate = metric_class(name).sample_rate
    ref = resample(clip, rate)
    for step in STEPS:
        est = resample(ladder[step], rate)
        ours = metric_class(name)().score(reference=ref, estimate=est).value
        theirs = stoi(ref.samples.astype(np.float64), est.samples.astype(np.float64), rate, extended=extended)
        assert ours == pytest.approx(theirs, rel=1e-7, abs=1e-9), step


def test_pesq_order_matters(clip, ladder):
    """Reference and estimate are not interchangeable: swapping them changes PESQ, which is why the
    API makes positional calls impossible."""
    m = metric_class("pesq-wb")()
    ref, est = clip, ladder["lowpass2000"]
    assert m.score(reference=ref, estimate=est).value != pytest.approx(m.score(reference=est, estimate=ref).value)


def test_mel_distance_against_direct_librosa(clip, ladder):
    """Cross-check of the hand-written glue: one scale recomputed with librosa's own STFT + mel."""
    import librosa

    from bench.metrics.spectral import MEL_BANDS, MEL_WINDOWS, _mel_basis, _magnitude

    est = ladder["noise20dB"]
    import torch

    for window, n_mels in zip(MEL_WINDOWS[-2:], MEL_BANDS[-2:]):
        ours = (_mel_basis(16000, window, n_mels) @ _magnitude(torch.from_numpy(clip.samples), window)).numpy()
        theirs = librosa.feature.melspectrogram(y=clip.samples, sr=16000, n_fft=window, hop_length=window // 4,
                                                n_mels=n_mels, power=1.0, center=True, pad_mode="reflect",
                                                window="hann")
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-5)
    assert metric_class("mel-distance")().score(reference=clip, estimate=est).value > 0


def test_estoi_does_not_depend_on_what_was_drawn_before(clip, ladder):
    """pystoi's ESTOI dithers with numpy's global generator; codecbench seeds it for the call, so
    the score is a function of the pair alone (and the caller's generator is left as it was)."""
    m = metric_class("estoi")()
    rate = m.sample_rate
    ref, est = resample(clip, rate), resample(ladder["noise20dB"], rate)
    np.random.seed(1)
    first = m.score(reference=ref, estimate=est).value
    after_first = np.random.random()
    np.random.seed(2)
    np.random.random(1000)  # another history, as another item order or worker would leave
    second = m.score(reference=ref, estimate=est).value
    assert first == second  # bit for bit
    np.random.seed(1)
    assert np.random.random() == after_first  # the caller's state is restored, not reseeded
