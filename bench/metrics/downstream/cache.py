"""Small file cache shared by worker processes: atomic writes (tmp file + rename), so two workers
computing the same original never leave a half-written file for a third to read."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


def _atomic(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, obj: Any) -> None:
    _atomic(path, lambda fh: fh.write(json.dumps(obj, ensure_ascii=False).encode()))


def read_json(path: Path) -> Any | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def write_npy(path: Path, array: np.ndarray) -> None:
    _atomic(path, lambda fh: np.save(fh, np.asarray(array), allow_pickle=False))


def read_npy(path: Path) -> np.ndarray | None:
    try:
        return np.load(path, allow_pickle=False)
    except (FileNotFoundError, ValueError, OSError):
        return None


def audio_digest(samples: np.ndarray) -> str:
    """Content hash of a signal: names a reconstruction's embedding without knowing its codec."""
    return hashlib.sha1(np.ascontiguousarray(samples, dtype=np.float32).tobytes()).hexdigest()[:20]


#: entries a per-process memo keeps before it starts afresh (a batch larger than this is kept whole)
MEMO_ITEMS = 16


def memo_by_audio(store: dict, model_key: str, audio_samples: np.ndarray, compute):
    """Per-process memo of model outputs keyed by (model, audio content): several metrics
    (wer and cer; eer and spk-sim) score the same pair, and the model should run once. Bounded,
    since a worker sees a stream of items and only the current one (or batch) repeats."""
    return memo_many(store, model_key, [audio_samples], lambda missing: [compute()])[0]


def memo_many(store: dict, model_key: str, signals: list[np.ndarray], compute_many) -> list:
    """:func:`memo_by_audio` for several signals: the ones not in the memo are computed in one call,
    ``compute_many(indices)`` -> their outputs in that order (a batch, e.g. GE2E's one forward pass)."""
    keys = [(model_key, audio_digest(s)) for s in signals]
    missing = [i for i, k in enumerate(keys) if k not in store]
    if missing:
        if len(store) + len(missing) > MEMO_ITEMS:
            store.clear()
        store.update(zip([keys[i] for i in missing], compute_many(missing)))
    return [store[k] for k in keys]
