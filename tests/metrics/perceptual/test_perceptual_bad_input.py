"""Unscorable pairs raise MetricInputError with a reason (the runner turns it into a NaN row that
counts as failed); nothing returns a silent placeholder."""

from __future__ import annotations

import numpy as np
import pytest

for _backend in ("visqol", "pesq", "pystoi", "librosa"):  # the `metrics` extra
    pytest.importorskip(_backend)

from bench.audio import Audio, resample
from bench.errors import MetricInputError
from bench.metrics import metric_class

from perceptual_fixtures import clip, ladder  # noqa: F401  (pytest fixtures)

ALL = ["visqol-audio", "visqol-speech", "visqol-speech-exp", "pesq-wb", "pesq-nb", "stoi", "estoi",
       "mel-distance", "stft-distance", "dnsmos"]


def _pair(name, clip, estimate=None):
    rate = metric_class(name).sample_rate
    ref = resample(clip, rate)
    return ref, (ref if estimate is None else estimate(ref))


def _raises(name, ref, est, match):
    with pytest.raises(MetricInputError, match=match):
        metric_class(name)().score(reference=ref, estimate=est)


@pytest.mark.parametrize("name", ALL)
def test_silent_estimate(name, clip):
    ref, est = _pair(name, clip, lambda r: r.with_samples(np.zeros(len(r))))
    _raises(name, ref, est, "estimate is silent")


@pytest.mark.parametrize("name", ALL)
def test_nan_and_inf_samples(name, clip):
    def poison(r, value):
        x = r.samples.copy()
        x[len(x) // 2] = value
        return r.with_samples(x)

    for value in (np.nan, np.inf):
        ref, est = _pair(name, clip, lambda r: poison(r, value))
        _raises(name, ref, est, "NaN or infinite")


@pytest.mark.parametrize("name", [n for n in ALL if not n.startswith("visqol")])
def test_mismatched_lengths(name, clip):
    ref, est = _pair(name, clip, lambda r: r.with_samples(r.samples[:-100]))
    _raises(name, ref, est, "lengths differ")


def test_visqol_accepts_unequal_lengths_but_not_a_short_estimate(clip):
    """ViSQOL aligns itself (Google's tests score pairs seconds apart), but needs a patch's worth."""
    ref, est = _pair("visqol-audio", clip, lambda r: r.with_samples(r.samples[: r.sample_rate // 2]))
    _raises("visqol-audio", ref, est, "estimate too short")


@pytest.mark.parametrize("name,seconds,match", [
    ("visqol-audio", 0.5, "too short"), ("visqol-speech", 0.5, "too short"),
    ("pesq-wb", 0.2, "too short"), ("pesq-nb", 0.2, "too short"),
    ("mel-distance", 0.05, "too short"), ("stft-distance", 0.05, "too short"),
    ("stoi", 0.3, "fewer than 30 non-silent STOI frames"), ("estoi", 0.3, "fewer than 30"),
    ("dnsmos", 0.5, "too short"),
])
def test_too_short(name, seconds, match, clip):
    ref, _ = _pair(name, clip)
    short = ref.with_samples(ref.samples[int(0.5 * ref.sample_rate): int((0.5 + seconds) * ref.sample_rate)])
    _raises(name, short, short, match)


@pytest.mark.parametrize("name", ["pesq-wb", "pesq-nb"])
def test_pesq_no_utterances(name):
    """Long enough, not silent, but only a 50 ms click in 2 s: PESQ's VAD finds no speech (the C
    code's error, passed on with its reason)."""
    rate = metric_class(name).sample_rate
    x = np.zeros(rate * 2, np.float32)
    x[rate: rate + rate // 20] = np.random.default_rng(0).standard_normal(rate // 20) * 0.1
    _raises(name, Audio(x, rate), Audio(x.copy(), rate), "NoUtterances|no utterances")


@pytest.mark.parametrize("name", ["pesq-wb", "pesq-nb", "dnsmos"])
def test_fixed_rate_metrics_reject_other_rates(name, clip):
    _raises(name, resample(clip, 48000), resample(clip, 48000), "needs audio at")


def test_runner_turns_the_error_into_a_failed_row(clip, tmp_path):
    from bench.metrics import MetricContext
    from bench.metrics.measure import AlignedPair
    from bench.pipeline.unit import _score

    ctx = MetricContext(suite="t", suite_hash="x", cache_dir=tmp_path)
    silent = clip.with_samples(np.zeros(len(clip)))
    [row] = _score("pesq-wb", ctx, [AlignedPair(clip, silent, None)])
    assert np.isnan(row["value"]) and "estimate is silent" in row["error"]
