"""Pitch fidelity with CREPE (``torchcrepe``, which ships the CREPE ``full`` and ``tiny`` weights,
MIT): F0 RMSE in cents, voiced/unvoiced decision error and periodicity RMSE, as vocoder and codec
papers report them (CARGAN, Morrison et al. 2022; HiFi-GAN/BigVGAN evaluations).

How a pitch track is made (both sides alike, at 16 kHz, CREPE's own rate):

- ``torchcrepe.predict`` with hop 160 samples (10 ms), fmin 50 Hz, fmax 550 Hz (speech), zero
  padding (``pad=True``: one frame per hop, centred), decoder Viterbi (``torchcrepe.decode.viterbi``);
- F0 is the centre of the decoded 20-cent bin. torchcrepe adds triangular dither of up to one bin
  (+-20 cents) to the frequency it returns, drawn from numpy's global RNG, so two runs differ; we
  take the bin torchcrepe decoded and leave the dither out (numpy's RNG state is saved and put
  back), so reruns are identical and the global RNG is untouched;
- periodicity is CREPE's confidence of the decoded bin; a frame is voiced when its periodicity is
  at least ``VOICED_THRESHOLD`` (0.21, torchcrepe's README) after ``torchcrepe.threshold.Silence(-60)``
  (A-weighted loudness under -60 dB sets periodicity to 0).

Metrics (reference first, estimate second, frame by frame; the runner hands over an aligned pair):

- ``f0-rmse`` (cents): sqrt(mean((1200 log2(f0_est / f0_ref))^2)) over frames voiced in both;
- ``vuv-error`` (%): share of frames whose voiced decision differs;
- ``periodicity-rmse``: sqrt(mean((p_est - p_ref)^2)) over all frames, raw periodicity (CARGAN).

The ``-tiny`` names run CREPE tiny (~20x cheaper on CPU, coarser). Inference runs on one CPU thread
(``torch.set_num_threads(1)`` for the call, restored after), so values do not depend on the
machine's thread count. Pitch tracks are kept per process by content hash: the three metrics of a
model share one CREPE pass per signal, and the original row's estimate is its reference.

Example (CREPE tiny on the synthetic tone: identity is exact; 10 dB of white noise moves voicing):

>>> from bench.metrics.examples import noisy, tone
>>> ref = tone()
>>> F0RmseTiny().score(reference=ref, estimate=ref).value
0.0
>>> round(VuvErrorTiny().score(reference=ref, estimate=noisy(ref, 10)).value, 1) > 0
True
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from bench.audio import Audio
from bench.errors import MetricInputError
from bench.metrics import register_metric
from bench.metrics._checks import check_pair
from bench.metrics._torchaudio_free import import_module
from bench.metrics.base import Metric, Score

INSTALL = "pip install --no-deps -c constraints.txt torchcrepe==0.0.24 && pip install resampy (see the Makefile)"
SAMPLE_RATE = 16000
HOP = 160
FMIN, FMAX = 50.0, 550.0
VOICED_THRESHOLD = 0.21
SILENCE_DB = -60.0
BATCH = 512
#: torchcrepe's bin-to-cents offset (``convert.bins_to_cents`` without its dither)
CENTS_OFFSET = 1997.3794084376191


def torchcrepe():
    return import_module("torchcrepe", install=INSTALL)


@dataclass(frozen=True)
class Track:
    """One signal's CREPE pitch track: F0 in Hz (bin centres), raw periodicity, voiced frames."""

    f0: np.ndarray
    periodicity: np.ndarray
    voiced: np.ndarray


def _viterbi_undithered(logits):
    """torchcrepe's Viterbi decoding, returning the decoded bins' centre frequencies (no dither)."""
    import torch

    tc = torchcrepe()
    state = np.random.get_state()  # viterbi's dither draws from numpy's global RNG: put it back
    try:
        bins, _ = tc.decode.viterbi(logits)
    finally:
        np.random.set_state(state)
    return bins, tc.convert.cents_to_frequency(tc.CENTS_PER_BIN * bins.to(torch.float64) + CENTS_OFFSET)


def pitch_track(audio: Audio, model: str) -> Track:
    """CREPE on ``audio`` (16 kHz) with the settings in the module docstring, on one CPU thread."""
    import torch

    tc = torchcrepe()
    x = torch.from_numpy(np.ascontiguousarray(audio.samples, dtype=np.float32))[None]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            f0, periodicity = tc.predict(x, audio.sample_rate, hop_length=HOP, fmin=FMIN, fmax=FMAX, model=model,
                                         decoder=_viterbi_undithered, return_periodicity=True, batch_size=BATCH,
                                         device="cpu", pad=True)
            gated = tc.threshold.Silence(SILENCE_DB)(periodicity, x, audio.sample_rate, HOP, True)
    finally:
        torch.set_num_threads(threads)
    p = periodicity[0].double().numpy()
    return Track(f0[0].double().numpy(), p, gated[0].double().numpy() >= VOICED_THRESHOLD)


#: per process, by (content hash, rate, model): the current pair's tracks (see the module docstring)
_TRACKS: dict[tuple[str, int, str], Track] = {}


