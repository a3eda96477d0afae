"""Regression gate: compare a run with a committed baseline, item by item.

It must never cry wolf and never miss a real drop. A baseline keeps item-level values (a
``NAME.rows.csv.gz`` next to ``NAME.csv``, written by ``bench baseline create``), so each item is
compared with itself: for every (codec setting, metric) the gate takes the paired difference of
the (weighted) means, its seeded bootstrap CI over items (:mod:`bench.stats`), and decides

- ``REGRESSION``: the worsening is statistically significant (the 95 % CI excludes 0) *and* its
  estimate is larger than the metric's practical margin (``Metric.gate_margin``; ``reports/gate.yaml``
  may override it);
- ``ok``: the CI rules out a worsening larger than the margin;
- ``inconclusive``: neither (the suite cannot tell); reported, fails only with ``strict``.

More failed items, or a value that is now NaN, is always a regression. A baseline row missing
from the run, or a different item set, is unusable input (exit 2), not a pass; ``common_only``
gates what both sides hold instead and lists what it left out.

Both inputs are validated before anything is compared, because a damaged baseline must not turn
a real regression into a pass: non-finite means or item values, NaN counts, duplicated or
missing item rows, another suite or item set, an unreadable manifest, rows that no longer match
the checksum ``bench baseline create`` recorded, an unfinished run -> exit 2 with the reason. The table gives
each metric's minimum detectable effect (from the paired spread) so a reader knows what the
suite can see. Summary-only baselines (no rows file) and set-level rows that cannot be paired
(EER over trials) fall back to comparing means with the margin, and say so (``test`` column).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from bench import stats
from bench.errors import BenchError, ConfigError
from bench.markdown import md_table
from bench.rows import SET_ITEM

PASS, REGRESSION, UNUSABLE = 0, 1, 2
ROW_COLUMNS = ["suite", "label", "metric", "item", "value", "weight", "error"]
MARGINS = Path("reports") / "gate.yaml"
#: problems listed per check before "... and N more"
SHOW = 5


@dataclass
class GateResult:
    table: pd.DataFrame  # one row per (label, metric): base, run, delta + CI, margin, MDE, status
    exit_code: int
    problems: list[str]
    notes: list[str] = field(default_factory=list)

    @property
    def markdown(self) -> str:
        if self.table.empty:
            body = "(nothing compared)"
        else:
            body = md_table(self.table, index=False, floatfmt=".4f")
        return "\n".join([*(f"- {n}" for n in self.notes), "" if self.notes else "", body]).strip("\n")


@dataclass
class Side:
    """One side of the comparison: its summary, item-level rows (None: summary only), manifest."""

    summary: pd.DataFrame
    items: pd.DataFrame | None
    manifest: dict[str, Any]
    source: Path
    is_run_dir: bool = False


def rows_path(summary_csv: Path) -> Path:
    """``reports/baselines/demo.csv`` -> ``reports/baselines/demo.rows.csv.gz``."""
    return summary_csv.with_name(summary_csv.stem + ".rows.csv.gz")


def manifest_path(summary_csv: Path) -> Path:
    return summary_csv.with_name(summary_csv.stem + ".manifest.json")


def load_summary(path: Path) -> pd.DataFrame:
    """A summary CSV, or a run directory (its summary.csv)."""
    path = Path(path)
    if path.is_dir():
        path = path / "summary.csv"
    if not path.exists():
        raise BenchError(f"{path}: not found (give a run directory or a summary CSV)")
    try:
        df = pd.read_csv(path, dtype={"setting": str})
    except Exception as exc:
        raise BenchError(f"{path}: cannot read CSV ({exc})") from exc
    need = {"label", "metric", "mean", "n", "n_failed", "higher_is_better"}
    if not need <= set(df.columns):
        raise BenchError(f"{path}: not a codecbench summary; missing columns {sorted(need - set(df.columns))}")
    return df


def item_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Long-form item values the gate pairs: every per-item row, plus the per-item rows that a
    metric derives for its set-level companions (e.g. WER's ``wer-original``)."""
    if rows.empty:
        return pd.DataFrame(columns=ROW_COLUMNS)
    per_item = rows[rows["item"] != SET_ITEM].copy()
    for col in ROW_COLUMNS:
        if col not in per_item:
            per_item[col] = None
    frames = [per_item[ROW_COLUMNS]]
    from bench.metrics import all_metrics

    for cls in all_metrics().values():
        if cls.meta().derives_item_rows and (rows["metric"] == cls.name).any():
            d = cls.derived_item_rows(rows)
            if d is not None and not d.empty:
                d["error"] = None
                frames.append(d[ROW_COLUMNS])
    out = pd.concat([f for f in frames if not f.empty], ignore_index=True) if any(len(f) for f in frames) \
        else frames[0]
    out["value"] = pd.to_numeric(out["value"], errors="coerce")
    out["weight"] = pd.to_numeric(out["weight"], errors="coerce").fillna(1.0)
    out["item"] = out["item"].astype(str)
    return out


