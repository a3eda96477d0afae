"""The identity codec: the model card's "original audio" row (downstream metrics on originals)."""

from __future__ import annotations

from bench.adapters import register_adapter
from bench.adapters.base import Codec, Payload
from bench.audio import Audio


@register_adapter("identity")
class Identity(Codec):
    """Passes 16-bit PCM through unchanged; its bitrate is the PCM bitrate."""

    def encode(self, audio: Audio) -> Payload:
        self.check_input(audio)
        return Payload(audio.samples.copy(), num_bits=16 * len(audio), duration=audio.duration)

    def decode(self, payload: Payload) -> Audio:
        return Audio(payload.data, self.sample_rate)
