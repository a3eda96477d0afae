"""Fixtures for the corpus tests: offline, with a private cache and no inherited BENCH_DATA*."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers.env import use_env


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for var in [v for v in os.environ if v.startswith("BENCH_DATA")]:
        monkeypatch.delenv(var, raising=False)
    use_env(monkeypatch, BENCH_CACHE=str(tmp_path / "cache"))