def read_rows_file(path: Path) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, dtype={"item": str, "label": str, "metric": str, "suite": str})
    except Exception as exc:
        raise BenchError(f"{path}: cannot read baseline rows ({exc})") from exc
    need = {"label", "metric", "item", "value", "weight"}
    if not need <= set(df.columns):
        raise BenchError(f"{path}: not a codecbench rows file; missing columns {sorted(need - set(df.columns))}")
    return df


def read_manifest_file(path: Path) -> dict[str, Any]:
    """A baseline's or run's manifest.json; {} when absent; damaged -> BenchError naming it."""
    if not path.exists():
        return {}
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BenchError(f"{path}: not valid JSON ({exc}); the manifest is damaged (truncated?)") from exc
    if not isinstance(manifest, dict):
        raise BenchError(f"{path}: expected a JSON object, got {type(manifest).__name__}")
    return manifest


def load_side(path: Path) -> Side:
    """A run directory (rows + summary + manifest) or a baseline summary CSV (+ its rows file and
    manifest when present; a run directory's summary.csv brings that run's manifest)."""
    path = Path(path)
    if path.is_dir():
        from bench.pipeline.rundir import MANIFEST, RunDir

        manifest = read_manifest_file(path / MANIFEST)
        rows = _run_rows(path) if (path / "rows.csv").exists() else RunDir(path).rows()
        return Side(load_summary(path), item_rows(rows) if not rows.empty else None, manifest, path, True)
    summary = load_summary(path)
    rp, mp = rows_path(path), manifest_path(path)
    if not mp.exists() and path.name == "summary.csv":
        mp = path.with_name("manifest.json")
    items = read_rows_file(rp) if rp.exists() else None
    return Side(summary, items, read_manifest_file(mp), path)


def _run_rows(path: Path) -> pd.DataFrame:
    """The rows a finished run summarized (its settings and items only; rows.jsonl also keeps
    those of earlier runs into the same directory)."""
    try:
        return pd.read_csv(path / "rows.csv", dtype={"item": str, "label": str, "metric": str, "suite": str,
                                                     "setting": str})
    except Exception as exc:
        raise BenchError(f"{path / 'rows.csv'}: cannot read the run's rows ({exc})") from exc


def rows_digest(path: Path) -> str:
    """sha256 of a rows file's content (decompressed: the gzip container does not count)."""
    h = hashlib.sha256()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _capped(problems: list[str]) -> list[str]:
    return problems if len(problems) <= SHOW else [*problems[:SHOW], f"... and {len(problems) - SHOW} more"]


def _per_item_metrics() -> set[str]:
    """Metric names that always have item rows (registered metrics and kbps), unlike set-level
    companions such as EER's ``min-dcf`` whose rows hold no per-item value."""
    from bench.metrics import all_metrics

    return {"kbps", *all_metrics()}


def validate(side: Side, role: str) -> list[str]:
    """Why this side cannot be gated ([] if it can): checked before anything is compared."""
    where = f"{role} {side.source}"
    out: list[str] = []
    s = side.summary
    dup = s[s.duplicated(["label", "metric"], keep=False)]
    if len(dup):
        out += _capped([f"{where}: summary row {lb} / {m} appears {k} times" for (lb, m), k in
                        dup.groupby(["label", "metric"], sort=False).size().items()])
    counts = {}
    for col in ("mean", "n", "n_failed"):
        vals = pd.to_numeric(s[col], errors="coerce").to_numpy(float)
        counts[col] = vals
        if col == "mean":
            n = pd.to_numeric(s["n"], errors="coerce").to_numpy(float)
            bad = np.isinf(vals) | (np.isnan(vals) & ~(n == 0))  # NaN only where every item failed
        else:
            bad = ~np.isfinite(vals) | (vals < 0) | (np.mod(np.where(np.isfinite(vals), vals, 0), 1) != 0)
        out += _capped([f"{where}: {r.label} / {r.metric} has {col} {getattr(r, col)!r} (expected "
                        f"{'a finite number' if col == 'mean' else 'a whole number >= 0'})"
                        for r, b in zip(s.itertuples(), bad) if b])
    hib = s["higher_is_better"].astype(str).str.lower()
    if not hib.isin(["true", "false"]).all():
        out.append(f"{where}: higher_is_better must be True/False, got {sorted(set(hib) - {'true', 'false'})}")
    if "suite" in s and s["suite"].nunique(dropna=False) > 1:
        out.append(f"{where}: summary mixes suites {sorted(map(str, s['suite'].unique()))}")
    if side.items is not None and not out:
        out += _validate_items(side, where, counts["n"] + counts["n_failed"], counts["n_failed"])
    return out


