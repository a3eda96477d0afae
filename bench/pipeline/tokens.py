"""Token statistics of neural codecs, from the tokens a run actually produced.

Units write each item's token array to ``RUN/tokens/LABEL/ITEM.npz``; :func:`token_stats` pools
them per codec setting into per-codebook histograms and reports utilisation (share of codebook
entries ever used), entropy, and the bitrate an entropy coder could reach on these tokens.

The bound is the zeroth-order (unigram) entropy of each codebook's index distribution over the
run, summed over codebooks, times the frame rate. It is what a static per-codebook entropy coder
(e.g. arithmetic coding with these frequencies) achieves; context models such as EnCodec's small
transformer LM can go lower, so this is a conservative bound. Estimated on the run's own items
(no held-out split), so on small runs it is optimistic: the number of tokens is reported with it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.errors import BenchError
from bench.filenames import safe_name

TOKENS_DIR = "tokens"


def save_tokens(run_dir: Path | None, label: str, item_id: str, payload, keep_existing: bool = False) -> Path | None:
    """Write the payload's token array when it is one (neural codecs); classical payloads are skipped.
    ``keep_existing``: leave a token file already there as it is (returns its path)."""
    data = payload.tokens if getattr(payload, "tokens", None) is not None else payload.data
    if run_dir is None or not isinstance(data, np.ndarray) or data.ndim != 2 or data.dtype.kind not in "iu":
        return None
    size = payload.meta.get("codebook_size")
    if not size:
        return None
    folder = Path(run_dir) / TOKENS_DIR / safe_name(label)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{safe_name(item_id)}.npz"
    if keep_existing and path.exists():
        return path
    np.savez_compressed(path, tokens=data, codebook_size=np.int64(size),
                        frame_rate=np.float64(payload.meta.get("frame_rate") or math.nan),
                        duration=np.float64(payload.duration))
    return path


def entropy_bits(counts: np.ndarray) -> float:
    total = counts.sum()
    if total == 0:
        return math.nan
    p = counts[counts > 0] / total
    return float(-(p * np.log2(p)).sum())


def codebook_histograms(run_dir: Path) -> dict[str, dict[str, Any]]:
    """label -> {counts: (codebooks, K) array, frames, duration, codebook_size, frame_rate, items}."""
    root = Path(run_dir) / TOKENS_DIR
    if not root.is_dir():
        raise BenchError(f"{run_dir}: no {TOKENS_DIR}/ folder (not a run directory, or no neural codec in the run)")
    out: dict[str, dict[str, Any]] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        acc: dict[str, Any] | None = None
        for f in sorted(folder.glob("*.npz")):
            try:
                with np.load(f, allow_pickle=False) as z:
                    tokens, size = z["tokens"], int(z["codebook_size"])
                    fps, dur = float(z["frame_rate"]), float(z["duration"])
            except Exception as exc:
                raise BenchError(f"{f}: unreadable token file ({type(exc).__name__}: {exc})") from exc
            if tokens.min() < 0 or tokens.max() >= size:
                raise BenchError(f"{f}: token indices outside [0, {size})")
            if acc is None:
                acc = {"counts": np.zeros((tokens.shape[0], size), np.int64), "frames": 0, "duration": 0.0,
                       "codebook_size": size, "frame_rate": fps, "items": 0}
            if tokens.shape[0] != acc["counts"].shape[0] or size != acc["codebook_size"]:
                raise BenchError(f"{f}: {tokens.shape[0]} codebooks of {size}, other items of this codec have "
                                 f"{acc['counts'].shape[0]} of {acc['codebook_size']}")
            for cb in range(tokens.shape[0]):
                acc["counts"][cb] += np.bincount(tokens[cb], minlength=size)
            acc["frames"] += tokens.shape[1]
            acc["duration"] += dur
            acc["items"] += 1
        if acc is not None:
            out[folder.name] = acc
    return out


def token_stats(run_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-codec summary, per-codebook table) for a run directory."""
    summary, per_cb = [], []
    manifest = Path(run_dir) / "manifest.json"
    codecs = json.loads(manifest.read_text()).get("codecs", {}) if manifest.exists() else {}
    weights = {safe_name(k): (v.get("weights") or {}).get("status", "") for k, v in codecs.items()}
    for label, h in codebook_histograms(run_dir).items():
        counts, size, fps = h["counts"], h["codebook_size"], h["frame_rate"]
        bits = math.log2(size)
        ents = []
        for cb, c in enumerate(counts):
            ent = entropy_bits(c)
            ents.append(ent)
            per_cb.append({"codec": label, "codebook": cb, "used": int((c > 0).sum()), "size": size,
                           "utilisation_%": 100.0 * (c > 0).sum() / size, "entropy_bits": ent,
                           "max_bits": bits, "perplexity": 2 ** ent})
        nominal = len(counts) * bits * fps / 1000.0
        bound = float(np.sum(ents)) * fps / 1000.0
        measured = len(counts) * bits * h["frames"] / h["duration"] / 1000.0 if h["duration"] else math.nan
        summary.append({"codec": label, "weights": weights.get(label, "") or "unknown", "items": h["items"], "tokens": int(counts.sum()), "codebooks": len(counts),
                        "codebook_size": size, "frame_rate": fps,
                        "mean_utilisation_%": float(np.mean([(c > 0).mean() * 100 for c in counts])),
                        "mean_entropy_bits": float(np.mean(ents)), "nominal_kbps": nominal,
                        "measured_kbps": measured, "entropy_bound_kbps": bound,
                        "saving_%": 100.0 * (1 - bound / nominal) if nominal else math.nan})
    return pd.DataFrame(summary), pd.DataFrame(per_cb)
