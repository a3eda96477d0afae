"""Classical codecs through FFmpeg's encoders as shipped in PyAV wheels (no subprocess, no CLI).

Packets are produced and consumed in memory with a bare codec context, without a container, so
the measured bitrate is the codec payload alone (no Ogg/MP4 framing overhead).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from bench.adapters import register_adapter
from bench.adapters.base import Codec, CodecSpec, Payload
from bench.audio import Audio
from bench.errors import BenchError


@register_adapter("pyav")
class PyAVCodec(Codec):
    """Card options: ``codec`` (FFmpeg encoder name), ``decoder`` (if different), ``options``
    (encoder AVOptions), ``fixed_bitrate_kbps`` (codecs such as G.722 with one rate)."""

    requires = ("av",)

    def __init__(self, setting, options=None) -> None:
        super().__init__(setting, options)
        opts = self.card.options
        if "codec" not in opts:
            raise BenchError(f"{self.card.source}: pyav cards need options.codec (an FFmpeg encoder name)")
        self.encoder_name: str = opts["codec"]
        self.decoder_name: str = opts.get("decoder", self.encoder_name)
        self.av_options: dict[str, str] = {str(k): str(v) for k, v in (opts.get("options") or {}).items()}
        self._frame_size: int | None = None

    @classmethod
    def availability(cls, card, checkpoints=()) -> str | None:
        reason = super().availability(card)
        if reason:
            return reason
        import av

        name = card.options.get("codec", "")
        if name not in av.codecs_available:
            return f"PyAV's FFmpeg has no encoder {name!r}"
        return None

    @property
    def spec(self) -> CodecSpec:
        """Frame rate read off an opened encoder; FFmpeg does not report these encoders' delay,
        so a run takes it from the card (``delay_samples``) or measures it once per setting
        (bench/pipeline/delay.py)."""
        if self._frame_size is None:
            self._frame_size = self._open_encoder()[0].frame_size or 0
        frame_rate = self.sample_rate / self._frame_size if self._frame_size else None
        return CodecSpec(sample_rate=self.sample_rate, nominal_kbps=self.bitrate, frame_rate=frame_rate)

    def _context(self, name: str, mode: str) -> Any:
        import av

        ctx = av.CodecContext.create(name, mode)
        ctx.sample_rate = self.sample_rate
        ctx.layout = "mono"
        return ctx

    def _open_encoder(self) -> tuple[Any, str]:
        enc = self._context(self.encoder_name, "w")
        # Prefer packed 16-bit, else the encoder's first supported sample format.
        formats = [f.name for f in (enc.codec.audio_formats or [])]
        fmt = "s16" if "s16" in formats or not formats else formats[0]
        enc.format = fmt
        if self.bitrate is not None and not self.card.options.get("fixed_bitrate_kbps"):
            enc.bit_rate = int(round(self.bitrate * 1000))
        enc.time_base = Fraction(1, self.sample_rate)
        enc.options = self.av_options
        enc.open()
        return enc, fmt

    def encode(self, audio: Audio) -> Payload:
        import av

        self.check_input(audio)
        enc, fmt = self._open_encoder()
        frame_size = enc.frame_size or 1024
        pcm = np.clip(audio.samples, -1.0, 1.0)
        packets: list[bytes] = []
        resampler = av.AudioResampler(format=fmt, layout="mono", rate=self.sample_rate)
        for start in range(0, len(pcm), frame_size):
            chunk = pcm[start : start + frame_size]
            if len(chunk) < frame_size and enc.frame_size:
                chunk = np.pad(chunk, (0, frame_size - len(chunk)))  # last frame: codec needs full frames
            frame = av.AudioFrame.from_ndarray(chunk[None, :].astype(np.float32), format="flt", layout="mono")
            frame.sample_rate = self.sample_rate
            frame.pts = start
            for f in resampler.resample(frame):
                f.pts = start
                packets += [bytes(p) for p in enc.encode(f)]
        packets += [bytes(p) for p in enc.encode(None)]
        num_bits = 8 * sum(len(p) for p in packets)
        return Payload(packets, num_bits=num_bits, duration=audio.duration, meta={"n_samples": len(pcm)})

    def decode(self, payload: Payload) -> Audio:
        import av

        dec = self._context(self.decoder_name, "r")
        out: list[np.ndarray] = []
        for data in payload.data:
            for frame in dec.decode(av.Packet(data)):
                out.append(_frame_to_mono(frame))
        for frame in dec.decode(None):
            out.append(_frame_to_mono(frame))
        samples = np.concatenate(out) if out else np.zeros(0, np.float32)
        rate = dec.sample_rate or self.sample_rate
        return Audio(samples.astype(np.float32), rate)


def _frame_to_mono(frame) -> np.ndarray:
    arr = frame.to_ndarray()
    if arr.dtype == np.int16:
        arr = arr.astype(np.float32) / 32768.0
    elif arr.dtype == np.int32:
        arr = arr.astype(np.float32) / 2147483648.0
    arr = arr.astype(np.float32)
    if frame.format.is_planar:
        return arr.mean(axis=0)
    channels = len(frame.layout.channels)
    return arr.reshape(-1, channels).mean(axis=1)
