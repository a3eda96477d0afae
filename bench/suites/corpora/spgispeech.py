"""SPGISpeech (Kensho; licensed, local only): ``{split}.csv`` (``wav_filename|wav_filesize|transcript``)
+ ``spgispeech/{split}/CALL/N.wav`` (or ``{split}/CALL/N.wav``).

Hand-written rather than lhotse's ``prepare_spgispeech``: that recipe always scans and writes
manifests for both the 5,000-hour train part and val, and lower-cases/strips punctuation from the
transcripts; evaluation needs val only, with the transcripts as released (the WER metric normalises).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from bench.errors import ConfigError
from bench.suites.corpora.common import nonempty, require
from bench.suites.items import Item
from bench.suites.manifests import _unique, register_loader


@register_loader("spgispeech")
def load_spgispeech(root: Path, entry: dict[str, Any]) -> list[Item]:
    split = entry.get("split", "val")
    listing = require(root / f"{split}.csv", f"SPGISpeech listing {split}.csv", root)
    audio_dir = root / "spgispeech" / split if (root / "spgispeech" / split).is_dir() else root / split
    require(audio_dir, f"audio folder for {split}", root)
    items = []
    with listing.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="|", quoting=csv.QUOTE_NONE)
        if not {"wav_filename", "transcript"} <= set(reader.fieldnames or []):
            raise ConfigError(f"{listing}: expected columns wav_filename|wav_filesize|transcript")
        for row in reader:
            rel = row["wav_filename"].strip()
            call = Path(rel).parent.name
            items.append(Item(id=rel.replace("/", "_").removesuffix(".wav"), path=audio_dir / rel,
                              speaker=call or None, text=row["transcript"].strip() or None))
    return _unique(nonempty(items, listing, "utterances listed"), listing)
