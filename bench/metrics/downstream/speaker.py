"""Speaker metrics on reconstructed speech: per-item similarity to the original, and EER on trials.

- ``spk-sim``: cosine of the speaker embeddings of original and reconstruction, per item.
- ``eer``: verification EER (%) with both sides of every trial reconstructed (as codec model cards
  score it), plus set-level ``eer-original`` (both sides original), ``min-dcf`` and
  ``min-dcf-original`` (P_target 0.05, C_miss = C_fa = 1), the number of trials and a 95 %
  bootstrap-over-speakers CI. Its per-item rows carry the item's original-vs-reconstruction cosine
  (as spk-sim) and where the embeddings are, so a failed item is counted, never silently dropped.

Original-side embeddings live in the suite cache (once per suite and model); reconstruction
embeddings are written to RUN/embeddings/, named by a hash of the audio (a metric does not know
the codec label), and the per-item row points at the file.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from bench.audio import Audio
from bench.config import ModelOptions
from bench.errors import BenchError, MetricInputError
from bench.filenames import safe_name
from bench.metrics import register_metric
from bench.metrics.base import DerivedMetric, ItemScore, Margin, Metric, Score
from bench.metrics.downstream import cache
from bench.metrics.downstream import verification as ver
from bench.models import speaker as speaker_models

_MODEL: dict[tuple[str, str], speaker_models.SpeakerBackend] = {}
_EMBEDDINGS: dict[tuple[str, str], np.ndarray] = {}


def speaker_model(options: ModelOptions | None = None) -> speaker_models.SpeakerBackend:
    """The speaker model ``options`` name (the run's config), loaded once per process."""
    o = options or ModelOptions()
    key = (speaker_models.model_ref(o.speaker_model), o.device)
    if key not in _MODEL:
        _MODEL[key] = speaker_models.load_speaker(*key)
    return _MODEL[key]


def _embed(model: speaker_models.SpeakerBackend, audio: Audio) -> np.ndarray:
    return cache.memo_by_audio(_EMBEDDINGS, model.key, audio.samples, lambda: model.embed(audio))


def _embed_many(model: speaker_models.SpeakerBackend, audios: list[Audio]) -> list[np.ndarray]:
    """Embeddings of several signals; those not memoised yet in one ``embed_batch`` call (one
    alone: ``embed``, the unbatched call)."""
    def compute(missing: list[int]) -> list[np.ndarray]:
        if len(missing) == 1:
            return [model.embed(audios[missing[0]])]
        return model.embed_batch([audios[i] for i in missing])

    return cache.memo_many(_EMBEDDINGS, model.key, [a.samples for a in audios], compute)


class _SpeakerMetric(Metric):
    identity_cache = False  # reuses the suite's transcripts/embeddings itself
    batch_scoring = True  # --batch N: the reconstructions of a batch in one GE2E forward pass
    needs_run = True  # originals' embeddings live in the suite cache, keyed by item id
    sample_rate = speaker_models.SAMPLE_RATE
    backend = "resemblyzer"

    @classmethod
    def availability(cls) -> str | None:
        return cls.availability_for(ModelOptions())

    @classmethod
    def availability_for(cls, models: ModelOptions) -> str | None:
        if speaker_models.model_ref(models.speaker_model) == speaker_models.DEFAULT:
            if importlib.util.find_spec("resemblyzer") is None:
                return "missing Python package 'resemblyzer' (install the `downstream` extra)"
            if importlib.util.find_spec("pkg_resources") is None:
                return "resemblyzer's webrtcvad imports pkg_resources: install setuptools<81"
        return None

    @property
    def _models(self) -> ModelOptions:
        return self.context.model_options if self.context is not None else ModelOptions()

    def info(self) -> dict[str, Any]:
        out = {**super().info(), "speaker_model_spec": self._models.speaker_model}
        try:
            out.update(speaker_models.describe(self._models.speaker_model))
        except Exception as exc:
            out["speaker_error"] = str(exc)
        return out

    def _pairs(self, references: Sequence[Audio], estimates: Sequence[Audio],
               items: Sequence[Any]) -> list[tuple[np.ndarray, np.ndarray, dict[str, Any]]]:
        """Per pair: embeddings of original (suite cache) and reconstruction (run dir), and where
        they are. Reconstructions are embedded in one batch; originals one by one, so that the
        suite cache holds the same numbers whichever ``--batch`` computed them first."""
        if self.context is None:
            raise BenchError(f"{self.name} needs a run context (cache and run directories)")
        model = speaker_model(self.context.model_options)
        folder = self.context.cache_dir / "speaker" / model.key
        orig_paths = [folder / f"{safe_name(item.id)}.npy" for item in items]
        originals = []
        for path, reference in zip(orig_paths, references):
            original = cache.read_npy(path)
            if original is None:
                original = _embed(model, reference)
                cache.write_npy(path, original)
            originals.append(original)
        # The 'original' row's estimate is the original itself: reuse the per-suite embedding.
        coded = [i for i, (r, e) in enumerate(zip(references, estimates)) if not np.array_equal(e.samples, r.samples)]
        recons = list(originals)
        for i, emb in zip(coded, _embed_many(model, [estimates[i] for i in coded])):
            recons[i] = emb
        out = []
        for path, original, recon, estimate in zip(orig_paths, originals, recons, estimates):
            extra: dict[str, Any] = {"orig_embedding": str(path)}
            if self.context.run_dir is not None:
                rel = Path("embeddings") / model.key / f"{cache.audio_digest(estimate.samples)}.npy"
                if not (self.context.run_dir / rel).exists():
                    cache.write_npy(self.context.run_dir / rel, recon)
                extra["embedding"] = str(rel)
            out.append((original, recon, extra))
        return out

    def score_batch(self, *, references: Sequence[Audio], estimates: Sequence[Audio],
                    items: Sequence[Any]) -> list[Score]:
        """Cosine of original and reconstruction per pair (all reconstructions in one GE2E pass)."""
        self.check_items(items)
        return [Score(float(np.dot(o, r)), extra=extra) for o, r, extra in self._pairs(references, estimates, items)]

    def score(self, *, reference: Audio, estimate: Audio, item=None) -> Score:
        return self.score_batch(references=[reference], estimates=[estimate], items=[item])[0]

    def check_items(self, items: Sequence[Any]) -> None:
        """What the items must carry (EER: a speaker label); raises for the first that lacks it."""


@register_metric
class SpeakerSimilarity(_SpeakerMetric):
    """Cosine similarity of original and reconstruction speaker embeddings (1 = same voice print)."""

    name = "spk-sim"
    precision = "{:.3f}"
    gate_margin = Margin(abs=0.005)
    unit = "cos"
    higher_is_better = True
    display = "Spk-sim"
    rank = 80


@register_metric
class EER(_SpeakerMetric):
    """Speaker-verification EER (%) on reconstructed-vs-reconstructed trials; see module doc."""

    name = "eer"
    gate_margin = Margin(abs=0.5)  # percentage points over ~510 trials
    unit = "%"
    higher_is_better = False
    requires = frozenset({"speaker"})
    mode = f"cosine; minDCF P_target={ver.P_TARGET} C_miss={ver.C_MISS} C_fa={ver.C_FA}"
    display = "EER"
    rank = 70
    set_level = True  # per-item rows: original-vs-reconstruction cosine; EER comes from finalize
    derived = (DerivedMetric("eer-original", "%", False, "EER original", gate_margin=Margin(abs=0.5)),
               DerivedMetric("min-dcf", "", False, "minDCF", "{:.3f}", Margin(abs=0.02)),
               DerivedMetric("min-dcf-original", "", False, "minDCF original", "{:.3f}", Margin(abs=0.02)))

    def info(self) -> dict[str, Any]:
        return {**super().info(), "trials": self._trial_source(), "p_target": ver.P_TARGET, "c_miss": ver.C_MISS,
                "c_fa": ver.C_FA, "ci": f"95% percentile bootstrap over enroll speakers, {ver.BOOTSTRAP_ROUNDS} rounds"}

    def check_items(self, items: Sequence[Any]) -> None:
        if any(item is None or not item.speaker for item in items):
            raise MetricInputError("eer needs the item's speaker label (item has none)")

    # -- trials -------------------------------------------------------------------------------
    def _source_dir(self) -> Path:
        src = Path(self.context.suite_source) if self.context and self.context.suite_source else Path(".")
        return src if src.is_dir() else src.parent

    def _trial_source(self) -> str:
        trials = (self.context.suite_entry or {}).get("trials") if self.context else None
        return str(self._source_dir() / trials) if trials else "built: all same-speaker pairs + equal seeded sample of different-speaker pairs"

    def trials(self) -> tuple[list[ver.Trial], str]:
        """The suite's trial list (VoxCeleb1-O format) if it names one, else a built balanced list
        saved to RUN/trials.txt. Names in a given list match item ids, an item's ``trial_path``
        (the voxceleb loader's) or audio paths relative to the list's folder."""
        ctx = self.context
        listed = (ctx.suite_entry or {}).get("trials")
        if listed:
            path = self._source_dir() / listed
            names: dict[str, str] = {}
            for it in ctx.items:
                names[it.id] = it.id
                if it.extra.get("trial_path"):  # set by the voxceleb loader: the name the list uses
                    names[str(it.extra["trial_path"])] = it.id
                try:
                    rel = Path(it.path).resolve().relative_to(path.parent.resolve())
                    names[str(rel)] = names[str(rel.with_suffix(""))] = it.id
                except ValueError:
                    pass
            trials = [ver.Trial(t.target, names[t.enroll], names[t.test]) for t in ver.read_trials(path)
                      if t.enroll in names and t.test in names]
            return trials, str(path)
        speakers = {it.id: it.speaker for it in ctx.items if it.speaker}
        trials = ver.build_trials(speakers)
        out = ""
        if ctx.run_dir is not None:
            out = str(ctx.run_dir / "trials.txt")
            ver.write_trials(Path(out), trials)
        return trials, out

    def finalize(self, scores: list[ItemScore]) -> list[dict[str, Any]]:
        if not scores or self.context is None:
            return []
        names = ["eer", "eer-original", "min-dcf", "min-dcf-original"]
        try:
            trials, source = self.trials()
        except BenchError as exc:
            return [{"metric": m, "value": float("nan"), "n": 0, "error": str(exc)} for m in names]
        recon, orig = {}, {}
        for s in scores:
            if not s.ok:
                continue
            emb, orig_emb = s.score.extra.get("embedding"), s.score.extra.get("orig_embedding")
            a = cache.read_npy(self.context.run_dir / emb) if isinstance(emb, str) else None
            b = cache.read_npy(Path(orig_emb)) if isinstance(orig_emb, str) else None
            if a is not None and b is not None:
                recon[s.item], orig[s.item] = a, b
        usable = [t for t in trials if t.enroll in recon and t.test in recon]
        speaker_of = {it.id: it.speaker or it.id for it in self.context.items}
        labels = [t.target for t in usable]
        groups = [speaker_of.get(t.enroll, t.enroll) for t in usable]
        # n = items whose embeddings entered (the table's "items" column); trials counted apart
        used = {t.enroll for t in usable} | {t.test for t in usable}
        common = {"n": len(used), "n_trials": len(usable), "trials": source, "n_trials_listed": len(trials),
                  "n_target": int(sum(labels)), "n_nontarget": len(labels) - int(sum(labels)),
                  "n_speakers": len(set(groups))}
        out = []
        for suffix, emb in (("", recon), ("-original", orig)):
            scores = [float(np.dot(emb[t.enroll], emb[t.test])) for t in usable]
            try:
                value = 100.0 * ver.eer(scores, labels)
                low, high = ver.bootstrap_eer_ci(scores, labels, groups)
                out.append({"metric": f"eer{suffix}", "value": value, "eer_ci_low": 100.0 * low,
                            "eer_ci_high": 100.0 * high, **common})
                out.append({"metric": f"min-dcf{suffix}", "value": ver.min_dcf(scores, labels), **common})
            except ValueError as exc:
                reason = f"EER not computable from {len(usable)} usable trials: {exc}"
                out += [{"metric": f"{m}{suffix}", "value": float("nan"), "error": reason, **common} for m in ("eer", "min-dcf")]
        return out
