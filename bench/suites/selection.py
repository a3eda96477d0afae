"""Which items of a suite a run uses: deterministic, seedable, and written into the run manifest.

A CI gate compares runs item by item, so the same command must pick the same items on every
machine: items are ranked by a hash of (seed, id), never by file order or a random generator
whose stream could change between library versions.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any

from bench.errors import AudioError, ConfigError
from bench.suites.items import Item


@dataclass(frozen=True)
class Selection:
    limit: int | None = None  # N items in sha1(id) order (what --limit picks)
    subset: int | None = None  # N items in sha1(seed:id) order
    seed: int = 0
    min_duration: float | None = None  # seconds
    max_duration: float | None = None
    max_per_speaker: int | None = None

    def __post_init__(self) -> None:
        for name in ("limit", "subset", "max_per_speaker"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"selection: {name} must be a positive integer, got {value}")
        if self.min_duration is not None and self.max_duration is not None and self.min_duration > self.max_duration:
            raise ConfigError(f"selection: min_duration {self.min_duration} > max_duration {self.max_duration}")

    @property
    def is_all(self) -> bool:
        return self == Selection()

    def as_dict(self) -> dict[str, Any]:
        """Recorded in the manifest; also part of the run id, so two subsets never share a run dir."""
        return {k: v for k, v in asdict(self).items() if v is not None and not (k == "seed" and self.subset is None)}

    def describe(self) -> str:
        if self.is_all:
            return "all"
        order = f"sha1('{self.seed}:'+id) order" if self.subset else "sha1(id) order"
        return f"{order}; " + ", ".join(f"{k}={v}" for k, v in self.as_dict().items())

    def _key(self, item: Item) -> str:
        text = f"{self.seed}:{item.id}" if self.subset else item.id
        return hashlib.sha1(text.encode()).hexdigest()

    def apply(self, items: list[Item]) -> list[Item]:
        """Filter by duration, rank by hash, cap per speaker, take N; keep the suite's order."""
        pool = list(items)
        if self.min_duration is not None or self.max_duration is not None:
            pool = [it for it in pool if self._in_bounds(_duration(it))]
        ranked = sorted(pool, key=self._key)
        if self.max_per_speaker:
            per: dict[str | None, int] = {}
            capped = []
            for it in ranked:
                if it.speaker is not None and per.get(it.speaker, 0) >= self.max_per_speaker:
                    continue
                per[it.speaker] = per.get(it.speaker, 0) + 1
                capped.append(it)
            ranked = capped
        sizes = [n for n in (self.limit, self.subset) if n]
        if sizes:
            ranked = ranked[: min(sizes)]
        chosen = {it.id for it in ranked}
        return [it for it in items if it.id in chosen]

    def _in_bounds(self, duration: float) -> bool:
        if self.min_duration is not None and duration < self.min_duration:
            return False
        return not (self.max_duration is not None and duration > self.max_duration)


def _duration(item: Item) -> float:
    """An item's duration for --min/--max-duration: an item whose length is unknown cannot be
    judged, so the selection stops with the file named (not tolerated, unlike batch grouping)."""
    try:
        return item.seconds()
    except AudioError as exc:
        raise AudioError(f"{exc}; --min/--max-duration needs every item's duration") from exc


def ids_digest(items: list[Item]) -> str:
    """Short fingerprint of the chosen ids, so two manifests can be compared at a glance."""
    return hashlib.sha256("\n".join(sorted(it.id for it in items)).encode()).hexdigest()[:16]
