"""DAC (Kumar et al. 2023) through transformers' ``DacModel``; 16/24/44.1 kHz by card.

``DacConfig()`` defaults match no released model, so each card spells out its architecture in
``options.config``. A bitrate picks the number of quantizers (DAC trains with quantizer dropout,
so a prefix of the codebooks is a valid lower-rate code).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from bench.adapters import register_adapter
from bench.adapters.base import CodecSpec
from bench.adapters.hf import load_hf
from bench.adapters.neural import NeuralCodec, WeightsRef, param_count_m
from bench.errors import BenchError


@register_adapter("dac")
class Dac(NeuralCodec):
    """Batches: DAC's convolutions are not causal and transformers' ``DacModel`` takes no padding
    mask, so the zeros after a shorter item reach its last frames (within the receptive field)
    where coding it alone sees the convolutions' own zero padding; docs/performance.md measures it."""

    requires = ("transformers",)
    batch_coding = True

    def _config(self):
        from transformers import DacConfig

        return DacConfig(**(self.card.options.get("config") or {}))

    def build_random(self):
        from transformers import DacModel

        return DacModel(self._config())

    def load(self, ref: WeightsRef):
        from transformers import DacModel

        model, file, self._marked = load_hf(DacModel, self._config, self.card, ref)
        return model, file

    def is_marked_untrained(self) -> bool:
        return getattr(self, "_marked", False)

    def _frame_rate(self) -> float:
        cfg = self.model.config
        return cfg.sampling_rate / cfg.hop_length

    def _n_quantizers(self) -> int:
        cfg = self.model.config
        if self.bitrate is None:
            return int(cfg.n_codebooks)
        per_codebook = self._frame_rate() * math.log2(cfg.codebook_size) / 1000.0
        n = self.bitrate / per_codebook
        if abs(n - round(n)) > 1e-6 or not 1 <= round(n) <= cfg.n_codebooks:
            raise BenchError(f"{self.setting.label}: {self.bitrate} kbps is not a whole number of DAC codebooks "
                             f"({per_codebook:g} kbps each, at most {cfg.n_codebooks})")
        return int(round(n))

    def model_spec(self) -> CodecSpec:
        cfg = self.model.config
        n_q, fps = self._n_quantizers(), self._frame_rate()
        return CodecSpec(sample_rate=int(cfg.sampling_rate), frame_rate=fps, num_codebooks=n_q,
                         codebook_size=int(cfg.codebook_size), latent_dim=int(cfg.hidden_size),
                         params_m=param_count_m(self.model),
                         nominal_kbps=n_q * fps * math.log2(cfg.codebook_size) / 1000.0)

    def _codes(self, x):
        """(B, n_q, frames) codes of a (B, 1, T) batch zero-padded to whole hops (the encoder needs them)."""
        hop = int(self.model.config.hop_length)
        pad = (-x.shape[-1]) % hop
        if pad:
            x = self.torch.nn.functional.pad(x, (0, pad))
        n_q = self._n_quantizers()
        return self.model.encode(x, n_quantizers=n_q, return_dict=True).audio_codes[:, :n_q]

    def encode_tokens(self, x) -> tuple[np.ndarray, dict[str, Any]]:
        return self._codes(x)[0].cpu().numpy(), {}

    def encode_tokens_batch(self, x, lengths: list[int]) -> list[tuple[np.ndarray, dict[str, Any]]]:
        codes, hop = self._codes(x), int(self.model.config.hop_length)
        return [(codes[i, :, : math.ceil(n / hop)].cpu().numpy(), {}) for i, n in enumerate(lengths)]

    def decode_tokens(self, codes, meta: dict[str, Any]):
        y = self.model.decode(audio_codes=codes, return_dict=True).audio_values
        return y.reshape(-1)[: meta["n_samples"]]

    def decoded_length(self, frames: int) -> int:
        """Samples ``DacModel.decode`` gives for ``frames`` frames alone: each decoder block's
        ConvTranspose1d (kernel 2s, stride s, padding ceil(s/2)) maps L to (L-1)s - 2ceil(s/2) + 2s,
        i.e. one sample short per odd stride (320 * frames - 8 for the 16 kHz card)."""
        length = frames
        for s in self.model.config.upsampling_ratios:
            length = (length - 1) * s - 2 * math.ceil(s / 2) + 2 * s
        return length

    def decode_tokens_batch(self, codes, frames: list[int], metas: list[dict[str, Any]]) -> list:
        y = self.model.decode(audio_codes=codes, return_dict=True).audio_values.reshape(codes.shape[0], -1)
        return [y[i, : min(self.decoded_length(f), m["n_samples"])] for i, (f, m) in enumerate(zip(frames, metas))]
