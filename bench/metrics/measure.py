"""The one path from a pair of Audio to a checked Score, shared by ``bench run`` and ``bench score``.

Both used to resample, coerce to :class:`Score`, reject non-finite values and prefix extras on
their own; now both call :func:`measure`, and the rules it applies are declared on the metric
class (``sample_rate``, ``fixed_rate``, ``handles_unequal_lengths``), not probed with getattr:

- rate: the pair is resampled to ``metric.sample_rate`` (None: left at the pair's rate). With
  ``native_rate=True`` (``bench score --native-rate``) it stays at the pair's rate unless the
  metric is ``fixed_rate`` (defined at one rate only: PESQ, DNSMOS);
- length: a pair of unequal length is cut to the shorter one, never padded, unless the metric
  ``handles_unequal_lengths`` (ViSQOL aligns itself). ``bench run`` always hands over an aligned
  pair of equal length, so this matters only for files scored as given;
- result: a plain float becomes a Score; an exception becomes a failed Score with a short reason;
  a non-finite value is a failure too (never a silent NaN).
"""

from __future__ import annotations

import math
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from bench.audio import Audio, resample
from bench.errors import BenchError
from bench.metrics.base import Metric, Score

if TYPE_CHECKING:  # pragma: no cover
    from bench.suites.items import Item


def short_error(exc: BaseException) -> str:
    """Our own errors already name the file and the problem; others get their type and where."""
    if isinstance(exc, BenchError):
        return str(exc)
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}"


@dataclass
class Measured:
    """A checked score and how the pair was fitted to the metric (for ``bench score``'s notes)."""

    score: Score
    sample_rate: int
    notes: list[str] = field(default_factory=list)

    def row_fields(self) -> dict[str, Any]:
        """value, weight, error and the metric's extras as ``x_`` columns of a long-form row."""
        s = self.score
        return {"value": s.value, "weight": s.weight, "error": s.error, **{f"x_{k}": v for k, v in s.extra.items()}}


def fit_rate(metric: Metric | type[Metric], rate: int, native_rate: bool = False) -> tuple[int, str]:
    """The rate ``metric`` scores a pair at that arrives at ``rate``, and a note when it differs."""
    want = metric.sample_rate
    if want is None:
        return rate, ""
    if native_rate and not metric.fixed_rate:
        return rate, "native rate"
    note = f"resampled {rate}->{want} Hz" if want != rate else ""
    if native_rate and want != rate:
        note += f" ({metric.name} is defined only at {want} Hz)"
    return want, note


def measure(metric: Metric, *, reference: Audio, estimate: Audio, item: Item | None = None,
            native_rate: bool = False, scorer: Callable[..., Score] | None = None) -> Measured:
    """Fit the pair to the metric's declared rules, score it, and check the result.

    ``scorer(metric, reference=, estimate=, item=)`` replaces the plain ``metric.score`` call where
    the caller serves some scores from a cache (the runner's once-per-suite identity scores)."""
    notes: list[str] = []
    ref, est = reference, estimate
    if len(ref) != len(est):
        n = min(len(ref), len(est))
        whole = metric.handles_unequal_lengths
        notes.append(f"lengths differ (reference {len(ref)}, estimate {len(est)} samples at {ref.sample_rate} Hz)"
                     + ("; scored whole (metric aligns itself)" if whole else f"; trimmed to {n}"))
        if not whole:
            ref, est = ref.with_samples(ref.samples[:n]), est.with_samples(est.samples[:n])
    rate, note = fit_rate(metric, ref.sample_rate, native_rate)
    if note:
        notes.append(note)
    try:
        ref, est = resample(ref, rate), resample(est, rate)
        result = (scorer(metric, reference=ref, estimate=est, item=item) if scorer is not None
                  else metric.score(reference=ref, estimate=est, item=item))
        score = result if isinstance(result, Score) else Score(float(result))
    except Exception as exc:  # one metric failing must not hide the others
        score = Score.failed(short_error(exc))
    if score.error is None and not math.isfinite(score.value):
        score = Score.failed(f"metric returned {score.value}")  # never a silent NaN
    return Measured(score, rate, notes)
