"""Codec 2 (low-bitrate speech vocoder) through pycodec2, which bundles libcodec2."""

from __future__ import annotations

import os

import numpy as np

from bench.adapters import register_adapter
from bench.adapters.base import Codec, CodecSpec, Payload
from bench.audio import Audio
from bench.errors import BenchError

#: kbps -> libcodec2 mode name
MODES = {3.2: 3200, 2.4: 2400, 1.6: 1600, 1.4: 1400, 1.3: 1300, 1.2: 1200, 0.7: 700}


@register_adapter("codec2")
class Codec2(Codec):
    requires = ("pycodec2",)

    def __init__(self, setting, options=None) -> None:
        super().__init__(setting, options)
        mode = MODES.get(self.bitrate or 0.0)
        if mode is None:
            raise BenchError(f"codec2 has no mode for {self.bitrate} kbps; modes: {sorted(MODES)}")
        self.mode = mode
        probe = self._new()
        self.frame_samples: int = probe.samples_per_frame()
        self.bits_per_frame: int = probe.bits_per_frame()

    @property
    def spec(self) -> CodecSpec:
        return CodecSpec(sample_rate=self.sample_rate, nominal_kbps=self.bitrate,
                         frame_rate=self.sample_rate / self.frame_samples)

    def _new(self):
        """A fresh codec state per item: libcodec2 keeps inter-frame memory, and sharing one
        instance across items made results depend on the order items were processed in."""
        import pycodec2

        return pycodec2.Codec2(self.mode)

    def encode(self, audio: Audio) -> Payload:
        self.check_input(audio)
        n = self.frame_samples
        if len(audio) < n:
            raise BenchError(f"{audio.source}: {len(audio)} samples is shorter than one codec2 frame ({n})")
        pcm = np.round(np.clip(audio.samples, -1, 1) * 32767).astype(np.int16)
        pcm = np.pad(pcm, (0, (-len(pcm)) % n))
        enc = self._new()
        frames = [enc.encode(pcm[i : i + n]) for i in range(0, len(pcm), n)]
        # Bits per frame is the mode's exact rate; the byte-padded frames are a storage detail.
        num_bits = self.bits_per_frame * len(frames)
        return Payload(frames, num_bits=num_bits, duration=audio.duration)

    def decode(self, payload: Payload) -> Audio:
        pcm = _decode_in_fresh_process(self.mode, payload.data)
        return Audio((pcm.astype(np.float32) / 32768.0), self.sample_rate)


def _decode_in_fresh_process(mode: int, frames: list[bytes]) -> np.ndarray:
    """Decode in a forked child so libcodec2's process-global RNG (a static inside
    ``codec2_rand``, used for phase synthesis and not resettable through any API) starts from the
    same state for every item; decoding in-process made the same bits decode differently on each
    call. The parent never decodes, so its RNG state stays pristine for every fork."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: decode, write raw int16, exit without running any Python cleanup
        code = 1
        try:
            os.close(read_fd)
            import pycodec2

            dec = pycodec2.Codec2(mode)
            pcm = np.concatenate([dec.decode(f) for f in frames]).astype(np.int16)
            with os.fdopen(write_fd, "wb") as fh:
                fh.write(pcm.tobytes())
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as fh:
        data = fh.read()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise BenchError(f"codec2 decoder process failed (status {status})")
    return np.frombuffer(data, dtype=np.int16)
