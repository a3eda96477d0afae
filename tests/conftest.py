"""Shared fixtures: real demo clips, synthetic signals and a tmp manifest writer."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "speech_demo"
DEMO_CLIP = DEMO / "LibriSpeech/test-other/1688/142285/1688-142285-0002.flac"


@pytest.fixture
def demo_clip() -> Path:
    return DEMO_CLIP


@pytest.fixture
def speech():
    from bench.audio import load_audio

    return load_audio(DEMO_CLIP)


def write_wav(path: Path, samples: np.ndarray, rate: int = 16000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), samples, rate, subtype="PCM_16")
    return path


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
