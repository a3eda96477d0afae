"""Common Voice (Mozilla): ``LANG/{test,dev,train}.tsv`` + ``LANG/clips/*.mp3``.

Hand-written rather than lhotse's ``prepare_commonvoice``: that recipe decodes every mp3 in a
spawned process pool to measure durations before anything runs (minutes for the 16k-clip English
test split) and always writes manifests to disk. Items only need path, speaker and text; a clip's
duration is read from ``clip_durations.tsv`` when the release ships one (CV >= 14), else left unset.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from bench.errors import ConfigError
from bench.suites.corpora.common import nonempty, require
from bench.suites.items import Item
from bench.suites.manifests import _unique, register_loader

csv.field_size_limit(1 << 24)


def _durations(root: Path) -> dict[str, float]:
    path = root / "clip_durations.tsv"
    if not path.exists():
        return {}
    with path.open(encoding="utf-8", newline="") as fh:
        return {r["clip"]: float(r["duration[ms]"]) / 1000 for r in csv.DictReader(fh, delimiter="\t")}


@register_loader("commonvoice")
def load_commonvoice(root: Path, entry: dict[str, Any]) -> list[Item]:
    split = entry.get("split", "test")
    tsv = require(root / f"{split}.tsv", f"Common Voice split file {split}.tsv", root)
    clips = require(root / "clips", "clips/ folder", root)
    durations = _durations(root)
    items = []
    with tsv.open(encoding="utf-8", newline="") as fh:
        # QUOTE_NONE: CV sentences contain unbalanced quotes that the default dialect would swallow.
        reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = {"client_id", "path", "sentence"} - set(reader.fieldnames or [])
        if missing:
            raise ConfigError(f"{tsv}: not a Common Voice split file (missing columns {sorted(missing)})")
        for lineno, row in enumerate(reader, start=2):
            name = (row.get("path") or "").strip()
            if not name:
                raise ConfigError(f"{tsv}:{lineno}: row has no clip path")
            items.append(Item(id=Path(name).stem, path=clips / name, speaker=row["client_id"] or None,
                              text=(row["sentence"] or "").strip() or None, duration=durations.get(name),
                              extra={k: row.get(k) for k in ("gender", "age", "accents", "locale") if row.get(k)}))
    return _unique(nonempty(items, tsv, "clips listed"), tsv)
