from __future__ import annotations

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from bench.adapters.base import Payload
from bench.errors import BenchError
from bench.pipeline.tokens import save_tokens, token_stats


def _payload(tokens: np.ndarray, fps: float = 50.0) -> Payload:
    return Payload(tokens, num_bits=tokens.size * 4, duration=tokens.shape[1] / fps,
                   meta={"codebook_size": 16, "frame_rate": fps})


def test_entropy_bound_from_known_distributions(tmp_path):
    # codebook 0 cycles through 4 entries (2 bits), codebook 1 is constant (0 bits), K = 16 (4 bits)
    a = np.stack([np.arange(8) % 4, np.zeros(8, int)])
    b = np.stack([np.arange(8) % 4, np.zeros(8, int)])
    save_tokens(tmp_path, "toy@0.4", "item/one", _payload(a))
    save_tokens(tmp_path, "toy@0.4", "item/two", _payload(b))
    (tmp_path / "manifest.json").write_text(json.dumps({"codecs": {"toy@0.4": {"weights": {"status": "trained"}}}}))
    summary, per_cb = token_stats(tmp_path)
    row = summary.iloc[0]
    assert row["items"] == 2 and row["tokens"] == 32 and row["weights"] == "trained"
    assert row["nominal_kbps"] == pytest.approx(2 * 4 * 50 / 1000)
    assert row["entropy_bound_kbps"] == pytest.approx((2 + 0) * 50 / 1000)
    assert row["saving_%"] == pytest.approx(75.0)
    assert list(per_cb["used"]) == [4, 1]
    assert list(per_cb["utilisation_%"]) == pytest.approx([25.0, 6.25])
    assert list(per_cb["entropy_bits"]) == pytest.approx([2.0, 0.0])


def test_classical_payloads_are_not_token_files(tmp_path):
    assert save_tokens(tmp_path, "opus@6", "x", Payload(b"bytes", 40, 1.0)) is None
    with pytest.raises(BenchError, match="no tokens/ folder"):
        token_stats(tmp_path)


def test_an_extension_keeps_the_token_file_the_run_wrote(tmp_path):
    first = save_tokens(tmp_path, "toy", "a", _payload(np.array([[1, 2, 3, 4]])))
    again = save_tokens(tmp_path, "toy", "a", _payload(np.array([[0, 0, 0, 0]])), keep_existing=True)
    assert again == first
    with np.load(first) as z:
        assert z["tokens"].tolist() == [[1, 2, 3, 4]]
    fresh = save_tokens(tmp_path, "toy", "b", _payload(np.array([[5, 6]])), keep_existing=True)
    with np.load(fresh) as z:  # no file yet: written
        assert z["tokens"].tolist() == [[5, 6]]


def test_out_of_range_tokens_name_the_file(tmp_path):
    save_tokens(tmp_path, "toy", "bad", _payload(np.array([[3, 99]])))
    with pytest.raises(BenchError, match=r"bad\.npz: token indices outside"):
        token_stats(tmp_path)


def test_cli_prints_table(tmp_path):
    from bench.cli import app

    save_tokens(tmp_path, "toy", "a", _payload(np.array([[1, 2, 3, 4]])))
    out = CliRunner().invoke(app, ["tokens", str(tmp_path), "--per-codebook"])
    assert out.exit_code == 0 and "entropy_bound_kbps" in out.output and "utilisation" in out.output
    assert not math.isnan(token_stats(tmp_path)[0]["entropy_bound_kbps"].iloc[0])
