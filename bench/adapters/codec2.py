"""Codec 2 (low-bitrate speech vocoder) through pycodec2, which bundles libcodec2."""

from __future__ import annotations

import numpy as np

from bench.adapters import register_adapter
from bench.adapters.base import Codec, Payload
from bench.audio import Audio
from bench.errors import BenchError

#: kbps -> libcodec2 mode name
MODES = {3.2: 3200, 2.4: 2400, 1.6: 1600, 1.4: 1400, 1.3: 1300, 1.2: 1200, 0.7: 700}


@register_adapter("codec2")
class Codec2(Codec):
    requires = ("pycodec2",)

    def __init__(self, setting) -> None:
        super().__init__(setting)
        mode = MODES.get(self.bitrate or 0.0)
        if mode is None:
            raise BenchError(f"codec2 has no mode for {self.bitrate} kbps; modes: {sorted(MODES)}")
        import pycodec2

        self._codec = pycodec2.Codec2(mode)
        self.mode = mode

    @property
    def frame_samples(self) -> int:
        return self._codec.samples_per_frame()

    def encode(self, audio: Audio) -> Payload:
        self.check_input(audio)
        n = self.frame_samples
        if len(audio) < n:
            raise BenchError(f"{audio.source}: {len(audio)} samples is shorter than one codec2 frame ({n})")
        pcm = np.round(np.clip(audio.samples, -1, 1) * 32767).astype(np.int16)
        pcm = np.pad(pcm, (0, (-len(pcm)) % n))
        frames = [self._codec.encode(pcm[i : i + n]) for i in range(0, len(pcm), n)]
        # Bits per frame is the mode's exact rate; the byte-padded frames are a storage detail.
        num_bits = self._codec.bits_per_frame() * len(frames)
        return Payload(frames, num_bits=num_bits, duration=audio.duration)

    def decode(self, payload: Payload) -> Audio:
        pcm = np.concatenate([self._codec.decode(f) for f in payload.data])
        return Audio((pcm.astype(np.float32) / 32768.0), self.sample_rate)
