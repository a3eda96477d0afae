"""The codec contract: every codec family implements :class:`Codec`; a YAML card configures it.

A codec consumes audio at its own ``sample_rate`` and returns a :class:`Payload` whose size is
what is measured as bitrate (bytes for classical codecs, token indices times bits per codebook
for neural ones), so the "kbps" column is measured, not copied from the card.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Sequence

import numpy as np

from bench.audio import Audio
from bench.config import CodecOptions  # noqa: F401  (re-exported: adapters import it from here)
from bench.errors import BenchError


@dataclass
class Payload:
    """What crosses the channel: ``data`` is bytes/packets (classical) or a token array (neural)."""

    data: Any
    num_bits: int
    duration: float  # seconds of input audio the payload represents
    meta: dict[str, Any] = field(default_factory=dict)  # whatever decode needs besides data
    #: codebook indices (codebooks x frames) when ``data`` is a packed bitstream of them (Lyra), so
    #: ``bench tokens`` sees the tokens while decode consumes the real bytes
    tokens: np.ndarray | None = None

    @property
    def kbps(self) -> float:
        return self.num_bits / self.duration / 1000.0 if self.duration > 0 else math.nan


@dataclass(frozen=True)
class CodecSpec:
    """The model-card spec table row; neural adapters derive it from the loaded model."""

    sample_rate: int
    nominal_kbps: float | None
    frame_rate: float | None = None
    num_codebooks: int | None = None
    codebook_size: int | None = None
    latent_dim: int | None = None
    params_m: float | None = None
    delay_samples: int | None = None  # algorithmic delay at sample_rate, if known

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CodecCard:
    """One ``codecs/*.yaml`` file, validated."""

    name: str
    adapter: str
    sample_rate: int
    #: the sweep points: what a sweep over this codec runs, and the settings that are always accepted
    bitrates: tuple[float, ...] = ()
    default_bitrate: float | None = None
    description: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    weights: dict[str, Any] | None = None
    #: delay of the adapter's decoded output behind its input, in samples at ``sample_rate``, when
    #: the card declares it; otherwise a run measures it (bench/pipeline/delay.py)
    delay_samples: int | None = None
    source: str = ""  # card file path
    #: further settings the codec itself accepts (YAML ``supported:`` as a list), e.g. codec2's modes
    supported: tuple[float, ...] = ()
    #: or a range it accepts (YAML ``supported: {min: 6, max: 256}``), e.g. any Opus bitrate
    supported_range: tuple[float, float] | None = None

    def accepts(self, kbps: float) -> bool:
        """Whether ``NAME@kbps`` is a setting of this card (a sweep point or a supported value)."""
        if any(abs(kbps - b) < 1e-9 for b in (*self.bitrates, *self.supported)):
            return True
        lo_hi = self.supported_range
        return lo_hi is not None and lo_hi[0] - 1e-9 <= kbps <= lo_hi[1] + 1e-9

    def describe_supported(self) -> str:
        """'6, 8, 12 (sweep); any value from 6 to 256' -- what an error message lists."""
        parts = []
        values = sorted(set(self.bitrates) | set(self.supported), reverse=self.adapter == "codec2")
        if values:
            parts.append(", ".join(format_kbps(b) for b in values))
        if self.supported_range is not None:
            lo, hi = self.supported_range
            parts.append(f"any value from {format_kbps(lo)} to {format_kbps(hi)}")
        return "; ".join(parts) or "none"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CodecSetting:
    """A card plus a chosen setting: ``opus@6`` is card ``opus`` at 6 kbps."""

    card: CodecCard
    bitrate: float | None

    @property
    def bitrate_text(self) -> str:
        """The bitrate as rows and labels write it (``"6"``, ``"3.2"``; ``""`` for none): the rows'
        ``setting`` column."""
        return "" if self.bitrate is None else format_kbps(self.bitrate)

    @property
    def label(self) -> str:
        return self.card.name if self.bitrate is None else f"{self.card.name}@{self.bitrate_text}"


def format_kbps(value: float) -> str:
    """6.0 -> '6', 3.2 -> '3.2' (labels must be stable and short)."""
    return f"{value:g}"


class Codec(ABC):
    """Base of every adapter. Subclasses set ``adapter_name`` and implement encode/decode.

    :meth:`encode_batch` / :meth:`decode_batch` code several items of one setting; here item by
    item. Adapters whose model gains from one call for several items (neural codecs: one padded
    forward pass) override them and set ``batch_coding``; each output is cut back to its own item.
    """

    adapter_name: ClassVar[str]
    #: Python packages the adapter imports; ``bench list codecs`` reports which are missing.
    requires: ClassVar[tuple[str, ...]] = ()
    #: True: encode_batch/decode_batch do real batches (one call for several items)
    batch_coding: ClassVar[bool] = False

    def __init__(self, setting: CodecSetting, options: CodecOptions | None = None) -> None:
        self.setting = setting
        self.options = options if options is not None else CodecOptions()
        self.card = setting.card
        self.bitrate = setting.bitrate

    @property
    def sample_rate(self) -> int:
        return self.card.sample_rate

    @property
    def spec(self) -> CodecSpec:
        return CodecSpec(sample_rate=self.sample_rate, nominal_kbps=self.bitrate)

    @classmethod
    def availability(cls, card: CodecCard, checkpoints=()) -> str | None:
        """None when usable here, else the reason it is not (shown by ``bench list``);
        ``checkpoints``: the run's weight overrides (see :class:`CodecOptions`)."""
        import importlib.util

        missing = [m for m in cls.requires if importlib.util.find_spec(m) is None]
        if missing:
            return f"missing Python package(s): {', '.join(missing)}"
        return None

    @property
    def table_label(self) -> str:
        """The setting label, marked when the weights are untrained (every table a person reads); the
        same mark as :func:`bench.rows.marked_label`, which sits above adapters and cannot be imported."""
        untrained = self.weights_info.get("status") == "untrained"
        return self.setting.label + (" (untrained)" if untrained else "")

    @property
    def weights_info(self) -> dict[str, Any]:
        """Weights provenance for the run manifest (file, sha256, trained or not)."""
        return {}

    @abstractmethod
    def encode(self, audio: Audio) -> Payload: ...

    @abstractmethod
    def decode(self, payload: Payload) -> Audio: ...

    @property
    def batch_in_runs(self) -> bool:
        """Whether ``bench run --batch N`` codes this codec's items in batches (else one by one)."""
        return self.batch_coding

    def encode_batch(self, audios: Sequence[Audio]) -> list[Payload]:
        """One payload per input, in order; a batch of one must be exactly :meth:`encode`."""
        return [self.encode(a) for a in audios]

    def decode_batch(self, payloads: Sequence[Payload]) -> list[Audio]:
        """One decoded signal per payload, in order; a batch of one must be exactly :meth:`decode`."""
        return [self.decode(p) for p in payloads]

    def check_input(self, audio: Audio) -> None:
        if audio.sample_rate != self.sample_rate:
            raise BenchError(
                f"{self.setting.label}: got {audio.sample_rate} Hz, codec runs at {self.sample_rate} Hz"
            )

    def as_float(self, samples: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(samples, dtype=np.float32)
