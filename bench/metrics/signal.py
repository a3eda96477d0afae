"""Sample-level metrics: SI-SDR and SNR via torchmetrics (the field's maintained implementation).


Example (a synthetic tone with white noise at 20 dB SNR; run as a doctest by the test suite):

>>> from bench.metrics.examples import noisy, tone
>>> ref = tone()
>>> round(SNR().score(reference=ref, estimate=noisy(ref, 20)).value, 2)
20.0
>>> round(SISDR().score(reference=ref, estimate=noisy(ref, 20)).value, 1)
20.0
"""

from __future__ import annotations

import numpy as np

from bench.audio import Audio
from bench.errors import MetricInputError
from bench.metrics import register_metric
from bench.metrics.base import Margin, Metric, Score


def _tensors(reference: Audio, estimate: Audio):
    import torch

    if reference.sample_rate != estimate.sample_rate or len(reference) != len(estimate):
        raise MetricInputError(
            f"pair mismatch: reference {len(reference)} @ {reference.sample_rate} Hz vs "
            f"estimate {len(estimate)} @ {estimate.sample_rate} Hz"
        )
    if not np.any(estimate.samples):
        raise MetricInputError("estimate is all zeros (codec produced silence)")
    return torch.from_numpy(estimate.samples.astype(np.float64)), torch.from_numpy(reference.samples.astype(np.float64))


@register_metric
class SISDR(Metric):
    """Scale-invariant SDR with ``zero_mean=True`` (as DAC/audiotools use; torchmetrics defaults
    to False, so we state it and record it as the mode)."""

    name = "si-sdr"
    gate_margin = Margin(abs=0.05)  # dB

    cost_rtf = 0.0087  # CPU s per audio s, measured (docs/performance.md)
    rank = 40
    unit = "dB"
    backend = "torchmetrics"
    mode = "zero_mean=True"

    def score(self, *, reference: Audio, estimate: Audio, item=None) -> Score:
        from torchmetrics.functional.audio import scale_invariant_signal_distortion_ratio

        est, ref = _tensors(reference, estimate)
        if float((ref - ref.mean()).abs().max()) < 1e-6:
            # torchmetrics would return a meaningless finite number (eps / eps) here
            raise MetricInputError("reference has no signal after mean removal (DC only)")
        return Score(float(scale_invariant_signal_distortion_ratio(est, ref, zero_mean=True)))


@register_metric
class SNR(Metric):
    name = "snr"
    gate_margin = Margin(abs=0.05)  # dB
    cost_rtf = 0.016  # CPU s per audio s, measured (docs/performance.md)
    rank = 41
    unit = "dB"
    backend = "torchmetrics"
    mode = "zero_mean=False"

    def score(self, *, reference: Audio, estimate: Audio, item=None) -> Score:
        from torchmetrics.functional.audio import signal_noise_ratio

        est, ref = _tensors(reference, estimate)
        return Score(float(signal_noise_ratio(est, ref, zero_mean=False)))
