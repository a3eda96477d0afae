"""ESC (Gu & Deng, arXiv 2404.19441) run through its own model code.

ESC is not on PyPI. Its MIT-licensed model code is vendored unchanged in ``third_party/esc`` (with
its LICENSE and SOURCES.md; the card's ``options.repo``), and ``$BENCH_ESC_REPO`` points to another
checkout instead. Weights: ``$BENCH_ESC_CHECKPOINT`` (or the card's ``weights.path``) is a folder
with ``config.yaml`` + ``model.pth`` as ESC's releases ship them; without one, ``--allow-untrained``
builds the card's config (ESC-Base, ``options.config``) with random weights, labelled untrained.
Bitrate = number of streams x 1.5 kbps (1-6 streams).

Imports. ESC's package imports more than inference needs, and two of those imports fail here:
``esc/__init__`` and ``esc/models/__init__`` also import the GAN discriminator (training only,
needs descript-audiotools), and the STFT front end uses ``torchaudio.transforms.Spectrogram`` /
``InverseSpectrogram`` while the torchaudio wheel on the index does not import with the CPU torch.
So, without editing ESC's files: the two re-exporting ``__init__`` modules are skipped (bare package
objects; ``esc.models.codecs`` is imported directly), and only when the real package cannot be
imported, two minimal stand-ins are visible *while ESC's modules load* (then removed from
``sys.modules``, so no other code sees them): ``torchaudio.transforms`` with exactly torchaudio's
``Spectrogram``/``InverseSpectrogram`` computation (``torch.stft``/``torch.istft`` with a Hann
window buffer named ``window``, so ESC checkpoints load), and ``timm.models.layers`` with
``trunc_normal_`` (timm's is a copy of ``torch.nn.init.trunc_normal_``) and ``to_2tuple``. The
mel-spectrogram loss that also imports torchaudio is training-only and never instantiated.
"""

from __future__ import annotations

import importlib
import math
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from bench.adapters import register_adapter
from bench.adapters.base import CodecCard, CodecSpec
from bench.adapters.hf import read_state_dict
from bench.adapters.neural import NeuralCodec, WeightsRef, param_count_m
from bench.errors import BenchError, ConfigError
from bench.resources import data_root

REPO_ENV, CKPT_ENV = "BENCH_ESC_REPO", "BENCH_ESC_CHECKPOINT"


def _repo_path(value: str | None) -> Path | None:
    if not value:
        return None
    p = Path(value).expanduser()
    return p if p.is_absolute() else data_root() / p


def _paths(card: CodecCard, checkpoints=()) -> tuple[Path | None, Path | None]:
    """(ESC's code, checkpoint): the ``BENCH_ESC_REPO`` / ``BENCH_ESC_CHECKPOINT`` entries of a run's
    ``checkpoints``, else the card's options.repo / weights.path."""
    given = dict(checkpoints)
    repo = given.get(REPO_ENV) or card.options.get("repo")
    ckpt = given.get(CKPT_ENV) or (card.weights or {}).get("path")
    return _repo_path(repo), _repo_path(ckpt)


