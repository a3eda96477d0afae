"""LibriSpeech (OpenSLR 12): ``PART/SPEAKER/CHAPTER/SPK-CHAP-UTT.flac`` + ``SPK-CHAP.trans.txt``.

Parsed by lhotse's maintained recipe (:func:`lhotse.recipes.prepare_librispeech`) so we read the
layout the same way the ASR community does. The suite root is the part folder
(``$BENCH_DATA/LibriSpeech/test-clean``); lhotse wants its parent plus the part name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.suites.corpora._lhotse import quiet, recipes
from bench.suites.corpora.common import nonempty
from bench.suites.items import Item
from bench.suites.manifests import _unique, register_loader


@register_loader("librispeech")
def load_librispeech(root: Path, entry: dict[str, Any]) -> list[Item]:
    nonempty(list(root.rglob("*.trans.txt"))[:1], root, "LibriSpeech transcript files (SPK/CHAP/SPK-CHAP.trans.txt)")
    rec = recipes()
    with quiet():
        manifests = rec.prepare_librispeech(root.parent, dataset_parts=[root.name], num_jobs=int(entry.get("num_jobs", 1)))
    part = manifests[root.name]
    recordings = part["recordings"]
    items = []
    for sup in part["supervisions"]:
        recording = recordings[sup.recording_id]
        items.append(Item(id=sup.id, path=Path(recording.sources[0].source), speaker=sup.speaker,
                          text=sup.text, duration=float(sup.duration),
                          extra={"chapter": sup.id.split("-")[1]}))
    items.sort(key=lambda it: it.id)
    return _unique(items, root)
