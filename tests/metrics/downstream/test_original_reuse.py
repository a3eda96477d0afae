"""The 'original' row must not re-run ASR or the speaker model on audio the suite cache already holds."""

import numpy as np

from bench.metrics import MetricContext, metric_class
from bench.metrics.downstream import asr, speaker
from bench.suites.items import Item


class CountingModel:
    key = "counting"

    def __init__(self):
        self.calls = 0

    def transcribe(self, audio):
        self.calls += 1
        return "hello world" if self.calls == 1 else "hello"

    def embed(self, audio):  # backends return L2-normalised embeddings (bench/models/speaker.py)
        self.calls += 1
        v = np.random.default_rng(self.calls).standard_normal(8)
        return v / np.linalg.norm(v)


def _run_twice(metric_name, monkeypatch, tmp_path, speech, attr):
    model = CountingModel()
    monkeypatch.setattr(asr if attr == "asr_model" else speaker, attr, lambda device="cpu": model)
    ctx = MetricContext(suite="t", suite_hash="h", cache_dir=tmp_path / "cache", run_dir=tmp_path / "run")
    item = Item(id="u1", path=tmp_path / "u1.wav", speaker="s", text="hello world")
    m = metric_class(metric_name)(ctx)
    first = m.score(reference=speech, estimate=speech, item=item)
    # a second worker process would start with an empty in-memory memo but the same disk cache
    asr._HYPOTHESES.clear()
    speaker._EMBEDDINGS.clear()
    second = m.score(reference=speech, estimate=speech, item=item)
    return model, first, second


def test_wer_of_the_original_reuses_the_cached_transcript(monkeypatch, tmp_path, speech):
    model, first, second = _run_twice("wer", monkeypatch, tmp_path, speech, "asr_model")
    assert model.calls == 1  # only the original was transcribed, once
    assert first.value == second.value == 0.0


def test_spk_sim_of_the_original_reuses_the_cached_embedding(monkeypatch, tmp_path, speech):
    model, first, second = _run_twice("spk-sim", monkeypatch, tmp_path, speech, "speaker_model")
    assert model.calls == 1
    assert first.value == second.value
    assert abs(first.value - 1.0) < 1e-9
