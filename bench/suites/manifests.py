"""Manifest readers (lhotse-style: a suite is a list of items, read from a file).

Two formats: CSV with columns ``id,path,speaker,text`` (paths relative to the manifest's folder,
extra columns kept in ``Item.extra``), and NeMo JSON lines (``audio_filepath``, ``text``,
``duration``, ``speaker``). Corpus-specific layouts (LibriSpeech, VoxCeleb...) register further
loaders with :func:`register_loader`.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.errors import ConfigError
from bench.registry import Registry
from bench.suites.items import Item

Loader = Callable[[Path, dict[str, Any]], list[Item]]
_LOADERS: Registry[Loader] = Registry("suite format")


def register_loader(name: str) -> Callable[[Loader], Loader]:
    return _LOADERS.register(name)


def loader(name: str) -> Loader:
    return _LOADERS.get(name)


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _float(value: Any, where: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: duration {value!r} is not a number") from exc


@register_loader("csv")
def read_csv_manifest(path: Path, options: dict[str, Any] | None = None) -> list[Item]:
    if not path.exists():
        raise ConfigError(f"{path}: manifest not found")
    items: list[Item] = []
    with path.open(newline="", encoding="utf-8-sig") as fh:  # a BOM from Excel is not part of a column name
        reader = csv.DictReader(fh)
        cols = set(reader.fieldnames or [])
        if not {"id", "path"} <= cols:
            raise ConfigError(f"{path}: CSV manifest needs columns id,path (has: {', '.join(sorted(cols)) or 'none'})")
        for lineno, row in enumerate(reader, start=2):
            where = f"{path}:{lineno}"
            if not _clean(row.get("path")):
                raise ConfigError(f"{where}: row {row.get('id')!r} has no audio path")
            if not _clean(row.get("id")):
                raise ConfigError(f"{where}: row has no id")
            extra = {k: v for k, v in row.items() if k not in {"id", "path", "speaker", "text", "duration"}}
            items.append(Item(
                id=row["id"].strip(), path=_absolute(path.parent / row["path"].strip()),
                speaker=_clean(row.get("speaker")), text=_clean(row.get("text")),
                duration=_float(row.get("duration"), where), extra=extra,
            ))
    return _unique(items, path)


@register_loader("jsonl")
def read_jsonl_manifest(path: Path, options: dict[str, Any] | None = None) -> list[Item]:
    """NeMo manifests: one JSON object per line; ids default to the audio file's stem."""
    if not path.exists():
        raise ConfigError(f"{path}: manifest not found")
    items: list[Item] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where}: not valid JSON ({exc.msg})") from exc
        audio = _clean(row.get("audio_filepath"))
        if not audio:
            raise ConfigError(f"{where}: entry has no audio_filepath")
        audio_path = _absolute(path.parent / audio)
        extra = {k: v for k, v in row.items() if k not in {"audio_filepath", "text", "duration", "speaker", "id"}}
        items.append(Item(
            id=str(row.get("id") or Path(audio).stem), path=audio_path,
            speaker=_clean(row.get("speaker")), text=_clean(row.get("text")),
            duration=_float(row.get("duration"), where), extra=extra,
        ))
    return _unique(items, path)


def _absolute(path: Path) -> Path:
    """Absolute without following links: a symlink loop or a dangling link must become that
    item's failed row when it is read, not abort the whole run here (Path.resolve raises)."""
    return Path(os.path.abspath(path))


def _unique(items: list[Item], path: Path) -> list[Item]:
    seen: set[str] = set()
    for it in items:
        if it.id in seen:
            raise ConfigError(f"{path}: duplicate item id {it.id!r}")
        seen.add(it.id)
    if not items:
        raise ConfigError(f"{path}: manifest lists no items")
    return items


def read_manifest(path: Path) -> list[Item]:
    """Pick the reader by extension (.csv, or .json/.jsonl for NeMo manifests)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv_manifest(path)
    if suffix in {".json", ".jsonl"}:
        return read_jsonl_manifest(path)
    raise ConfigError(f"{path}: unknown manifest type {suffix!r} (use .csv or .jsonl)")