def _torchaudio_standin() -> dict[str, types.ModuleType]:
    """``torchaudio.transforms`` with the two STFT transforms ESC's model uses, computed as torchaudio does."""
    import torch

    class Spectrogram(torch.nn.Module):
        def __init__(self, n_fft: int = 400, win_length: int | None = None, hop_length: int | None = None,
                     pad: int = 0, window_fn=torch.hann_window, power: float | None = 2.0,
                     normalized: bool = False, wkwargs: dict | None = None, center: bool = True,
                     pad_mode: str = "reflect", onesided: bool = True) -> None:
            super().__init__()
            if pad or normalized:
                raise NotImplementedError("codecbench's torchaudio stand-in supports pad=0, normalized=False only")
            self.n_fft, self.win_length = n_fft, win_length or n_fft
            self.hop_length = hop_length or self.win_length // 2
            self.power, self.center, self.pad_mode, self.onesided = power, center, pad_mode, onesided
            self.register_buffer("window", window_fn(self.win_length, **(wkwargs or {})))

        def forward(self, waveform):
            shape = waveform.size()
            stft = torch.stft(waveform.reshape(-1, shape[-1]), n_fft=self.n_fft, hop_length=self.hop_length,
                              win_length=self.win_length, window=self.window, center=self.center,
                              pad_mode=self.pad_mode, normalized=False, onesided=self.onesided, return_complex=True)
            stft = stft.reshape(shape[:-1] + stft.shape[-2:])
            if self.power is None:
                return stft
            return stft.abs() if self.power == 1.0 else stft.abs().pow(self.power)

    class InverseSpectrogram(torch.nn.Module):
        def __init__(self, n_fft: int = 400, win_length: int | None = None, hop_length: int | None = None,
                     pad: int = 0, window_fn=torch.hann_window, normalized: bool = False,
                     wkwargs: dict | None = None, center: bool = True, pad_mode: str = "reflect",
                     onesided: bool = True) -> None:
            super().__init__()
            if pad or normalized:
                raise NotImplementedError("codecbench's torchaudio stand-in supports pad=0, normalized=False only")
            self.n_fft, self.win_length = n_fft, win_length or n_fft
            self.hop_length = hop_length or self.win_length // 2
            self.center, self.onesided = center, onesided
            self.register_buffer("window", window_fn(self.win_length, **(wkwargs or {})))

        def forward(self, spectrogram, length: int | None = None):
            if not spectrogram.is_complex():
                raise ValueError("Expected `spectrogram` to be complex dtype.")
            shape = spectrogram.size()
            wave = torch.istft(spectrogram.reshape(-1, shape[-2], shape[-1]), n_fft=self.n_fft,
                               hop_length=self.hop_length, win_length=self.win_length, window=self.window,
                               center=self.center, normalized=False, onesided=self.onesided, length=length,
                               return_complex=False)
            return wave.reshape(shape[:-2] + wave.shape[-1:])

    top = types.ModuleType("torchaudio")
    transforms = types.ModuleType("torchaudio.transforms")
    transforms.Spectrogram, transforms.InverseSpectrogram = Spectrogram, InverseSpectrogram
    top.transforms = transforms
    top.__codecbench_standin__ = True
    return {"torchaudio": top, "torchaudio.transforms": transforms}


def _timm_standin() -> dict[str, types.ModuleType]:
    import torch

    def to_2tuple(x):
        return tuple(x) if isinstance(x, (list, tuple)) else (x, x)

    top, models, layers = (types.ModuleType(n) for n in ("timm", "timm.models", "timm.models.layers"))
    layers.trunc_normal_, layers.to_2tuple = torch.nn.init.trunc_normal_, to_2tuple
    top.models, models.layers = models, layers
    return {"timm": top, "timm.models": models, "timm.models.layers": layers}


def _importable(module: str) -> bool:
    """Whether the real package imports (torchaudio's CUDA wheel raises OSError here); no leftovers."""
    before = set(sys.modules)
    try:
        importlib.import_module(module)
        return True
    except Exception:
        for name in set(sys.modules) - before:
            del sys.modules[name]
        return False


_ESC_CLASS: dict[str, Any] = {}


def _import_esc(repo: Path):
    """ESC's model class from a checkout: layout ``esc/models/codecs.py``, or a checkout whose code
    is the top-level module ``models``."""
    key = str(repo.resolve())
    if key in _ESC_CLASS:
        return _ESC_CLASS[key]
    if _ESC_CLASS:
        raise BenchError(f"{repo}: ESC was already imported from {next(iter(_ESC_CLASS))} in this process; "
                         "use one ESC checkout per run")
    standins: dict[str, types.ModuleType] = {}
    if not _importable("torchaudio.transforms"):
        standins.update(_torchaudio_standin())
    if not _importable("timm.models.layers"):
        standins.update(_timm_standin())
    saved = {name: sys.modules.get(name) for name in standins}
    sys.modules.update(standins)
    errors = []
    try:
        if (repo / "esc" / "models" / "codecs.py").is_file():
            for name, folder in (("esc", repo / "esc"), ("esc.models", repo / "esc" / "models")):
                package = types.ModuleType(name)
                package.__path__ = [str(folder)]  # a bare package: its __init__ (re-exports) is not run
                sys.modules[name] = package
            try:
                cls = importlib.import_module("esc.models.codecs").ESC
            except Exception as exc:
                for name in [n for n in sys.modules if n == "esc" or n.startswith("esc.")]:
                    del sys.modules[name]
                errors.append(f"esc.models.codecs: {type(exc).__name__}: {exc}")
                cls = None
        else:
            cls = None
            if str(repo) not in sys.path:
                sys.path.insert(0, str(repo))
            try:
                cls = getattr(importlib.import_module("models"), "ESC")
            except Exception as exc:
                errors.append(f"models: {type(exc).__name__}: {exc}")
    finally:
        for name, module in saved.items():  # stand-ins stay visible to ESC's modules only
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    if cls is None:
        raise BenchError(f"{repo}: cannot import ESC from this checkout ({'; '.join(errors)})")
    _ESC_CLASS[key] = cls
    return cls


