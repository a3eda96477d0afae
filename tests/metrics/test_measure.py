"""One measuring path: the rules `bench run` and `bench score` share (issue 13)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.audio import Audio
from bench.metrics import Metric, Score
from bench.metrics.measure import fit_rate, measure


class _Probe(Metric):
    """Records what it was handed; returns what the test asks for."""

    name = "probe"
    sample_rate = 8000

    def __init__(self, result=1.0, **rules):
        super().__init__()
        self.result, self.seen = result, None
        for k, v in rules.items():
            setattr(self, k, v)

    def score(self, *, reference, estimate, item=None):
        self.seen = (reference, estimate)
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


def _tone(n, rate=16000):
    return Audio(np.sin(np.arange(n) * 0.05).astype(np.float32), rate)


def test_resampled_to_the_declared_rate_and_trimmed_to_the_shorter_side():
    m = _Probe()
    out = measure(m, reference=_tone(16000), estimate=_tone(15000))
    ref, est = m.seen
    assert ref.sample_rate == est.sample_rate == 8000 and len(ref) == len(est) == 7500
    assert out.sample_rate == 8000 and "trimmed to 15000" in out.notes[0]
    assert out.row_fields() == {"value": 1.0, "weight": 1.0, "error": None}


def test_metric_that_aligns_itself_gets_the_whole_files():
    m = _Probe(handles_unequal_lengths=True)
    measure(m, reference=_tone(16000), estimate=_tone(15000))
    assert (len(m.seen[0]), len(m.seen[1])) == (8000, 7500)


def test_native_rate_unless_the_metric_is_fixed_rate():
    assert fit_rate(_Probe(), 16000, native_rate=True) == (16000, "native rate")
    rate, note = fit_rate(_Probe(fixed_rate=True), 16000, native_rate=True)
    assert rate == 8000 and "defined only at 8000 Hz" in note


@pytest.mark.parametrize("result, reason", [(math.inf, "metric returned inf"), (math.nan, "metric returned nan"),
                                            (ValueError("boom"), "ValueError: boom at test_measure.py")])
def test_failures_become_failed_scores_with_a_reason(result, reason):
    out = measure(_Probe(result), reference=_tone(800), estimate=_tone(800)).row_fields()
    assert math.isnan(out["value"]) and reason in out["error"]


def test_extras_become_x_columns():
    out = measure(_Probe(Score(2.0, 3.0, extra={"n_words": 4})), reference=_tone(800), estimate=_tone(800))
    assert out.row_fields() == {"value": 2.0, "weight": 3.0, "error": None, "x_n_words": 4}
