"""Paths and writers the tests share: the demo clips and a small WAV writer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "data" / "speech_demo"
DEMO_CLIP = DEMO / "LibriSpeech/test-other/1688/142285/1688-142285-0002.flac"


def write_wav(path: Path, samples: np.ndarray, rate: int = 16000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), samples, rate, subtype="PCM_16")
    return path
