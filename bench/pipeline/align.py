"""Delay compensation and the length policy.

Codecs delay their output (Opus pre-skip, MP3 ~1100 samples, AAC priming) and pad it to whole
frames. Sample-level metrics are meaningless until that is undone: we estimate the lag by
cross-correlation within a bounded window, shift the estimate, and trim it to the reference
length. The reference is never padded or cut.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import correlate

from bench.audio import Audio

#: Longest codec delay we search for; MP3/AAC stay well under 0.1 s.
MAX_LAG_SECONDS = 0.25


@dataclass(frozen=True)
class Alignment:
    lag: int  # samples the estimate lags the reference (positive: estimate is late)
    length_change: int  # len(raw estimate) - len(reference), before alignment
    padded: int  # zeros appended to the estimate's tail after the shift

    def as_dict(self) -> dict[str, int]:
        return {"lag": self.lag, "length_change": self.length_change, "padded": self.padded}


def estimate_lag(reference: np.ndarray, estimate: np.ndarray, max_lag: int) -> int:
    n = min(len(reference), len(estimate))
    if n == 0:
        return 0
    cc = correlate(estimate, reference[:n], mode="full", method="fft")
    zero = n - 1  # index of lag 0 in the 'full' output when the 2nd input has length n
    lo, hi = max(0, zero - max_lag), min(len(cc), zero + max_lag + 1)
    return int(np.argmax(cc[lo:hi])) + lo - zero


def align(reference: Audio, estimate: Audio, max_lag_seconds: float = MAX_LAG_SECONDS) -> tuple[Audio, Alignment]:
    """Return the estimate shifted and cut (or zero-extended) to exactly the reference length."""
    if reference.sample_rate != estimate.sample_rate:
        raise ValueError("align() needs both signals at the same rate; resample first")
    ref, est = reference.samples, estimate.samples
    lag = estimate_lag(ref, est, int(max_lag_seconds * reference.sample_rate))
    shifted = est[lag:] if lag >= 0 else np.concatenate([np.zeros(-lag, est.dtype), est])
    padded = max(0, len(ref) - len(shifted))
    out = np.pad(shifted, (0, padded))[: len(ref)]
    return estimate.with_samples(out), Alignment(lag, len(est) - len(ref), padded)
