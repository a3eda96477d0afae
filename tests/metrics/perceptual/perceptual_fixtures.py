"""Fixtures for the perceptual-metric tests (imported by name: a conftest.py here would shadow the
top-level `conftest` module that other tests import from): one real demo clip and its ladder."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[3]
#: a 2.8 s LibriSpeech test-other clip from the demo suite (CC BY 4.0, see data/speech_demo/SOURCES.md)
DEMO_CLIP = REPO / "data/speech_demo/LibriSpeech/test-other/1688/142285/1688-142285-0002.flac"

NOISE_SNRS = (40, 20, 10, 0)
LOWPASS_HZ = (7000, 3500, 2000)


@pytest.fixture(scope="session")
def clip():
    from bench.audio import load_audio

    return load_audio(DEMO_CLIP)


def with_noise(audio, snr_db: float, seed: int = 0):
    """White Gaussian noise at an exact SNR (same noise draw for every level, so only the level moves)."""
    x = audio.samples.astype(np.float64)
    noise = np.random.default_rng(seed).standard_normal(len(x))
    noise *= np.sqrt(np.mean(x**2) / np.mean(noise**2)) / 10 ** (snr_db / 20)
    return audio.with_samples(x + noise)


def lowpassed(audio, cutoff_hz: float):
    """8th-order Butterworth, zero phase (no delay to confuse sample-level metrics)."""
    from scipy.signal import butter, sosfiltfilt

    sos = butter(8, cutoff_hz, fs=audio.sample_rate, output="sos")
    return audio.with_samples(sosfiltfilt(sos, audio.samples.astype(np.float64)))


@pytest.fixture(scope="session")
def ladder(clip):
    """name -> estimate: identity, noise ladder, low-pass ladder (all equal length to the clip)."""
    out = {"identity": clip}
    out.update({f"noise{snr}dB": with_noise(clip, snr) for snr in NOISE_SNRS})
    out.update({f"lowpass{hz}": lowpassed(clip, hz) for hz in LOWPASS_HZ})
    return out
