"""Listening material for the HTML report: per-item scores, the worst items per codec, and their
audio (original + reconstruction) with small spectrograms.

Averages hide the items a listener notices first. Reconstructions are stored only when asked:
``bench run --save-audio`` keeps ``RUN/audio/LABEL/ITEM.wav`` (decoded and aligned, exactly what
was scored); ``bench report --listen`` re-decodes just the shown items instead (in the pipeline:
:mod:`bench.pipeline.redecode`; this module receives the files).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pandas as pd

from bench.reporting.layouts import RunData
from bench.rows import SET_ITEM

AUDIO_DIR = "audio"


def item_table(runs: list[RunData]) -> pd.DataFrame:
    """Wide per-item table: suite, item, codec label, then one column per metric (latest run wins)."""
    frames = [r.rows.assign(run=r.name) for r in runs if not r.rows.empty]
    if not frames:
        return pd.DataFrame()
    rows = pd.concat(frames, ignore_index=True).drop_duplicates(["suite", "item", "label", "metric"], keep="last")
    rows = rows[rows["item"] != SET_ITEM]
    wide = rows.pivot_table(index=["suite", "item", "label"], columns="metric", values="value", aggfunc="first",
                            sort=True)
    wide.columns.name = None
    return wide.reset_index().rename(columns={"label": "codec"})


def worst_items(items: pd.DataFrame, metric: str, n: int, higher_is_better: bool) -> dict[str, pd.DataFrame]:
    """Per codec label, the ``n`` items with the worst ``metric`` (ties broken by item id)."""
    if items.empty or metric not in items or n <= 0:
        return {}
    out = {}
    for label, g in items[items[metric].notna()].groupby("codec", sort=False):
        if label == "original":
            continue
        g = g.sort_values([metric, "item"], ascending=[higher_is_better, True], kind="stable")
        out[label] = g.head(n)
    return out


#: ``source(run_path, manifest, label, item_id, recon_to, original_to) -> (original, reconstruction,
#: error)``: writes an item's audio where asked and says where (None: none) or why not; the
#: pipeline provides it (:class:`bench.pipeline.redecode.ListeningAudio`), since getting the audio
#: may mean running a codec
AudioSource = Callable[[Path, dict, str, str, Path, Path], "tuple[Path | None, Path | None, str]"]


def listening_blocks(runs: list[RunData], items: pd.DataFrame, metric: str, n: int, higher_is_better: bool,
                     out: Path, source: AudioSource | None) -> list[dict[str, Any]]:
    """Blocks for the HTML page: the worst items per codec with their audio (from ``source``;
    None: scores only) and spectrograms drawn under ``out``."""
    from bench.audio import load_audio
    from bench.pipeline.rundir import safe_name
    from bench.reporting.plots import spectrogram_png

    worst = worst_items(items, metric, n, higher_is_better)
    run_for_label: dict[tuple[str, str], RunData] = {}
    for run in runs:
        suite = (run.manifest.get("suite") or {}).get("name", "")
        for lab in (run.manifest.get("codecs") or {}):
            run_for_label[(suite, lab)] = run
    blocks = []
    for label, g in worst.items():
        entries = []
        for _, rec in g.iterrows():
            suite, item_id = rec["suite"], rec["item"]
            run = run_for_label.get((suite, label))
            entry = {"item": item_id, "value": f"{rec[metric]:.3f}", "original": None, "recon": None,
                     "spectrograms": [], "error": ""}
            if run is not None and source is not None:
                orig_rel = Path(AUDIO_DIR) / "_original" / safe_name(suite) / f"{safe_name(item_id)}.wav"
                rec_rel = Path(AUDIO_DIR) / safe_name(label) / f"{safe_name(item_id)}.wav"
                original, recon, entry["error"] = source(run.path, run.manifest, label, item_id, out / rec_rel,
                                                         out / orig_rel)
                if recon is not None:
                    entry["recon"] = rec_rel.as_posix()
                    spec = Path("spec") / f"{safe_name(label)}-{safe_name(item_id)}.png"
                    if original is not None:
                        entry["original"] = orig_rel.as_posix()
                        ospec = Path("spec") / f"original-{safe_name(suite)}-{safe_name(item_id)}.png"
                        spectrogram_png(load_audio(original), out / ospec, "original")
                        entry["spectrograms"].append(ospec.as_posix())
                    spectrogram_png(load_audio(recon), out / spec, label)
                    entry["spectrograms"].append(spec.as_posix())
            entries.append(entry)
        blocks.append({"label": label, "items": entries})
    return blocks