def _validate_items(side: Side, where: str, total: np.ndarray, failed: np.ndarray) -> list[str]:
    items = side.items
    out: list[str] = []
    values = pd.to_numeric(items["value"], errors="coerce")
    inf = items[np.isinf(values.to_numpy(float))]
    if len(inf):
        out.append(f"{where}: {len(inf)} item value(s) are infinite (e.g. {inf['label'].iloc[0]} / "
                   f"{inf['metric'].iloc[0]} on {inf['item'].iloc[0]})")
    dup = items[items.duplicated(["label", "metric", "item"], keep=False)]
    if len(dup):
        out.append(f"{where}: {len(dup)} item rows are duplicated (e.g. {dup['label'].iloc[0]} / "
                   f"{dup['metric'].iloc[0]} on {dup['item'].iloc[0]})")
    groups = items.assign(_nan=values.isna()).groupby(["label", "metric"], sort=False)
    have, nans = groups.size().to_dict(), groups["_nan"].sum().to_dict()
    per_item = _per_item_metrics()
    bad = []
    for r, tot, nf in zip(side.summary.itertuples(), total, failed):
        key = (r.label, r.metric)
        k = have.get(key, 0)
        if (k or r.metric in per_item) and k != tot:
            bad.append(f"{where}: {r.label} / {r.metric} has {k} item rows; the summary says {int(tot)} items")
        elif nans.get(key, 0) > nf:
            bad.append(f"{where}: {r.label} / {r.metric} has {int(nans[key])} NaN item values but "
                       f"{int(nf)} failed items in the summary")
    out += _capped(bad)
    known = set(zip(side.summary["label"], side.summary["metric"]))
    extra = [k for k in have if k not in known]
    if extra:
        out.append(f"{where}: item rows for {len(extra)} setting/metric pair(s) not in the summary "
                   f"(e.g. {extra[0][0]} / {extra[0][1]})")
    return out


def check_checksums(base: Side) -> tuple[list[str], list[str]]:
    """(problems, notes): the baseline's files against the sha256 recorded when it was created."""
    if base.is_run_dir:
        return [], []
    sums = base.manifest.get("checksums")
    if not base.manifest:
        return [], [f"baseline {base.source} has no manifest: its suite, item set and content cannot be verified"]
    if not isinstance(sums, dict):
        return [], [f"baseline {base.source}: no checksum recorded (a run's summary, or a baseline whose "
                    "manifest has no checksums), so an edit cannot be detected; regenerate it with "
                    "`bench baseline update`"]
    problems = []
    rp = rows_path(base.source)
    if sums.get("rows_sha256"):
        if not rp.exists():
            problems.append(f"baseline {base.source}: its rows file {rp.name} is missing (the manifest records "
                            "one)")
        else:
            now = rows_digest(rp)
            if now != sums["rows_sha256"]:
                problems.append(f"baseline rows were edited after creation (checksum {sums['rows_sha256'][:12]} "
                                f"recorded, {now[:12]} now): {rp}")
    if sums.get("summary_sha256"):
        now = file_digest(base.source)
        if now != sums["summary_sha256"]:
            problems.append(f"baseline summary was edited after creation (checksum {sums['summary_sha256'][:12]} "
                            f"recorded, {now[:12]} now): {base.source}")
    return problems, []


