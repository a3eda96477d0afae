"""DistillMOS (Stahl & Gamper, ICASSP 2025): a non-intrusive MOS predictor distilled from
XLS-R-based SQA models, via the ``distillmos`` package, which ships its 16.9 MB checkpoint
(``weights/distill_mos_v7.pt``, MIT). Non-intrusive: only the estimate is scored; the runner's
``original`` row scores the original audio itself, so a card shows the original's MOS next to
each codec's. Optional (``default = False``), like DNSMOS.

The value is ``ConvTransformerSQAModel()(x)`` on the 16 kHz estimate, as the package's own
inference does: it pads to 7.68 s, takes overlapping 7.68 s crops of longer input, normalizes
each to peak 1 and averages the crops' predictions (range 1..5). Run on one CPU thread, in
float32, in eval mode; the model is loaded once per process.

``distillmos`` imports torchaudio at module load, for file reading only (see
``bench.metrics._torchaudio_free``); it also needs ``xls-r-sqa`` (model code). Missing either,
the metric is listed as unavailable with the package's name and how to install it.

Example (non-intrusive: only the estimate is heard; a synthetic tone is not speech):

>>> from bench.metrics.examples import tone
>>> 1.0 <= DistillMos().score(reference=tone(), estimate=tone()).value <= 5.0
True
"""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np

from bench.audio import Audio
from bench.checksums import sha256_file
from bench.metrics import register_metric
from bench.metrics._checks import check_pair
from bench.metrics._torchaudio_free import import_module
from bench.metrics.base import Metric, Score

INSTALL = ("pip install --no-deps -c constraints.txt distillmos==0.9.1 xls-r-sqa==0.1.0 "
           "(their declared torchaudio does not load with the CPU torch; see the Makefile)")
WEIGHTS = "weights/distill_mos_v7.pt"


def _package_dir() -> str:
    found = importlib.util.find_spec("distillmos")
    return os.path.dirname(found.origin) if found and found.origin else ""


@lru_cache(maxsize=1)
def _model():
    import contextlib
    import io

    distillmos = import_module("distillmos", install=INSTALL)
    with contextlib.redirect_stdout(io.StringIO()):  # it prints where the weights came from
        model = distillmos.ConvTransformerSQAModel()
    return model.eval()


def predict(samples: np.ndarray) -> float:
    """The package's model on one 16 kHz signal, on one CPU thread."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            x = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))[None]
            return float(_model()(x).reshape(-1)[0])  # shape (batch, 1)
    finally:
        torch.set_num_threads(threads)


@register_metric
class DistillMos(Metric):
    name = "distillmos"
    display = "DistillMOS"
    rank = 23
    unit = "MOS"
    higher_is_better = True
    sample_rate = 16000
    fixed_rate: ClassVar[bool] = True
    backend = "distillmos"
    mode = "ConvTransformerSQAModel v7, 16 kHz, 7.68 s crops (1 s max hop) averaged, peak-normalized, 1 CPU thread"
    default = False
    cost_rtf = 0.13  # CPU s per audio s, measured (docs/performance.md)
    intrusive: ClassVar[bool] = False

    @classmethod
    def availability(cls) -> str | None:
        reason = super().availability()
        if reason:
            return f"{reason}; install with: {INSTALL}"
        try:
            import_module("distillmos", install=INSTALL)
        except Exception as exc:
            return str(exc)
        return None

    def info(self) -> dict[str, Any]:
        out = super().info()
        path = os.path.join(_package_dir(), WEIGHTS)
        out["model_file"] = WEIGHTS
        out["model_sha256"] = sha256_file(path) if os.path.isfile(path) else "missing"
        return out

    def score(self, *, reference: Audio, estimate: Audio, item=None) -> Score:
        # the reference is unused by DistillMOS but the pair must still be a valid pair
        check_pair(self.name, reference=reference, estimate=estimate, min_seconds=0.5, rates=(16000,))
        return Score(predict(estimate.samples))
