"""Fixtures for the neural adapters: offline hub, a private cards folder, untrained switch."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest


os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a failed hub look-up would otherwise retry for ~25 s


@pytest.fixture(autouse=True)
def _offline_and_clean(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for var in ("BENCH_ALLOW_UNTRAINED", "BENCH_OURS_CHECKPOINT", "BENCH_ENCODEC_CHECKPOINT", "BENCH_DAC_CHECKPOINT",
                "BENCH_ESC_REPO", "BENCH_ESC_CHECKPOINT", "BENCH_CODECS"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def allow(monkeypatch):
    monkeypatch.setenv("BENCH_ALLOW_UNTRAINED", "1")


@pytest.fixture
def card_dir(tmp_path, monkeypatch):
    """Write extra cards into a folder that BENCH_CODECS adds to the registry."""
    folder = tmp_path / "cards"
    folder.mkdir()
    monkeypatch.setenv("BENCH_CODECS", str(folder))

    def write(name: str, text: str) -> Path:
        path = folder / f"{name}.yaml"
        path.write_text(textwrap.dedent(text))
        return path

    return write
