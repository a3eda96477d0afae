"""Properties every reference-based quality metric must have, on a real speech clip.

Identity is the best score; more noise (40, 20, 10, 0 dB SNR) and a lower low-pass cut-off (7, 3.5,
2 kHz) never give a better score. Steps may tie where a degradation is invisible at the metric's
rate (a 7 kHz low-pass does nothing to PESQ-nb at 8 kHz), so each step is "no better" and the ladder
as a whole must be strictly worse at its end.
"""

from __future__ import annotations

import pytest

for _backend in ("visqol", "pesq", "pystoi", "librosa"):  # the `metrics` extra
    pytest.importorskip(_backend)

from bench.audio import resample
from bench.metrics import all_metrics, metric_class

from perceptual_fixtures import clip, ladder  # noqa: F401  (pytest fixtures)


INTRUSIVE = ["visqol-audio", "visqol-speech", "visqol-speech-exp", "pesq-wb", "pesq-nb", "stoi", "estoi",
             "mel-distance", "stft-distance"]
_CACHE: dict[tuple[str, str], float] = {}


def _value(name: str, clip, estimate) -> float:
    key = (name, id(estimate))
    if key not in _CACHE:
        metric = _instance(name)
        rate = metric.sample_rate or clip.sample_rate
        _CACHE[key] = metric.score(reference=resample(clip, rate), estimate=resample(estimate, rate)).value
    return _CACHE[key]


_INSTANCES: dict[str, object] = {}


def _instance(name):
    if name not in _INSTANCES:
        _INSTANCES[name] = metric_class(name)()
    return _INSTANCES[name]


def _goodness(name: str, value: float) -> float:
    return value if metric_class(name).higher_is_better else -value


def _assert_ladder(name, clip, ladder, steps):
    values = [_goodness(name, _value(name, clip, ladder[s])) for s in steps]
    for (a, va), (b, vb) in zip(zip(steps, values), zip(steps[1:], values[1:])):
        assert vb <= va + 1e-9, f"{name}: {b} ({vb:.4f}) scored better than {a} ({va:.4f})"
    assert values[-1] < values[0], f"{name}: {steps[-1]} not worse than {steps[0]}"


@pytest.mark.parametrize("name", INTRUSIVE)
def test_noise_ladder_is_monotone(name, clip, ladder):
    _assert_ladder(name, clip, ladder, ["identity", *(k for k in ladder if k.startswith("noise"))])


LOWPASS_XFAIL = {
    # Google's lattice mapper (speech mode) takes per-band degraded energy as input, and rates this
    # clip with its top band (7-8 kHz) removed 0.05 higher than the identity. A property of the
    # model, reproduced here; strict so we notice if the backend changes.
    "visqol-speech": "lattice speech mapping rates the 7 kHz low-pass above identity (4.155 vs 4.108)",
}


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=LOWPASS_XFAIL[n])) if n in LOWPASS_XFAIL else n
    for n in INTRUSIVE])
def test_lowpass_ladder_is_monotone(name, clip, ladder):
    _assert_ladder(name, clip, ladder, ["identity", *(k for k in ladder if k.startswith("lowpass"))])


def test_visqol_speech_lowpass_ladder_without_identity(clip, ladder):
    """The lattice quirk above is only identity vs 7 kHz: the low-pass steps themselves are monotone."""
    _assert_ladder("visqol-speech", clip, ladder, [k for k in ladder if k.startswith("lowpass")])


@pytest.mark.parametrize("name", INTRUSIVE)
def test_identity_is_the_best_score(name, clip, ladder):
    metric = metric_class(name)
    best = _value(name, clip, ladder["identity"])
    expected = {"mel-distance": 0.0, "stft-distance": 0.0, "stoi": 1.0, "estoi": 1.0}
    if name in expected:
        assert best == pytest.approx(expected[name], abs=1e-6)
    for step, est in ladder.items():
        if step != "identity" and not (name in LOWPASS_XFAIL and step == "lowpass7000"):
            assert _goodness(name, _value(name, clip, est)) <= _goodness(name, best) + 1e-9, (name, step)
    assert metric.higher_is_better == (name not in {"mel-distance", "stft-distance"})


def test_dnsmos_noise_ladder(clip, ladder):
    """DNSMOS ignores the reference, so only noise is a fair ladder (a low-passed clip can sound clean)."""
    if metric_class("dnsmos").availability():
        pytest.skip(metric_class("dnsmos").availability())
    values = [_value("dnsmos", clip, ladder[s]) for s in ("identity", "noise20dB", "noise0dB")]
    assert values[0] > values[1] > values[2]


def test_every_perceptual_metric_declares_its_mode():
    # keyword-only calls, unit/direction/rank and backend versions: tests/metrics/test_registry_contract.py
    for name in [*INTRUSIVE, "dnsmos"]:
        info = metric_class(name)().info()
        assert info["sample_rate"] and info["mode"]
    assert set(INTRUSIVE) | {"dnsmos"} <= set(all_metrics())
    assert not metric_class("dnsmos").default and not metric_class("visqol-speech-exp").default
