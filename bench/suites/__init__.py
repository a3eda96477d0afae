"""Suites: named item lists from ``datasets.yaml``, or any manifest path given to ``--suite``."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench import locations
from bench.audio import AudioPolicy
from bench.errors import ConfigError, UnknownNameError
from bench.suites.items import Item
from bench.suites.manifests import loader, read_manifest
from bench.suites import corpora  # noqa: E402,F401  (registers the corpus loaders)
from bench.suites.corpora.common import corpus_root_env, missing_corpus_message
from bench.suites.selection import Selection
from bench.resources import data_root

REPO_ROOT = data_root()  # where datasets.yaml and the demo data are (a checkout or the wheel's bench/_data)
__all__ = ["Item", "Suite", "load_suite", "suite_entries", "datasets_file", "select_items", "Selection", "suite_root",
           "datasets_files", "suite_overrides"]


def datasets_files() -> list[Path]:
    """The repo's ``datasets.yaml``, then every extra datasets file of the locations (CLI:
    ``$BENCH_DATASETS``, os.pathsep-separated files, or folders whose ``*.yaml`` are read in name
    order): like extra card folders, they add suites, and a suite named like an earlier one
    replaces it (see :func:`suite_overrides`)."""
    files = [REPO_ROOT / "datasets.yaml"]
    for part in locations.current().datasets:
        p = Path(part).expanduser()
        files += sorted(p.glob("*.yaml")) if p.is_dir() else [p]
    return files


def datasets_file(name: str | None = None) -> Path:
    """The datasets file that defines suite ``name`` (relative paths in it resolve against its
    folder); without a name, the repo's ``datasets.yaml``."""
    return _suite_sources().get(name, REPO_ROOT / "datasets.yaml") if name else REPO_ROOT / "datasets.yaml"


def _read_datasets(path: Path) -> dict[str, dict[str, Any]]:
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: datasets file not found (from BENCH_DATASETS)") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: malformed YAML ({exc})") from exc
    suites = raw.get("suites") if isinstance(raw, dict) else None
    if not isinstance(suites, dict):
        raise ConfigError(f"{path}: expected a top-level 'suites:' mapping")
    for name, entry in suites.items():
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: suite {name!r} must be a mapping")
    return suites


def _suite_sources() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for f in datasets_files():
        for name in _read_datasets(f):
            out[name] = f
    return out


def suite_overrides() -> list[dict[str, str]]:
    """Suites that replace another of the same name: ``[{name, used, replaced}]`` (file paths)."""
    seen: dict[str, Path] = {}
    out = []
    for f in datasets_files():
        for name in _read_datasets(f):
            if name in seen:
                out.append({"name": name, "used": str(f), "replaced": str(seen[name])})
            seen[name] = f
    return out


@dataclass
class Suite:
    name: str
    items: list[Item]
    policy: AudioPolicy
    entry: dict[str, Any] = field(default_factory=dict)  # the suite's datasets.yaml entry (aliases followed)
    source: str = ""  # manifest or root the items came from

    @property
    def fields(self) -> set[str]:
        """Fields at least one item has. A metric that needs text runs when any item has a
        transcript: items without one become that metric's failed rows ("needs the item's
        reference transcript"), counted, instead of the whole suite losing the metric."""
        return set().union(*(it.fields() for it in self.items)) if self.items else set()

    def content_hash(self) -> str:
        """Hash of what defines the numbers: ids, relative paths, texts, speakers, file sizes."""
        h = hashlib.sha256()
        for it in sorted(self.items, key=lambda i: i.id):
            size = it.path.stat().st_size if it.path.exists() else -1
            h.update(json.dumps([it.id, it.path.name, it.text, it.speaker, size]).encode())
        return h.hexdigest()


def suite_entries() -> dict[str, dict[str, Any]]:
    """Every suite by name, merged over :func:`datasets_files` (later files win)."""
    suites: dict[str, dict[str, Any]] = {}
    for f in datasets_files():
        suites.update(_read_datasets(f))
    return suites  # aliases are followed by resolve_alias


