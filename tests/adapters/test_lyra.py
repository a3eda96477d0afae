"""Lyra v2 through its real pretrained TFLite models (vendored in third_party/lyra_v2).

Short real-speech clips (1-3 s): the reference kernels run at roughly 0.4x real time here.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert", reason="Lyra needs ai-edge-litert (the 'metrics' extra)")

from bench.adapters import create_codec, load_cards, parse_setting  # noqa: E402
from bench.adapters.lyra import Lyra, pack_frames, unpack_frames  # noqa: E402
from bench.audio import Audio, load_audio  # noqa: E402
from bench.errors import BenchError  # noqa: E402

from helpers.data import DEMO, REPO  # noqa: E402
from helpers.env import use_env

pytestmark = [pytest.mark.models]

CLIP_A = DEMO / "LibriSpeech/test-other/1688/142285/1688-142285-0002.flac"
CLIP_B = DEMO / "LibriSpeech/test-other/1688/142285/1688-142285-0004.flac"


def clip(path, seconds: float) -> Audio:
    a = load_audio(path)
    return a.with_samples(a.samples[: int(seconds * a.sample_rate)])


@pytest.fixture(scope="module")
def lyra6():
    return create_codec("lyra@6")


@pytest.fixture(autouse=True)
def _no_override(monkeypatch):
    use_env(monkeypatch, BENCH_LYRA_MODELS=None)
    use_env(monkeypatch, BENCH_CODECS=None)


def test_models_are_the_verified_vendored_files(lyra6):
    w = lyra6.weights_info
    assert w["status"] == "trained" and w["trained"] is True
    card_files = load_cards()["lyra"].weights["files"]
    assert w["files"] == card_files  # every model file's sha256 is recorded and matched the card
    sources = (REPO / "third_party/lyra_v2/SOURCES.md").read_text()
    assert all(digest in sources for digest in card_files.values())
    assert (REPO / "third_party/lyra_v2/LICENSE").read_text().startswith("\n                                 Apache")


def test_checksum_mismatch_names_the_file(tmp_path, monkeypatch):
    folder = tmp_path / "lyra"
    shutil.copytree(REPO / "third_party/lyra_v2", folder)
    (folder / "quantizer.tflite").chmod(0o644)
    with open(folder / "quantizer.tflite", "r+b") as fh:  # flip one byte
        fh.seek(1000)
        b = fh.read(1)
        fh.seek(1000)
        fh.write(bytes([b[0] ^ 0xFF]))
    cards = tmp_path / "cards"
    cards.mkdir()
    text = (REPO / "codecs/lyra.yaml").read_text().replace("name: lyra", "name: lyra_copy")
    (cards / "lyra_copy.yaml").write_text(text.replace("path: third_party/lyra_v2", f"path: {folder}"))
    use_env(monkeypatch, BENCH_CODECS=str(cards))
    with pytest.raises(BenchError, match=r"checksum mismatch for .*quantizer\.tflite"):
        create_codec("lyra_copy@6")
    (folder / "lyragan.tflite").unlink()
    assert "lacks lyragan.tflite" in Lyra.availability(parse_setting("lyra_copy@6").card)


def test_bit_packing_first_quantizer_in_most_significant_bits():
    # 3 quantizers x 4 bits = 12 bits -> 2 bytes, low nibble of the last byte is padding
    idx = np.array([[0xA, 0x1], [0xB, 0x2], [0xC, 0x3]])
    assert pack_frames(idx, 4) == bytes([0xAB, 0xC0, 0x12, 0x30])
    rng = np.random.default_rng(0)
    for nq in (16, 30, 46, 5):
        idx = rng.integers(0, 16, size=(nq, 37))
        data = pack_frames(idx, 4)
        assert len(data) == 37 * -(-nq * 4 // 8)
        np.testing.assert_array_equal(unpack_frames(data, nq, 4), idx)
    with pytest.raises(BenchError, match="whole number of 8-byte packets"):
        unpack_frames(b"\x00" * 9, 16, 4)


@pytest.mark.parametrize("kbps,quantizers,packet", [(3.2, 16, 8), (6, 30, 15), (9.2, 46, 23)])
def test_exact_bitrate_tokens_and_spec(kbps, quantizers, packet):
    codec = create_codec(f"lyra@{kbps:g}")
    x = clip(CLIP_A, 1.0)  # 50 whole frames
    p = codec.encode(x)
    assert isinstance(p.data, bytes) and len(p.data) == 50 * packet
    assert p.kbps == pytest.approx(kbps, abs=1e-12)
    assert p.tokens.shape == (quantizers, 50) and 0 <= p.tokens.min() and p.tokens.max() < 16
    np.testing.assert_array_equal(unpack_frames(p.data, quantizers, 4), p.tokens)
    s = codec.spec
    assert (s.frame_rate, s.num_codebooks, s.codebook_size, s.latent_dim, s.delay_samples) == (50, quantizers, 16, 64, 0)
    assert 1.0 < s.params_m < 2.0  # read off the three models' constant tensors
    y = codec.decode(p)
    assert len(y) == len(x) and y.sample_rate == 16000


def test_tokens_command_reads_lyra_payloads(tmp_path, lyra6):
    from bench.pipeline.tokens import save_tokens, token_stats

    for i, path in enumerate((CLIP_A, CLIP_B)):
        save_tokens(tmp_path, "lyra@6", f"item{i}", lyra6.encode(clip(path, 1.0)))
    summary, per_cb = token_stats(tmp_path)
    row = summary.iloc[0]
    assert (row["codebooks"], row["codebook_size"], row["frame_rate"], row["items"]) == (30, 16, 50, 2)
    assert row["nominal_kbps"] == pytest.approx(6.0) and row["measured_kbps"] == pytest.approx(6.0)
    assert row["entropy_bound_kbps"] < 6.0 and len(per_cb) == 30


def test_partial_last_frame_is_coded_and_trimmed(lyra6):
    x = clip(CLIP_A, 1.0)
    longer = x.with_samples(clip(CLIP_A, 1.0 + 100 / 16000).samples)  # 50 frames + 100 samples
    p = lyra6.encode(longer)
    assert len(p.data) == 51 * 15  # the partial frame is a whole (counted) packet
    assert p.kbps == pytest.approx(51 * 120 / (16100 / 16000) / 1000)
    y = lyra6.decode(p)
    assert len(y) == len(longer)
    # the first 50 frames do not depend on what follows them (streaming, causal)
    np.testing.assert_array_equal(y.samples[:16000], lyra6.decode(lyra6.encode(x)).samples)
    assert np.abs(y.samples[16000:]).max() > 0  # the tail is reconstructed, not zero-filled


def test_measured_delay_matches_the_spec(lyra6):
    from bench.pipeline.align import align

    for path in (CLIP_A, CLIP_B):
        x = clip(path, 2.0)
        _, alignment = align(x, lyra6.decode(lyra6.encode(x)))
        assert alignment.lag == lyra6.spec.delay_samples == 0


def test_fresh_state_per_item_order_and_repeat_independent(lyra6):
    a, b = clip(CLIP_A, 1.0), clip(CLIP_B, 1.0)
    b_first = lyra6.encode(b)
    yb_first = lyra6.decode(b_first)
    lyra6.decode(lyra6.encode(a))  # a runs in between: must not leak into b
    b_again = lyra6.encode(b)
    assert b_again.data == b_first.data
    np.testing.assert_array_equal(lyra6.decode(b_again).samples, yb_first.samples)
    fresh = create_codec("lyra@6")  # a new process-level instance gives the same bits and samples
    assert fresh.encode(b).data == b_first.data
    np.testing.assert_array_equal(fresh.decode(b_first).samples, yb_first.samples)


@pytest.mark.workers
def test_run_parallel_equals_serial(tmp_path):
    import pandas as pd

    from bench.api import run

    serial = run(["lyra@3.2"], "demo", ["si-sdr"], out=tmp_path / "a", limit=2, jobs=1, progress=False)
    parallel = run(["lyra@3.2"], "demo", ["si-sdr"], out=tmp_path / "b", limit=2, jobs=2, progress=False)
    pd.testing.assert_frame_equal(serial.summary, parallel.summary, check_exact=True)
    rows_a = pd.read_csv(tmp_path / "a" / "rows.csv").sort_values(["item", "metric"]).reset_index(drop=True)
    rows_b = pd.read_csv(tmp_path / "b" / "rows.csv").sort_values(["item", "metric"]).reset_index(drop=True)
    pd.testing.assert_series_equal(rows_a["value"], rows_b["value"])
    assert set(rows_a["weights"]) == {"trained"}


def test_quality_rises_with_bitrate_on_real_speech(tmp_path):
    from bench.metrics import MetricContext, metric_class
    from bench.scoring import score_pair

    ctx = MetricContext(suite="t", suite_hash="h", cache_dir=tmp_path)
    pesq = metric_class("pesq-wb")(ctx)
    x = clip(CLIP_B, 3.0)
    scores = []
    for kbps in ("3.2", "6", "9.2"):
        codec = create_codec(f"lyra@{kbps}")
        row = score_pair(x, codec.decode(codec.encode(x)), [pesq])[0]
        assert row["error"] is None
        scores.append(row["value"])
    assert scores[0] < scores[1] < scores[2], scores
    assert scores[0] > 1.5  # trained models: far above the PESQ floor of unrelated audio


def test_unsupported_bitrate_and_listing():
    with pytest.raises(BenchError, match="supported: 3.2, 6, 9.2"):
        parse_setting("lyra@4")
    from bench.api import listing

    row = listing("codecs").set_index("codec").loc["lyra"]
    assert row["usable"] == "yes"
