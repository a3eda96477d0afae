"""Text normalisation and error counts for WER/CER.

Whisper's English normaliser (the ``whisper-normalizer`` package: OpenAI's code and spelling map,
installable without openai-whisper and its tokenizer stack) is applied to reference and hypothesis
alike; numbers, punctuation, casing, contractions and British spellings then stop counting as
errors. jiwer aligns and counts.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from functools import lru_cache

NORMALIZER = "whisper_normalizer.english.EnglishTextNormalizer"


@lru_cache(maxsize=1)
def _normalizer():
    from whisper_normalizer.english import EnglishTextNormalizer

    return EnglishTextNormalizer()


def normalize(text: str) -> str:
    return " ".join(_normalizer()(text or "").split())


def normalizer_info() -> dict[str, str]:
    try:
        version = importlib.metadata.version("whisper-normalizer")
    except importlib.metadata.PackageNotFoundError:
        version = "missing"
    return {"normalizer": NORMALIZER, "normalizer_package": "whisper-normalizer", "normalizer_version": version}


@dataclass(frozen=True)
class Errors:
    """Edit counts of one hypothesis against one reference (words or characters)."""

    substitutions: int
    deletions: int
    insertions: int
    reference_length: int

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float:
        return self.errors / self.reference_length


def word_errors(reference: str, hypothesis: str) -> Errors:
    """Word edit counts after normalisation. Raises ValueError if the normalised reference is empty."""
    import jiwer

    ref, hyp = normalize(reference), normalize(hypothesis)
    if not ref:
        raise ValueError(f"reference text {reference!r} is empty after normalisation")
    if not hyp:  # jiwer rejects empty hypotheses; every reference word is then a deletion
        return Errors(0, len(ref.split()), 0, len(ref.split()))
    out = jiwer.process_words(ref, hyp)
    return Errors(out.substitutions, out.deletions, out.insertions, out.hits + out.substitutions + out.deletions)


def char_errors(reference: str, hypothesis: str) -> Errors:
    """Character edit counts (spaces included, as jiwer counts them) after normalisation."""
    import jiwer

    ref, hyp = normalize(reference), normalize(hypothesis)
    if not ref:
        raise ValueError(f"reference text {reference!r} is empty after normalisation")
    if not hyp:
        return Errors(0, len(ref), 0, len(ref))
    out = jiwer.process_characters(ref, hyp)
    return Errors(out.substitutions, out.deletions, out.insertions, out.hits + out.substitutions + out.deletions)
