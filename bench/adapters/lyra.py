"""Lyra v2 (Google): a real pretrained neural speech codec, run from its own TFLite models.

Lyra v2 is SoundStream: a streaming convolutional encoder (20 ms = 320 samples at 16 kHz in, one
64-dim feature vector out), a residual vector quantizer of up to 46 quantizers of 4 bits, and a
streaming generator ("LyraGAN") that turns one dequantized feature vector back into 320 samples.
The bitrate is the number of quantizers sent: 16 / 30 / 46 -> 64 / 120 / 184 bits per frame =
3.2 / 6 / 9.2 kbps. The three model files ship in ``third_party/lyra_v2`` (Apache-2.0, with their
LICENSE and SOURCES.md) so a fresh clone runs offline; their sha256 are checked against the card
on every load, because a different file would silently give different numbers.

What this adapter does, and why, following Google's C++ reference (google/lyra 1.3.2):

* **Bitstream.** ``Payload.data`` is the real channel content: one packet per frame, the indices
  packed most-significant-bit first with the *first* quantizer in the most significant bits and no
  header (``residual_vector_quantizer.cc``, ``packet.h``). The decoder reads the quantizer count
  back from the packet size, as ``lyra_decoder.cc`` does. ``Payload.tokens`` keeps the same
  indices as a (quantizers, frames) array for ``bench tokens``.
* **16-bit PCM at both ends.** The reference encoder takes int16 samples and the decoder returns
  int16 (scale by 32768, clip, truncate towards zero); so do we.
* **Fresh state per item.** The encoder and generator keep streaming state in TFLite variables.
  ``Interpreter.reset_all_variables()`` does *not* restore the initial state (measured: the output
  then differs from a fresh interpreter's), so every ``encode``/``decode`` builds new interpreters
  from the model bytes held in memory (about 2 ms). Results therefore do not depend on item order,
  on ``--jobs`` or on what ran before.
* **Last partial frame and delay.** The input is zero-padded to whole frames (the reference CLI
  would drop the tail instead, losing up to 20 ms of speech); the padded frame is a full packet
  and is counted, so measured kbps = bits / input seconds is the nominal rate for inputs of whole
  frames and slightly above it otherwise (like codec2). The decoder's output for frame *f* is the
  reconstruction of input frame *f* (measured delay: 0 samples, card ``options.delay_samples``,
  checked by the tests); a non-zero delay would be handled by encoding enough extra zero frames
  to flush it and dropping that many samples from the start.

Cross-CPU determinism: the card selects TFLite's reference kernels (``op_resolver: BUILTIN_REF``)
on one thread, because the optimized kernels pick SIMD paths by CPU and flip later quantizer
indices between an AVX-512 and an AVX2 machine; the measurements and the speed cost are in
docs/performance.md ("Lyra v2 on any CPU").
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

import numpy as np

from bench.adapters import register_adapter
from bench.adapters.base import Codec, CodecCard, CodecOptions, CodecSetting, CodecSpec, Payload
from bench.audio import Audio
from bench.errors import BenchError, ConfigError

ENCODER, QUANTIZER, GENERATOR = "soundstream_encoder.tflite", "quantizer.tflite", "lyragan.tflite"
MODEL_FILES = (ENCODER, QUANTIZER, GENERATOR)
RESOLVERS = ("BUILTIN_REF", "BUILTIN_WITHOUT_DEFAULT_DELEGATES", "BUILTIN", "AUTO")


def models_folder(card: CodecCard, checkpoints=()) -> tuple[Path | None, str, bool]:
    """(folder, how it was found, whether the card's sha256 list applies): the override for the
    card's ``weights.env`` in ``checkpoints``, else weights.path."""
    from bench.adapters.neural import weights_ref

    ref = weights_ref(card, checkpoints)
    if ref.kind != "path":
        return None, ref.via, False
    return Path(ref.location or ""), f"{ref.via}: {ref.location}", ref.via == "card weights.path"


# -- bitstream ------------------------------------------------------------------------------
# Hand-written because Lyra's packet layout is its own; numpy's packbits does the bit work.

def pack_frames(indices: np.ndarray, bits_per_quantizer: int) -> bytes:
    """(quantizers, frames) indices -> concatenated packets, one per frame.

    Within a packet the indices form one big-endian bit string, first quantizer in the most
    significant bits; a packet whose bits do not fill its last byte is zero-padded at the end.
    """
    indices = np.asarray(indices, dtype=np.int64)
    if indices.ndim != 2:
        raise BenchError(f"lyra: expected (quantizers, frames) indices, got shape {indices.shape}")
    if indices.size and (indices.min() < 0 or indices.max() >= 1 << bits_per_quantizer):
        raise BenchError(f"lyra: quantizer index outside [0, {1 << bits_per_quantizer})")
    shifts = np.arange(bits_per_quantizer - 1, -1, -1)
    bits = (indices.T[:, :, None] >> shifts) & 1  # frames, quantizers, bits (MSB first)
    return np.packbits(bits.reshape(indices.shape[1], -1).astype(np.uint8), axis=1).tobytes()


def packet_bytes(num_quantizers: int, bits_per_quantizer: int) -> int:
    return math.ceil(num_quantizers * bits_per_quantizer / 8)


def unpack_frames(data: bytes, num_quantizers: int, bits_per_quantizer: int) -> np.ndarray:
    """Inverse of :func:`pack_frames`: packets -> (quantizers, frames) int64 indices."""
    size = packet_bytes(num_quantizers, bits_per_quantizer)
    if len(data) % size:
        raise BenchError(f"lyra: bitstream of {len(data)} bytes is not a whole number of {size}-byte packets")
    packets = np.frombuffer(data, dtype=np.uint8).reshape(-1, size)
    bits = np.unpackbits(packets, axis=1)[:, : num_quantizers * bits_per_quantizer]
    bits = bits.reshape(len(packets), num_quantizers, bits_per_quantizer).astype(np.int64)
    weights = 1 << np.arange(bits_per_quantizer - 1, -1, -1)
    return (bits * weights).sum(axis=2).T


# -- PCM conversions of the reference (dsp_utils.h) -------------------------------------------

def to_int16_grid(samples: np.ndarray) -> np.ndarray:
    """float -> int16 as Lyra's UnitToInt16 (x 32768, clip, truncate towards zero) -> back to float."""
    scaled = np.clip(np.asarray(samples, dtype=np.float64) * 32768.0, -32768.0, 32767.0)
    return (np.trunc(scaled) / 32768.0).astype(np.float32)


# -- model facts read off the flatbuffers -----------------------------------------------------

def constant_elements(content: bytes, subgraphs: list[int] | None = None) -> int:
    """Numbers stored in a TFLite model's constant tensors (weights, biases, codebooks).

    Each buffer is counted once; only the subgraphs given (default: the ones its signatures run)
    are read, which leaves out the CALL_ONCE initialiser that holds the streaming state's zeros.
    Shape/index operands (int32 of at most 4 elements) are not parameters and are skipped.
    """
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAsModel(content, 0)
    if subgraphs is None:
        subgraphs = sorted({model.SignatureDefs(i).SubgraphIndex() for i in range(model.SignatureDefsLength())})
    numeric = {schema.TensorType.FLOAT32, schema.TensorType.INT8, schema.TensorType.INT32}
    seen: set[int] = set()
    total = 0
    for si in subgraphs:
        graph = model.Subgraphs(si)
        for ti in range(graph.TensorsLength()):
            tensor = graph.Tensors(ti)
            buf = model.Buffers(tensor.Buffer())
            if buf is None or not buf.DataLength() or tensor.Buffer() in seen or tensor.Type() not in numeric:
                continue
            n = int(np.prod(tensor.ShapeAsNumpy())) if tensor.ShapeLength() else 1
            if tensor.Type() == schema.TensorType.INT32 and n <= 4:
                continue
            seen.add(tensor.Buffer())
            total += n
    return total


def _signature_subgraph(content: bytes, key: str) -> int:
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAsModel(content, 0)
    for i in range(model.SignatureDefsLength()):
        if model.SignatureDefs(i).SignatureKey().decode() == key:
            return model.SignatureDefs(i).SubgraphIndex()
    raise BenchError(f"lyra: model has no signature {key!r}")


@register_adapter("lyra")
class Lyra(Codec):
    requires = ("ai_edge_litert",)

    @classmethod
    def availability(cls, card: CodecCard, checkpoints=()) -> str | None:
        reason = super().availability(card)
        if reason:
            return reason
        try:
            folder, via, _ = models_folder(card, checkpoints)
        except BenchError as exc:
            return str(exc)
        if folder is None:
            return f"no Lyra model folder: set weights.path in {card.source} or ${(card.weights or {}).get('env')}"
        missing = [f for f in MODEL_FILES if not (folder / f).is_file()]
        if missing:
            return f"{folder} ({via}) lacks {', '.join(missing)}"
        return None

    def __init__(self, setting: CodecSetting, options: CodecOptions | None = None) -> None:
        super().__init__(setting, options)
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        opts = self.card.options
        resolver = str(opts.get("op_resolver", "BUILTIN_REF"))
        if resolver not in RESOLVERS:
            raise ConfigError(f"{self.card.source}: options.op_resolver {resolver!r} is not one of {', '.join(RESOLVERS)}")
        self._resolver = getattr(OpResolverType, resolver)
        self._interpreter_cls = Interpreter
        self.delay = int(opts.get("delay_samples", 0))
        folder, via, enforce = models_folder(self.card, self.options.checkpoints)
        if folder is None:
            raise BenchError(f"codec {self.card.name!r}: no model folder ({via})")
        self._content, digests = self._read_models(folder, enforce)
        self._weights = {"status": "trained", "trained": True, "source": via, "file": str(folder),
                         "files": digests,
                         # one digest for the set (sha256 of its sha256sum listing), so resuming a run
                         # with other model files is caught like any other weights change
                         "sha256": hashlib.sha256("".join(f"{d}  {f}\n" for f, d in sorted(digests.items()))
                                                  .encode()).hexdigest(),
                         "runtime": f"ai-edge-litert, {resolver} kernels, 1 thread"}
        self._read_shapes()

    def _read_models(self, folder: Path, enforce: bool) -> tuple[dict[str, bytes], dict[str, str]]:
        expected = (self.card.weights or {}).get("files") or {}
        content, digests = {}, {}
        for name in MODEL_FILES:
            path = folder / name
            if not path.is_file():
                raise BenchError(f"codec {self.card.name!r}: model file {path} not found")
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            want = expected.get(name)
            if enforce and not want:
                raise ConfigError(f"{self.card.source}: weights.files has no sha256 for {name}")
            if enforce and digest != str(want).lower():
                raise BenchError(f"codec {self.card.name!r}: checksum mismatch for {path}: sha256 {digest} is not "
                                 f"the card's {want}; the file is corrupt or not the Lyra v2 model the card names")
            content[name], digests[name] = data, digest
        return content, digests

    def _interpreter(self, name: str):
        """A fresh interpreter (fresh streaming state) on the verified bytes in memory."""
        return self._interpreter_cls(model_content=self._content[name], num_threads=1,
                                     experimental_op_resolver_type=self._resolver)

    def _read_shapes(self) -> None:
        enc = self._interpreter(ENCODER).get_signature_runner()
        self.frame_size = int(enc.get_input_details()["input_audio"]["shape"][-1])
        self.latent_dim = int(enc.get_output_details()["output_0"]["shape"][-1])
        quant = self._interpreter(QUANTIZER)
        self.max_quantizers = int(quant.get_signature_runner("decode").get_input_details()["encoding_indices"]["shape"][0])
        probe = quant.get_signature_runner("encode")(input_frames=np.zeros((1, 1, self.latent_dim), np.float32),
                                                     num_quantizers=np.array(1, np.int32))
        self.bits_per_quantizer = int(np.asarray(probe["output_1"]).reshape(-1)[0])  # as the C++ reads it
        bits = (self.bitrate or 0) * 1000 * self.frame_size / self.sample_rate
        n = bits / self.bits_per_quantizer
        if self.bitrate is None or abs(n - round(n)) > 1e-6 or not 1 <= round(n) <= self.max_quantizers:
            raise ConfigError(f"{self.card.source}: {self.setting.label} is not a whole number of "
                              f"{self.bits_per_quantizer}-bit quantizers per {self.frame_size}-sample frame "
                              f"(1..{self.max_quantizers})")
        self.num_quantizers = int(round(n))
        self.params_m = round(sum(constant_elements(c) for c in (self._content[ENCODER], self._content[GENERATOR]))
                              / 1e6 + constant_elements(self._content[QUANTIZER],
                                                        [_signature_subgraph(self._content[QUANTIZER], "decode")]) / 1e6, 3)

    @property
    def spec(self) -> CodecSpec:
        return CodecSpec(sample_rate=self.sample_rate, nominal_kbps=self.bitrate,
                         frame_rate=self.sample_rate / self.frame_size, num_codebooks=self.num_quantizers,
                         codebook_size=1 << self.bits_per_quantizer, latent_dim=self.latent_dim,
                         params_m=self.params_m, delay_samples=self.delay)

    @property
    def weights_info(self) -> dict[str, Any]:
        return dict(self._weights)

    def encode(self, audio: Audio) -> Payload:
        self.check_input(audio)
        x = to_int16_grid(audio.samples)
        n = len(x)
        frames = max(1, math.ceil((n + self.delay) / self.frame_size))  # flush the delay, pad the last frame
        x = np.concatenate([x, np.zeros(frames * self.frame_size - n, np.float32)])
        encoder = self._interpreter(ENCODER).get_signature_runner()
        quantize = self._interpreter(QUANTIZER).get_signature_runner("encode")
        nq = np.array(self.num_quantizers, np.int32)
        indices = np.empty((self.num_quantizers, frames), np.int64)
        for f in range(frames):
            feat = encoder(input_audio=x[None, f * self.frame_size:(f + 1) * self.frame_size])["output_0"]
            indices[:, f] = np.asarray(quantize(input_frames=feat, num_quantizers=nq)["output_0"]).reshape(-1)[
                : self.num_quantizers]
        data = pack_frames(indices, self.bits_per_quantizer)
        size = packet_bytes(self.num_quantizers, self.bits_per_quantizer)
        meta = {"n_samples": n, "packet_bytes": size, "codebook_size": 1 << self.bits_per_quantizer,
                "frame_rate": self.sample_rate / self.frame_size}
        return Payload(data, num_bits=len(data) * 8, duration=audio.duration, meta=meta, tokens=indices)

    def decode(self, payload: Payload) -> Audio:
        data = payload.data
        if not isinstance(data, (bytes, bytearray)):
            raise BenchError(f"{self.setting.label}: expected a Lyra bitstream (bytes), got {type(data).__name__}")
        size = int(payload.meta["packet_bytes"])
        nq = size * 8 // self.bits_per_quantizer  # what lyra_decoder.cc infers from the packet size
        if packet_bytes(nq, self.bits_per_quantizer) != size or not 1 <= nq <= self.max_quantizers:
            raise BenchError(f"{self.setting.label}: unsupported packet size {size} bytes")
        indices = unpack_frames(bytes(data), nq, self.bits_per_quantizer)
        dequantize = self._interpreter(QUANTIZER).get_signature_runner("decode")
        generate = self._interpreter(GENERATOR).get_signature_runner()
        full = np.full((self.max_quantizers, 1, 1), -1, np.int32)  # unsent quantizers are -1, as in the C++
        out = []
        for f in range(indices.shape[1]):
            full[:nq, 0, 0] = indices[:, f]
            feat = dequantize(encoding_indices=full)["output_0"]
            out.append(np.asarray(generate(input_audio=feat)["output_0"], np.float32).reshape(-1))
        y = to_int16_grid(np.concatenate(out)) if out else np.zeros(0, np.float32)
        n = int(payload.meta["n_samples"])
        return Audio(np.ascontiguousarray(y[self.delay:self.delay + n]), self.sample_rate)
