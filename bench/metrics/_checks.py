"""Input checks shared by the perceptual metrics.

The backends fail in unhelpful ways on bad input (PESQ's C code raises "no utterances", ViSQOL
divides by a zero SPL, STOI silently returns 1e-5), so each metric checks the pair first and
raises :class:`MetricInputError` with a reason the runner records in the row.
"""

from __future__ import annotations

import numpy as np

from bench.audio import Audio
from bench.errors import MetricInputError

#: Peak below which a signal counts as silent (about -100 dBFS).
SILENCE_PEAK = 1e-5


def check_pair(metric: str, *, reference: Audio, estimate: Audio, min_seconds: float = 0.0,
               rates: tuple[int, ...] | None = None, equal_length: bool = True) -> None:
    """Raise MetricInputError naming the metric and the problem, or return silently."""
    where = estimate.source or reference.source
    prefix = f"{metric}: " + (f"{where}: " if where else "")
    if reference.sample_rate != estimate.sample_rate:
        raise MetricInputError(f"{prefix}sample rates differ (reference {reference.sample_rate} Hz, "
                               f"estimate {estimate.sample_rate} Hz)")
    if rates is not None and reference.sample_rate not in rates:
        raise MetricInputError(f"{prefix}needs audio at {' or '.join(map(str, rates))} Hz, "
                               f"got {reference.sample_rate} Hz")
    if equal_length and len(reference) != len(estimate):
        raise MetricInputError(f"{prefix}lengths differ (reference {len(reference)} samples, estimate "
                               f"{len(estimate)}); align or trim the pair first")
    for side, audio in (("reference", reference), ("estimate", estimate)):
        if not np.all(np.isfinite(audio.samples)):
            raise MetricInputError(f"{prefix}{side} contains NaN or infinite samples")
        if audio.samples.size == 0 or float(np.max(np.abs(audio.samples))) < SILENCE_PEAK:
            raise MetricInputError(f"{prefix}{side} is silent")
    if reference.duration < min_seconds:
        raise MetricInputError(f"{prefix}clip too short ({reference.duration:.3f} s; {metric} needs at "
                               f"least {min_seconds} s)")


