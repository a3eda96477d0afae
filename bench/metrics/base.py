"""The metric contract.

A metric scores one (reference, estimate) pair; both arrive as :class:`~bench.audio.Audio`
already resampled by the runner to ``sample_rate`` (None: left at the suite's rate), and always as
keyword arguments, so reference and estimate cannot be swapped by position.

Metrics that need the whole set (EER over trials, corpus WER) still score per item and then add
set-level values in :meth:`Metric.finalize`; weighted means (``Score.weight``) cover corpus-level
ratios such as WER = sum(errors) / sum(reference words).
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Sequence

from bench.audio import Audio
from bench.config import ModelOptions

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


@dataclass(frozen=True)
class ItemScore:
    """One item's score as :meth:`Metric.finalize` receives it (extras without the rows' ``x_``)."""

    item: str
    score: Score

    @property
    def ok(self) -> bool:
        return self.score.error is None and not math.isnan(self.score.value)

    @classmethod
    def from_rows(cls, rows: pd.DataFrame) -> list[ItemScore]:
        """Typed scores from long-form rows (as read back from a run directory), in row order.
        A missing extra (NaN/None in its ``x_`` column) is left out of ``extra``."""
        extras = [c for c in rows.columns if c.startswith("x_")]
        out = []
        for r in rows.to_dict("records"):
            extra = {c[2:]: r[c] for c in extras if not _missing(r[c])}
            value = math.nan if _missing(r.get("value")) else float(r["value"])
            weight = 1.0 if _missing(r.get("weight")) else float(r["weight"])
            error = None if _missing(r.get("error")) else str(r["error"])
            out.append(cls(str(r["item"]), Score(value, weight, error, extra)))
        return out


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


@dataclass(frozen=True)
class Margin:
    """The smallest worsening of a mean that matters (``bench gate``, ``bench compare``):
    ``max(abs, rel * |baseline mean|)``, in the metric's unit; a part left None is the gate
    config's default for it."""

    abs: float | None = None
    rel: float | None = None

    def as_dict(self) -> dict[str, float]:
        return {k: v for k, v in (("abs", self.abs), ("rel", self.rel)) if v is not None}


@dataclass(frozen=True)
class DerivedMetric:
    """A set-level value a metric adds in :meth:`Metric.finalize` (e.g. ``wer-original``)."""

    name: str
    unit: str
    higher_is_better: bool
    display: str = ""
    precision: str = "{:.2f}"
    gate_margin: Margin | None = None


@dataclass(frozen=True)
class MetricMeta:
    """Everything tables, reports and the gate need to know about a metric name, in one record
    (built from the class attributes by :meth:`Metric.meta`; see ``bench.metrics.metric_meta``)."""

    name: str
    unit: str = ""
    higher_is_better: bool = True
    #: column title as on model cards ("WER original"); the name when the metric declares none
    display: str = ""
    #: column position in card tables (lower is further left); derived metrics follow their parent
    rank: float = math.inf
    sample_rate: int | None = None
    requires: frozenset[str] = frozenset()
    #: set-level metrics this one adds in finalize
    derived: tuple[DerivedMetric, ...] = ()
    #: for a derived metric: the metric that produces it
    parent: str | None = None
    #: per-item rows are inputs to a set-level value, not the metric itself (see Metric.set_level)
    set_level: bool = False
    #: how card tables print a value (a str.format pattern)
    precision: str = "{:.2f}"
    #: the gate's practical margin (None: the gate config's default); reports/gate.yaml may override
    gate_margin: Margin | None = None
    #: the ``original`` row's score is computed once per suite (bench/pipeline/identity.py)
    identity_cache: bool = True
    #: the metric derives per-item rows for its set-level companions (Metric.derived_item_rows)
    derives_item_rows: bool = False


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
    suite_entry: dict[str, Any] = field(default_factory=dict)
    #: where the suite's items came from (manifest file or corpus root), to resolve relative paths
    suite_source: str = ""
    #: the run's torch device (``--device``): model-based metrics (Whisper, the speaker model) run on it
    device: str = "cpu"
    #: which ASR / speaker models the downstream metrics load, and how (the run's config)
    models: ModelOptions = field(default_factory=ModelOptions)

    @property
    def model_options(self) -> ModelOptions:
        """:attr:`models` on the context's device."""
        return self.models if self.models.device == self.device else dataclasses.replace(self.models, device=self.device)


