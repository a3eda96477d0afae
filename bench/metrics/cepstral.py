"""Mel-cepstral distortion (MCD, with DTW) and log-spectral distance (LSD, on aligned frames), in dB.

Why hand-written: no well-kept library computes them on arrays with a declared definition. pysptk
and pyworld (SPTK/WORLD MCD as ESPnet computes it) need compiled builds and a slow F0 pass;
``mel-cepstral-distance`` and ``pymcd`` are one-author packages with their own scalings. Only the
glue is ours: the STFT and mel filterbank are librosa's, the DCT is scipy's, the DTW is
``librosa.sequence.dtw``.

- ``mcd`` (dB), Kubichek (1993) as TTS/VC and codec papers use it, after DTW: frames of 32 ms
  (512-sample periodic Hann window at 16 kHz, centred, zero padding), hop 10 ms, power spectrum, 40 Slaney mel bands
  (0-8 kHz), natural log of mel *amplitude* (floor 1e-10 power), mel-cepstrum
  c = DCT-II(log-mel) / (2 * 40) (scaled so its inverse is the log spectrum's cosine series, the
  convention of SPTK's mel-cepstrum, so values are on the usual scale), coefficients c1..c12 (c0,
  the energy, excluded). Per frame pair ``10 / ln 10 * sqrt(2 * sum_d (c_d - c'_d)^2)``; frames are
  paired by DTW on the c1..c12 vectors (Euclidean, librosa's default steps) and the value is the
  mean over the path's pairs. DTW makes it robust to small timing differences, which is why papers
  use it; the runner's pair is sample-aligned anyway.
- ``lsd`` (dB), on aligned frames (the runner's aligned pair): STFT with 512-sample periodic Hann,
  hop 128, centred with zero padding (librosa), power P = |X|^2 + 1e-8 (a -80 dB floor for a full-scale sine); per frame
  ``sqrt(mean_f (10 log10 P_ref - 10 log10 P_est)^2)``, then the mean over frames (as in
  bandwidth-extension papers, there on log10 power without the factor 10).

Both are at 16 kHz (speech suites); values depend on the rate, which is recorded. Distances: lower
is better, 0 for identical signals.

Example (synthetic tone; identity gives 0, noise raises both):

>>> from bench.metrics.examples import noisy, tone
>>> ref = tone()
>>> Mcd().score(reference=ref, estimate=ref).value, Lsd().score(reference=ref, estimate=ref).value
(0.0, 0.0)
>>> round(Mcd().score(reference=ref, estimate=noisy(ref, 20)).value, 1)
11.5
>>> round(Lsd().score(reference=ref, estimate=noisy(ref, 20)).value, 1)  # the tone's pauses are digital silence
47.9
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from bench.audio import Audio
from bench.metrics import register_metric
from bench.metrics._checks import check_pair
from bench.metrics.base import Metric, Score

N_FFT = 512
MCD_HOP = 160
N_MELS = 40
N_CEPS = 12  # c1..c12
LSD_HOP = 128
POWER_FLOOR = 1e-10
LSD_FLOOR = 1e-8
DB_PER_NEPER = 10.0 / np.log(10.0)


@lru_cache(maxsize=4)
def _mel_basis(sample_rate: int) -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=sample_rate, n_fft=N_FFT, n_mels=N_MELS, fmin=0.0, fmax=sample_rate / 2)


def _power(x: np.ndarray, hop: int) -> np.ndarray:
    import librosa

    stft = librosa.stft(np.asarray(x, dtype=np.float64), n_fft=N_FFT, hop_length=hop, window="hann", center=True)
    return np.abs(stft) ** 2  # (freq, frames)


def mel_cepstrum(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """c1..c12 per frame, shape (12, frames), as defined in the module docstring."""
    from scipy.fft import dct

    mel = _mel_basis(sample_rate) @ _power(x, MCD_HOP)
    log_amplitude = 0.5 * np.log(np.maximum(mel, POWER_FLOOR))
    return dct(log_amplitude, type=2, axis=0, norm=None)[1:N_CEPS + 1] / (2 * N_MELS)


def mcd(reference: Audio, estimate: Audio) -> tuple[float, int]:
    """MCD in dB over the DTW path, and the path's length."""
    import librosa

    cr = mel_cepstrum(reference.samples, reference.sample_rate)
    ce = mel_cepstrum(estimate.samples, estimate.sample_rate)
    _, path = librosa.sequence.dtw(X=cr, Y=ce, metric="euclidean")
    diff = cr[:, path[:, 0]] - ce[:, path[:, 1]]
    per_pair = DB_PER_NEPER * np.sqrt(2.0 * np.sum(diff**2, axis=0))
    return float(np.mean(per_pair)), len(path)


def lsd(reference: Audio, estimate: Audio) -> float:
    """Mean over aligned frames of the RMS (over frequency) log-power difference, in dB."""
    pr = 10 * np.log10(_power(reference.samples, LSD_HOP) + LSD_FLOOR)
    pe = 10 * np.log10(_power(estimate.samples, LSD_HOP) + LSD_FLOOR)
    return float(np.mean(np.sqrt(np.mean((pr - pe) ** 2, axis=0))))


@register_metric
class Mcd(Metric):
    name = "mcd"
    display = "MCD (dB)"
    rank = 52
    unit = "dB"
    higher_is_better = False
    sample_rate = 16000
    backend = "librosa"
    mode = (f"Kubichek MCD with DTW: 32 ms Hann, 10 ms hop, {N_MELS} Slaney mels, ln mel amplitude, "
            f"DCT-II/(2*{N_MELS}), c1..c{N_CEPS}, 10/ln10*sqrt(2*sum), mean over the DTW path")
    default = False
    cost_rtf = 0.013  # CPU s per audio s, measured (docs/performance.md)

    def score(self, *, reference: Audio, estimate: Audio, item=None) -> Score:
        check_pair(self.name, reference=reference, estimate=estimate, min_seconds=N_FFT / reference.sample_rate)
        value, frames = mcd(reference, estimate)
        return Score(value, extra={"mcd_path": frames})


@register_metric
class Lsd(Metric):
    name = "lsd"
    display = "LSD (dB)"
    rank = 53
    unit = "dB"
    higher_is_better = False
    sample_rate = 16000
    backend = "librosa"
    mode = "aligned frames: 512-sample Hann, hop 128, centred, 10 log10(|X|^2 + 1e-8), RMS over bins, mean over frames"
    default = False
    cost_rtf = 0.002  # CPU s per audio s, measured (docs/performance.md)

    def score(self, *, reference: Audio, estimate: Audio, item=None) -> Score:
        check_pair(self.name, reference=reference, estimate=estimate, min_seconds=N_FFT / reference.sample_rate)
        return Score(lsd(reference, estimate))
