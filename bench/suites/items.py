"""The unit of evaluation: one utterance, with what downstream metrics need (text, speaker)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import AudioError


@dataclass(frozen=True)
class Item:
    id: str
    path: Path
    speaker: str | None = None
    text: str | None = None
    duration: float | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def seconds(self) -> float:
        """``duration``, or where the suite gave none, the file header's (cheap: no decoding for
        wav/flac). For selection by length, time limits and batch grouping, not for scores.

        Raises :class:`~bench.errors.AudioError` naming the file when the suite gave no duration
        and the header cannot be read; a caller that can go on without it catches that itself."""
        if self.duration is not None and math.isfinite(self.duration):
            return float(self.duration)
        try:
            import soundfile as sf

            return float(sf.info(str(self.path)).duration)
        except Exception as exc:  # soundfile raises several types
            raise AudioError(f"{self.path}: cannot read its duration from the file header ({exc})") from exc

    def fields(self) -> set[str]:
        """Which optional fields this item has (used to decide which metrics apply)."""
        return {f for f in ("speaker", "text") if getattr(self, f)}
