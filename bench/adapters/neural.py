"""What every neural codec adapter shares: finding weights, refusing untrained ones, token payloads.

Weights are looked up in a fixed order so a user with a real checkpoint only sets a variable or
edits a card: ``$ENV`` (named by the card's ``weights.env``) -> card ``weights.path`` -> card
``weights.hub_id`` (Hugging Face cache, or the hub when online). Nothing found is an error that
says exactly which of those to set. A random-init model is built only when the user explicitly
allows untrained weights, and is then labelled untrained everywhere (rows, summary, manifest).

Checkpoints that codecbench itself wrote from a random-init model (tests, ``bench info
--allow-untrained``) carry a ``codecbench_untrained`` marker, so loading them back is also
recognised as untrained rather than passed off as a real model.
"""

from __future__ import annotations

import math
import re
from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from bench.adapters.base import Codec, CodecOptions, CodecSetting, CodecSpec, Payload
from bench.audio import Audio
from bench.checksums import sha256_file
from bench.errors import BenchError, ConfigError

#: key/attribute marking a checkpoint written from a random-init model
UNTRAINED_MARKER = "codecbench_untrained"
UNTRAINED_HINT = ("pass --allow-untrained (bench run/info/speed) to use a random-init model for plumbing "
                  "checks; its results are then labelled 'untrained'")


class WeightsMissing(BenchError):
    """No weights could be found (nothing configured, or a hub id neither cached nor reachable)."""


#: torch.hub's convention (EnCodec's ``encodec_24khz-d7cc33bc.th``): the name ends in a sha256 prefix
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{8,64})\.[A-Za-z0-9]+$")


def check_sha256(path: Path, digest: str, *, expected: str | None, what: str) -> None:
    """Compare against the card's sha256 (full or prefix) and the hash prefix in the file name."""
    for want, origin in ((expected, "the card's weights.sha256"),
                         ((_HASH_IN_NAME.search(path.name) or [None, None])[1], "the hash prefix in its file name")):
        if want and not digest.startswith(str(want).lower()):
            raise BenchError(f"{what}: checksum mismatch for {path}: sha256 {digest[:16]}... does not match "
                             f"{origin} ({want}); the file is corrupt or not the expected checkpoint")


@dataclass(frozen=True)
class WeightsRef:
    """Where the weights come from: a local file/folder, a hub id, or nothing (random init)."""

    kind: str  # "path", "hub" or "random"
    location: str | None
    via: str  # "$BENCH_OURS_CHECKPOINT", "card weights.path", "card weights.hub_id", ...
    expected_sha256: str | None = None


def weights_ref(card, checkpoints=()) -> WeightsRef:
    """Apply the lookup order override -> card path -> hub id; never touches the network.

    ``checkpoints``: overrides by the card's ``weights.env`` name (a run's ``checkpoints`` option;
    the CLI takes them from those environment variables)."""
    w = card.weights or {}
    if not isinstance(w, dict):
        raise ConfigError(f"{card.source}: 'weights' must be a mapping (env, path, hub_id, sha256)")
    env = w.get("env")
    override = dict(checkpoints).get(env) if env else None
    if override:
        path = Path(override).expanduser()
        if not path.exists():
            raise BenchError(f"codec {card.name!r}: ${env} points to {path}, which does not exist")
        return WeightsRef("path", str(path), f"${env}")  # an override is the user's own checkpoint
    if w.get("path"):
        path = Path(str(w["path"])).expanduser()
        if not path.is_absolute():
            path = Path(card.source).resolve().parent.parent / path  # relative to the repo root
        if path.exists():
            return WeightsRef("path", str(path), "card weights.path", w.get("sha256"))
    if w.get("hub_id"):
        return WeightsRef("hub", str(w["hub_id"]), "card weights.hub_id", w.get("sha256"))
    return WeightsRef("random", None, "none")


def missing_weights_message(card, detail: str = "") -> str:
    w = card.weights or {}
    ways = []
    if w.get("env"):
        ways.append(f"set ${w['env']} to a checkpoint")
    ways.append(f"set weights.path in {card.source}" + (f" (now {w['path']!r}, not found)" if w.get("path") else ""))
    if w.get("hub_id"):
        ways.append(f"download hub id {w['hub_id']!r} into the Hugging Face cache while online "
                    "(HF_HUB_OFFLINE=1 forbids the download)")
    msg = f"codec {card.name!r}: no weights found. To fix: " + "; or ".join(ways) + f". Or {UNTRAINED_HINT}."
    return msg + (f" ({detail})" if detail else "")


