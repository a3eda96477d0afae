"""Spectral distances as DAC reports them (descript-audio-codec ``conf/base.yml`` settings of
audiotools' ``MelSpectrogramLoss`` and ``MultiScaleSTFTLoss``).

Why hand-written: the reference implementation (``audiotools``) imports torchaudio, which is broken
here, so it cannot be a dependency. Only the glue is ours; the pieces are library calls with the
same settings: ``torch.stft`` (periodic Hann window, hop = window/4, centre + reflect padding as
audiotools calls it) and librosa's Slaney mel filterbank (the one audiotools uses).

- mel-distance: sum over 7 scales, window lengths 32, 64, ..., 2048 samples with 5, 10, ..., 320
  mel bands (fmin 0, fmax Nyquist), of mean |log10(max(mel_x, 1e-5)) - log10(max(mel_y, 1e-5))|
  on magnitude mel spectrograms (pow 1, mag weight 0), exactly DAC's training/eval mel loss.
- stft-distance: sum over windows 2048 and 512 of mean |log10(max(|X|,1e-5)^2) - log10(...)| +
  mean ||X| - |Y|| (audiotools defaults: log weight 1, magnitude weight 1, pow 2).

Both are computed at 16 kHz (speech suites); values depend on the rate, which is recorded.


Example (synthetic tone; a distance, so identity gives its best value, 0):

>>> from bench.metrics.examples import noisy, tone
>>> ref = tone()
>>> MelDistance().score(reference=ref, estimate=ref).value
0.0
>>> round(MelDistance().score(reference=ref, estimate=noisy(ref, 20)).value, 1)
7.6
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np

from bench.audio import Audio
from bench.metrics import register_metric
from bench.metrics._checks import check_pair
from bench.metrics.base import Margin, Metric, Score

MEL_WINDOWS = (32, 64, 128, 256, 512, 1024, 2048)
MEL_BANDS = (5, 10, 20, 40, 80, 160, 320)
STFT_WINDOWS = (2048, 512)
CLAMP_EPS = 1e-5


@lru_cache(maxsize=32)
def _hann(n: int):
    import torch
    from scipy.signal import get_window

    return torch.from_numpy(get_window("hann", n).astype(np.float32))  # periodic, as audiotools


@lru_cache(maxsize=32)
def _mel_basis(sample_rate: int, n_fft: int, n_mels: int):
    import librosa
    import torch

    with warnings.catch_warnings():  # 320 bands over 1025 bins at 16 kHz leaves some filters empty
        warnings.simplefilter("ignore", UserWarning)
        basis = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=0.0, fmax=None)
    return torch.from_numpy(basis.astype(np.float32))


#: per process: magnitudes of the current pair by (content hash, window). mel-distance and
#: stft-distance both take the 512- and 2048-sample STFTs of the same reference and estimate, so
#: the second metric reuses them. Not kept across codecs on disk: one item's seven magnitude
#: spectrograms are ~1 MB, while recomputing them takes ~10 ms (1 thread), under 1 % of a run.
_MAGNITUDES: dict[tuple[str, int], object] = {}


def _magnitude(x, window: int):
    import hashlib

    key = (hashlib.sha1(x.numpy().tobytes()).hexdigest(), window)
    if key not in _MAGNITUDES:
        if len(_MAGNITUDES) >= 4 * (len(MEL_WINDOWS) + len(STFT_WINDOWS)):
            _MAGNITUDES.clear()  # a worker sees a stream of items; only the current pair repeats
        _MAGNITUDES[key] = _stft_magnitude(x, window)
    return _MAGNITUDES[key]


def _stft_magnitude(x, window: int):
    import torch

    stft = torch.stft(x, n_fft=window, hop_length=window // 4, window=_hann(window), center=True,
                      pad_mode="reflect", return_complex=True)
    return stft.abs()  # (freq, frames)


def _tensors(reference: Audio, estimate: Audio):
    import torch

    return torch.from_numpy(reference.samples.astype(np.float32)), torch.from_numpy(estimate.samples.astype(np.float32))


def mel_distance(reference: Audio, estimate: Audio) -> float:
    import torch

    ref, est = _tensors(reference, estimate)
    total = 0.0
    with torch.no_grad():
        for window, n_mels in zip(MEL_WINDOWS, MEL_BANDS):
            basis = _mel_basis(reference.sample_rate, window, n_mels)
            mr = basis @ _magnitude(ref, window)
            me = basis @ _magnitude(est, window)
            total += float(torch.mean(torch.abs(mr.clamp(min=CLAMP_EPS).log10() - me.clamp(min=CLAMP_EPS).log10())))
    return total


def stft_distance(reference: Audio, estimate: Audio) -> float:
    import torch

    ref, est = _tensors(reference, estimate)
    total = 0.0
    with torch.no_grad():
        for window in STFT_WINDOWS:
            mr, me = _magnitude(ref, window), _magnitude(est, window)
            log_term = torch.mean(torch.abs(mr.clamp(min=CLAMP_EPS).pow(2).log10() - me.clamp(min=CLAMP_EPS).pow(2).log10()))
            total += float(log_term + torch.mean(torch.abs(mr - me)))
    return total


@register_metric
class MelDistance(Metric):
    name = "mel-distance"
    gate_margin = Margin(abs=0.01)
    cost_rtf = 0.15  # CPU s per audio s, measured (docs/performance.md)
    rank = 50
    unit = ""
    higher_is_better = False
    sample_rate = 16000
    backend = "librosa"
    mode = ("DAC multi-scale log-mel L1: windows 32..2048, mels 5..320, hop w/4, magnitude, "
            "clamp 1e-5, log10, summed over 7 scales")

    def score(self, *, reference: Audio, estimate: Audio, item=None) -> Score:
        check_pair(self.name, reference=reference, estimate=estimate,
                   min_seconds=max(MEL_WINDOWS) / reference.sample_rate)
        return Score(mel_distance(reference, estimate))


@register_metric
class StftDistance(Metric):
    name = "stft-distance"
    gate_margin = Margin(abs=0.01)
    cost_rtf = 0.015  # CPU s per audio s, measured (docs/performance.md)
    rank = 51
    unit = ""
    higher_is_better = False
    sample_rate = 16000
    backend = "torch"
    mode = "audiotools MultiScaleSTFTLoss: windows 2048,512, hop w/4, L1 log10 power + L1 magnitude"

    def score(self, *, reference: Audio, estimate: Audio, item=None) -> Score:
        check_pair(self.name, reference=reference, estimate=estimate,
                   min_seconds=max(STFT_WINDOWS) / reference.sample_rate)
        return Score(stft_distance(reference, estimate))
