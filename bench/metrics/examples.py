"""Synthetic signals for the runnable examples in the metric modules' docstrings.

A harmonic tone (150 Hz and ten overtones) with a 3 Hz syllable-like envelope and short pauses:
speech-like enough for PESQ's voice-activity detection and STOI's frame selection, yet made from
nothing but numpy, so the examples (run as doctests by the test suite) cannot rot and need no
files. Not a metric module: it registers nothing.

>>> tone().duration, tone().sample_rate
(3.0, 16000)
"""

from __future__ import annotations

import numpy as np

from bench.audio import Audio


def tone(seconds: float = 3.0, rate: int = 16000) -> Audio:
    t = np.arange(int(seconds * rate)) / rate
    envelope = 0.5 * (1 + np.sin(2 * np.pi * 3 * t)) * (t % 1 < 0.8)
    x = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 12)) * envelope * 0.1
    return Audio(x.astype(np.float32), rate, "tone")


def noisy(audio: Audio, snr_db: float, seed: int = 0) -> Audio:
    """``audio`` plus white noise at ``snr_db`` (seeded, so examples print fixed values)."""
    noise = np.random.default_rng(seed).standard_normal(len(audio))
    noise *= np.sqrt(np.mean(audio.samples.astype(np.float64) ** 2) / np.mean(noise**2) / 10 ** (snr_db / 10))
    return audio.with_samples((audio.samples + noise).astype(np.float32))
