"""Fixtures and helpers of the neural-adapter tests.

Not a conftest.py: a second module called ``conftest`` on sys.path would shadow the top-level
one. Test modules import what they use (shared helpers live in the tests/helpers package).
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import numpy as np
import pytest

from bench.adapters import CodecOptions
from bench.audio import Audio
from helpers.env import use_env

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a failed hub look-up would otherwise retry for ~25 s


@pytest.fixture(autouse=True)
def _offline_and_clean(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for var in ("BENCH_ALLOW_UNTRAINED", "BENCH_OURS_CHECKPOINT", "BENCH_ENCODEC_CHECKPOINT", "BENCH_DAC_CHECKPOINT",
                "BENCH_ESC_REPO", "BENCH_ESC_CHECKPOINT", "BENCH_CODECS"):
        monkeypatch.delenv(var, raising=False)
    use_env(monkeypatch)


@pytest.fixture
def allow():
    """Codec options that allow random-init weights (pass them to create_codec)."""
    return CodecOptions(allow_untrained=True)


@pytest.fixture
def card_dir(tmp_path, monkeypatch):
    """Write extra cards into a folder that BENCH_CODECS adds to the registry."""
    folder = tmp_path / "cards"
    folder.mkdir()
    use_env(monkeypatch, BENCH_CODECS=str(folder))

    def write(name: str, text: str) -> Path:
        path = folder / f"{name}.yaml"
        path.write_text(textwrap.dedent(text))
        return path

    return write


def noise(seconds: float, rate: int, seed: int = 0) -> Audio:
    rng = np.random.default_rng(seed)
    return Audio((0.1 * rng.standard_normal(int(seconds * rate))).astype(np.float32), rate, "noise")


TINY_DAC = """
name: dac_tiny
adapter: dac
sample_rate: 16000
bitrates: [1, 2]
default_bitrate: 2
options:
  config: {sampling_rate: 16000, encoder_hidden_size: 8, downsampling_ratios: [2, 4, 5, 8],
           decoder_hidden_size: 32, upsampling_ratios: [8, 5, 4, 2], hop_length: 320, n_codebooks: 4,
           codebook_size: 1024, codebook_dim: 8, hidden_size: 128}
weights: {env: BENCH_DAC_TINY, path: PATH, sha256: SHA}
"""
