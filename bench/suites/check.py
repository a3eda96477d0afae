"""``bench data check``: for each suite, where its data is looked for, whether it is there, and
how to get it. Shallow by default (does the root exist?); ``deep`` loads the items and checks
every audio file, which is what a user wants for the one suite they are about to run."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.suites import load_suite, resolve_alias, suite_root, suite_entries
from bench.suites.corpora.common import corpus_root_env, how_to_get


@dataclass
class SuiteStatus:
    suite: str
    status: str  # present | missing | incomplete | error
    looked_at: str
    items: int | None = None
    expected_items: int | None = None
    missing_files: list[str] = field(default_factory=list)
    how: str = ""
    detail: str = ""

    def as_row(self) -> dict[str, Any]:
        n = "" if self.items is None else str(self.items)
        if self.expected_items and self.items is not None:
            n += f"/{self.expected_items}"
        return {"suite": self.suite, "status": self.status, "items": n, "looked at": self.looked_at,
                "next step": self.detail or ("ready" if self.status == "present" else self.how)}


def check_suite(name: str, deep: bool = False) -> SuiteStatus:
    entries = suite_entries()
    try:
        entry, seen = resolve_alias(name, entries)
    except BenchError as exc:
        return SuiteStatus(name, "missing", "(unresolved)", how="fix the alias in datasets.yaml", detail=str(exc))
    how = how_to_get(name, entry) if "root" in entry else "embedded in the repository"
    try:
        root = suite_root(name, entry, seen)
    except BenchError as exc:
        return SuiteStatus(name, "missing", "(unresolved)", how=how, detail=str(exc))
    where = f"{root}  (override: ${corpus_root_env(name)})" if "root" in entry else str(root)
    if not root.exists():
        return SuiteStatus(name, "missing", where, expected_items=entry.get("items"), how=how)
    if not deep:
        return SuiteStatus(name, "present", where, expected_items=entry.get("items"), how=how,
                           detail=f"found; `bench data check {name}` verifies every file")
    try:
        suite = load_suite(name)
    except BenchError as exc:
        return SuiteStatus(name, "error", where, how=how, detail=str(exc))
    missing = [str(it.path) for it in suite.items if not Path(it.path).exists() or os.path.getsize(it.path) == 0]
    status = "incomplete" if missing else "present"
    detail = f"{len(missing)} audio file(s) missing or empty, e.g. {missing[0]}" if missing else ""
    expected = entry.get("items")
    if not missing and expected and len(suite.items) != expected:
        detail = (f"usable, but {len(suite.items)} items where the full release has {expected} "
                  "(partial copy or another release: numbers will not compare with published ones)")
    return SuiteStatus(name, status, where, items=len(suite.items), expected_items=entry.get("items"),
                       missing_files=missing, how=how, detail=detail)


def check(name: str | None = None) -> list[SuiteStatus]:
    if name:
        if name not in suite_entries():
            from bench.errors import UnknownNameError

            raise UnknownNameError("suite", name, suite_entries())
        return [check_suite(name, deep=True)]
    return [check_suite(n) for n in suite_entries()]