def check_same_items(base: Side, run: Side) -> tuple[list[str], list[str]]:
    """(problems, notes): both sides scored the same suite and the same items."""
    problems, notes = [], []
    sb = set(base.summary["suite"].dropna().astype(str)) if "suite" in base.summary else set()
    sr = set(run.summary["suite"].dropna().astype(str)) if "suite" in run.summary else set()
    if sb and sr and sb != sr:
        problems.append(f"baseline is suite {', '.join(sorted(sb))}, the run suite {', '.join(sorted(sr))}: "
                        "not the same items")
    mb, mr = base.manifest.get("suite") or {}, run.manifest.get("suite") or {}
    checks = (("name", "suite"), ("hash", "suite content hash (item files, texts, speakers)"),
              ("item_ids_sha256", "item-id hash (the selected items)"))
    unchecked = []
    for key, what in checks:
        a, b = mb.get(key), mr.get(key)
        if a is None or b is None:
            unchecked.append(what)
        elif a != b:
            problems.append(f"baseline and run differ in {what}: {str(a)[:16]} vs {str(b)[:16]}")
    if unchecked and not problems:
        notes.append(f"not verified (not in both manifests): {', '.join(unchecked)}; item sets compared by count")
    return problems, notes


def check_run_complete(side: Side, role: str) -> list[str]:
    """A run must have finished: an interrupted one holds a partial item set."""
    where = f"{role} {side.source}"
    if not side.is_run_dir:
        started = side.manifest.get("started") and "baseline" not in side.manifest  # a run's summary.csv
        return [f"{where}: its run is unfinished (manifest.json has no 'finished'); rerun the same `bench run` "
                "command to complete it"] if started and not side.manifest.get("finished") else []
    if not side.manifest:
        return [f"{where}: no manifest.json: not a run directory, or the run never started"]
    if not side.manifest.get("finished"):
        return [f"{where} is unfinished (its manifest has no 'finished'): rerun the same `bench run` "
                "command to complete it"]
    n_items = (side.manifest.get("suite") or {}).get("n_items")
    if isinstance(n_items, int):
        tot = pd.to_numeric(side.summary["n"], errors="coerce") + pd.to_numeric(side.summary["n_failed"],
                                                                                errors="coerce")
        short = side.summary[tot != n_items]
        return _capped([f"{where}: {r.label} / {r.metric} counts {t:g} items; the run had {n_items}"
                        for r, t in zip(short.itertuples(), tot[tot != n_items])])
    return []


def default_margins() -> Path | None:
    """The stock reports/gate.yaml: of the checkout this package lives in, or the wheel's copy
    (bench/resources.py), never of the working directory."""
    from bench.resources import data_root

    path = data_root() / MARGINS
    return path if path.exists() else None


def load_tolerances(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {"default": {"abs": 0.0, "rel": 0.0}, "metrics": {}}
    try:
        raw = yaml.safe_load(Path(path).read_text()) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: gate config not found") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: malformed YAML ({exc})") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with 'default' and 'metrics'")
    for name, tol in (raw.get("metrics") or {}).items():
        if not isinstance(tol, dict) or not set(tol) <= {"abs", "rel", "higher_is_better", "ignore"}:
            raise ConfigError(f"{path}: metrics.{name} must map to abs/rel/higher_is_better/ignore")
    level = raw.get("confidence", stats.LEVEL)
    if not isinstance(level, (int, float)) or not 0.5 < float(level) < 1.0:
        raise ConfigError(f"{path}: confidence must be a number between 0.5 and 1 (e.g. 0.95), got {level!r}")
    # each metric's own margin (Metric.gate_margin), then this file's entries over it, key by key
    from bench.metrics import gate_margins

    metrics = gate_margins()
    for name, tol in (raw.get("metrics") or {}).items():
        metrics[name] = {**metrics.get(name, {}), **tol}
    return {"default": raw.get("default") or {"abs": 0.0, "rel": 0.0}, "metrics": metrics,
            "confidence": float(level)}


def _cpu(manifest: dict[str, Any]) -> str:
    cpu = (manifest.get("environment") or {}).get("cpu") or {}
    return cpu.get("model") or "unknown CPU"


def _asr_setting(manifest: dict[str, Any]) -> str:
    """'float32/AVX2'-style ASR kernel setting of a run or baseline manifest ('' if no WER)."""
    info = manifest.get("asr") or (manifest.get("metrics") or {}).get("wer") or {}
    if not info.get("compute_type"):
        return ""
    isa = (info.get("cpu_kernels") or {}).get("CT2_FORCE_CPU_ISA") or "auto ISA"
    return f"{info['compute_type']}/{isa}"


def _verdict(worse: stats.Interval, margin: float) -> str:
    """REGRESSION / ok / inconclusive from the CI of the worsening (positive = worse)."""
    if worse.low > 0 and worse.estimate > margin + 1e-12:
        return "REGRESSION"
    if worse.high <= margin + 1e-12:
        return "ok"
    return "inconclusive"


