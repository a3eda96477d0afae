"""EnCodec (Défossez et al. 2022) through transformers' ``EncodecModel``: 24 kHz mono, 48 kHz stereo.

Weights: a ``save_pretrained`` folder, a hub id (``facebook/encodec_24khz``), or the original
``encodec_24khz-d7cc33bc.th`` state dict whose file name carries its sha256 prefix (checked).
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from bench.adapters import register_adapter
from bench.adapters.base import CodecSpec
from bench.adapters.hf import load_hf
from bench.adapters.neural import NeuralCodec, WeightsRef, param_count_m
from bench.errors import BenchError

# The original encodec package names layers differently from transformers. These rewrites map
# its state-dict keys onto transformers' (same tensors, other names); written by hand because
# transformers 5 ships no conversion script and the encodec package needs torchaudio.
_ORIGINAL_KEYS = [
    (re.compile(r"^(encoder|decoder)\.model\."), r"\1.layers."),
    (re.compile(r"\.(conv\.conv|convtr\.convtr)\."), ".conv."),
    (re.compile(r"\.weight_g$"), ".parametrizations.weight.original0"),
    (re.compile(r"\.weight_v$"), ".parametrizations.weight.original1"),
    (re.compile(r"^quantizer\.vq\.layers\."), "quantizer.layers."),
    (re.compile(r"\._codebook\."), ".codebook."),
]


def original_to_transformers(key: str) -> str:
    for pattern, repl in _ORIGINAL_KEYS:
        key = pattern.sub(repl, key)
    return key


@register_adapter("encodec")
class EnCodec(NeuralCodec):
    requires = ("transformers",)

    @property
    def batch_coding(self) -> bool:
        """Batches for the 24 kHz model only, with its padding mask: its convolutions and LSTM are
        causal, so padding reaches an item at most through its last, partly padded frame. The 48 kHz
        model cuts 1 s chunks and normalises each by its RMS, padding included, so it codes items
        one at a time."""
        cfg = self.model.config
        return cfg.chunk_length is None and not cfg.normalize and int(cfg.audio_channels) == 1

    def _config(self):
        from transformers import EncodecConfig

        return EncodecConfig(**(self.card.options.get("config") or {}))

    def build_random(self):
        from transformers import EncodecModel

        return EncodecModel(self._config())

    def load(self, ref: WeightsRef):
        from transformers import EncodecModel

        model, file, self._marked = load_hf(EncodecModel, self._config, self.card, ref, original_to_transformers)
        return model, file

    def is_marked_untrained(self) -> bool:
        return getattr(self, "_marked", False)

    def _bandwidth(self) -> float:
        bandwidths = [float(b) for b in self.model.config.target_bandwidths]
        bw = float(self.bitrate if self.bitrate is not None else bandwidths[0])
        if bw not in bandwidths:
            raise BenchError(f"{self.setting.label}: the loaded EnCodec supports {bandwidths} kbps, not {bw}")
        return bw

    def model_spec(self) -> CodecSpec:
        cfg = self.model.config
        n_q = self.model.quantizer.get_num_quantizers_for_bandwidth(self._bandwidth())
        fps = float(cfg.frame_rate)
        return CodecSpec(sample_rate=int(cfg.sampling_rate), frame_rate=fps, num_codebooks=int(n_q),
                         codebook_size=int(cfg.codebook_size), latent_dim=int(cfg.hidden_size),
                         params_m=param_count_m(self.model),
                         nominal_kbps=n_q * fps * math.log2(cfg.codebook_size) / 1000.0)

    def encode_tokens(self, x) -> tuple[np.ndarray, dict[str, Any]]:
        channels = int(self.model.config.audio_channels)
        if channels > 1:  # the 48 kHz model is stereo: code mono as identical channels
            x = x.repeat(1, channels, 1)
        out = self.model.encode(x, bandwidth=self._bandwidth(), return_dict=True)
        codes = out.audio_codes  # (chunks, 1, n_q, frames)
        pad = int(out.last_frame_pad_length or 0)
        per_chunk = codes.shape[-1]
        flat = codes[:, 0].permute(1, 0, 2).reshape(codes.shape[2], -1)  # (n_q, chunks*frames)
        if pad:
            flat = flat[:, : flat.shape[1] - pad]  # padding frames are never transmitted
        scales = [None if s is None else s.reshape(-1).tolist() for s in out.audio_scales]
        # Scales (one float per 1 s chunk of the 48 kHz model) are side information not in num_bits.
        return flat.cpu().numpy(), {"chunks": int(codes.shape[0]), "frames_per_chunk": int(per_chunk),
                                    "pad": pad, "scales": scales}

    def encode_tokens_batch(self, x, lengths: list[int]) -> list[tuple[np.ndarray, dict[str, Any]]]:
        mask = self.torch.arange(x.shape[-1], device=x.device)[None, None, :] < self.torch.tensor(
            lengths, device=x.device)[:, None, None]
        codes = self.model.encode(x, padding_mask=mask, bandwidth=self._bandwidth(), return_dict=True).audio_codes
        hop = int(np.prod(self.model.config.upsampling_ratios))  # frames = ceil(samples / hop), as alone
        out = []
        for i, n in enumerate(lengths):
            frames = math.ceil(n / hop)
            out.append((codes[0, i, :, :frames].cpu().numpy(),
                        {"chunks": 1, "frames_per_chunk": frames, "pad": 0, "scales": [None]}))
        return out

    def decode_tokens_batch(self, codes, frames: list[int], metas: list[dict[str, Any]]) -> list:
        y = self.model.decode(codes.unsqueeze(0), [None], return_dict=True).audio_values  # (B, 1, T)
        return [y[i].mean(dim=0)[: m["n_samples"]] for i, m in enumerate(metas)]

    def decode_tokens(self, codes, meta: dict[str, Any]):
        torch = self.torch
        n_q = codes.shape[1]
        codes = codes[0]
        if meta["pad"]:
            codes = torch.nn.functional.pad(codes, (0, meta["pad"]))
        chunked = codes.reshape(n_q, meta["chunks"], meta["frames_per_chunk"]).permute(1, 0, 2).unsqueeze(1)
        scales = [None if s is None else torch.tensor(s, device=codes.device).view(1, 1) for s in meta["scales"]]
        y = self.model.decode(chunked, scales, last_frame_pad_length=meta["pad"], return_dict=True).audio_values
        y = y[0].mean(dim=0)  # channels -> mono
        return y[: meta["n_samples"]]
