from __future__ import annotations

import shutil

import numpy as np
import pytest

import torch

from bench.adapters import CodecOptions
from bench.adapters.encodec import original_to_transformers
from bench.adapters.hf import save_untrained
from bench.adapters.neural import WeightsMissing
from bench.checksums import sha256_file
from bench.errors import BenchError

from neural_helpers import _offline_and_clean, allow, card_dir, noise  # noqa: F401 (fixtures)
from helpers.env import create_codec, use_env

pytestmark = [pytest.mark.models]

transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def random_encodec():
    torch.manual_seed(1)
    return transformers.EncodecModel(transformers.EncodecConfig()).eval()


def _codes(model, audio, bandwidth=6.0):
    x = torch.from_numpy(audio.samples).view(1, 1, -1)
    with torch.inference_mode():
        return model.encode(x, bandwidth=bandwidth).audio_codes[0, 0].numpy()


def test_spec_is_read_off_the_24khz_model(allow):
    codec = create_codec("encodec@6", allow)
    s = codec.spec
    assert (s.sample_rate, s.frame_rate, s.num_codebooks, s.codebook_size, s.latent_dim) == (24000, 75, 8, 1024, 128)
    assert s.params_m == pytest.approx(14.85, abs=0.01)
    assert s.nominal_kbps == pytest.approx(6.0)
    assert create_codec("encodec@1.5", allow).spec.num_codebooks == 2
    assert codec.weights_info["status"] == "untrained" and codec.weights_info["trained"] is False


def test_missing_weights_names_every_way_to_fix():
    with pytest.raises(WeightsMissing) as err:
        create_codec("encodec@6")
    msg = str(err.value)
    assert "$BENCH_ENCODEC_CHECKPOINT" in msg and "facebook/encodec_24khz" in msg and "--allow-untrained" in msg


def test_payload_bits_are_measured_from_tokens(allow):
    codec = create_codec("encodec@3", allow)
    audio = noise(0.5, 24000)
    payload = codec.encode(audio)
    n_q, frames = payload.data.shape
    assert n_q == 4 and payload.num_bits == n_q * frames * 10
    assert len(codec.decode(payload)) == len(audio)


def test_save_pretrained_folder_marked_untrained_is_refused_then_labelled(tmp_path, monkeypatch, random_encodec):
    folder = save_untrained(random_encodec, tmp_path / "enc")
    use_env(monkeypatch, BENCH_ENCODEC_CHECKPOINT=str(folder))
    with pytest.raises(BenchError, match="random-init"):
        create_codec("encodec@6")
    codec = create_codec("encodec@6", CodecOptions(allow_untrained=True))
    info = codec.weights_info
    assert info["status"] == "untrained"
    assert info["sha256"] == sha256_file(folder / "model.safetensors")
    audio = noise(0.4, 24000)
    np.testing.assert_array_equal(codec.encode(audio).data, _codes(random_encodec, audio))


def test_trained_folder_and_sha256_in_manifest_fields(tmp_path, monkeypatch, random_encodec):
    random_encodec.save_pretrained(str(tmp_path / "real"))  # no marker: stands for a user's checkpoint
    use_env(monkeypatch, BENCH_ENCODEC_CHECKPOINT=str(tmp_path / "real"))
    codec = create_codec("encodec@6")
    assert codec.weights_info["trained"] is True
    assert codec.weights_info["source"].startswith("$BENCH_ENCODEC_CHECKPOINT")


def test_th_state_dict_with_hash_prefix_in_name(tmp_path, monkeypatch, random_encodec):
    tmp = tmp_path / "x.th"
    torch.save(random_encodec.state_dict(), tmp)
    prefix = sha256_file(tmp)[:8]
    good = tmp_path / f"encodec_24khz-{prefix}.th"
    shutil.copy(tmp, good)
    use_env(monkeypatch, BENCH_ENCODEC_CHECKPOINT=str(good))
    codec = create_codec("encodec@6")
    assert codec.weights_info["sha256"].startswith(prefix)
    audio = noise(0.3, 24000, seed=3)
    np.testing.assert_array_equal(codec.encode(audio).data, _codes(random_encodec, audio))

    bad = tmp_path / "encodec_24khz-d7cc33bc.th"  # the official name, but not the official bytes
    shutil.copy(tmp, bad)
    use_env(monkeypatch, BENCH_ENCODEC_CHECKPOINT=str(bad))
    with pytest.raises(BenchError, match="checksum mismatch"):
        create_codec("encodec@6")


def test_card_sha256_is_checked(tmp_path, card_dir, random_encodec):
    random_encodec.save_pretrained(str(tmp_path / "w"))
    card_dir("enc_sum", f"""
        name: enc_sum
        adapter: encodec
        sample_rate: 24000
        bitrates: [6]
        weights: {{path: {tmp_path / 'w'}, sha256: 0123abcd}}
    """)
    with pytest.raises(BenchError, match="checksum mismatch.*weights.sha256"):
        create_codec("enc_sum@6")


def test_state_dict_of_another_architecture_is_a_clear_error(tmp_path, monkeypatch):
    other = transformers.EncodecModel(transformers.EncodecConfig(num_filters=16))
    path = tmp_path / "other.pth"
    torch.save(other.state_dict(), path)
    use_env(monkeypatch, BENCH_ENCODEC_CHECKPOINT=str(path))
    with pytest.raises(BenchError, match="other.pth.*does not fit"):
        create_codec("encodec@6")


def test_original_encodec_key_names_map_onto_transformers(random_encodec):
    # Names as they appear in the encodec package's state dict (SConv1d/NormConv1d, SLSTM, RVQ).
    keys = ["encoder.model.0.conv.conv.weight_g", "encoder.model.0.conv.conv.weight_v",
            "encoder.model.1.block.1.conv.conv.bias", "encoder.model.1.shortcut.conv.conv.weight_g",
            "encoder.model.13.lstm.weight_ih_l0", "decoder.model.3.convtr.convtr.weight_v",
            "quantizer.vq.layers.7._codebook.embed", "quantizer.vq.layers.0._codebook.inited"]
    ours = set(random_encodec.state_dict())
    assert all(original_to_transformers(k) in ours for k in keys), [original_to_transformers(k) for k in keys]
