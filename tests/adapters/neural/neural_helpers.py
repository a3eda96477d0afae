"""Shared helpers of the neural-adapter tests (imported by name: the tests folder is not a package)."""

from __future__ import annotations

import numpy as np

from bench.audio import Audio


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
