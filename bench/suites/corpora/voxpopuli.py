"""VoxPopuli transcribed data as produced by the corpus's own ``voxpopuli.get_asr_data`` script:
``transcribed_data/LANG/asr_{split}.tsv`` + ``transcribed_data/LANG/YEAR/SESSION-ID.ogg``.

Hand-written rather than lhotse's ``prepare_voxpopuli``: that recipe downloads the annotation TSV
at run time and describes utterances as time ranges inside hour-long session recordings, whereas
an item here is one audio file a codec can process; the official segmented release is exactly that.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from bench.errors import ConfigError
from bench.suites.corpora.common import nonempty, require
from bench.suites.items import Item
from bench.suites.manifests import _unique, register_loader


@register_loader("voxpopuli")
def load_voxpopuli(root: Path, entry: dict[str, Any]) -> list[Item]:
    split = entry.get("split", "test")
    tsv = require(root / f"asr_{split}.tsv", f"VoxPopuli split file asr_{split}.tsv", root)
    text_column = entry.get("text_column", "normalized_text")
    items = []
    with tsv.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = {"id", text_column, "speaker_id"} - set(reader.fieldnames or [])
        if missing:
            raise ConfigError(f"{tsv}: not a VoxPopuli ASR split file (missing columns {sorted(missing)})")
        for row in reader:
            uid = row["id"].strip()
            items.append(Item(id=uid, path=root / uid[:4] / f"{uid}.ogg", speaker=row["speaker_id"] or None,
                              text=(row[text_column] or "").strip() or None,
                              extra={"raw_text": row.get("raw_text"), "gender": row.get("gender")}))
    return _unique(nonempty(items, tsv, "utterances listed"), tsv)
