"""DNSMOS P.835 (non-intrusive: only the estimate is scored) via ``speechmos``, which ships
Microsoft's ONNX models. Optional (``default = False``): it does not compare against the
reference, so it answers a different question than the other metrics.

The value is OVRL; SIG, BAK and P.808 MOS travel as extra columns.


Example (non-intrusive: only the estimate is heard; a synthetic tone is not speech, so it rates low):

>>> from bench.metrics.examples import tone
>>> round(Dnsmos().score(reference=tone(), estimate=tone()).value, 1)
2.5
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any, ClassVar

import numpy as np

from bench.audio import Audio
from bench.errors import MetricInputError
from bench.metrics import register_metric
from bench.checksums import sha256_file
from bench.metrics._checks import check_pair
from bench.metrics.base import Metric, Score

MODELS = ("dnsmos_models/sig_bak_ovr.onnx", "dnsmos_models/model_v8.onnx")


def _model_dir() -> str:
    found = importlib.util.find_spec("speechmos")
    return os.path.dirname(found.origin) if found and found.origin else ""


@register_metric
class Dnsmos(Metric):
    name = "dnsmos"
    rank = 22
    unit = "MOS"
    higher_is_better = True
    sample_rate = 16000
    backend = "speechmos"
    mode = "P.835 OVRL (non-personalized), 9.01 s windows, 1 s hop"
    default = False
    cost_rtf = 0.33  # CPU s per audio s, measured (docs/performance.md)
    intrusive: ClassVar[bool] = False
    display = "DNSMOS OVRL"
    fixed_rate: ClassVar[bool] = True

    @classmethod
    def availability(cls) -> str | None:
        reason = super().availability()
        if reason:
            return reason
        for pkg in ("onnxruntime", "librosa"):
            if importlib.util.find_spec(pkg) is None:
                return f"missing Python package {pkg!r}"
        return None

    def info(self) -> dict[str, Any]:
        out = super().info()
        paths = [os.path.join(_model_dir(), m) for m in MODELS]
        out["model_file"] = ",".join(MODELS)
        out["model_sha256"] = ",".join(sha256_file(p) if os.path.isfile(p) else "missing" for p in paths)
        return out

    def score(self, *, reference: Audio, estimate: Audio, item=None) -> Score:
        from speechmos import dnsmos

        # the reference is unused by DNSMOS but the pair must still be a valid pair
        check_pair(self.name, reference=reference, estimate=estimate, min_seconds=1.0, rates=(16000,))
        x = np.clip(estimate.samples.astype(np.float64), -1.0, 1.0)  # speechmos rejects |x| > 1
        try:
            out = dnsmos.run(x, sr=estimate.sample_rate)
        except ValueError as exc:
            raise MetricInputError(f"{self.name}: {exc}") from exc
        return Score(float(out["ovrl_mos"]), extra={"dnsmos_sig": float(out["sig_mos"]),
                                                     "dnsmos_bak": float(out["bak_mos"]),
                                                     "dnsmos_p808": float(out["p808_mos"])})
