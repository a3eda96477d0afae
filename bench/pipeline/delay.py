"""A codec setting's delay: known before any unit starts, the same for every item of the setting.

Units code and score an item in one worker call, in parallel, resumably, possibly on other
machines, so the delay cannot come from the run's own items (that would also make it a property of
the suite). It comes, in this order, from:

1. the card's ``delay_samples`` (the delay of the adapter's output, at the card's rate; rounded
   to whole samples at the scoring rate), source ``card``;
2. a measurement in the driver before dispatch: the codec codes :data:`MEASURE_CLIPS`, fixed speech
   shipped with the package (five demo clips, five corpora and speakers), and the delay is the
   median of their cross-correlation lags (:func:`bench.pipeline.align.estimate_lag`), source
   ``measured``. Deterministic, and cached per card content, setting, weights, rate and clips
   under ``CACHE/delays``.

The value is in samples at the scoring rate (the suite's rate; 16 kHz, the clips' rate, for suites
that accept any rate); :meth:`SettingDelay.at` rescales it for an item at another rate.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.audio import load_audio, resample
from bench.errors import BenchError
from bench.pipeline.align import MAX_LAG_SECONDS, estimate_lag
from bench.suites import REPO_ROOT

CLIPS_DIR = REPO_ROOT / "data" / "speech_demo"
#: short clips of five speakers from the five demo corpora (about 12 s in all)
MEASURE_CLIPS = (
    "LibriSpeech/test-other/3005/163389/3005-163389-0007.flac",
    "ljspeech/wavs/LJ001-0002.flac",
    "cmu_arctic/slt/arctic_a0005.flac",
    "cmu_arctic/bdl/arctic_a0005.flac",
    "vctk/wav16/p225/p225_022.flac",
)
#: the clips' own rate, where a suite fixes none
DEFAULT_RATE = 16000
_VERSION = 1  # bump when the measurement changes, so cached values are not reused


@dataclass(frozen=True)
class SettingDelay:
    """One codec setting's delay: ``samples`` at ``sample_rate``; ``source`` card or measured;
    ``clip_lags``: each measurement clip's lag (empty for a card's value)."""

    samples: int
    sample_rate: int
    source: str
    clip_lags: tuple[int, ...] = field(default_factory=tuple)

    def at(self, sample_rate: int) -> int:
        """The delay in samples at ``sample_rate`` (exact at the measured rate, else rounded)."""
        if sample_rate == self.sample_rate:
            return self.samples
        return int(round(self.samples * sample_rate / self.sample_rate))

    @property
    def ms(self) -> float:
        return 1000.0 * self.samples / self.sample_rate

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "clip_lags": list(self.clip_lags), "ms": round(self.ms, 4)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SettingDelay:
        return cls(int(d["samples"]), int(d["sample_rate"]), str(d["source"]), tuple(int(v) for v in d.get("clip_lags") or ()))


def measurement_rate(policy_rate: int | None) -> int:
    return int(policy_rate or DEFAULT_RATE)


def _clip_paths() -> list[Path]:
    paths = [CLIPS_DIR / c for c in MEASURE_CLIPS]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise BenchError(f"{missing[0]}: delay-measurement clip not found (it ships in data/speech_demo); "
                         "restore it, or declare the codec's delay_samples on its card")
    return paths


def measure(codec, sample_rate: int) -> SettingDelay:
    """Code each measurement clip (at the codec's rate), bring the output back to ``sample_rate``
    and take the median of the clips' lags (an odd number of clips: the median is one of them)."""
    lags = []
    for path in _clip_paths():
        clip = resample(load_audio(path), sample_rate)
        try:
            decoded = codec.decode(codec.encode(resample(clip, codec.sample_rate)))
        except Exception as exc:
            raise BenchError(f"codec {codec.setting.label}: measuring its delay on {path} failed ({exc}); "
                             "declare delay_samples on its card to skip the measurement") from exc
        recon = resample(decoded, sample_rate)
        lags.append(estimate_lag(clip.samples, recon.samples, int(MAX_LAG_SECONDS * sample_rate)))
    return SettingDelay(int(np.median(lags)), sample_rate, "measured", tuple(lags))


def _cache_key(codec, sample_rate: int) -> str:
    card = {k: v for k, v in codec.card.as_dict().items() if k != "source"}
    clips = [(c, hashlib.sha256((CLIPS_DIR / c).read_bytes()).hexdigest()) for c in MEASURE_CLIPS]
    parts = [_VERSION, card, codec.setting.bitrate, sample_rate, clips, MAX_LAG_SECONDS,
             (codec.weights_info or {}).get("sha256"), codec.options.device]
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def setting_delay(codec, policy_rate: int | None, cache_dir: Path | None = None) -> SettingDelay:
    """The setting's delay at the scoring rate: the card's, else measured (cached in ``cache_dir``)."""
    rate = measurement_rate(policy_rate)
    card = codec.card
    if card.delay_samples is not None:
        declared = SettingDelay(int(card.delay_samples), card.sample_rate, "card")
        return SettingDelay(declared.at(rate), rate, "card")
    _clip_paths()
    path = None
    if cache_dir is not None:
        from bench.filenames import safe_name

        path = Path(cache_dir) / "delays" / f"{safe_name(codec.setting.label)}-{_cache_key(codec, rate)[:16]}.json"
        if path.exists():
            try:
                return SettingDelay.from_dict(json.loads(path.read_text()))
            except (ValueError, KeyError, TypeError):
                pass  # a cut or stale file: measure again and overwrite it
    delay = measure(codec, rate)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{id(delay)}.tmp")
        tmp.write_text(json.dumps(delay.as_dict()) + "\n")
        tmp.replace(path)
    return delay