def cached_track(audio: Audio, model: str) -> Track:
    key = (hashlib.sha1(np.ascontiguousarray(audio.samples).tobytes()).hexdigest(), audio.sample_rate, model)
    if key not in _TRACKS:
        if len(_TRACKS) >= 64:
            _TRACKS.clear()  # a worker sees a stream of pairs; only the current ones repeat
        _TRACKS[key] = pitch_track(audio, model)
    return _TRACKS[key]


def f0_rmse_cents(ref: Track, est: Track) -> tuple[float, int]:
    """RMSE in cents over frames voiced in both, and how many frames that is."""
    both = ref.voiced & est.voiced
    n = int(both.sum())
    if n == 0:
        return math.nan, 0
    cents = 1200.0 * np.log2(est.f0[both] / ref.f0[both])
    return float(np.sqrt(np.mean(cents**2))), n


def vuv_error_percent(ref: Track, est: Track) -> float:
    return float(100.0 * np.mean(ref.voiced != est.voiced))


def periodicity_rmse(ref: Track, est: Track) -> float:
    return float(np.sqrt(np.mean((est.periodicity - ref.periodicity) ** 2)))


def settings(model: str) -> str:
    """The ``mode`` string recorded with every score."""
    return (f"CREPE {model}, 16 kHz, hop {HOP} (10 ms), fmin {FMIN:g} fmax {FMAX:g} Hz, viterbi decoder "
            f"(bin centres, no dither), voiced: periodicity >= {VOICED_THRESHOLD} after silence gate "
            f"{SILENCE_DB:g} dB A-weighted, 1 CPU thread")


class _Crepe(Metric):
    """Shared: backend, rate, availability, track computation; subclasses say what they report."""

    model: ClassVar[str] = "full"
    #: CPU s per audio s for the pair's two CREPE full passes (docs/performance.md); shared by the
    #: three metrics of one model, so running all three costs about what one does
    cost_rtf: ClassVar[float | None] = 11.9
    sample_rate = SAMPLE_RATE
    fixed_rate: ClassVar[bool] = True
    backend = "torchcrepe"
    default = False
    higher_is_better = False

    @classmethod
    def availability(cls) -> str | None:
        reason = super().availability()
        if reason:
            return reason
        try:
            torchcrepe()
        except Exception as exc:  # UnavailableError names the package and how to install it
            return str(exc)
        return None


    def info(self) -> dict[str, Any]:
        out = super().info()
        out["model_file"] = f"torchcrepe/assets/{self.model}.pth"
        return out

    def tracks(self, reference: Audio, estimate: Audio) -> tuple[Track, Track]:
        check_pair(self.name, reference=reference, estimate=estimate, min_seconds=0.1, rates=(SAMPLE_RATE,))
        return cached_track(reference, self.model), cached_track(estimate, self.model)


class _F0Rmse(_Crepe):
    unit = "cents"

    def score(self, *, reference: Audio, estimate: Audio, item=None) -> Score:
        ref, est = self.tracks(reference, estimate)
        value, n = f0_rmse_cents(ref, est)
        if n == 0:
            raise MetricInputError(f"{self.name}: {estimate.source or reference.source}: no frame is voiced in both "
                                   f"reference ({int(ref.voiced.sum())} voiced) and estimate ({int(est.voiced.sum())})")
        return Score(value, extra={"f0_frames": n})


class _VuvError(_Crepe):
    unit = "%"

    def score(self, *, reference: Audio, estimate: Audio, item=None) -> Score:
        ref, est = self.tracks(reference, estimate)
        return Score(vuv_error_percent(ref, est), extra={"voiced_ref": int(ref.voiced.sum()),
                                                          "voiced_est": int(est.voiced.sum())})


class _PeriodicityRmse(_Crepe):
    unit = ""

    def score(self, *, reference: Audio, estimate: Audio, item=None) -> Score:
        ref, est = self.tracks(reference, estimate)
        return Score(periodicity_rmse(ref, est))


@register_metric
class F0Rmse(_F0Rmse):
    name = "f0-rmse"
    display = "F0 RMSE (cents)"
    rank = 55
    mode = settings("full")


@register_metric
class VuvError(_VuvError):
    name = "vuv-error"
    display = "V/UV error %"
    rank = 56
    mode = settings("full")


@register_metric
class PeriodicityRmse(_PeriodicityRmse):
    name = "periodicity-rmse"
    display = "Periodicity RMSE"
    rank = 57
    mode = settings("full")


class _Tiny:
    model: ClassVar[str] = "tiny"
    #: CPU s per audio s for the pair's two CREPE passes (docs/performance.md); the three metrics of
    #: one model share them, so running all three costs about what one does
    cost_rtf: ClassVar[float | None] = 0.58


@register_metric
class F0RmseTiny(_Tiny, _F0Rmse):
    name = "f0-rmse-tiny"
    display = "F0 RMSE (cents, CREPE tiny)"
    rank = 55.5
    mode = settings("tiny")


@register_metric
class VuvErrorTiny(_Tiny, _VuvError):
    name = "vuv-error-tiny"
    display = "V/UV error % (CREPE tiny)"
    rank = 56.5
    mode = settings("tiny")


@register_metric
class PeriodicityRmseTiny(_Tiny, _PeriodicityRmse):
    name = "periodicity-rmse-tiny"
    display = "Periodicity RMSE (CREPE tiny)"
    rank = 57.5
    mode = settings("tiny")