class Metric(ABC):
    """Subclass, set the class attributes, implement :meth:`score`, decorate with ``@register_metric``."""

    name: ClassVar[str]
    unit: ClassVar[str] = ""
    higher_is_better: ClassVar[bool] = True
    #: Rate the pair is resampled to before scoring; None keeps the suite's native rate.
    sample_rate: ClassVar[int | None] = None
    #: Defined at exactly ``sample_rate`` (PESQ, DNSMOS): resampled even by ``bench score --native-rate``.
    fixed_rate: ClassVar[bool] = False
    #: Aligns the pair itself (ViSQOL), so files of unequal length are scored whole, not trimmed.
    handles_unequal_lengths: ClassVar[bool] = False
    #: Item fields the metric needs: "text" (WER), "speaker" (EER); suites lacking them skip it.
    requires: ClassVar[frozenset[str]] = frozenset()
    #: Python distribution whose version is recorded as the backend version.
    backend: ClassVar[str] = ""
    mode: ClassVar[str] = ""
    #: False for optional metrics that `--metric all`/default should not include.
    default: ClassVar[bool] = True
    #: Column title in tables (model-card spelling, e.g. "WER"); empty: the name.
    display: ClassVar[str] = ""
    #: Column rank in card tables: bitrate 0, perceptual quality 10s, intelligibility 30s,
    #: signal 40s, spectral distances 50s, downstream ASR 60s and speaker 70s-80s.
    rank: ClassVar[float] = math.inf
    #: Set-level metrics added by :meth:`finalize`, with their own unit/direction/title.
    derived: ClassVar[tuple[DerivedMetric, ...]] = ()
    #: True when only the set-level value (from :meth:`finalize`) is the metric and per-item rows
    #: hold its inputs (EER: per-item trial cosines, higher = more similar, while EER is lower-better).
    set_level: ClassVar[bool] = False
    #: True: the `original` row's score (estimate == reference) is computed once per suite and read
    #: back from the suite cache (bench/pipeline/identity.py); False for metrics that write run files.
    identity_cache: ClassVar[bool] = True
    #: True: :meth:`score_batch` scores several pairs in one call for less than one by one (the
    #: speaker metrics embed all utterances in one GE2E forward pass); used by ``--batch N``. Such a
    #: metric keeps ``identity_cache`` False (the identity cache serves pairs one at a time).
    batch_scoring: ClassVar[bool] = False
    #: False for non-intrusive metrics (DNSMOS, DistillMOS): only the estimate is judged, the
    #: reference merely completes the pair; the ``original`` row is then the original's own score.
    intrusive: ClassVar[bool] = True
    #: Measured cost: seconds of one CPU thread per second of audio in the pair, warm (see
    #: docs/performance.md for the machine and date); None where not measured.
    cost_rtf: ClassVar[float | None] = None
    #: True: scores only inside a run (it needs the run's context: suite cache, run directory);
    #: ``bench score`` leaves it out of its defaults, and says so when it is asked for by name
    needs_run: ClassVar[bool] = False
    #: How card tables print a value: two decimals, three for 0..1 scores (STOI, similarity).
    precision: ClassVar[str] = "{:.2f}"
    #: The smallest worsening that matters to ``bench gate`` and ``bench compare``, in the metric's
    #: unit (reports/gate.yaml may override it); None: the gate config's default.
    gate_margin: ClassVar[Margin | None] = None

    def __init__(self, context: MetricContext | None = None) -> None:
        self.context = context

    @classmethod
    def meta(cls) -> MetricMeta:
        return MetricMeta(name=cls.name, unit=cls.unit, higher_is_better=cls.higher_is_better,
                          display=cls.display or cls.name, rank=cls.rank, sample_rate=cls.sample_rate,
                          requires=cls.requires, derived=cls.derived, set_level=cls.set_level,
                          precision=cls.precision, gate_margin=cls.gate_margin, identity_cache=cls.identity_cache,
                          derives_item_rows=cls.derived_item_rows.__func__ is not Metric.derived_item_rows.__func__)

    @classmethod
    def derived_item_rows(cls, rows: pd.DataFrame) -> pd.DataFrame | None:
        """Per-item rows for the set-level metrics this one derives (e.g. WER's ``wer-original``),
        from a run's rows, so the gate can pair them item by item; None: the metric derives none."""
        return None

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
    def availability_for(cls, models: ModelOptions) -> str | None:
        """:meth:`availability` for a run that loads ``models`` (its config's ASR / speaker
        models); metrics whose needs depend on the model override this."""
        return cls.availability()

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

    def score_batch(self, *, references: Sequence[Audio], estimates: Sequence[Audio],
                    items: Sequence[Item | None]) -> list[Score | float]:
        """Several aligned pairs at once, one score each in order; here one by one. Metrics that set
        ``batch_scoring`` override it; one that raises is rescored pair by pair by the caller."""
        return [self.score(reference=r, estimate=e, item=i) for r, e, i in zip(references, estimates, items)]

    def finalize(self, scores: list[ItemScore]) -> list[dict[str, Any]]:
        """Set-level rows computed from this metric's per-item scores of one codec setting
        (default: none)."""
        return []
