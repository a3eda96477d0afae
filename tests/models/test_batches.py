"""Batch methods of the downstream models against their one-by-one calls (``bench run --batch N``).

GE2E: the partial windows of several utterances in one LSTM pass give each utterance's embedding
within float32 rounding of embedding it alone (measured: at most 2.0e-7 per element on 24 demo
clips; 12 of 24 bit-identical), because another batch shape rounds differently. Whisper: the
files of a batch in one CTranslate2 call give the same transcripts as ``transcribe`` (measured:
96 of 96 demo clips, batches of 4, 8 and 16). A batch of one is the unbatched call, bit for bit.
"""

import os
from pathlib import Path

# librosa (resemblyzer) JIT-compiles with numba: keep its cache warm across runs, as the Makefile does
os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parents[2] / "reports" / "cache" / "numba"))

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bench.audio import load_audio  # noqa: E402
from bench.suites import load_suite  # noqa: E402

pytestmark = [pytest.mark.models]

#: the three shortest demo clips of three speakers, 1.3-1.6 s (the CMU ARCTIC a0005 sentence)
CLIPS = ("arctic_bdl_a0005", "arctic_slt_a0005", "arctic_axb_a0005")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """As the runner's workers run: torch's and CTranslate2's thread pools otherwise contend."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def clips():
    items = {it.id: it for it in load_suite("demo").items}
    return [load_audio(items[i].path) for i in CLIPS]


def test_ge2e_batch_within_rounding_of_one_by_one(clips):
    from bench.metrics.downstream.speaker import speaker_model

    model = speaker_model()
    alone = [model.embed(c) for c in clips]
    np.testing.assert_array_equal(model.embed_batch(clips[:1])[0], alone[0])
    batch = model.embed_batch(clips)
    assert len(batch) == len(clips)
    for a, b in zip(alone, batch):
        assert np.max(np.abs(a - b)) <= 1e-6
        assert abs(float(np.dot(a, b)) - 1.0) <= 1e-6  # same voice print: cosine 1 up to rounding


def test_whisper_batch_gives_the_same_transcripts(clips):
    from bench.metrics.downstream.asr import asr_model

    model, clips = asr_model(), clips[:2]
    alone = [model.transcribe(c) for c in clips]
    assert model.transcribe_batch(clips) == alone
    assert all(alone)  # real speech, real words: the comparison is not of empty strings
