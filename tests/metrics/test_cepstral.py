"""mcd and lsd against an independent computation (numpy framing and FFT, an explicit cosine
matrix, a plain dynamic-programming DTW) on 24 generated pairs, plus the properties that make
them useful: identity is 0, more noise is worse, MCD (DTW) shrugs off a small delay that LSD
(aligned frames) does not."""

from __future__ import annotations

import numpy as np
import pytest

from bench.audio import Audio
from bench.metrics.cepstral import Lsd, Mcd, _mel_basis

RATE = 16000


def _signal(f0: float, seconds: float = 0.5, seed: int = 0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    rng = np.random.default_rng(seed)
    x = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6.28)) / k for k in range(1, 15))
    return (0.1 * x * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))).astype(np.float32)


def _pairs() -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for i, f0 in enumerate((110.0, 150.0, 210.0, 270.0)):
        ref = _signal(f0, seed=i)
        rng = np.random.default_rng(100 + i)
        for snr in (30, 20, 10):
            noise = rng.standard_normal(len(ref))
            noise *= np.sqrt(np.mean(ref.astype(np.float64) ** 2) / np.mean(noise**2) / 10 ** (snr / 10))
            out.append((ref, (ref + noise).astype(np.float32)))
        out.append((ref, np.convolve(ref, [0.5, 0.3, 0.2], mode="same").astype(np.float32)))  # low-passed
        out.append((ref, (0.5 * ref).astype(np.float32)))  # level change
        out.append((ref, _signal(f0 * 1.06, seed=i)))  # a semitone off
    return out


PAIRS = _pairs()


def _frames(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Centred frames, zero-padded, as librosa.stft(center=True) frames them (pad_mode "constant")."""
    padded = np.pad(x.astype(np.float64), n_fft // 2)
    n = 1 + (len(padded) - n_fft) // hop
    return np.stack([padded[i * hop: i * hop + n_fft] for i in range(n)])


def _power(x: np.ndarray, hop: int) -> np.ndarray:
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(512) / 512)  # periodic Hann
    return (np.abs(np.fft.rfft(_frames(x, 512, hop) * window, axis=1)) ** 2).T


def _cepstra(x: np.ndarray) -> np.ndarray:
    mel = _mel_basis(RATE) @ _power(x, 160)
    log_amp = 0.5 * np.log(np.maximum(mel, 1e-10))
    m = log_amp.shape[0]
    d = np.arange(1, 13)[:, None]
    cosines = np.cos(np.pi * d * (np.arange(m)[None, :] + 0.5) / m)
    return cosines @ log_amp / m  # DCT-II (2 * sum) / (2 * M)


def _dtw_path(a: np.ndarray, b: np.ndarray) -> list[tuple[int, int]]:
    cost = np.sqrt(((a[:, :, None] - b[:, None, :]) ** 2).sum(axis=0))
    n, m = cost.shape
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            acc[i, j] = cost[i - 1, j - 1] + min(acc[i - 1, j - 1], acc[i, j - 1], acc[i - 1, j])
    i, j, path = n, m, [(n - 1, m - 1)]
    while (i, j) != (1, 1):
        steps = [(i - 1, j - 1), (i, j - 1), (i - 1, j)]  # librosa's step order decides ties
        i, j = steps[int(np.argmin([acc[s] for s in steps]))]
        path.append((i - 1, j - 1))
    return path


def _mcd_reference(ref: np.ndarray, est: np.ndarray) -> float:
    cr, ce = _cepstra(ref), _cepstra(est)
    return float(np.mean([10 / np.log(10) * np.sqrt(2 * np.sum((cr[:, i] - ce[:, j]) ** 2))
                          for i, j in _dtw_path(cr, ce)]))


def _lsd_reference(ref: np.ndarray, est: np.ndarray) -> float:
    pr, pe = 10 * np.log10(_power(ref, 128) + 1e-8), 10 * np.log10(_power(est, 128) + 1e-8)
    return float(np.mean(np.sqrt(np.mean((pr - pe) ** 2, axis=0))))


def _score(metric, ref: np.ndarray, est: np.ndarray) -> float:
    return metric.score(reference=Audio(ref, RATE), estimate=Audio(est, RATE)).value


def test_agreement_with_an_independent_computation_on_24_pairs():
    assert len(PAIRS) >= 20
    for ref, est in PAIRS:
        assert _score(Mcd(), ref, est) == pytest.approx(_mcd_reference(ref, est), rel=1e-9, abs=1e-9)
        assert _score(Lsd(), ref, est) == pytest.approx(_lsd_reference(ref, est), rel=1e-9, abs=1e-9)


def test_identity_zero_noise_ordered_and_reruns_identical():
    ref, n30, n20, n10 = PAIRS[0][0], PAIRS[0][1], PAIRS[1][1], PAIRS[2][1]
    for metric in (Mcd(), Lsd()):
        assert _score(metric, ref, ref) == 0.0
        values = [_score(metric, ref, e) for e in (n30, n20, n10)]
        assert values == sorted(values) and values[0] > 0
        assert values == [_score(metric, ref, e) for e in (n30, n20, n10)]


def test_mcd_aligns_a_small_delay_lsd_does_not():
    ref = _signal(150.0, seconds=1.0)
    delayed = np.concatenate([np.zeros(240, np.float32), ref[:-240]])  # 15 ms late
    noisy = PAIRS[1][1]
    # DTW pairs the delayed frames with their originals: far smaller than 20 dB SNR noise
    assert _score(Mcd(), ref, delayed) < 0.5 * _score(Mcd(), PAIRS[1][0], noisy)
    assert _score(Lsd(), ref, delayed) > 1.0
