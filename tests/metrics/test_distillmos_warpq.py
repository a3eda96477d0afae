"""distillmos and warpq against the packages they wrap, on 20 generated pairs each, plus what each
promises: identical reruns, a clear message when the package is missing (never a stand-in), WARP-Q
scoring pairs of unequal length whole (generative codecs) with lower = better."""

from __future__ import annotations

import importlib.metadata
import sys

import numpy as np
import pytest

from bench.audio import Audio
from bench.errors import UnavailableError
from bench.metrics import _torchaudio_free
from bench.metrics.distillmos_metric import DistillMos
from bench.metrics.measure import measure
from bench.metrics.warpq_metric import WarpQ

RATE = 16000


def _voice(f0: float, seconds: float, seed: int, snr: float | None) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.03 * np.sin(2 * np.pi * 3 * t))) / RATE
    x = sum(np.sin(k * phase) / k for k in range(1, 15)) * 0.15 * (0.55 + 0.45 * np.sin(2 * np.pi * 2.5 * t))
    if snr is not None:
        noise = np.random.default_rng(seed).standard_normal(len(x))
        x = x + noise * np.sqrt(np.mean(x**2) / np.mean(noise**2) / 10 ** (snr / 10))
    return np.clip(x, -1, 1).astype(np.float32)


# 5 voices x 4 estimates (clean, 30 / 15 / 5 dB of white noise) = 20 pairs
PAIRS = [(_voice(f0, 1.2, i, None), _voice(f0, 1.2, i, snr)) for i, f0 in enumerate((110, 140, 170, 200, 230))
         for snr in (None, 30, 15, 5)]


@pytest.mark.models
@pytest.mark.skipif(DistillMos.availability() is not None, reason=str(DistillMos.availability()))
def test_distillmos_agrees_with_the_package_on_20_estimates():
    import torch

    distillmos = _torchaudio_free.import_module("distillmos", install="-")
    model = distillmos.ConvTransformerSQAModel().eval()
    torch.set_num_threads(1)
    with torch.no_grad():  # the package's model, one batch of all 20 estimates
        theirs = model(torch.from_numpy(np.stack([e for _, e in PAIRS]))).reshape(-1).numpy()
    ours = [DistillMos().score(reference=Audio(r, RATE), estimate=Audio(e, RATE)).value for r, e in PAIRS]
    assert len(ours) >= 20
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)  # float32 model: batched vs single calls
    assert ours == [DistillMos().score(reference=Audio(r, RATE), estimate=Audio(e, RATE)).value for r, e in PAIRS[:3]] \
        + ours[3:]  # reruns identical
    assert all(1.0 <= v <= 5.0 for v in ours)


def test_missing_distillmos_is_named_never_replaced(monkeypatch):
    real = importlib.metadata.version

    def version(name):
        if name == "distillmos":
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
    reason = DistillMos.availability()
    assert reason and "'distillmos'" in reason and "pip install" in reason


def test_missing_model_code_package_is_named(monkeypatch):
    for name in [m for m in sys.modules if m == "distillmos" or m.startswith(("distillmos.", "xls_r_sqa"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "xls_r_sqa", None)  # as if xls-r-sqa were not installed
    with pytest.raises(UnavailableError, match="'xls_r_sqa'.*pip install"):
        _torchaudio_free.import_module("distillmos", install="pip install ... xls-r-sqa==0.1.0")
    assert "torchaudio" not in sys.modules or not isinstance(sys.modules["torchaudio"], _torchaudio_free._Absent)


def test_placeholder_torchaudio_fails_loudly_and_is_not_left_behind():
    absent = _torchaudio_free._Absent("torchaudio")
    with pytest.raises(UnavailableError, match="torchaudio.load"):
        absent.load("x.wav")
    _torchaudio_free.import_module("bench.metrics.pitch", install="-")
    assert not isinstance(sys.modules.get("torchaudio"), _torchaudio_free._Absent)


@pytest.mark.skipif(WarpQ.availability() is not None, reason=str(WarpQ.availability()))
def test_warpq_agrees_with_the_package_on_20_pairs():
    from warpq.core import warpqMetric

    from bench.metrics.warpq_metric import _np_lib_pad

    package = warpqMetric(sr=RATE, n_jobs=1)
    for ref, est in PAIRS:
        with _np_lib_pad():
            theirs = package.evaluate(ref.astype(np.float64), est.astype(np.float64), arr_sr=RATE)
        ours = WarpQ().score(reference=Audio(ref, RATE), estimate=Audio(est, RATE))
        assert ours.value == theirs["raw_warpq_score"]  # the package rounds to 3 decimals: exact
        assert ours.extra["warpq_normalized"] == theirs["normalized_warpq_score"]
    assert not hasattr(np.lib, "pad")  # numpy 2 again once the call is over


@pytest.mark.skipif(WarpQ.availability() is not None, reason=str(WarpQ.availability()))
def test_warpq_direction_and_unequal_lengths():
    assert WarpQ.higher_is_better is False
    ref = PAIRS[4][0]
    values = [WarpQ().score(reference=Audio(ref, RATE), estimate=Audio(e, RATE)).value for _, e in PAIRS[4:8]]
    assert values[0] < values[2] < values[3]  # clean < 15 dB < 5 dB
    longer = Audio(np.concatenate([np.zeros(1600, np.float32), PAIRS[5][1]]), RATE)  # 0.1 s late, longer
    scored = measure(WarpQ(), reference=Audio(ref, RATE), estimate=longer).score
    assert scored.error is None and scored.value < values[3]
    hot = Audio(PAIRS[5][1] * 4.0, RATE)  # overshoots 1.0, as codec output sometimes does
    over = WarpQ().score(reference=Audio(ref, RATE), estimate=hot)
    assert np.max(np.abs(hot.samples)) > 1 and over.extra["warpq_clipped"] > 0 and np.isfinite(over.value)
