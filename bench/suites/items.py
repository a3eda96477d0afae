"""The unit of evaluation: one utterance, with what downstream metrics need (text, speaker)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Item:
    id: str
    path: Path
    speaker: str | None = None
    text: str | None = None
    duration: float | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def fields(self) -> set[str]:
        """Which optional fields this item has (used to decide which metrics apply)."""
        return {f for f in ("speaker", "text") if getattr(self, f)}
