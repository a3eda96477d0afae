"""Score reconstructions made elsewhere: one pair of files, two folders, or a list of pairs.

Policy (differs from ``bench run`` on purpose, and is recorded in every row's ``note``):

- No delay compensation. The files are scored as given, because a user bringing their own pairs
  may already have aligned them, and because Google's ViSQOL conformance values are defined on
  the unaligned files. Use ``bench run`` when codecbench should code and align for you.
- Multi-channel files are averaged to mono (what ViSQOL does with its stereo test files).
- The two files of a pair must share a sample rate. Each metric then gets the pair resampled to
  its operating rate (the project's one resampler), or at the files' own rate with
  ``native_rate=True`` (as Google's conformance tests run speech mode on 48 kHz files); metrics
  defined at exactly one rate (PESQ, DNSMOS) are resampled regardless and say so.
- Unequal lengths: metrics that align internally (ViSQOL) get the files whole; all others get
  both cut to the shorter length, never padded.

Every failure (unreadable file, missing partner, metric error) becomes a row with NaN and the
reason; nothing is dropped silently.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from bench.audio import Audio, AudioPolicy, load_audio
from bench.errors import BenchError
from bench.metrics import metric_class, resolve_metrics
from bench.metrics.base import Metric
from bench.metrics.measure import measure

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".opus", ".aiff", ".aif"}
#: accept what users bring: downmix stereo, no clipping judgement (their files, their choice)
SCORE_POLICY = AudioPolicy(downmix=True, min_duration=0.0, max_clipped_fraction=1.0)


@dataclass(frozen=True)
class FilePair:
    """Two audio files to score (``bench score``) and the name their rows carry; a side is None
    where a file has no partner (its row fails with that reason)."""

    reference: Path | None
    estimate: Path | None
    name: str


def pairs_from(reference: Path | None, estimate: Path | None, listing: Path | None = None, *,
               suffix: str = "") -> list[FilePair]:
    """Expand the user's arguments into pairs; a file missing its partner is a pair with a None side."""
    if listing is not None:
        return _pairs_from_list(Path(listing))
    if reference is None or estimate is None:
        raise BenchError("give --reference and --estimate (files or folders), or --list FILE")
    reference, estimate = Path(reference), Path(estimate)
    for p in (reference, estimate):
        if not p.exists():
            raise BenchError(f"{p}: no such file or folder")
    if reference.is_file() and estimate.is_file():
        return [FilePair(reference, estimate, estimate.name)]
    if reference.is_dir() and estimate.is_dir():
        refs, ests = _audio_files(reference), _audio_files(estimate, suffix)
        if not refs:
            raise BenchError(f"{reference}: no audio files ({', '.join(sorted(AUDIO_SUFFIXES))})")
        keys = sorted(set(refs) | set(ests))
        return [FilePair(refs.get(k), ests.get(k), _pair_name(k, refs, ests, reference, estimate)) for k in keys]
    raise BenchError(f"--reference {reference} and --estimate {estimate} must both be files or both folders")


def _audio_files(folder: Path, suffix: str = "") -> dict[str, Path]:
    """Pairing key -> file: the path relative to the folder without its extension, so sub-folders
    (speaker/utt.wav) match and utt.flac pairs with utt.wav; ``suffix`` is cut from the end of
    each name (an estimate folder of utt_decoded.wav pairs with utt.flac under ``_decoded``)."""
    out: dict[str, Path] = {}
    for p in sorted(folder.rglob("*")):
        if not (p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES):
            continue
        key = p.relative_to(folder).with_suffix("").as_posix()
        if suffix and key.endswith(suffix) and len(key) > len(suffix):
            key = key[: -len(suffix)]
        if key in out:
            raise BenchError(f"{folder}: {out[key].name} and {p.name} would pair with the same file "
                             f"({key!r}); keep one of them, or score them with --list")
        out[key] = p
    return out


def _pair_name(key: str, refs: dict[str, Path], ests: dict[str, Path], ref_dir: Path, est_dir: Path) -> str:
    """A pair's name: the reference's relative path (the estimate's when it has no reference)."""
    if key in refs:
        return refs[key].relative_to(ref_dir).as_posix()
    return ests[key].relative_to(est_dir).as_posix()


def _pairs_from_list(listing: Path) -> list[FilePair]:
    if not listing.is_file():
        raise BenchError(f"{listing}: list file not found")
    base = listing.parent
    out: list[FilePair] = []
    text = listing.read_text().splitlines()
    dialect = "excel-tab" if any("\t" in line for line in text) else "excel"
    for lineno, row in enumerate(csv.reader(text, dialect=dialect), 1):
        cells = [c.strip() for c in (row if len(row) != 1 else row[0].split()) if c.strip()]
        if not cells or cells[0].startswith("#"):
            continue
        if len(cells) != 2:
            raise BenchError(f"{listing}:{lineno}: expected two columns (reference, estimate), got {len(cells)}")
        if lineno == 1 and cells[0].lower() in {"reference", "ref"}:
            continue  # header
        ref, est = (Path(c) if Path(c).is_absolute() else base / c for c in cells)
        out.append(FilePair(ref, est, f"{lineno}:{est.name}"))
    if not out:
        raise BenchError(f"{listing}: no pairs listed")
    return out


