"""WARP-Q (Jassim et al., ICASSP 2021 / 2022), the quality metric for generative speech codecs whose
output is not sample-aligned with the input, via the ``warpq`` package (Apache-2.0; MFCC + subsequence
DTW, no learned weights).

The value is WARP-Q's raw score: the median over 0.4 s patches of the degraded signal (0.2 s hop) of
each patch's subsequence-DTW alignment cost against the whole reference. It is a distance: LOWER
IS BETTER (near 0 for identical signals). The package rounds it to 3 decimals, so that is its precision.
The package's ``normalized_warpq_score`` (1 - raw / 3.5, clamped to [0, 1], higher is better) travels
as the extra ``warpq_normalized``.

Settings are the package defaults: 16 kHz, WebRTC VAD (pyvad) on both sides, 13 MFCCs up to 5 kHz,
32 ms frames with 4 ms hop, CMVN over 0.836 s windows, DTW steps [[1,0],[0,3],[1,3]]. Samples beyond
[-1, 1] (codec overshoot; pyvad refuses them) are clipped first, and counted (``warpq_clipped``).
Scored whole (``handles_unequal_lengths``): DTW aligns the pair, which is the point for generative codecs.
Optional (``default = False``): the sample-aligned metrics already cover waveform codecs.

Example (a distance: identity scores near its best, ~0.27 here, not exactly 0, because each patch
is aligned by subsequence DTW with the package's step sizes):

>>> from bench.metrics.examples import noisy, tone
>>> ref = tone()
>>> WarpQ().score(reference=ref, estimate=ref).value
0.272
>>> WarpQ().score(reference=ref, estimate=noisy(ref, 10)).value > 0.5
True
"""

from __future__ import annotations

import math
import threading
import warnings
from contextlib import contextmanager
from functools import lru_cache
from typing import ClassVar

import numpy as np

from bench.audio import Audio
from bench.errors import MetricInputError, UnavailableError
from bench.metrics import register_metric
from bench.metrics._checks import check_pair
from bench.metrics.base import Metric, Score

INSTALL = "pip install -c constraints.txt warpq==1.5.2 (it needs pyvad, seaborn, librosa at import)"


@lru_cache(maxsize=1)
def _metric():
    try:
        from warpq.core import warpqMetric
    except ImportError as exc:
        raise UnavailableError(f"missing Python package {getattr(exc, 'name', None) or 'warpq'!r}; "
                               f"install with: {INSTALL}") from exc
    return warpqMetric(sr=16000, n_jobs=1)  # package defaults otherwise; n_jobs only matters for CSV batches


_NUMPY_LIB = threading.Lock()


@contextmanager
def _np_lib_pad():
    """pyvad (WARP-Q's VAD, every release) calls ``np.lib.pad``, numpy 1.x's alias of ``np.pad``
    that numpy 2 removed. For the duration of the call the alias is put back (the same function
    object numpy 1.x had there), then removed again, so nothing else sees it."""
    with _NUMPY_LIB:
        added = not hasattr(np.lib, "pad")
        if added:
            np.lib.pad = np.pad
        try:
            yield
        finally:
            if added:
                del np.lib.pad


def evaluate(reference: np.ndarray, estimate: np.ndarray) -> dict:
    """``warpqMetric().evaluate`` on two 16 kHz float64 arrays (the package's own call)."""
    with warnings.catch_warnings(), _np_lib_pad():
        warnings.simplefilter("ignore", UserWarning)  # "too short" comes back as NaN: reported by the caller
        return _metric().evaluate(np.asarray(reference, dtype=np.float64), np.asarray(estimate, dtype=np.float64),
                                  arr_sr=16000)


@register_metric
class WarpQ(Metric):
    name = "warpq"
    display = "WARP-Q (raw, lower better)"
    rank = 15
    unit = ""
    higher_is_better = False
    sample_rate = 16000
    fixed_rate: ClassVar[bool] = True
    handles_unequal_lengths: ClassVar[bool] = True
    backend = "warpq"
    mode = ("raw score (median subsequence-DTW cost, lower is better), 16 kHz, WebRTC VAD, 13 MFCC <= 5 kHz, "
            "32/4 ms frames, 0.4 s patches 0.2 s hop, package defaults")
    default = False
    cost_rtf = 0.048  # CPU s per audio s, measured (docs/performance.md)

    @classmethod
    def availability(cls) -> str | None:
        reason = super().availability()
        if reason:
            return f"{reason}; install with: {INSTALL}"
        try:
            _metric()
        except UnavailableError as exc:
            return str(exc)
        return None

    def score(self, *, reference: Audio, estimate: Audio, item=None) -> Score:
        check_pair(self.name, reference=reference, estimate=estimate, min_seconds=0.4, rates=(16000,),
                   equal_length=False)
        # pyvad refuses float input outside [-1, 1], which codec output overshoots now and then
        # (Opus on 2 of 96 demo pairs): clipped first, as DNSMOS's input is; the count is recorded
        clipped = int(np.sum(np.abs(reference.samples) > 1) + np.sum(np.abs(estimate.samples) > 1))
        out = evaluate(np.clip(reference.samples, -1.0, 1.0), np.clip(estimate.samples, -1.0, 1.0))
        raw = float(out["raw_warpq_score"])
        if math.isnan(raw):
            raise MetricInputError(f"{self.name}: {estimate.source or reference.source}: too little speech after "
                                   "voice-activity detection (under 0.4 s on one side)")
        return Score(raw, extra={"warpq_normalized": float(out["normalized_warpq_score"]),
                                 "warpq_patches": int(out["total_patch_count"]), "warpq_clipped": clipped})
