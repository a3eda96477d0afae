"""ESC needs a user-supplied checkout and checkpoint: here only its unavailability is testable."""

from __future__ import annotations

import pytest

from bench.adapters import load_cards
from bench.adapters.esc import Esc
from bench.api import listing

from neural_helpers import _offline_and_clean  # noqa: F401 (fixture)


def test_unavailable_without_checkout_with_reason():
    reason = Esc.availability(load_cards()["esc"])
    assert reason and "$BENCH_ESC_REPO" in reason
    row = listing("codecs").set_index("codec").loc["esc"]
    assert row["usable"].startswith("no: no ESC checkout")


def test_checkpoint_folder_must_hold_config_and_weights(tmp_path, monkeypatch):
    (tmp_path / "repo").mkdir()
    (tmp_path / "ckpt").mkdir()
    monkeypatch.setenv("BENCH_ESC_REPO", str(tmp_path / "repo"))
    monkeypatch.setenv("BENCH_ESC_CHECKPOINT", str(tmp_path / "ckpt"))
    reason = Esc.availability(load_cards()["esc"])
    assert reason and "config.yaml and model.pth" in reason


def test_real_esc_round_trip():
    reason = Esc.availability(load_cards()["esc"])
    if reason:
        pytest.skip(f"ESC unavailable: {reason}")
    from bench.adapters import create_codec
    from neural_helpers import noise

    codec = create_codec("esc@1.5")
    payload = codec.encode(noise(1.0, 16000))
    assert payload.kbps == pytest.approx(1.5, rel=0.1)