def hub_snapshot(card, hub_id: str, patterns: list[str]) -> Path:
    """A hub id -> local folder from the HF cache (or the hub when online), with a clear failure."""
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(hub_id, allow_patterns=patterns))
    except Exception as exc:  # offline, no cache, unknown id: all user-fixable
        raise WeightsMissing(missing_weights_message(card, f"hub {hub_id!r}: {type(exc).__name__}: {exc}")) from exc


def param_count_m(*modules) -> float:
    return round(sum(p.numel() for m in modules for p in m.parameters()) / 1e6, 3)


class NeuralCodec(Codec):
    """A token codec with a torch model: subclasses load/build the model and map audio<->tokens.

    ``Payload.data`` is the token array (codebooks x frames, int) actually produced, and its bits
    are frames x codebooks x log2(codebook_size), so the measured kbps is what the tokens cost.

    Batches (subclasses that set ``batch_coding``): the items are zero-padded to the longest into
    one (B, 1, T) tensor and coded in one forward pass with their lengths; each item's tokens are
    cut to its own frames and each decoded signal to its own samples. Whether that equals coding
    the item alone depends on the architecture (padding masks, causal or not) and on the GEMM
    kernels, which may round differently for another batch shape; the differences are measured in
    docs/performance.md. A batch of one is the unbatched call.

    Runs batch neural codecs on CUDA only (:attr:`batch_in_runs`): on the CPU, one thread per
    worker, a batch measured 1.4-2x slower than the same items one by one (benchmarks/
    batch_speed.py: larger activations, no parallel hardware to fill), and it changes the shorter
    items' last frames, so ``--batch N`` on the CPU codes them one by one, exactly as unbatched.
    """

    def __init__(self, setting: CodecSetting, options: CodecOptions | None = None) -> None:
        super().__init__(setting, options)
        import torch

        self.torch = torch
        self.device = torch.device(self.options.device)
        self._weights: dict[str, Any] = {}
        ref = weights_ref(self.card, self.options.checkpoints)
        missing = None
        if ref.kind != "random":
            try:
                self._load_checked(ref)
            except WeightsMissing as exc:
                missing = str(exc)
        if ref.kind == "random" or missing is not None:
            if not self.options.allow_untrained:
                raise WeightsMissing(missing or missing_weights_message(self.card))
            seed = int(self.card.options.get("seed", 0))
            torch.manual_seed(seed)
            self.model = self.build_random()
            self._weights = {"status": "untrained", "trained": False, "source": f"random init (seed {seed})",
                             "sha256": None, "why": missing or "no weights configured"}
        self.model.eval().to(self.device)
        rate = self.model_spec().sample_rate
        if rate != self.card.sample_rate:
            raise ConfigError(f"{self.card.source}: card says sample_rate {self.card.sample_rate} but the loaded "
                              f"model runs at {rate} Hz")

    @property
    def sample_rate(self) -> int:
        return self.card.sample_rate

    @property
    def batch_in_runs(self) -> bool:
        return self.batch_coding and self.device.type == "cuda"

    def _load_checked(self, ref: WeightsRef) -> None:
        self.model, file = self.load(ref)
        digest = sha256_file(file) if file is not None else None
        if file is not None:
            check_sha256(file, digest, expected=ref.expected_sha256, what=f"codec {self.card.name!r}")
        trained = not self.is_marked_untrained()
        self._weights = {"status": "trained" if trained else "untrained", "trained": trained,
                         "source": f"{ref.via}: {ref.location}", "file": str(file) if file else None,
                         "sha256": digest}
        if not trained and not self.options.allow_untrained:
            raise BenchError(f"codec {self.card.name!r}: checkpoint {ref.location} holds random-init weights "
                             f"(marked {UNTRAINED_MARKER}); refusing to report them as a codec's quality. "
                             f"To run it anyway, {UNTRAINED_HINT}.")

    # -- subclasses -------------------------------------------------------------------------
    @abstractmethod
    def build_random(self):
        """The card's architecture with random weights (seeded by the caller)."""

    @abstractmethod
    def load(self, ref: WeightsRef) -> tuple[Any, Path | None]:
        """Load from a local path or hub id; return (model, weights file whose sha256 to record)."""

    @abstractmethod
    def is_marked_untrained(self) -> bool: ...

    @abstractmethod
    def encode_tokens(self, x) -> tuple[np.ndarray, dict[str, Any]]:
        """(1, 1, T) float tensor -> (codebooks, frames) int array, plus what decode needs."""

    @abstractmethod
    def decode_tokens(self, codes, meta: dict[str, Any]):
        """(1, codebooks, frames) long tensor -> 1-D float tensor of samples."""

    def encode_tokens_batch(self, x, lengths: list[int]) -> list[tuple[np.ndarray, dict[str, Any]]]:
        """(B, 1, T) zero-padded float tensor and each item's length -> per item what
        :meth:`encode_tokens` gives for it alone: its own frames only. Needed with ``batch_coding``."""
        raise NotImplementedError(f"{type(self).__name__} does not code batches")

    def decode_tokens_batch(self, codes, frames: list[int], metas: list[dict[str, Any]]) -> list:
        """(B, codebooks, frames) long tensor, padded with token 0, and each item's frame count ->
        per item 1-D samples cut to its own ``meta["n_samples"]``. Needed with ``batch_coding``."""
        raise NotImplementedError(f"{type(self).__name__} does not code batches")

    @abstractmethod
    def model_spec(self) -> CodecSpec: ...

    # -- shared ---------------------------------------------------------------------------
    @property
    def spec(self) -> CodecSpec:
        return self.model_spec()

    @property
    def weights_info(self) -> dict[str, Any]:
        return dict(self._weights)

    def encode(self, audio: Audio) -> Payload:
        self.check_input(audio)
        torch = self.torch
        x = torch.from_numpy(self.as_float(audio.samples)).to(self.device).view(1, 1, -1)
        with torch.inference_mode():
            codes, meta = self.encode_tokens(x)
        return self._payload(codes, meta, audio)

    def encode_batch(self, audios: Sequence[Audio]) -> list[Payload]:
        if len(audios) < 2 or not self.batch_coding:
            return super().encode_batch(audios)
        for audio in audios:
            self.check_input(audio)
        lengths = [len(a) for a in audios]
        x = np.zeros((len(audios), 1, max(lengths)), dtype=np.float32)
        for row, audio in zip(x, audios):
            row[0, : len(audio)] = audio.samples
        torch = self.torch
        with torch.inference_mode():
            coded = self.encode_tokens_batch(torch.from_numpy(x).to(self.device), lengths)
        return [self._payload(codes, meta, audio) for (codes, meta), audio in zip(coded, audios)]

    def _payload(self, codes, meta: dict[str, Any], audio: Audio) -> Payload:
        codes = np.asarray(codes)
        if codes.ndim != 2:
            raise BenchError(f"{self.setting.label}: expected a (codebooks, frames) token array, got {codes.shape}")
        spec = self.spec
        bits_per_token = math.log2(spec.codebook_size)
        num_bits = int(round(codes.shape[0] * codes.shape[1] * bits_per_token))
        meta = {**meta, "codebook_size": spec.codebook_size, "frame_rate": spec.frame_rate,
                "n_samples": len(audio)}
        return Payload(codes.astype(np.int64), num_bits=num_bits, duration=audio.duration, meta=meta)

    def decode(self, payload: Payload) -> Audio:
        torch = self.torch
        codes = torch.from_numpy(np.asarray(payload.data, dtype=np.int64)).to(self.device).unsqueeze(0)
        with torch.inference_mode():
            y = self.decode_tokens(codes, payload.meta)
        return self._audio(y)

    def decode_batch(self, payloads: Sequence[Payload]) -> list[Audio]:
        if len(payloads) < 2 or not self.batch_coding:
            return super().decode_batch(payloads)
        codes = [np.asarray(p.data, dtype=np.int64) for p in payloads]
        if len({c.shape[0] for c in codes}) != 1:
            raise BenchError(f"{self.setting.label}: a batch must have one number of codebooks, got "
                             f"{sorted({c.shape[0] for c in codes})}")
        frames = [c.shape[1] for c in codes]
        padded = np.zeros((len(codes), codes[0].shape[0], max(frames)), dtype=np.int64)
        for row, c in zip(padded, codes):
            row[:, : c.shape[1]] = c
        torch = self.torch
        with torch.inference_mode():
            ys = self.decode_tokens_batch(torch.from_numpy(padded).to(self.device), frames, [p.meta for p in payloads])
        return [self._audio(y) for y in ys]

    def _audio(self, y) -> Audio:
        y = y.detach().float().cpu().numpy().reshape(-1)
        return Audio(np.ascontiguousarray(y, dtype=np.float32), self.sample_rate)