@register_adapter("esc")
class Esc(NeuralCodec):
    requires = ("einops",)

    @classmethod
    def availability(cls, card: CodecCard, checkpoints=()) -> str | None:
        reason = super().availability(card)
        if reason:
            return reason
        repo, _ = _paths(card, checkpoints)
        if repo is None or not repo.is_dir():
            return (f"no ESC code: set ${REPO_ENV} (or options.repo in {card.source}) to a checkout of the ESC "
                    "repository (not on PyPI)" + (f"; {repo} does not exist" if repo else ""))
        return None

    def _build(self, config: Path):
        repo, _ = _paths(self.card, self.options.checkpoints)
        if not config.is_file():
            raise BenchError(f"codec {self.card.name!r}: ESC config {config} not found")
        cfg = yaml.safe_load(config.read_text()) or {}
        cfg = cfg.get("model", cfg) if isinstance(cfg, dict) else cfg
        if not isinstance(cfg, dict):
            raise BenchError(f"{config}: expected a mapping of ESC constructor arguments (or a 'model:' section)")
        self._cfg = cfg
        self._config_file = config
        return _import_esc(repo)(**cfg)

    def build_random(self):
        config = _repo_path(self.card.options.get("config"))
        if config is None:
            raise ConfigError(f"{self.card.source}: options.config (the ESC model config to build) is not set")
        return self._build(config)

    def load(self, ref: WeightsRef):
        ckpt = Path(ref.location or "")
        if not (ckpt / "config.yaml").is_file() or not (ckpt / "model.pth").is_file():
            raise BenchError(f"codec {self.card.name!r}: checkpoint folder {ckpt} ({ref.via}) must hold "
                             "config.yaml and model.pth")
        model = self._build(ckpt / "config.yaml")
        path = ckpt / "model.pth"
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

    def _frame(self) -> tuple[int, int]:
        """(STFT hop, samples per token frame): hop x time patch x frames quantized together."""
        hop = int(float(self._cfg.get("hop_len", 5)) * int(self._cfg.get("sr", 16000)) * 1e-3)
        return hop, hop * int((self._cfg.get("patch_size") or [3, 2])[1]) * int(self._cfg.get("overlap", 2))

    def encode_tokens(self, x) -> tuple[np.ndarray, dict[str, Any]]:
        # ESC quantizes whole token frames (320 samples for ESC-Base) and its inverse STFT drops
        # the last hop, so pad with zeros to whole frames covering the input plus one hop; the
        # padding's tokens are sent (and counted), the decoded padding is trimmed off.
        hop, frame = self._frame()
        n = x.shape[-1]
        x = self.torch.nn.functional.pad(x.view(1, -1), (0, frame * math.ceil((n + hop) / frame) - n))
        codes, pshape = self.model.encode(x, num_streams=self._streams())
        shape = tuple(codes.shape)
        # ESC's codes are (batch, streams, groups, frames)-like: flatten everything but time
        return codes.reshape(-1, shape[-1]).cpu().numpy(), {"shape": shape, "pshape": pshape}

    def decode_tokens(self, codes, meta: dict[str, Any]):
        y = self.model.decode(codes.reshape(meta["shape"]), meta["pshape"])
        return y.reshape(-1)[: meta["n_samples"]]
