"""The one path from a pair of Audio to a checked Score, shared by ``bench run`` and ``bench score``.

Both call :func:`measure`, so resampling, coercing to :class:`Score`, rejecting non-finite values
and prefixing extras happen in one place, by rules declared on the metric class (``sample_rate``,
``fixed_rate``, ``handles_unequal_lengths``), not probed with getattr:

- rate: the pair is resampled to ``metric.sample_rate`` (None: left at the pair's rate). With
  ``native_rate=True`` (``bench score --native-rate``) it stays at the pair's rate unless the
  metric is ``fixed_rate`` (defined at one rate only: PESQ, DNSMOS);
- length: a pair of unequal length is cut to the shorter one, never padded, unless the metric
  ``handles_unequal_lengths`` (ViSQOL aligns itself). ``bench run`` always hands over an aligned
  pair of equal length, so this matters only for files scored as given;
- result: a plain float becomes a Score; an exception becomes a failed Score with a short reason;
  a non-finite value is a failure too (never a silent NaN).

:func:`measure_batch` applies the same rules to several pairs scored in one call, for metrics that
declare ``batch_scoring`` (GE2E embeds all utterances in one forward pass).
"""

from __future__ import annotations

import math
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

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


@dataclass(frozen=True)
class AlignedPair:
    """A reference and its aligned estimate (and the item they come from), for batch scoring."""

    reference: Audio
    estimate: Audio
    item: Item | None = None


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


def _fit_lengths(metric: Metric, ref: Audio, est: Audio) -> tuple[Audio, Audio, list[str]]:
    """Cut a pair of unequal length to the shorter one, unless the metric aligns it itself."""
    if len(ref) == len(est):
        return ref, est, []
    n = min(len(ref), len(est))
    whole = metric.handles_unequal_lengths
    note = (f"lengths differ (reference {len(ref)}, estimate {len(est)} samples at {ref.sample_rate} Hz)"
            + ("; scored whole (metric aligns itself)" if whole else f"; trimmed to {n}"))
    if not whole:
        ref, est = ref.with_samples(ref.samples[:n]), est.with_samples(est.samples[:n])
    return ref, est, [note]


def _fit(metric: Metric, pair: AlignedPair, native_rate: bool) -> tuple[Audio, Audio, int, list[str]]:
    """The pair cut to the metric's length rule, the rate it is scored at, and the notes (not yet
    resampled: resampling can fail, and that failure belongs to the score)."""
    ref, est, notes = _fit_lengths(metric, pair.reference, pair.estimate)
    rate, note = fit_rate(metric, ref.sample_rate, native_rate)
    return ref, est, rate, notes + ([note] if note else [])


def _checked(result: Score | float) -> Score:
    score = result if isinstance(result, Score) else Score(float(result))
    if score.error is None and not math.isfinite(score.value):
        return Score.failed(f"metric returned {score.value}")  # never a silent NaN
    return score


def measure(metric: Metric, *, reference: Audio, estimate: Audio, item: Item | None = None,
            native_rate: bool = False, scorer: Callable[..., Score] | None = None) -> Measured:
    """Fit the pair to the metric's declared rules, score it, and check the result.

    ``scorer(metric, reference=, estimate=, item=)`` replaces the plain ``metric.score`` call where
    the caller serves some scores from a cache (the runner's once-per-suite identity scores)."""
    ref, est, rate, notes = _fit(metric, AlignedPair(reference, estimate, item), native_rate)
    try:
        ref, est = resample(ref, rate), resample(est, rate)
        result = (scorer(metric, reference=ref, estimate=est, item=item) if scorer is not None
                  else metric.score(reference=ref, estimate=est, item=item))
        score = _checked(result)
    except Exception as exc:  # one metric failing must not hide the others
        score = Score.failed(short_error(exc))
    return Measured(score, rate, notes)


def measure_batch(metric: Metric, pairs: Sequence[AlignedPair], native_rate: bool = False) -> list[Measured]:
    """:func:`measure` for several pairs, scored in one ``metric.score_batch`` call when the metric
    declares ``batch_scoring``. When that call raises, each pair is measured on its own, so an
    unscorable pair fails alone with its own reason and the others keep their scores."""
    def one_by_one() -> list[Measured]:
        return [measure(metric, reference=p.reference, estimate=p.estimate, item=p.item, native_rate=native_rate)
                for p in pairs]

    if not metric.batch_scoring or len(pairs) < 2:
        return one_by_one()
    fitted = [_fit(metric, p, native_rate) for p in pairs]
    try:
        results = metric.score_batch(references=[resample(ref, rate) for ref, _, rate, _ in fitted],
                                     estimates=[resample(est, rate) for _, est, rate, _ in fitted],
                                     items=[p.item for p in pairs])
        if len(results) != len(pairs):
            raise BenchError(f"{metric.name}: score_batch returned {len(results)} scores for {len(pairs)} pairs")
        scores = [_checked(r) for r in results]
    except Exception:
        return one_by_one()
    return [Measured(score, rate, notes) for score, (_, _, rate, notes) in zip(scores, fitted)]
