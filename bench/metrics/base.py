"""The metric contract.

A metric scores one (reference, estimate) pair; both arrive as :class:`~bench.audio.Audio`
already resampled by the runner to ``sample_rate`` (None: left at the suite's rate), and always as
keyword arguments, so reference and estimate cannot be swapped by position.

Metrics that need the whole set (EER over trials, corpus WER) still score per item and then add
set-level values in :meth:`Metric.finalize`; weighted means (``Score.weight``) cover corpus-level
ratios such as WER = sum(errors) / sum(reference words).
"""

from __future__ import annotations

import importlib.metadata
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from bench.audio import Audio

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from bench.suites.items import Item


@dataclass
class Score:
    """One metric value; ``weight`` makes the summary mean a weighted one (e.g. words for WER)."""

    value: float
    weight: float = 1.0
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def failed(cls, reason: str) -> Score:
        return cls(math.nan, 1.0, reason)


@dataclass
class MetricContext:
    """What a metric may use beyond the pair: shared caches and the run's item list.

    ``cache_dir`` is per suite (keyed by the suite hash), so original-side work such as
    transcripts of the originals is computed once and reused by every codec run.
    """

    suite: str
    suite_hash: str
    cache_dir: Path
    run_dir: Path | None = None
    items: list[Item] = field(default_factory=list)
    #: the suite's datasets.yaml entry (e.g. a ``trials:`` file for speaker verification)
    suite_spec: dict[str, Any] = field(default_factory=dict)
    #: where the suite's items came from (manifest file or corpus root), to resolve relative paths
    suite_source: str = ""


class Metric(ABC):
    """Subclass, set the class attributes, implement :meth:`score`, decorate with ``@register_metric``."""

    name: ClassVar[str]
    unit: ClassVar[str] = ""
    higher_is_better: ClassVar[bool] = True
    #: Rate the pair is resampled to before scoring; None keeps the suite's native rate.
    sample_rate: ClassVar[int | None] = None
    #: Item fields the metric needs: "text" (WER), "speaker" (EER); suites lacking them skip it.
    requires: ClassVar[frozenset[str]] = frozenset()
    #: Python distribution whose version is recorded as the backend version.
    backend: ClassVar[str] = ""
    mode: ClassVar[str] = ""
    #: False for optional metrics that `--metric all`/default should not include.
    default: ClassVar[bool] = True
    #: True: the `original` row's score (estimate == reference) is computed once per suite and read
    #: back from the suite cache (bench/pipeline/identity.py); False for metrics that write run files.
    identity_cache: ClassVar[bool] = True

    def __init__(self, context: MetricContext | None = None) -> None:
        self.context = context

    @classmethod
    def availability(cls) -> str | None:
        """None when usable here, else why not (missing package or model file)."""
        if cls.backend:
            try:
                importlib.metadata.version(cls.backend)
            except importlib.metadata.PackageNotFoundError:
                return f"missing Python package {cls.backend!r}"
        return None

    @classmethod
    def backend_version(cls) -> str:
        if not cls.backend:
            return ""
        try:
            return importlib.metadata.version(cls.backend)
        except importlib.metadata.PackageNotFoundError:
            return "missing"

    def info(self) -> dict[str, Any]:
        """Everything needed to say how a number was made; travels into rows and the manifest."""
        return {
            "metric": self.name, "unit": self.unit, "higher_is_better": self.higher_is_better,
            "sample_rate": self.sample_rate, "backend": self.backend, "version": self.backend_version(),
            "mode": self.mode, "model_file": "", "model_sha256": "",
        }

    @abstractmethod
    def score(self, *, reference: Audio, estimate: Audio, item: Item | None = None) -> Score | float:
        """Score one aligned pair of equal length. Raise MetricInputError for unscorable input."""

    def finalize(self, rows: pd.DataFrame) -> list[dict[str, Any]]:
        """Set-level rows computed from this metric's per-item rows (default: none)."""
        return []
