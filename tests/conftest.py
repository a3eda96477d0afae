"""Shared fixtures: real demo clips, synthetic signals and a tmp manifest writer."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from helpers.data import DEMO, DEMO_CLIP, REPO, write_wav  # noqa: F401  (kept for fixtures; import them from helpers)

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture
def demo_clip() -> Path:
    return DEMO_CLIP


@pytest.fixture
def speech():
    from bench.audio import load_audio

    return load_audio(DEMO_CLIP)


@pytest.fixture
def make_manifest(tmp_path):
    """Write a CSV manifest of (id, Path) rows; paths are stored relative to the manifest."""

    def make(rows: list[tuple[str, Path]], name: str = "m.csv", text: str = "HELLO WORLD") -> Path:
        path = tmp_path / name
        with path.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["id", "path", "speaker", "text"])
            for i, (item_id, p) in enumerate(rows):
                w.writerow([item_id, os.path.relpath(p, tmp_path), f"spk{i % 2}", text])
        return path

    return make
