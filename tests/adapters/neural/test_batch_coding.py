"""Batched coding (``bench run --batch N``) against coding each item alone, for the neural codecs
that batch; random weights (labelled untrained), as in the other neural tests.

A batch of one is the unbatched call, bit for bit. In a batch of several, each item's tokens are
cut to its own frames and its samples to its own length, and then they differ from coding the
item alone only where the architecture lets the padding in, by the amounts measured here (and in
docs/performance.md): EnCodec (causal, padding mask) nowhere beyond float rounding; NeMo (masked,
but its convolutions reflect-pad an item's end when alone and see masked zeros in a batch) and DAC
(no mask, not causal) in the last frames of each item shorter than the longest. The longest item
sees no padding, so it differs by rounding only (other GEMM shapes).
"""

from __future__ import annotations

import importlib.util
import textwrap

import numpy as np
import pytest

from bench.adapters import create_codec
from bench.adapters.base import CodecOptions
from bench.audio import load_audio, resample
from helpers.data import DEMO_CLIP

from neural_helpers import TINY_DAC, _offline_and_clean  # noqa: F401 (fixture)
from helpers.env import use_env

pytestmark = [pytest.mark.models]

pytest.importorskip("transformers")
NEMO = importlib.util.find_spec("nemo") is not None

#: rounding differences of a different batch shape (measured up to 1.8e-7)
ROUNDING = 1e-6
#: per codec: frames at the shorter item's end whose tokens may differ, seconds at its end whose
#: samples may differ by more than ROUNDING, and by how much at most. Measured on these clips:
#: EnCodec 0 / 0 / 1.8e-7; NeMo 2 frames / 0.067 s / 5.2e-4; DAC (tiny) 1 frame / 0.080 s / 1.6e-5
CASES = [
    pytest.param("encodec@6", 0, 0.0, ROUNDING, id="encodec"),
    pytest.param("ours", 2, 0.08, 1e-3, id="nemo",
                 marks=pytest.mark.skipif(not NEMO, reason="nemo-toolkit is not installed (extra 'nemo')")),
    pytest.param("dac_tiny@2", 2, 0.1, 1e-4, id="dac"),
]
SECONDS = (0.53, 0.8)  # the shorter item ends inside a frame of every codec here


@pytest.fixture
def tiny_dac_card(tmp_path, monkeypatch):
    folder = tmp_path / "cards"
    folder.mkdir()
    text = textwrap.dedent(TINY_DAC).replace("weights: {env: BENCH_DAC_TINY, path: PATH, sha256: SHA}\n", "")
    (folder / "dac_tiny.yaml").write_text(text)
    use_env(monkeypatch, BENCH_CODECS=str(folder))


def _clips(rate: int):
    speech = resample(load_audio(DEMO_CLIP), rate)
    return [speech.with_samples(speech.samples[int(0.3 * k * rate):][: int(s * rate)]) for k, s in enumerate(SECONDS)]


@pytest.mark.parametrize("label, tail_frames, tail_s, tail_max", CASES)
def test_batch_equals_one_by_one_up_to_the_measured_tail(label, tail_frames, tail_s, tail_max, tiny_dac_card):
    codec = create_codec(label, CodecOptions(allow_untrained=True))
    assert codec.batch_coding
    clips = _clips(codec.sample_rate)
    alone = [codec.encode(c) for c in clips]
    alone_decoded = [codec.decode(p) for p in alone]

    one = codec.encode_batch(clips[:1])[0]  # a batch of one is the unbatched call
    np.testing.assert_array_equal(one.data, alone[0].data)
    np.testing.assert_array_equal(codec.decode_batch([one])[0].samples, alone_decoded[0].samples)

    batch = codec.encode_batch(clips)
    decoded = codec.decode_batch(batch)
    longest = int(np.argmax([len(c) for c in clips]))
    for i, (a, b, da, db) in enumerate(zip(alone, batch, alone_decoded, decoded)):
        assert b.data.shape == a.data.shape and b.num_bits == a.num_bits and b.meta == a.meta
        assert len(db) == len(da)
        edge = 0 if i == longest else tail_frames
        np.testing.assert_array_equal(b.data[:, : a.data.shape[1] - edge], a.data[:, : a.data.shape[1] - edge])
        diff = np.abs(db.samples - da.samples)
        body = len(diff) - (0 if i == longest else int(tail_s * codec.sample_rate))
        assert diff[:body].max() <= ROUNDING, (label, i, diff[:body].max())
        assert diff.max() <= tail_max, (label, i, diff.max())
