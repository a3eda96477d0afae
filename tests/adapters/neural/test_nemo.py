"""ours (NeMo AudioCodecModel): .nemo round trip, spec, untrained refusal and labelling end to end."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pandas as pd
import pytest

import torch

from bench.adapters import CodecOptions, load_cards
from bench.adapters.neural import WeightsMissing
from bench.checksums import sha256_file
from bench.errors import BenchError

from neural_helpers import _offline_and_clean, allow, card_dir, noise  # noqa: F401 (fixtures)
from helpers.env import create_codec, use_env


NEMO_MISSING = importlib.util.find_spec("nemo") is None
pytestmark = [pytest.mark.models,
              pytest.mark.skipif(NEMO_MISSING, reason="nemo-toolkit is not installed (extra 'nemo')")]


@pytest.fixture(scope="module")
def nemo_file(tmp_path_factory):
    """A random-init 'ours' model built from our YAML (seed 0) and saved as a .nemo archive."""
    from bench.adapters.nemo import build_random_model

    torch.manual_seed(0)
    model = build_random_model(load_cards()["ours"]).eval()
    path = tmp_path_factory.mktemp("ours") / "ours_random.nemo"
    model.save_to(str(path))
    audio = noise(0.5, 16000, seed=5)
    with torch.inference_mode():
        tokens, _ = model.encode(audio=torch.from_numpy(audio.samples).view(1, -1), audio_len=torch.tensor([8000]))
    return path, audio, tokens[0].numpy()


def test_missing_checkpoint_is_actionable():
    with pytest.raises(WeightsMissing, match=r"\$BENCH_OURS_CHECKPOINT.*--allow-untrained"):
        create_codec("ours")


def test_restore_from_nemo_spec_and_tokens(nemo_file, monkeypatch):
    path, audio, tokens = nemo_file
    use_env(monkeypatch, BENCH_OURS_CHECKPOINT=str(path))
    with pytest.raises(BenchError, match="random-init"):
        create_codec("ours")  # marked untrained: refused without the explicit switch
    codec = create_codec("ours", CodecOptions(allow_untrained=True))
    s = codec.spec
    assert (s.sample_rate, s.frame_rate, s.num_codebooks, s.codebook_size) == (16000, 80, 8, 1024)
    assert s.nominal_kbps == pytest.approx(6.4)
    assert s.params_m == pytest.approx(13.28, abs=0.01)  # generator (encoder + RVQ + decoder)
    assert codec.weights_info["sha256"] == sha256_file(path) and codec.weights_info["status"] == "untrained"
    payload = codec.encode(audio)
    np.testing.assert_array_equal(payload.data, tokens)
    assert payload.num_bits == 8 * 40 * 10 and payload.kbps == pytest.approx(6.4)
    assert len(codec.decode(payload)) == len(audio)


def test_not_a_nemo_file(tmp_path, monkeypatch):
    bogus = tmp_path / "weights.pt"
    bogus.write_bytes(b"x")
    use_env(monkeypatch, BENCH_OURS_CHECKPOINT=str(bogus))
    with pytest.raises(BenchError, match="expected a .nemo file"):
        create_codec("ours")


@pytest.mark.workers
def test_bench_run_refuses_then_labels_untrained(nemo_file, monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from bench.cli import app

    use_env(monkeypatch, BENCH_OURS_CHECKPOINT=str(nemo_file[0]))
    args = ["run", "--codec", "ours", "--suite", "demo", "--limit", "2", "--metric", "si-sdr", "--jobs", "1",
            "--no-progress", "--out", str(tmp_path / "run")]
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code != 0 and "random-init" in str(refused.exception)

    result = CliRunner().invoke(app, [*args, "--allow-untrained"])
    assert result.exit_code == 0, result.output
    assert "ours@6.4 (untrained)" in result.output
    run = tmp_path / "run"
    rows = pd.read_csv(run / "rows.csv")
    assert set(rows["weights"]) == {"untrained"} and rows["value"].notna().all()
    assert rows.loc[rows["metric"] == "kbps", "value"].between(6.3, 6.5).all()
    assert "(untrained)" in (run / "summary.md").read_text()
    assert set(pd.read_csv(run / "summary.csv")["weights"]) == {"untrained"}
    weights = json.loads((run / "manifest.json").read_text())["codecs"]["ours@6.4"]["weights"]
    assert weights["sha256"] == sha256_file(nemo_file[0])
    assert len(list((run / "tokens" / "ours@6.4").glob("*.npz"))) == 2

    stats = CliRunner().invoke(app, ["tokens", str(run)])
    assert stats.exit_code == 0 and "ours@6.4" in stats.output and "untrained" in stats.output
