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
    requires = ("transformers",)

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

    def encode_tokens(self, x) -> tuple[np.ndarray, dict[str, Any]]:
        hop = int(self.model.config.hop_length)
        pad = (-x.shape[-1]) % hop  # the encoder needs whole hops
        if pad:
            x = self.torch.nn.functional.pad(x, (0, pad))
        codes = self.model.encode(x, n_quantizers=self._n_quantizers(), return_dict=True).audio_codes
        return codes[0, : self._n_quantizers()].cpu().numpy(), {}

    def decode_tokens(self, codes, meta: dict[str, Any]):
        y = self.model.decode(audio_codes=codes, return_dict=True).audio_values
        return y.reshape(-1)[: meta["n_samples"]]
