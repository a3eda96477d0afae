"""VoxCeleb1-O: the VoxCeleb1 test audio (``wav/id*/VIDEO/NNNNN.wav``) and a trial list.

Hand-written rather than lhotse's ``prepare_voxceleb``: that recipe downloads the trial list from
the network at run time (into the working directory), needs ``vox1_meta.csv`` and scans the whole
dev+test corpus, and it uses the original list, not the cleaned VoxCeleb1-O list (``veri_test2.txt``)
that speaker-verification papers report. Here the items are exactly the files the trials name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.errors import ConfigError
from bench.suites.corpora.common import nonempty, require
from bench.suites.items import Item
from bench.suites.manifests import _unique, register_loader


def read_trials(path: Path) -> list[tuple[int, str, str]]:
    """``LABEL ENROL TEST`` per line (label 1 = same speaker), paths relative to the wav folder."""
    trials = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 3 or parts[0] not in {"0", "1"}:
            raise ConfigError(f"{path}:{lineno}: expected 'LABEL ENROL.wav TEST.wav' with LABEL 0 or 1, got {line!r}")
        trials.append((int(parts[0]), parts[1], parts[2]))
    return nonempty(trials, path, "trials")


def trial_item_id(rel: str) -> str:
    """``id10270/x6uYqmx31kE/00001.wav`` -> ``id10270-x6uYqmx31kE-00001`` (lhotse's spelling)."""
    return "-".join(Path(rel).with_suffix("").parts)


@register_loader("voxceleb")
def load_voxceleb(root: Path, entry: dict[str, Any]) -> list[Item]:
    trials_name = entry.get("trials")
    if not trials_name:
        raise ConfigError(f"voxceleb suite at {root}: set 'trials:' (e.g. veri_test2.txt) in datasets.yaml")
    trials_path = require(root / trials_name, f"trial list {trials_name}", root)
    wav_dir = root / "wav" if (root / "wav").is_dir() else root
    items: dict[str, Item] = {}
    for _, a, b in read_trials(trials_path):
        for rel in (a, b):
            if rel in items:
                continue
            path = wav_dir / rel
            if not path.exists():
                raise ConfigError(f"{trials_path}: trial names {rel}, but {path} does not exist (incomplete VoxCeleb1 test audio?)")
            items[rel] = Item(id=trial_item_id(rel), path=path, speaker=Path(rel).parts[0],
                              extra={"trial_path": rel, "video": Path(rel).parts[1]})
    return _unique(sorted(items.values(), key=lambda it: it.id), root)
