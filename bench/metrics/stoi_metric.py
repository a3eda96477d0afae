"""STOI and extended STOI via ``pystoi`` (a port of Taal's MATLAB code, validated against it).

The pair is given at 16 kHz and pystoi resamples to STOI's internal 10 kHz itself: that resampling
is part of the published algorithm (MATLAB ``resample``), so numbers match what peers report from
pystoi at 16 kHz.


Example (synthetic tone):

>>> from bench.metrics.examples import noisy, tone
>>> ref = tone()
>>> round(Stoi().score(reference=ref, estimate=ref).value, 3)
1.0
>>> round(Stoi().score(reference=ref, estimate=noisy(ref, 20)).value, 1)
0.9
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from typing import ClassVar

import numpy as np

from bench.audio import Audio
from bench.errors import MetricInputError
from bench.metrics import register_metric
from bench.metrics._checks import check_pair
from bench.metrics.base import Margin, Metric, Score


#: seed of numpy's global generator while pystoi runs (any fixed value: the dither is ~1e-16)
DITHER_SEED = 0


@contextmanager
def _seeded_dither():
    """ESTOI's row/column normalisation (pystoi ``utils.row_col_normalize``) adds ``EPS *
    np.random.standard_normal`` from numpy's *global*, unseeded generator, so a value depended on
    what the process had drawn before (item order, worker, rerun): 328 of 950 demo ESTOI values
    differed in the last bits (up to 1.6e-13) between two runs of the same code on one machine.
    A fixed seed makes the score a function of the pair alone, as MATLAB's reference is; the
    caller's generator state is put back afterwards."""
    state = np.random.get_state()
    np.random.seed(DITHER_SEED)
    try:
        yield
    finally:
        np.random.set_state(state)


class _Stoi(Metric):
    unit = ""
    higher_is_better = True
    backend = "pystoi"
    sample_rate = 16000
    extended: ClassVar[bool] = False

    def score(self, *, reference: Audio, estimate: Audio, item=None) -> Score:
        from pystoi import stoi

        check_pair(self.name, reference=reference, estimate=estimate)
        with warnings.catch_warnings(record=True) as caught, _seeded_dither():
            warnings.simplefilter("always")
            value = stoi(x=reference.samples.astype(np.float64), y=estimate.samples.astype(np.float64),
                         fs_sig=reference.sample_rate, extended=self.extended)  # x: clean, y: processed
        for w in caught:
            # pystoi returns a placeholder 1e-5 (with a warning) when fewer than 30 speech frames
            # (~384 ms at 10 kHz) remain after dropping silence; that is not a score.
            if "Not enough STFT frames" in str(w.message):
                raise MetricInputError(f"{self.name}: fewer than 30 non-silent STOI frames (~0.4 s of "
                                       f"speech) in a {reference.duration:.2f} s clip")
        return Score(float(value))


@register_metric
class Stoi(_Stoi):
    name = "stoi"
    precision = "{:.3f}"
    gate_margin = Margin(abs=0.002)
    cost_rtf = 0.0099  # CPU s per audio s, measured (docs/performance.md)
    rank = 30
    mode = "classic (Taal 2011), internal 10 kHz"


@register_metric
class EStoi(_Stoi):
    name = "estoi"
    precision = "{:.3f}"
    gate_margin = Margin(abs=0.002)
    cost_rtf = 0.012  # CPU s per audio s, measured (docs/performance.md)
    rank = 31
    mode = "extended (Jensen & Taal 2016), internal 10 kHz"
    extended = True
