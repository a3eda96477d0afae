"""WER/CER counting with Whisper's English normaliser, and the WER metric's weighting and cache."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.audio import Audio
from bench.errors import MetricInputError
from bench.metrics.base import ItemScore, MetricContext
from bench.metrics.downstream import asr as asr_metrics
from bench.metrics.downstream.text import char_errors, normalize, normalizer_info, word_errors
from bench.suites.items import Item


@pytest.mark.parametrize("reference, hypothesis", [
    ("I have twenty one cats", "I have 21 cats."),          # numbers
    ("Hello, world! How are you?", "hello world how are you"),  # punctuation
    ("THE QUICK BROWN FOX", "the quick brown fox"),        # casing
    ("YOU DON'T MEAN THAT", "you do not mean that"),       # contractions
    ("the colour of it", "the color of it"),               # British spelling
])
def test_normaliser_makes_equivalent_texts_equal(reference, hypothesis):
    assert word_errors(reference, hypothesis).errors == 0


def test_real_errors_still_count():
    e = word_errors("the cat sat", "the cat sat down")
    assert (e.insertions, e.reference_length, e.rate) == (1, 3, pytest.approx(1 / 3))
    e = word_errors("BUT BEHOLD THESE KINE", "but the hoarding is fine")
    assert e.reference_length == 4 and e.errors >= 3
    assert word_errors("a b c", "").deletions == 3  # an empty transcript deletes every word
    c = char_errors("abc", "abd")
    assert (c.substitutions, c.reference_length) == (1, 3)


def test_empty_reference_is_an_error_and_normaliser_is_named():
    with pytest.raises(ValueError, match="empty after normalisation"):
        word_errors("Uh, um.", "x")  # fillers are removed by the normaliser
    assert normalize("Mr. SMITH") == "mister smith"
    info = normalizer_info()
    assert info["normalizer"].endswith("EnglishTextNormalizer") and info["normalizer_version"] == "0.1.15"


class FakeASR:
    """Stands in for Whisper to test the metric's bookkeeping (not the model): fixed transcripts."""

    key = "fake-asr"

    def __init__(self):
        self.calls = 0

    def transcribe(self, audio: Audio) -> str:
        self.calls += 1
        return "hello world" if audio.samples[0] == 0 else "hello there world"

    def info(self):
        return {}


def _audio(first: float) -> Audio:
    x = np.full(16000, 0.1, np.float32)
    x[0] = first
    return Audio(x, 16000)


def test_wer_item_value_weight_and_original_cache(tmp_path: Path, monkeypatch):
    fake = FakeASR()
    monkeypatch.setattr(asr_metrics, "asr_model", lambda device="cpu": fake)
    asr_metrics._HYPOTHESES.clear()
    ctx = MetricContext(suite="t", suite_hash="h", cache_dir=tmp_path / "cache", run_dir=tmp_path / "run")
    item = Item("u/1", tmp_path / "x.wav", text="Hello, world! Again.")
    score = asr_metrics.WER(ctx).score(reference=_audio(0.0), estimate=_audio(0.5), item=item)
    # reference words: hello world again (3). hypothesis 'hello there world': 1 ins + 1 del.
    assert score.weight == 3 and score.value == pytest.approx(200 / 3)
    assert score.extra["orig_errors"] == 1 and score.extra["original_hypothesis"] == "hello world"
    assert fake.calls == 2
    cached = list((tmp_path / "cache" / "asr" / "fake-asr").glob("*.json"))
    assert len(cached) == 1
    # a fresh process (empty memo) scoring another codec reuses the original's transcript from disk
    asr_metrics._HYPOTHESES.clear()
    asr_metrics.CER(ctx).score(reference=_audio(0.0), estimate=_audio(0.7), item=item)
    assert fake.calls == 3
    with pytest.raises(MetricInputError, match="transcript"):
        asr_metrics.WER(ctx).score(reference=_audio(0.0), estimate=_audio(0.5), item=Item("v", tmp_path / "v.wav"))


def test_wer_original_row_is_corpus_rate_over_scored_items():
    rows = pd.DataFrame({"item": ["a", "b", "c"], "value": [50.0, 0.0, math.nan],
                         "x_orig_errors": [1, 0, math.nan], "x_ref_len": [2, 8, math.nan]})
    [row] = asr_metrics.WER(None).finalize(ItemScore.from_rows(rows))
    ci = {k: row.pop(k) for k in ("ci_low", "ci_high")}
    assert row == {"metric": "wer-original", "value": pytest.approx(10.0), "n": 2}
    # bootstrap over the two utterances: {a,a} -> 50 %, {b,b} -> 0 %
    assert ci == {"ci_low": 0.0, "ci_high": 50.0}
    # every item failed: a counted failed set-level row, not a silently missing one
    failed = pd.DataFrame({"item": ["a"], "value": [math.nan], "error": ["boom"]})
    [row] = asr_metrics.WER(None).finalize(ItemScore.from_rows(failed))
    assert row["n"] == 0 and math.isnan(row["value"]) and row["error"] == "no item scored"