def _paired(b_items: pd.DataFrame, r_items: pd.DataFrame, sign: float,
            level: float = stats.LEVEL) -> tuple[stats.Interval, set, set]:
    """CI of the worsening over items scored on both sides; also the two item sets."""
    b = b_items.sort_values("item", kind="stable")
    r = r_items.sort_values("item", kind="stable")
    b_ids, r_ids = b["item"].to_numpy(), r["item"].to_numpy()
    bv, rv, w = b["value"].to_numpy(float), r["value"].to_numpy(float), b["weight"].to_numpy(float)
    if len(b_ids) != len(r_ids) or not np.array_equal(b_ids, r_ids):
        return stats.Interval(math.nan, math.nan, math.nan, 0), set(b_ids), set(r_ids)
    ok = ~(np.isnan(bv) | np.isnan(rv))
    bv, rv, w = bv[ok], rv[ok], w[ok]
    if len(w) and np.all(w == w[0]):
        ci = stats.paired_diff_ci(bv, rv, level=level)
    else:
        ci = stats.paired_diff_ci(bv, rv, w, level=level)
    lo, hi = sorted((sign * ci.low, sign * ci.high))
    worse = stats.Interval(sign * ci.estimate, lo, hi, ci.n, ci.se)
    ids = set(b_ids)
    return worse, ids, ids


def compare(baseline: pd.DataFrame | Side, run: pd.DataFrame | Side, tolerances: dict[str, Any],
            strict: bool = False, common_only: bool = False) -> GateResult:
    """Gate ``run`` against ``baseline`` (summaries, or :class:`Side` objects with item rows).
    ``common_only``: gate the (setting, metric) pairs both hold and list the rest as left out."""
    base = baseline if isinstance(baseline, Side) else Side(baseline, None, {}, Path("baseline"))
    new = run if isinstance(run, Side) else Side(run, None, {}, Path("run"))
    problems: list[str] = []
    notes: list[str] = []
    rows = []
    run_idx = {(r.label, r.metric): r for r in new.summary.itertuples()}
    paired_possible = base.items is not None and new.items is not None
    if not paired_possible:
        notes.append("baseline or run has no item-level rows: means compared with the margin only (unpaired, "
                     "no significance test); recreate the baseline with `bench baseline create` for a paired gate")
    if base.manifest or new.manifest:
        notes.append(f"baseline made on {_cpu(base.manifest)}; run on {_cpu(new.manifest)}")
        a, b = _asr_setting(base.manifest), _asr_setting(new.manifest)
        if a != b and (a or b):
            notes.append(f"ASR setting differs: baseline {a or 'unknown'}, run {b or 'unknown'} "
                         "(WER may shift for that reason alone)")
    groups_b = dict(tuple(base.items.groupby(["label", "metric"], sort=False))) if paired_possible else {}
    groups_r = dict(tuple(new.items.groupby(["label", "metric"], sort=False))) if paired_possible else {}
    exit_code = PASS
    absent: dict[str, list[str]] = {}
    for b in base.summary.itertuples():
        tol = {**tolerances["default"], **tolerances["metrics"].get(b.metric, {})}
        if tol.get("ignore"):
            continue
        r = run_idx.get((b.label, b.metric))
        if r is None:
            absent.setdefault(b.label, []).append(b.metric)
            continue
        if int(r.n) + int(r.n_failed) != int(b.n) + int(b.n_failed):
            problems.append(
                f"{b.label} / {b.metric}: run scored {int(r.n) + int(r.n_failed)} items, baseline "
                f"{int(b.n) + int(b.n_failed)}: not the same item set"
            )
            exit_code = max(exit_code, UNUSABLE)
            continue
        hib = bool(tol.get("higher_is_better", b.higher_is_better))
        sign = -1.0 if hib else 1.0
        base_mean, new_mean = float(b.mean), float(r.mean)
        margin = max(float(tol.get("abs", 0.0)), float(tol.get("rel", 0.0)) * abs(base_mean))
        delta = new_mean - base_mean
        bi, ri = groups_b.get((b.label, b.metric)), groups_r.get((b.label, b.metric))
        lo = hi = mde = math.nan
        if bi is not None and ri is not None and len(bi) and len(ri):
            worse, b_set, r_set = _paired(bi, ri, sign, float(tolerances.get("confidence", stats.LEVEL)))
            if b_set != r_set:
                problems.append(f"{b.label} / {b.metric}: different item set ({len(b_set - r_set)} baseline items "
                                f"not in the run, {len(r_set - b_set)} new)")
                exit_code = max(exit_code, UNUSABLE)
                continue
            test = "paired bootstrap"
            verdict = _verdict(worse, margin)
            lo, hi = sign * worse.high, sign * worse.low  # back in the metric's own direction
            lo, hi = min(lo, hi), max(lo, hi)
            mde = max(stats.min_detectable_effect(worse), margin)
        else:
            test = "unpaired (means vs margin)"
            worse_by = sign * delta
            verdict = "REGRESSION" if not math.isnan(worse_by) and worse_by > margin + 1e-12 else "ok"
        if math.isnan(new_mean) and not math.isnan(base_mean):
            status = "REGRESSION (now NaN)"
        elif int(r.n_failed) > int(b.n_failed):
            status = f"REGRESSION ({int(r.n_failed) - int(b.n_failed)} more failed)"
        else:
            status = verdict
        if status.startswith("REGRESSION") or (strict and status == "inconclusive"):
            exit_code = max(exit_code, REGRESSION)
        rows.append({"codec": b.label, "metric": b.metric, "direction": "↑" if hib else "↓",
                     "baseline": base_mean, "run": new_mean, "delta": delta, "delta_ci_low": lo, "delta_ci_high": hi,
                     "margin": margin, "mde": mde, "failed": f"{int(b.n_failed)}→{int(r.n_failed)}",
                     "test": test, "status": status})
    base_pairs = set(zip(base.summary["label"], base.summary["metric"]))
    extra: dict[str, list[str]] = {}
    for r in new.summary.itertuples():
        if (r.label, r.metric) not in base_pairs:
            extra.setdefault(r.label, []).append(r.metric)
    if absent:
        text = _pairs_text(absent, base.summary)
        if common_only:
            notes.append(f"left out (in the baseline, not in the run): {text}")
        else:
            problems.append(f"in the baseline but not in the run: {text} (gate what both hold with --common-only)")
            exit_code = max(exit_code, UNUSABLE)
    if extra and common_only:
        notes.append(f"left out (in the run, not in the baseline): {_pairs_text(extra, new.summary)}")
    if base.summary.empty:
        problems.append("baseline has no rows")
        exit_code = UNUSABLE
    elif not rows and common_only and exit_code == PASS and not problems:
        problems.append("nothing in common: the run has none of the baseline's setting/metric pairs")
        exit_code = UNUSABLE
    if rows:
        notes.append("delta CI: 95 % bootstrap over items of the paired difference; mde: smallest worsening the "
                     "suite detects (5 % test, 80 % power, at least the margin); inconclusive = the CI cannot "
                     "rule out a worsening beyond the margin" + (" (fails: --strict)" if strict else ""))
    return GateResult(pd.DataFrame(rows), exit_code, problems, notes)


