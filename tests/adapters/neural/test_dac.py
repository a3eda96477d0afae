from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.adapters import create_codec
from bench.adapters.hf import save_untrained
from bench.checksums import sha256_file
from bench.errors import BenchError

from neural_helpers import TINY_DAC, _offline_and_clean, allow, card_dir, noise  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.models]

transformers = pytest.importorskip("transformers")


def test_16khz_spec_from_explicit_config(allow):
    s = create_codec("dac@6", allow).spec
    assert (s.sample_rate, s.frame_rate, s.num_codebooks, s.codebook_size) == (16000, 50, 12, 1024)
    assert s.nominal_kbps == pytest.approx(6.0)
    assert s.params_m == pytest.approx(74.1, abs=0.1)
    assert create_codec("dac@2", allow).spec.num_codebooks == 4


def _tiny(tmp_path, card_dir, path, sha="null"):
    card_dir("dac_tiny", TINY_DAC.replace("PATH", str(path)).replace("SHA", sha))


def test_folder_and_state_dict_round_trip(tmp_path, card_dir, allow):
    torch.manual_seed(0)
    cfg = transformers.DacConfig(sampling_rate=16000, encoder_hidden_size=8, downsampling_ratios=[2, 4, 5, 8],
                                 decoder_hidden_size=32, upsampling_ratios=[8, 5, 4, 2], hop_length=320,
                                 n_codebooks=4, codebook_size=1024, codebook_dim=8, hidden_size=128)
    model = transformers.DacModel(cfg).eval()
    audio = noise(1.0, 16000)
    with torch.inference_mode():
        want = model.encode(torch.from_numpy(audio.samples).view(1, 1, -1)).audio_codes[0].numpy()  # all 4 codebooks

    folder = save_untrained(model, tmp_path / "dac")
    _tiny(tmp_path, card_dir, folder)
    codec = create_codec("dac_tiny@1", allow)
    assert codec.weights_info["status"] == "untrained"
    assert codec.spec.num_codebooks == 2 and codec.spec.frame_rate == 50
    payload = codec.encode(audio)  # 1 kbps = 2 codebooks of 0.5 kbps: a prefix of the residual code
    np.testing.assert_array_equal(payload.data, want[:2])
    assert payload.num_bits == 2 * 50 * 10
    assert abs(len(codec.decode(payload)) - len(audio)) < 320  # the DAC decoder drops a few edge samples

    from safetensors.torch import save_file

    st = tmp_path / "dac.safetensors"
    save_file(model.state_dict(), str(st))
    _tiny(tmp_path, card_dir, st, sha256_file(st))
    codec = create_codec("dac_tiny@2", allow)
    assert codec.weights_info == {**codec.weights_info, "trained": True, "sha256": sha256_file(st)}
    np.testing.assert_array_equal(codec.encode(audio).data, want)

    _tiny(tmp_path, card_dir, st, "feedface")
    with pytest.raises(BenchError, match="checksum mismatch"):
        create_codec("dac_tiny@2", allow)


def test_bitrate_must_be_whole_codebooks(allow, card_dir, tmp_path):
    _tiny(tmp_path, card_dir, tmp_path / "absent")
    with pytest.raises(BenchError, match="does not support"):
        create_codec("dac_tiny@1.3", allow)
