"""The run directory: append-only while running, resumable, and self-describing.

Layout::

    RUN/rows.jsonl      one line per metric value, appended as units finish (the source of truth)
    RUN/items.jsonl     one line per (item, codec): alignment, lengths, timings, error
    RUN/rows.csv        the same rows, rewritten at the end for pandas/spreadsheets
    RUN/summary.csv     mean (weighted), n, n_failed per codec setting and metric
    RUN/summary.md      the table a person reads
    RUN/manifest.json   exactly how the numbers were made
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd

ROWS, ITEMS, MANIFEST = "rows.jsonl", "items.jsonl", "manifest.json"
AUDIO = "audio"


def safe_name(text: str) -> str:
    """A file name for a codec label or item id from user data (no slashes, no markup); a name
    that had to be changed gets a hash suffix so two ids never share a file."""
    clean = re.sub(r"[^A-Za-z0-9._@-]+", "_", str(text)).strip("._")[:60] or "x"
    return clean if clean == str(text) else f"{clean}-{hashlib.sha256(str(text).encode()).hexdigest()[:8]}"


def audio_path(run_dir: Path, label: str, item_id: str) -> Path:
    """Where ``bench run --save-audio`` keeps a reconstruction: RUN/audio/LABEL/ITEM.wav."""
    return Path(run_dir) / AUDIO / safe_name(label) / f"{safe_name(item_id)}.wav"


def _clean(obj: dict[str, Any]) -> dict[str, Any]:
    """JSON has no NaN: write null and read it back as NaN."""
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in obj.items()}


class RunDir:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def create(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)

    def append(self, rows: list[dict[str, Any]], record: dict[str, Any]) -> None:
        """Item rows first, then the record that marks the unit done (so a crash between the two
        leaves the unit unfinished and it is redone on resume)."""
        with (self.path / ROWS).open("a") as fh:
            fh.writelines(json.dumps(_clean(r)) + "\n" for r in rows)
        with (self.path / ITEMS).open("a") as fh:
            fh.write(json.dumps(_clean(record)) + "\n")
            fh.flush()

    def _read_jsonl(self, name: str) -> list[dict[str, Any]]:
        path = self.path / name
        if not path.exists():
            return []
        out = []
        for line in path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut by a crash; its unit is redone
        return out

    def done_units(self, metrics: list[str]) -> set[tuple[str, str]]:
        """(item, label) pairs whose record and every requested metric row are on disk."""
        records = {(r["item"], r["label"]) for r in self._read_jsonl(ITEMS)}
        have: dict[tuple[str, str], set[str]] = {}
        for r in self._read_jsonl(ROWS):
            have.setdefault((r["item"], r["label"]), set()).add(r["metric"])
        need = set(metrics)
        return {k for k in records if need <= have.get(k, set())}

    def rows(self) -> pd.DataFrame:
        """Latest row per (item, label, metric): a resumed unit replaces its partial rows."""
        df = pd.DataFrame(self._read_jsonl(ROWS))
        if df.empty:
            return df
        df["value"] = pd.to_numeric(df["value"], errors="coerce")
        return df.drop_duplicates(["item", "label", "metric"], keep="last").reset_index(drop=True)

    def items(self) -> pd.DataFrame:
        df = pd.DataFrame(self._read_jsonl(ITEMS))
        return df if df.empty else df.drop_duplicates(["item", "label"], keep="last").reset_index(drop=True)

    def read_manifest(self) -> dict[str, Any]:
        path = self.path / MANIFEST
        return json.loads(path.read_text()) if path.exists() else {}

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        (self.path / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str) + "\n")