def _pairs_text(missing: dict[str, list[str]], summary: pd.DataFrame) -> str:
    """'opus@12 (all 5 metrics); mp3@8: wer, cer': one entry per setting, not one line per pair."""
    per_label = summary.groupby("label", sort=False)["metric"].nunique().to_dict()
    parts = []
    for label, metrics in missing.items():
        if len(metrics) == per_label.get(label, -1):
            parts.append(f"{label} (all {len(metrics)} metrics)")
        else:
            parts.append(f"{label}: {', '.join(metrics)}")
    return "; ".join(parts)


def gate(baseline: Path, run: Path, config: Path | None = None, strict: bool = False,
         common_only: bool = False) -> GateResult:
    """Validate both inputs, then compare (:func:`compare`). ``config``: the margins YAML (None:
    zero margins; the CLI passes :func:`default_margins`). Unusable input is exit 2 with its reasons,
    never an exception."""
    notes = [f"margins: {Path(config).resolve()}" if config is not None else "margins: none (every margin 0)"]
    try:
        tolerances = load_tolerances(config)
        base, new = load_side(baseline), load_side(run)
    except BenchError as exc:
        return GateResult(pd.DataFrame(), UNUSABLE, [str(exc)], notes)
    problems = (validate(base, "baseline") + validate(new, "run") + check_run_complete(base, "baseline")
                + check_run_complete(new, "run"))
    found, more = check_checksums(base)
    problems += found
    notes += more
    found, more = check_same_items(base, new)
    problems += found
    notes += more
    if problems:
        return GateResult(pd.DataFrame(), UNUSABLE, problems, notes)
    result = compare(base, new, tolerances, strict=strict, common_only=common_only)
    result.notes[:0] = notes
    return result
