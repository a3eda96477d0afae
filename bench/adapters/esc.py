"""ESC (Gu & Wang, arXiv 2404.19441): a user-supplied checkout plus a checkpoint folder.

ESC is not on PyPI and its code imports torchaudio; the user points the card (or
``$BENCH_ESC_REPO`` / ``$BENCH_ESC_CHECKPOINT``) at a checkout of its repository and at a checkpoint
folder holding ``config.yaml`` and ``model.pth``. Bitrate = number of streams x 1.5 kbps (1-6).
Without them the codec is listed as unavailable with the reason.
"""

from __future__ import annotations

import importlib
import math
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from bench.adapters import register_adapter
from bench.adapters.base import CodecCard, CodecSpec
from bench.adapters.hf import read_state_dict
from bench.adapters.neural import NeuralCodec, WeightsRef, param_count_m
from bench.errors import BenchError

REPO_ENV, CKPT_ENV = "BENCH_ESC_REPO", "BENCH_ESC_CHECKPOINT"


def _paths(card: CodecCard) -> tuple[Path | None, Path | None]:
    repo = os.environ.get(REPO_ENV) or card.options.get("repo")
    ckpt = os.environ.get(CKPT_ENV) or (card.weights or {}).get("path")
    return (Path(repo).expanduser() if repo else None), (Path(ckpt).expanduser() if ckpt else None)


def _import_esc(repo: Path):
    """The ESC class from the checkout (newer layout: package ``esc``; older: module ``models``)."""
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))
    errors = []
    for module in ("esc", "models"):
        try:
            return getattr(importlib.import_module(module), "ESC")
        except Exception as exc:  # ImportError, or torchaudio failing inside the checkout
            errors.append(f"{module}: {type(exc).__name__}: {exc}")
    raise BenchError(f"{repo}: cannot import ESC from this checkout ({'; '.join(errors)})")


@register_adapter("esc")
class Esc(NeuralCodec):
    requires = ("einops",)

    @classmethod
    def availability(cls, card: CodecCard) -> str | None:
        reason = super().availability(card)
        if reason:
            return reason
        repo, ckpt = _paths(card)
        if repo is None or not repo.is_dir():
            return (f"no ESC checkout: set ${REPO_ENV} (or options.repo in {card.source}) to a clone of the ESC "
                    "repository (not on PyPI)" + (f"; {repo} does not exist" if repo else ""))
        if ckpt is None or not (ckpt / "config.yaml").is_file() or not (ckpt / "model.pth").is_file():
            return (f"no ESC checkpoint: set ${CKPT_ENV} (or weights.path in {card.source}) to a folder with "
                    "config.yaml and model.pth" + (f"; {ckpt} lacks them" if ckpt else ""))
        return None

    def _build(self):
        repo, ckpt = _paths(self.card)
        cfg = yaml.safe_load((ckpt / "config.yaml").read_text()) or {}
        cfg = cfg.get("model", cfg) if isinstance(cfg, dict) else cfg
        if not isinstance(cfg, dict):
            raise BenchError(f"{ckpt / 'config.yaml'}: expected a mapping of ESC constructor arguments")
        self._cfg = cfg
        return _import_esc(repo)(**cfg)

    def build_random(self):
        return self._build()

    def load(self, ref: WeightsRef):
        model = self._build()
        path = Path(_paths(self.card)[1]) / "model.pth"
        sd = read_state_dict(path)  # weights_only=True; unwraps "model_state_dict"-style wrappers
        sd = sd.get("model_state_dict", sd)
        result = model.load_state_dict(sd, strict=False)
        if result.missing_keys or result.unexpected_keys:
            raise BenchError(f"{path}: does not fit config.yaml ({len(result.missing_keys)} missing, "
                             f"{len(result.unexpected_keys)} unexpected keys)")
        return model, path

    def is_marked_untrained(self) -> bool:
        return False

    def _streams(self) -> int:
        per = float(self.card.options.get("kbps_per_stream", 1.5))
        n = (self.bitrate or per * int(self._cfg.get("max_streams", 6))) / per
        if abs(n - round(n)) > 1e-6:
            raise BenchError(f"{self.setting.label}: ESC bitrates are multiples of {per} kbps")
        return int(round(n))

    def model_spec(self) -> CodecSpec:
        size = int(self._cfg.get("codebook_size", 1024))
        per = float(self.card.options.get("kbps_per_stream", 1.5))
        return CodecSpec(sample_rate=int(self._cfg.get("sr", 16000)), nominal_kbps=self._streams() * per,
                         codebook_size=size, params_m=param_count_m(self.model),
                         num_codebooks=self._streams() * int(self._cfg.get("group_size", 3)),
                         frame_rate=per * 1000 / math.log2(size) / int(self._cfg.get("group_size", 3)))

    def encode_tokens(self, x) -> tuple[np.ndarray, dict[str, Any]]:
        codes, pshape = self.model.encode(x.view(1, -1), num_streams=self._streams())
        shape = tuple(codes.shape)
        # ESC's codes are (batch, streams, groups, frames)-like: flatten everything but time
        return codes.reshape(-1, shape[-1]).cpu().numpy(), {"shape": shape, "pshape": pshape}

    def decode_tokens(self, codes, meta: dict[str, Any]):
        y = self.model.decode(codes.reshape(meta["shape"]), meta["pshape"])
        return y.reshape(-1)[: meta["n_samples"]]
