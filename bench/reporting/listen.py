"""Listening material for the HTML report: per-item scores, the worst items per codec, and their
audio (original + reconstruction) with small spectrograms.

Averages hide the items a listener notices first. Reconstructions are stored only when asked:
``bench run --save-audio`` keeps ``RUN/audio/LABEL/ITEM.wav`` (decoded and aligned, exactly what
was scored); ``bench report --listen`` re-decodes just the shown items instead.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from bench.reporting.layouts import RunData
from bench.reporting.tables import SET_ITEM

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


def _suite_items(run: RunData) -> tuple[dict[str, Any], Any]:
    """The run's suite items by id and its audio policy (empty when the suite is not here)."""
    from bench.suites import load_suite

    s = run.manifest.get("suite") or {}
    for ref in (s.get("name"), s.get("source")):
        if not ref:
            continue
        try:
            suite = load_suite(ref)
        except Exception:  # noqa: BLE001 - a suite not present here: no audio, the page says so
            continue
        return {it.id: it for it in suite.items}, suite.policy
    return {}, None


def _write_wav(audio, path: Path) -> Path:
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), audio.samples, audio.sample_rate, subtype="PCM_16")
    return path


def listening_blocks(runs: list[RunData], items: pd.DataFrame, metric: str, n: int, higher_is_better: bool,
                     out: Path, redecode: bool) -> list[dict[str, Any]]:
    """Blocks for the HTML page; copies/re-decodes audio and draws spectrograms under ``out``."""
    from bench.audio import load_audio
    from bench.pipeline.rundir import audio_path, safe_name
    from bench.pipeline.unit import reconstruct
    from bench.reporting.plots import spectrogram_png

    worst = worst_items(items, metric, n, higher_is_better)
    suite_items: dict[str, tuple[dict[str, Any], Any]] = {}
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
            if run is not None:
                if suite not in suite_items:
                    suite_items[suite] = _suite_items(run)
                found, policy = suite_items[suite]
                item = found.get(item_id)
                saved = audio_path(run.path, label, item_id)
                orig_rel = Path(AUDIO_DIR) / "_original" / safe_name(suite) / f"{safe_name(item_id)}.wav"
                rec_rel = Path(AUDIO_DIR) / safe_name(label) / f"{safe_name(item_id)}.wav"
                reference = estimate = None
                if saved.exists():
                    (out / rec_rel).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(saved, out / rec_rel)
                    estimate = load_audio(saved)
                    if item is not None:
                        reference = load_audio(item.path, policy)
                elif redecode and item is not None:
                    try:
                        # the run path's own steps, with the run's alignment
                        reference, estimate = reconstruct(label, item, policy, manifest=run.manifest)
                        _write_wav(estimate, out / rec_rel)
                    except Exception as exc:  # noqa: BLE001 - one item must not sink the report
                        entry["error"] = f"re-decoding failed: {exc}"
                elif redecode:
                    entry["error"] = (f"item not in suite {suite!r} as found here" if found else
                                      f"suite {suite!r} is not available here") + ", so it cannot be re-decoded"
                if estimate is not None:
                    entry["recon"] = rec_rel.as_posix()
                    spec = Path("spec") / f"{safe_name(label)}-{safe_name(item_id)}.png"
                    if reference is not None:
                        _write_wav(reference, out / orig_rel)
                        entry["original"] = orig_rel.as_posix()
                        ospec = Path("spec") / f"original-{safe_name(suite)}-{safe_name(item_id)}.png"
                        spectrogram_png(reference, out / ospec, "original")
                        entry["spectrograms"].append(ospec.as_posix())
                    spectrogram_png(estimate, out / spec, label)
                    entry["spectrograms"].append(spec.as_posix())
            entries.append(entry)
        blocks.append({"label": label, "items": entries})
    return blocks
