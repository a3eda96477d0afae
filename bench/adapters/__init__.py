"""Codec adapters and their cards.

Adding a codec is one adapter module in this package (decorated with :func:`register_adapter`)
plus one YAML card in the top-level ``codecs/`` folder. Modules here are imported lazily by
:func:`adapter_class`, so a missing optional package only disables the codecs that need it.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import TypeVar

import yaml

from bench import resources
from bench.adapters.base import Codec, CodecCard, CodecOptions, CodecSetting, Payload, format_kbps
from bench.errors import ConfigError, UnknownNameError, BenchError
from bench.registry import Registry

__all__ = [
    "Codec", "CodecCard", "CodecOptions", "CodecSetting", "Payload", "adapter_class", "load_cards", "parse_setting",
    "create_codec", "register_adapter", "cards_dirs", "card_overrides", "ADD_CARD_HINT",
]

_ADAPTERS: Registry[type[Codec]] = Registry("adapter")
C = TypeVar("C", bound=type[Codec])


def register_adapter(name: str):
    """Class decorator: make an adapter available to cards as ``adapter: NAME``."""

    def wrap(cls: C) -> C:
        cls.adapter_name = name
        return _ADAPTERS.add(name, cls)

    return wrap


def _module_for(adapter: str) -> list[str]:
    names = [m.name for m in pkgutil.iter_modules(__path__) if m.name != "base"]
    # Convention: adapter 'pyav' lives in pyav.py; fall back to scanning every module.
    return [adapter] + [n for n in names if n != adapter] if adapter in names else names


def adapter_class(adapter: str) -> type[Codec]:
    if adapter in _ADAPTERS:
        return _ADAPTERS.get(adapter)
    for module in _module_for(adapter):  # only as far as the module that registers it
        try:
            importlib.import_module(f"{__name__}.{module}")
        except ImportError:
            continue  # an adapter whose package is missing; reported via availability()
        if adapter in _ADAPTERS:
            return _ADAPTERS.get(adapter)
    raise UnknownNameError("adapter", adapter, _ADAPTERS.registered())


def cards_dirs() -> list[Path]:
    """The stock ``codecs/`` folder, then user folders (see :func:`bench.resources.cards_dirs`)."""
    return resources.cards_dirs()


_REQUIRED = ("name", "adapter", "sample_rate")


def read_card(path: Path) -> CodecCard:
    """Parse and validate one card, naming the file and field in every error."""
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: malformed YAML ({exc})") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a codec card must be a YAML mapping")
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise ConfigError(f"{path}: missing required field(s): {', '.join(missing)}")
    known = set(CodecCard.__dataclass_fields__) - {"source", "supported_range"}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"{path}: unknown field(s): {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(known))}")
    try:
        bitrates = tuple(float(b) for b in raw.get("bitrates") or ())
        sample_rate = int(raw["sample_rate"])
        default = raw.get("default_bitrate")
        default = float(default) if default is not None else (bitrates[0] if bitrates else None)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: bad number in sample_rate/bitrates/default_bitrate ({exc})") from exc
    options = raw.get("options") or {}
    if not isinstance(options, dict):
        raise ConfigError(f"{path}: 'options' must be a mapping")
    delay = raw.get("delay_samples")
    if delay is not None and (isinstance(delay, bool) or not isinstance(delay, int) or delay < 0):
        raise ConfigError(f"{path}: delay_samples must be a whole number of samples, 0 or more (got {delay!r})")
    supported, supported_range = _supported(path, raw.get("supported"))
    card = CodecCard(
        name=str(raw["name"]), adapter=str(raw["adapter"]), sample_rate=sample_rate,
        bitrates=bitrates, default_bitrate=default, description=str(raw.get("description", "")),
        options=options, weights=raw.get("weights"), delay_samples=delay, source=str(path), supported=supported,
        supported_range=supported_range,
    )
    only = CodecCard(card.name, card.adapter, card.sample_rate, supported=supported, supported_range=supported_range)
    if (supported or supported_range) and not all(only.accepts(b) for b in bitrates):
        raise ConfigError(f"{path}: bitrates {list(bitrates)} must lie within supported ({card.describe_supported()})")
    return card


def _supported(path: Path, raw) -> tuple[tuple[float, ...], tuple[float, float] | None]:
    """``supported:`` is a list of extra settings, or ``{min: LO, max: HI}`` (any value between)."""
    if raw is None:
        return (), None
    try:
        if isinstance(raw, dict):
            if set(raw) != {"min", "max"}:
                raise ConfigError(f"{path}: supported must be a list of kbps or a mapping {{min: LO, max: HI}}")
            lo, hi = float(raw["min"]), float(raw["max"])
            if not 0 < lo <= hi:
                raise ConfigError(f"{path}: supported: need 0 < min <= max, got {lo}, {hi}")
            return (), (lo, hi)
        if isinstance(raw, list):
            return tuple(float(b) for b in raw), None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: bad number in supported ({exc})") from exc
    raise ConfigError(f"{path}: supported must be a list of kbps or a mapping {{min: LO, max: HI}}")


#: how to add or change a codec setting, appended to every "unknown codec / bitrate" error
ADD_CARD_HINT = ("to add one, put a YAML card (copy codecs/opus.yaml and edit name, bitrates, supported) "
                 "in a folder of your own and set BENCH_CODECS=/that/folder; a card named like a stock one "
                 "replaces it")


def load_cards() -> dict[str, CodecCard]:
    """Every card by name; a later folder (``$BENCH_CODECS``) replaces a stock card of the same name
    (see :func:`card_overrides`, reported at run start and recorded in the manifest)."""
    cards: dict[str, CodecCard] = {}
    for d in cards_dirs():
        for path in sorted(d.glob("*.yaml")):
            card = read_card(path)
            cards[card.name] = card
    return cards


def card_overrides() -> list[dict[str, str]]:
    """Cards that replace another of the same name: ``[{name, used, replaced}]`` (file paths)."""
    seen: dict[str, str] = {}
    out = []
    for d in cards_dirs():
        for path in sorted(d.glob("*.yaml")):
            card = read_card(path)
            if card.name in seen:
                out.append({"name": card.name, "used": str(path), "replaced": seen[card.name]})
            seen[card.name] = str(path)
    return out


def parse_setting(request: str, cards: dict[str, CodecCard] | None = None) -> CodecSetting:
    """``opus@6`` -> CodecSetting(opus card, 6.0); ``opus`` -> its default bitrate."""
    cards = load_cards() if cards is None else cards
    name, _, rate = request.strip().partition("@")
    if name not in cards:
        err = UnknownNameError("codec", name, cards)
        err.args = (f"{err}; {ADD_CARD_HINT}",)
        raise err
    card = cards[name]
    if not rate:
        return CodecSetting(card, card.default_bitrate)
    try:
        kbps = float(rate)
    except ValueError as exc:
        raise BenchError(f"codec {request!r}: bitrate {rate!r} is not a number") from exc
    if not card.bitrates and not card.supported and card.supported_range is None:
        raise BenchError(f"codec {name!r} has no bitrate settings; use plain {name!r}")
    if not card.accepts(kbps):
        raise BenchError(f"codec {name!r} does not support {rate} kbps; supported: {card.describe_supported()} "
                         f"(card {card.source}); if the codec itself accepts it, copy that card into a folder of "
                         f"your own, add the value to its supported list and set BENCH_CODECS=/that/folder (a card "
                         f"named like a stock one replaces it)")
    return CodecSetting(card, kbps)


def create_codec(setting: str | CodecSetting, options: CodecOptions | None = None) -> Codec:
    """Build a codec for a setting (or its text, ``opus@6``); ``options`` (untrained allowed, device):
    None is ``CodecOptions()`` (cpu, trained weights only)."""
    setting = parse_setting(setting) if isinstance(setting, str) else setting
    cls = adapter_class(setting.card.adapter)
    reason = cls.availability(setting.card, options.checkpoints if options is not None else ())
    if reason:
        from bench.errors import UnavailableError

        raise UnavailableError(f"codec {setting.label!r} is unavailable here: {reason}")
    return cls(setting, options)
