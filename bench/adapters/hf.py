"""Loading transformers audio-codec models (EnCodec, DAC) from a folder, a state-dict file or a hub id.

transformers gives these architectures without torchaudio (the original ``encodec`` and
``descript-audio-codec`` packages import torchaudio, which is broken here). All loads are safe:
safetensors, or ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from bench.adapters.neural import UNTRAINED_MARKER, WeightsRef, hub_snapshot
from bench.errors import BenchError

#: files a transformers checkpoint folder needs (safetensors only: no pickle from the hub)
HUB_PATTERNS = ["config.json", "*.safetensors", "preprocessor_config.json"]


def folder_weights_file(folder: Path) -> Path:
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (folder / name).exists():
            return folder / name
    shards = sorted(folder.glob("*.safetensors"))
    if shards:
        return shards[0]
    raise BenchError(f"{folder}: no model.safetensors (or pytorch_model.bin) in this checkpoint folder")


def read_state_dict(path: Path) -> dict[str, Any]:
    """A .safetensors / .th / .pth / .pt file -> state dict, never unpickling arbitrary objects."""
    import torch

    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            sd = load_file(str(path))
        else:
            sd = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise BenchError(f"{path}: cannot read as a state dict ({type(exc).__name__}: {exc})") from exc
    for key in ("state_dict", "model", "generator"):  # common wrappers around the real dict
        if isinstance(sd, dict) and key in sd and isinstance(sd[key], dict):
            sd = {**sd[key], **({UNTRAINED_MARKER: sd[UNTRAINED_MARKER]} if UNTRAINED_MARKER in sd else {})}
    if not isinstance(sd, dict):
        raise BenchError(f"{path}: expected a dict of tensors, got {type(sd).__name__}")
    return sd


def load_state_into(model, sd: dict[str, Any], path: Path, rename: Callable[[str], str] | None = None) -> bool:
    """Load strictly; returns whether the file carried the untrained marker."""
    marker = bool(sd.pop(UNTRAINED_MARKER, False))
    if rename is not None:
        sd = {rename(k): v for k, v in sd.items()}
    try:
        result = model.load_state_dict(sd, strict=False)
    except RuntimeError as exc:  # tensor shapes differ
        raise BenchError(f"{path}: state dict does not fit the card's architecture "
                         f"({str(exc).splitlines()[1].strip() if len(str(exc).splitlines()) > 1 else exc}); "
                         "check the card's options.config") from exc
    missing = [k for k in result.missing_keys]
    unexpected = list(result.unexpected_keys)
    if missing or unexpected:
        raise BenchError(f"{path}: state dict does not fit the card's architecture: "
                         f"{len(missing)} missing (e.g. {missing[:3]}), {len(unexpected)} unexpected "
                         f"(e.g. {unexpected[:3]}); check the card's options.config")
    return marker


def load_hf(model_cls, config_factory: Callable[[], Any], card, ref: WeightsRef,
            rename: Callable[[str], str] | None = None) -> tuple[Any, Path, bool]:
    """-> (model, weights file, marked untrained) for a folder, a single file or a hub id."""
    if ref.kind == "hub":
        folder = hub_snapshot(card, ref.location, HUB_PATTERNS)
        path = folder
    else:
        path = Path(ref.location)
    if path.is_dir():
        if not (path / "config.json").exists():
            raise BenchError(f"{path}: not a save_pretrained folder (no config.json)")
        try:
            model = model_cls.from_pretrained(str(path), local_files_only=True)
        except Exception as exc:
            raise BenchError(f"{path}: cannot load {model_cls.__name__} ({type(exc).__name__}: {exc})") from exc
        return model, folder_weights_file(path), bool(getattr(model.config, UNTRAINED_MARKER, False))
    model = model_cls(config_factory())
    marker = load_state_into(model, read_state_dict(path), path, rename)
    return model, path, marker


def save_untrained(model, folder: Path) -> Path:
    """Write a random-init model as a save_pretrained folder, marked untrained (tests, demos)."""
    setattr(model.config, UNTRAINED_MARKER, True)
    try:
        model.save_pretrained(str(folder))
    finally:
        delattr(model.config, UNTRAINED_MARKER)  # the in-memory model stays as it was
    return Path(folder)
