"""The in-house codec: a NeMo ``AudioCodecModel`` restored from a ``.nemo`` file or a hub id.

NeMo is the optional ``nemo`` extra. ``restore_from`` unpacks the .nemo archive (config + state
dict) and loads it on CPU; the archive's sha256 is recorded. Without weights, and only when
untrained models are explicitly allowed, the card's ``options.model_config`` (our own YAML with
the architecture) builds a random-init model.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from bench.adapters import register_adapter
from bench.adapters.base import CodecCard, CodecSpec
from bench.adapters.neural import (UNTRAINED_MARKER, NeuralCodec, WeightsMissing, WeightsRef, missing_weights_message,
                                   param_count_m)
from bench.errors import BenchError, ConfigError
from bench.resources import repo_relative



def model_config_path(card: CodecCard) -> Path:
    rel = card.options.get("model_config")
    if not rel:
        raise ConfigError(f"{card.source}: options.model_config (the architecture YAML) is required to build "
                          "a random-init model")
    path = repo_relative(rel)
    if not path.exists():
        raise ConfigError(f"{card.source}: options.model_config {path} does not exist")
    return path


def build_random_model(card: CodecCard, *, mark_untrained: bool = True):
    """The card's architecture with random weights; marked so a saved copy is known untrained."""
    from nemo.collections.tts.models import AudioCodecModel
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(model_config_path(card))
    if mark_untrained:
        cfg[UNTRAINED_MARKER] = True
    return AudioCodecModel(cfg=cfg)


@register_adapter("nemo")
class NemoCodec(NeuralCodec):
    """Batches use the model's own lengths (``audio_len``/``tokens_len``): NeMo masks every conv
    output and packs the LSTM's sequences, so padding does not leak into an item's frames."""

    requires = ("nemo", "omegaconf")
    batch_coding = True

    def build_random(self):
        return build_random_model(self.card)

    def load(self, ref: WeightsRef):
        from nemo.collections.tts.models import AudioCodecModel

        if ref.kind == "hub":
            try:
                model = AudioCodecModel.from_pretrained(ref.location, map_location="cpu")
            except Exception as exc:  # offline / unknown name
                raise WeightsMissing(missing_weights_message(self.card, f"{ref.location}: {type(exc).__name__}: {exc}")) from exc
            return model, None  # NeMo keeps the downloaded archive's path internal: no sha256 to record
        path = Path(ref.location)
        if path.suffix != ".nemo" or not path.is_file():
            raise BenchError(f"{path}: expected a .nemo file (NeMo's save_to archive) for codec {self.card.name!r}")
        try:
            model = AudioCodecModel.restore_from(str(path), map_location="cpu")
        except Exception as exc:
            raise BenchError(f"{path}: cannot restore a NeMo AudioCodecModel ({type(exc).__name__}: {exc})") from exc
        return model, path

    def is_marked_untrained(self) -> bool:
        return bool(self.model.cfg.get(UNTRAINED_MARKER, False))

    def model_spec(self) -> CodecSpec:
        m = self.model
        fps = m.sample_rate / m.samples_per_frame
        return CodecSpec(sample_rate=int(m.sample_rate), frame_rate=float(fps), num_codebooks=int(m.num_codebooks),
                         codebook_size=int(m.codebook_size), latent_dim=int(m.vector_quantizer.codebook_dim),
                         # generator only: the GAN discriminator is training-time weight
                         params_m=param_count_m(m.audio_encoder, m.vector_quantizer, m.audio_decoder),
                         nominal_kbps=m.num_codebooks * fps * math.log2(m.codebook_size) / 1000.0)

    def encode_tokens(self, x) -> tuple[np.ndarray, dict[str, Any]]:
        audio = x.view(1, -1)
        tokens, tokens_len = self.model.encode(audio=audio, audio_len=self.torch.tensor([audio.shape[-1]],
                                                                                       device=audio.device))
        return tokens[0, :, : int(tokens_len[0])].cpu().numpy(), {}

    def encode_tokens_batch(self, x, lengths: list[int]) -> list[tuple[np.ndarray, dict[str, Any]]]:
        tokens, tokens_len = self.model.encode(audio=x.view(x.shape[0], -1),
                                               audio_len=self.torch.tensor(lengths, device=x.device))
        return [(tokens[i, :, : int(n)].cpu().numpy(), {}) for i, n in enumerate(tokens_len)]

    def decode_tokens_batch(self, codes, frames: list[int], metas: list[dict[str, Any]]) -> list:
        audio, audio_len = self.model.decode(tokens=codes, tokens_len=self.torch.tensor(frames, device=codes.device))
        return [audio[i, : int(n)][: m["n_samples"]] for i, (n, m) in enumerate(zip(audio_len, metas))]

    def decode_tokens(self, codes, meta: dict[str, Any]):
        lens = self.torch.tensor([codes.shape[-1]], device=codes.device)
        audio, audio_len = self.model.decode(tokens=codes, tokens_len=lens)
        return audio[0, : int(audio_len[0])][: meta["n_samples"]]
