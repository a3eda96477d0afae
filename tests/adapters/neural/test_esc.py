"""ESC through its own model code (third_party/esc, MIT): ESC-Base built from its config.

No ESC checkpoint exists here, so the model has random weights (labelled untrained); the tests
check the plumbing (streams -> bitrate, tokens, lengths, spec row), never quality.
"""

from __future__ import annotations

import filecmp
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.adapters import load_cards
from bench.adapters.esc import Esc
from bench.api import listing
from bench.errors import BenchError

from neural_helpers import _offline_and_clean, allow, noise  # noqa: F401 (fixtures)
from helpers.env import create_codec, shell_options, use_env

pytestmark = [pytest.mark.models]

REPO = Path(__file__).resolve().parents[3]
SHARED_ESC = REPO.parent / "shared" / "vendor" / "esc"


def test_vendored_code_is_esc_unchanged():
    if not SHARED_ESC.is_dir():
        pytest.skip(f"{SHARED_ESC} absent: cannot compare third_party/esc with the shared copy")
    ours = REPO / "third_party" / "esc"
    for path in sorted(p for p in SHARED_ESC.rglob("*") if p.is_file()):
        rel = path.relative_to(SHARED_ESC)
        assert filecmp.cmp(path, ours / rel, shallow=False), f"third_party/esc/{rel} differs from {path}"


def test_needs_weights_or_allow_untrained():
    card = load_cards()["esc"]
    assert Esc.availability(card) is None  # the code is vendored
    assert listing("codecs").set_index("codec").loc["esc", "usable"].startswith("no: no weights here")
    with pytest.raises(BenchError, match="BENCH_ESC_CHECKPOINT"):
        create_codec("esc@9")


def test_missing_checkout_and_bad_checkpoint_folder(tmp_path, monkeypatch):
    use_env(monkeypatch, BENCH_ESC_REPO=str(tmp_path / "nope"))
    assert "does not exist" in Esc.availability(load_cards()["esc"], shell_options().checkpoints)
    use_env(monkeypatch, BENCH_ESC_REPO=None)
    use_env(monkeypatch, BENCH_ESC_CHECKPOINT=str(tmp_path))
    with pytest.raises(BenchError, match="config.yaml and model.pth"):
        create_codec("esc@9")


@pytest.fixture(scope="module")
def esc_models():
    from bench.adapters import CodecOptions

    return {kbps: create_codec(f"esc@{kbps}", CodecOptions(allow_untrained=True)) for kbps in ("1.5", "9")}


@pytest.mark.parametrize("kbps,streams", [("1.5", 1), ("9", 6)])
def test_esc_base_round_trip(esc_models, kbps, streams):
    codec = esc_models[kbps]
    assert codec.weights_info["status"] == "untrained"
    x = noise(0.5, 16000)  # 25 token frames of 320 samples, plus one frame of padding
    p = codec.encode(x)
    assert p.data.shape == (3 * streams, 26) and p.data.max() < 1024
    assert p.kbps == pytest.approx(float(kbps) * 26 / 25)
    y = codec.decode(p)
    assert len(y) == len(x) and np.isfinite(y.samples).all() and np.abs(y.samples).max() > 0
    odd = noise(0.3 + 37 / 16000, 16000, seed=1)  # lengths that are not whole frames work too
    assert len(codec.decode(codec.encode(odd))) == len(odd)


def test_spec_row_from_the_built_model(esc_models):
    from bench.adapters.neural import param_count_m

    s = esc_models["9"].spec
    assert (s.sample_rate, s.nominal_kbps, s.codebook_size, s.num_codebooks, s.frame_rate) == (16000, 9, 1024, 18, 50)
    assert esc_models["1.5"].spec.num_codebooks == 3
    # ESC-Base as built from configs/9kbps_esc_base.yaml: 8.737 M parameters, of which 0.326 M are the
    # 3 x 1024 codebook entries of dims 32+32+16+12+8+6 (ESC's README states 8.39 M for ESC-Base)
    assert s.params_m == param_count_m(esc_models["9"].model) == pytest.approx(8.737, abs=1e-3)


def test_standins_do_not_leak(esc_models):
    # torchaudio/timm stand-ins are visible to ESC's modules only, not to other code in the process
    for name in ("torchaudio", "torchaudio.transforms", "timm", "timm.models.layers"):
        mod = sys.modules.get(name)
        assert mod is None or not getattr(mod, "__codecbench_standin__", False)