def resolve_alias(name: str, entries: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    """Follow ``alias:`` entries (``librispeech: {alias: librispeech-test-clean}``) to the suite
    that has the data; returns its entry and the names passed through, in order, ending with the
    suite that defines the entry (each may carry a ``BENCH_DATA_<SUITE>`` override; relative paths
    resolve against the last one's datasets file). An alias to no suite, or a loop, is an error
    naming the file."""
    entry, seen = dict(entries[name]), [name]
    while "alias" in entry:
        target = entry["alias"]
        if target in seen or target not in entries:
            raise ConfigError(f"{datasets_file(name)}: suite {name!r} has a bad alias {target!r}"
                              + (" (a loop)" if target in seen else " (no such suite)"))
        seen.append(target)
        entry = dict(entries[target])
    return entry, seen


def _policy(entry: dict[str, Any]) -> AudioPolicy:
    keys = set(AudioPolicy.__dataclass_fields__)
    return AudioPolicy(**{k: entry[k] for k in keys if k in entry})


def load_suite(name_or_path: str) -> Suite:
    """A suite by name from datasets.yaml, or a manifest file path (CSV or NeMo JSON lines)."""
    path = Path(name_or_path)
    if path.suffix.lower() in {".csv", ".json", ".jsonl"}:
        if not path.exists():
            raise ConfigError(f"{path}: manifest not found")
        return Suite(name=path.stem, items=read_manifest(path), policy=AudioPolicy(), source=str(path.resolve()))
    entries = suite_entries()
    if name_or_path not in entries:
        raise UnknownNameError("suite", name_or_path, entries)
    entry, seen = resolve_alias(name_or_path, entries)
    fmt = entry.get("format", "csv")
    src = suite_root(name_or_path, entry, seen)
    if "root" in entry and not src.exists():
        raise ConfigError(missing_corpus_message(name_or_path, entry, src))
    items = loader(fmt)(src, entry)
    return Suite(name=name_or_path, items=items, policy=_policy(entry), entry=entry, source=str(src))


def suite_root(name: str, entry: dict[str, Any], names: list[str] | None = None) -> Path:
    """Where a suite's manifest or corpus root is: ``BENCH_DATA_<SUITE>`` (for the suite or any
    alias it went through) overrides the datasets.yaml value, so one corpus can live elsewhere."""
    for candidate in [name, *sorted(set(names or ()) - {name})]:
        override = locations.current().get(corpus_root_env(candidate))
        if override and "root" in entry:
            return Path(override).expanduser()
    source = entry.get("manifest") or entry.get("root")
    if not source:
        raise ConfigError(f"{datasets_file(name)}: suite {name!r} needs 'manifest' or 'root'")
    expanded = locations.current().expand(str(source))
    if "$" in expanded:
        raise ConfigError(
            f"{datasets_file(name)}: suite {name!r} root {source!r} uses an unset variable; "
            f"set BENCH_DATA to the folder holding your corpora (or {corpus_root_env(name)} to this corpus's root)"
        )
    src = Path(expanded).expanduser()
    return src if src.is_absolute() else datasets_file((names or [name])[-1]).parent / src


def select_items(items: list[Item], limit: "int | Selection | None") -> list[Item]:
    """A deterministic subset spread over the suite: items ordered by a hash of their id.

    Taking the first N rows would pick one speaker of a speaker-sorted manifest; hashing spreads
    the subset while staying identical on every machine and run.
    """
    if isinstance(limit, Selection):
        return limit.apply(items)
    if not limit or limit >= len(items):
        return list(items)
    keyed = sorted(items, key=lambda it: hashlib.sha1(it.id.encode()).hexdigest())
    chosen = {it.id for it in keyed[:limit]}
    return [it for it in items if it.id in chosen]
