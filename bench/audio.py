"""Audio that carries its sample rate, plus loading, validation and the one pinned resampler.

Every metric and codec receives :class:`Audio`, never a bare array, so nothing downstream can
lose track of the rate. Resampling happens in exactly one function (:func:`resample`) with one
recorded backend, because peers' numbers disagree largely through silently different resamplers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from bench.errors import AudioError

#: Recorded in every run manifest; change it only together with the baselines.
RESAMPLER = {"backend": "soxr", "version": soxr.__version__, "quality": "VHQ"}


@dataclass(frozen=True)
class Audio:
    """Mono float32 samples in [-1, 1] at ``sample_rate`` Hz."""

    samples: np.ndarray
    sample_rate: int
    source: str = field(default="", compare=False)  # file name for error messages

    def __post_init__(self) -> None:
        if self.samples.ndim != 1:
            raise AudioError(f"{self.source or 'audio'}: expected mono samples, got shape {self.samples.shape}")
        if self.sample_rate <= 0:
            raise AudioError(f"{self.source or 'audio'}: invalid sample rate {self.sample_rate}")

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate

    def __len__(self) -> int:
        return len(self.samples)

    def with_samples(self, samples: np.ndarray) -> Audio:
        return Audio(np.ascontiguousarray(samples, dtype=np.float32), self.sample_rate, self.source)


@dataclass(frozen=True)
class AudioPolicy:
    """What a suite accepts; anything outside it is an error naming the file, not a guess."""

    sample_rate: int | None = None  # expected rate; None accepts any
    resample: bool = False  # True: files at another rate are resampled instead of rejected
    downmix: bool = False  # True: multi-channel files are averaged instead of rejected
    min_duration: float = 0.1  # seconds
    max_clipped_fraction: float = 0.01  # share of samples at full scale before we call it clipped


def load_audio(path: str | Path, policy: AudioPolicy | None = None) -> Audio:
    """Read, check and (per ``policy``) convert one file; raise :class:`AudioError` naming it."""
    policy = policy or AudioPolicy()
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise AudioError(f"{name}: file not found")
    if path.stat().st_size == 0:
        raise AudioError(f"{name}: file is empty (0 bytes)")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises several types for corrupt input
        raise AudioError(f"{name}: cannot decode audio ({exc})") from exc
    if data.shape[0] == 0:
        raise AudioError(f"{name}: contains no samples")
    if data.shape[1] > 1:
        if not policy.downmix:
            raise AudioError(
                f"{name}: has {data.shape[1]} channels; codecbench scores mono speech "
                "(downmix the file, or set 'downmix: true' on the suite)"
            )
        data = data.mean(axis=1, keepdims=True)
    audio = Audio(np.ascontiguousarray(data[:, 0]), int(rate), name)
    if policy.sample_rate and audio.sample_rate != policy.sample_rate:
        if not policy.resample:
            raise AudioError(
                f"{name}: sample rate {audio.sample_rate} Hz, suite expects {policy.sample_rate} Hz "
                "(convert the file, or set 'resample: true' on the suite)"
            )
        audio = resample(audio, policy.sample_rate)
    check_audio(audio, policy)
    return audio


def check_audio(audio: Audio, policy: AudioPolicy | None = None) -> None:
    """Reject audio no codec or metric can meaningfully score."""
    policy = policy or AudioPolicy()
    name = audio.source or "audio"
    x = audio.samples
    if not np.all(np.isfinite(x)):
        raise AudioError(f"{name}: contains NaN or infinite samples")
    if audio.duration < policy.min_duration:
        raise AudioError(
            f"{name}: too short ({audio.duration:.3f} s < minimum {policy.min_duration} s)"
        )
    peak = float(np.max(np.abs(x)))
    if peak < 1e-5:
        raise AudioError(f"{name}: is silent (peak amplitude {peak:.2e})")
    clipped = float(np.mean(np.abs(x) >= 0.999))
    if clipped > policy.max_clipped_fraction:
        raise AudioError(
            f"{name}: clipped ({clipped:.1%} of samples at full scale, "
            f"limit {policy.max_clipped_fraction:.1%})"
        )


def resample(audio: Audio, sample_rate: int) -> Audio:
    """The project's only resampler (soxr, very high quality); see :data:`RESAMPLER`."""
    if audio.sample_rate == sample_rate:
        return audio
    y = soxr.resample(audio.samples, audio.sample_rate, sample_rate, quality="VHQ")
    return Audio(np.ascontiguousarray(y, dtype=np.float32), sample_rate, audio.source)


def write_audio(path: str | Path, audio: Audio) -> None:
    sf.write(str(path), audio.samples, audio.sample_rate, subtype="PCM_16")
