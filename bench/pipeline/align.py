"""Delay compensation and the length policy.

Codecs delay their output (Opus pre-skip, MP3 decoder delay, AAC priming) and pad it to whole
frames. Sample-level metrics are meaningless until that is undone. The delay is a property of the
codec setting, not of each item: a run shifts every item of a setting by that setting's one delay
(:mod:`bench.pipeline.delay`), as DAC's evaluate.py and VERSA score a codec's output after removing
its known, constant delay. Shifting each item by its own cross-correlation peak instead adds
per-item noise and favours the codec (each item gets the shift that suits it best), so it is only
an explicit option (``--align item``) for codecs whose delay varies. Each item's own lag is still
estimated (bounded cross-correlation) and recorded; one that disagrees with the setting's delay by
more than :data:`LAG_TOLERANCE_SECONDS` is flagged, never silently realigned.

The shifted estimate is trimmed (or zero-extended) to the reference length; the reference is
never padded or cut.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import correlate

from bench.audio import Audio

#: Longest codec delay we search for; MP3/AAC stay well under 0.1 s.
MAX_LAG_SECONDS = 0.25
#: An item whose own lag differs from its setting's delay by more than this is flagged
#: (``lag_flag``). 1 ms: well above the one-sample ambiguity of a cross-correlation peak on
#: band-limited or coded speech, well below any codec frame (so a real per-item delay shows).
LAG_TOLERANCE_SECONDS = 0.001

#: the two alignment modes of a run (``bench run --align``)
ALIGN_MODES = ("setting", "item")


def lag_tolerance(sample_rate: int) -> int:
    """:data:`LAG_TOLERANCE_SECONDS` in samples at ``sample_rate``."""
    return int(round(LAG_TOLERANCE_SECONDS * sample_rate))


@dataclass(frozen=True)
class Alignment:
    lag: int  # samples the estimate was shifted by (positive: estimate is late)
    length_change: int  # len(raw estimate) - len(reference), before alignment
    padded: int  # zeros appended to the estimate's tail after the shift
    own_lag: int | None = None  # this item's own best lag (cross-correlation), for diagnostics
    lag_flag: bool = False  # |own_lag - setting delay| > the tolerance

    def as_dict(self) -> dict[str, int | bool | None]:
        return {"lag": self.lag, "own_lag": self.own_lag, "lag_flag": self.lag_flag,
                "length_change": self.length_change, "padded": self.padded}


def estimate_lag(reference: np.ndarray, estimate: np.ndarray, max_lag: int) -> int:
    n = min(len(reference), len(estimate))
    if n == 0:
        return 0
    cc = correlate(estimate, reference[:n], mode="full", method="fft")
    zero = n - 1  # index of lag 0 in the 'full' output when the 2nd input has length n
    lo, hi = max(0, zero - max_lag), min(len(cc), zero + max_lag + 1)
    return int(np.argmax(cc[lo:hi])) + lo - zero


def shift(reference: Audio, estimate: Audio, lag: int) -> tuple[Audio, int]:
    """The estimate moved ``lag`` samples earlier and cut (or zero-extended) to the reference
    length; and how many zeros were appended. ``lag`` 0 keeps the estimate's samples as they are."""
    est = estimate.samples
    shifted = est[lag:] if lag >= 0 else np.concatenate([np.zeros(-lag, est.dtype), est])
    padded = max(0, len(reference) - len(shifted))
    return estimate.with_samples(np.pad(shifted, (0, padded))[: len(reference)]), padded


def align(reference: Audio, estimate: Audio, max_lag_seconds: float = MAX_LAG_SECONDS, *,
          delay: int | None = None, per_item: bool = False) -> tuple[Audio, Alignment]:
    """Return the estimate shifted and cut (or zero-extended) to exactly the reference length.

    ``delay``: the codec setting's delay in samples at this rate; it is the shift applied, unless
    ``per_item`` (or no delay is known), when the item's own cross-correlation lag is applied.
    Either way the own lag is recorded and flagged when it disagrees with ``delay``.
    """
    if reference.sample_rate != estimate.sample_rate:
        raise ValueError("align() needs both signals at the same rate; resample first")
    own = estimate_lag(reference.samples, estimate.samples, int(max_lag_seconds * reference.sample_rate))
    lag = own if per_item or delay is None else int(delay)
    flag = delay is not None and abs(own - int(delay)) > lag_tolerance(reference.sample_rate)
    out, padded = shift(reference, estimate, lag)
    return out, Alignment(lag, len(estimate) - len(reference), padded, own, bool(flag))