def score_pair(reference: Audio, estimate: Audio, metrics: list[Metric], *, native_rate: bool = False) -> list[dict[str, Any]]:
    """Score one loaded pair with each metric; returns one row per metric (failures included)."""
    if reference.sample_rate != estimate.sample_rate:
        raise BenchError(f"{estimate.source}: sample rate {estimate.sample_rate} Hz differs from reference "
                         f"{reference.source} at {reference.sample_rate} Hz; convert one of them")
    rows = []
    for metric in metrics:
        m = measure(metric, reference=reference, estimate=estimate, native_rate=native_rate)
        fields = m.row_fields()
        fields.pop("weight")
        rows.append({"metric": metric.name, **{k: fields.pop(k) for k in ("value", "error")}, "unit": metric.unit,
                     "higher_is_better": metric.higher_is_better, "sample_rate": m.sample_rate,
                     "backend": metric.backend, "version": metric.backend_version(), "mode": metric.mode,
                     "note": "; ".join(["not aligned", *m.notes]), **fields})
    return rows


def score(reference: Path | str | None = None, estimate: Path | str | None = None,
          metrics: list[str] | str | None = None, *, listing: Path | str | None = None,
          native_rate: bool = False, suffix: str = "") -> pd.DataFrame:
    """Score existing files (see the module docstring for the policy); one row per pair x metric.

    Default metrics: every default metric that scores a bare pair (not those needing a run's
    context, e.g. spk-sim, nor item fields such as text or speaker). ``suffix``: folder pairing
    cuts it from estimate names (``utt_decoded.wav`` pairs with ``utt.flac`` under ``_decoded``).
    """
    names = [metrics] if isinstance(metrics, str) else metrics
    classes = resolve_metrics(names or None, set())
    if not names:
        classes = [cls for cls in classes if not cls.needs_run]
    for cls in classes:
        if cls.needs_run:
            raise BenchError(f"metric {cls.name!r} scores only inside a run (it needs the suite's cache): "
                             f"use bench run, or leave it out")
        reason = cls.availability()
        if reason:
            raise BenchError(f"metric {cls.name!r} is unavailable here: {reason}")
    instances = [metric_class(cls.name)() for cls in classes]
    pairs = pairs_from(Path(reference) if reference else None, Path(estimate) if estimate else None,
                       Path(listing) if listing else None, suffix=suffix)
    rows: list[dict[str, Any]] = []
    for pair in pairs:
        base = {"pair": pair.name, "reference": str(pair.reference or ""), "estimate": str(pair.estimate or "")}
        try:
            if pair.reference is None or pair.estimate is None:
                missing = "reference" if pair.reference is None else "estimate"
                raise BenchError(f"{pair.name}: no {missing} file with this name")
            ref = load_audio(pair.reference, SCORE_POLICY)
            est = load_audio(pair.estimate, SCORE_POLICY)
            rows += [{**base, **r} for r in score_pair(ref, est, instances, native_rate=native_rate)]
        except BenchError as exc:
            rows += [{**base, "metric": m.name, "value": math.nan, "error": str(exc), "unit": m.unit,
                      "higher_is_better": m.higher_is_better, "sample_rate": m.sample_rate, "backend": m.backend,
                      "version": m.backend_version(), "mode": m.mode, "note": ""} for m in instances]
    return pd.DataFrame(rows)


def score_summary(rows: pd.DataFrame, level: float | None = None) -> pd.DataFrame:
    """Per metric over the scored pairs: n, failed, mean and its seeded bootstrap CI (pairs in
    name order, as :mod:`bench.stats` wants for reproducible intervals)."""
    from bench import stats

    out = []
    for metric, g in rows.groupby("metric", sort=False):
        ok = g[g["value"].notna()]
        (v,) = stats.ordered(ok["pair"], ok["value"])
        ci = stats.mean_ci(v, level=level or stats.LEVEL)
        out.append({"metric": metric, "n": ci.n, "failed": int(g["value"].isna().sum()), "mean": ci.estimate,
                    "ci_low": ci.low, "ci_high": ci.high, "unit": g["unit"].iloc[0],
                    "higher_is_better": bool(g["higher_is_better"].iloc[0])})
    return pd.DataFrame(out, columns=["metric", "n", "failed", "mean", "ci_low", "ci_high", "unit",
                                      "higher_is_better"])
