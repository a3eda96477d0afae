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
    #: Longest item scored (seconds; None: no limit). PESQ, ViSQOL and the STFT metrics need time
    #: and memory that grow with length (a 30-minute clip took 18 minutes and 7.4 GB, and PESQ's C
    #: code crashed on it): refuse such an item at once, naming the limit, instead. A suite raises it
    #: with ``max_item_seconds:`` in datasets.yaml.
    max_item_seconds: float | None = 600.0


@dataclass(frozen=True)
class InputFacts:
    """What the file was before codecbench touched it, and what was done to it (recorded per item)."""

    sample_rate: int
    channels: int
    frames: int  # frames read
    declared_frames: int | None = None  # what a WAV header promises (None: not a WAV or unknown)
    converted: tuple[str, ...] = ()  # e.g. ("resampled 8000->16000 Hz", "downmixed 2->1 channels")

    @property
    def truncated(self) -> bool:
        return self.declared_frames is not None and self.frames < self.declared_frames

    def as_record(self) -> dict[str, object]:
        warning = (f"truncated: header promises {self.declared_frames} frames, file holds {self.frames} "
                   f"({self.frames / self.sample_rate:.3f} s read)") if self.truncated else None
        return {"input_rate": self.sample_rate, "input_channels": self.channels,
                "input_converted": "; ".join(self.converted) or None, "input_warning": warning}


def _declared_wav_frames(path: Path) -> int | None:
    """Frames a PCM WAV header declares; libsndfile silently reads what exists, so a file cut
    short would otherwise be scored without a word."""
    import wave

    try:
        with wave.open(str(path), "rb") as w:
            return w.getnframes()
    except (wave.Error, EOFError, OSError):
        return None


def _open_check(path: Path) -> None:
    """Turn the OS's reason (symlink loop, permission, directory) into an error naming the file."""
    name = str(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise AudioError(f"{name}: file not found") from None
    except OSError as exc:
        raise AudioError(f"{name}: cannot open ({exc.strerror or exc})") from None
    if path.is_dir():
        raise AudioError(f"{name}: is a directory, not an audio file")
    if st.st_size == 0:
        raise AudioError(f"{name}: file is empty (0 bytes)")
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise AudioError(f"{name}: cannot read ({exc.strerror or exc})") from None


def load_audio(path: str | Path, policy: AudioPolicy | None = None) -> Audio:
    """Read, check and (per ``policy``) convert one file; raise :class:`AudioError` naming it."""
    return load_audio_facts(path, policy)[0]


def load_audio_facts(path: str | Path, policy: AudioPolicy | None = None) -> tuple[Audio, InputFacts]:
    """:func:`load_audio` plus the file's own rate and channels and what was converted."""
    policy = policy or AudioPolicy()
    path = Path(path)
    name = str(path)
    _open_check(path)
    if policy.max_item_seconds is not None:
        try:
            seconds = sf.info(str(path)).duration
        except Exception:  # noqa: BLE001 - undecodable: sf.read below names the problem
            seconds = 0.0
        if seconds > policy.max_item_seconds:
            raise AudioError(f"{name}: too long ({seconds:.1f} s > the suite's max_item_seconds "
                             f"{policy.max_item_seconds:g} s; split the file, or raise max_item_seconds "
                             "in the suite's datasets.yaml entry)")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises several types for corrupt input
        raise AudioError(f"{name}: cannot decode audio ({exc})") from exc
    if data.shape[0] == 0:
        raise AudioError(f"{name}: contains no samples")
    converted: list[str] = []
    channels = int(data.shape[1])
    if channels > 1:
        if not policy.downmix:
            raise AudioError(
                f"{name}: has {data.shape[1]} channels; codecbench scores mono speech "
                "(downmix the file, or set 'downmix: true' on the suite)"
            )
        data = data.mean(axis=1, keepdims=True)
        converted.append(f"downmixed {channels}->1 channels")
    audio = Audio(np.ascontiguousarray(data[:, 0]), int(rate), name)
    if policy.sample_rate and audio.sample_rate != policy.sample_rate:
        if not policy.resample:
            raise AudioError(
                f"{name}: sample rate {audio.sample_rate} Hz, suite expects {policy.sample_rate} Hz "
                "(convert the file, or set 'resample: true' on the suite)"
            )
        audio = resample(audio, policy.sample_rate)
        converted.append(f"resampled {int(rate)}->{policy.sample_rate} Hz")
    check_audio(audio, policy)
    declared = _declared_wav_frames(path) if path.suffix.lower() in {".wav", ".wave"} else None
    return audio, InputFacts(int(rate), channels, int(data.shape[0]), declared, tuple(converted))


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
