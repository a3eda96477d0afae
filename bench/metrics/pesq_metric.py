"""PESQ (ITU-T P.862.2 wide-band at 16 kHz, P.862.1 narrow-band at 8 kHz) via the ``pesq`` package,
which wraps the ITU reference C code. The metric passes the pair straight through; the value is
the package's own, so it agrees with calling ``pesq.pesq`` directly (see the tests).


Example (synthetic tone; identity reaches the wide-band ceiling of 4.64):

>>> from bench.metrics.examples import noisy, tone
>>> ref = tone()
>>> round(PesqWB().score(reference=ref, estimate=ref).value, 2)
4.64
>>> round(PesqWB().score(reference=ref, estimate=noisy(ref, 20)).value, 1)
1.0
"""

from __future__ import annotations

from typing import ClassVar

from bench.audio import Audio
from bench.errors import MetricInputError
from bench.metrics import register_metric
from bench.metrics._checks import check_pair
from bench.metrics.base import Margin, Metric, Score

#: PESQ's C code needs at least 1/4 s of audio (BufferTooShortError below that)
MIN_SECONDS = 0.25


class _Pesq(Metric):
    unit = "MOS-LQO"
    higher_is_better = True
    backend = "pesq"
    pesq_mode: ClassVar[str] = "wb"
    #: PESQ is defined at exactly this rate: `bench score --native-rate` still resamples to it
    fixed_rate: ClassVar[bool] = True

    def score(self, *, reference: Audio, estimate: Audio, item=None) -> Score:
        import pesq

        check_pair(self.name, reference=reference, estimate=estimate, min_seconds=MIN_SECONDS,
                   rates=(self.sample_rate,))
        try:
            value = pesq.pesq(fs=reference.sample_rate, ref=reference.samples, deg=estimate.samples,
                              mode=self.pesq_mode)
        except pesq.PesqError as exc:  # NoUtterancesError, BufferTooShortError, ...
            raise MetricInputError(f"{self.name}: {type(exc).__name__}: {exc}") from exc
        return Score(float(value))


@register_metric
class PesqWB(_Pesq):
    name = "pesq-wb"
    gate_margin = Margin(abs=0.01)
    cost_rtf = 0.0083  # CPU s per audio s, measured (docs/performance.md)
    rank = 20
    sample_rate = 16000
    mode = "wb (P.862.2)"
    pesq_mode = "wb"


@register_metric
class PesqNB(_Pesq):
    name = "pesq-nb"
    gate_margin = Margin(abs=0.01)
    cost_rtf = 0.0048  # CPU s per audio s, measured (docs/performance.md)
    rank = 21
    sample_rate = 8000
    mode = "nb (P.862.1 MOS-LQO mapping)"
    pesq_mode = "nb"
