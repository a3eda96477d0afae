"""Regression gate: compare a run with a committed baseline, item by item.

It must never cry wolf and never miss a real drop. A baseline keeps item-level values (a
``NAME.rows.csv.gz`` next to ``NAME.csv``, written by ``bench baseline create``), so each item is
compared with itself: for every (codec setting, metric) the gate takes the paired difference of
the (weighted) means, its seeded bootstrap CI over items (:mod:`bench.stats`), and decides

- ``REGRESSION``: the worsening is statistically significant (the 95 % CI excludes 0) *and* its
  estimate is larger than the metric's practical margin in ``reports/gate.yaml``;
- ``ok``: the CI rules out a worsening larger than the margin;
- ``inconclusive``: neither (the suite cannot tell); reported, fails only with ``strict``.

More failed items, or a value that is now NaN, is always a regression. A baseline row missing
from the run, or a different item set, is unusable input (exit 2), not a pass. The table gives
each metric's minimum detectable effect (from the paired spread) so a reader knows what the
suite can see. Summary-only baselines (no rows file) and set-level rows that cannot be paired
(EER over trials) fall back to comparing means with the margin, and say so (``test`` column).
"""

from __future__ import annotations

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

PASS, REGRESSION, UNUSABLE = 0, 1, 2
SET_ITEM = "*"
ROW_COLUMNS = ["suite", "label", "metric", "item", "value", "weight", "error"]


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
        derive = getattr(cls, "derived_item_rows", None)
        if derive is not None and (rows["metric"] == cls.name).any():
            d = derive(rows)
            if not d.empty:
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


def load_side(path: Path) -> Side:
    """A run directory (rows + summary + manifest) or a baseline summary CSV (+ its rows file and
    manifest when present)."""
    path = Path(path)
    if path.is_dir():
        from bench.pipeline.rundir import RunDir

        run = RunDir(path)
        rows = run.rows()
        try:
            manifest = run.read_manifest()
        except Exception:
            manifest = {}
        return Side(load_summary(path), item_rows(rows) if not rows.empty else None, manifest, path)
    summary = load_summary(path)
    rp, mp = rows_path(path), manifest_path(path)
    items = read_rows_file(rp) if rp.exists() else None
    manifest = json.loads(mp.read_text()) if mp.exists() else {}
    return Side(summary, items, manifest, path)


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
    return {"default": raw.get("default") or {"abs": 0.0, "rel": 0.0}, "metrics": raw.get("metrics") or {},
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
            strict: bool = False) -> GateResult:
    """Gate ``run`` against ``baseline`` (summaries, or :class:`Side` objects with item rows)."""
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
    for b in base.summary.itertuples():
        tol = {**tolerances["default"], **tolerances["metrics"].get(b.metric, {})}
        if tol.get("ignore"):
            continue
        r = run_idx.get((b.label, b.metric))
        if r is None:
            problems.append(f"{b.label} / {b.metric}: in the baseline but not in the run")
            exit_code = max(exit_code, UNUSABLE)
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
    if base.summary.empty:
        problems.append("baseline has no rows")
        exit_code = UNUSABLE
    if rows:
        notes.append("delta CI: 95 % bootstrap over items of the paired difference; mde: smallest worsening the "
                     "suite detects (5 % test, 80 % power, at least the margin); inconclusive = the CI cannot "
                     "rule out a worsening beyond the margin" + (" (fails: --strict)" if strict else ""))
    return GateResult(pd.DataFrame(rows), exit_code, problems, notes)


def gate(baseline: Path, run: Path, config: Path | None = None, strict: bool = False) -> GateResult:
    return compare(load_side(baseline), load_side(run), load_tolerances(config), strict=strict)
