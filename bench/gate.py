"""Regression gate: compare a run's summary with a committed baseline.

It must never cry wolf and never miss a real drop, so it is strict about comparability: a
baseline row missing from the run, or a different item count, is unusable input (exit 2), not a
pass. Direction comes from each metric's ``higher_is_better``; tolerance from a YAML file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from bench.errors import BenchError, ConfigError

PASS, REGRESSION, UNUSABLE = 0, 1, 2


@dataclass
class GateResult:
    table: pd.DataFrame  # one row per (label, metric) with base, run, delta, allowed, status
    exit_code: int
    problems: list[str]

    @property
    def markdown(self) -> str:
        return self.table.to_markdown(index=False, floatfmt=".4f") if not self.table.empty else "(nothing compared)"


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
    return {"default": raw.get("default") or {"abs": 0.0, "rel": 0.0}, "metrics": raw.get("metrics") or {}}


def compare(baseline: pd.DataFrame, run: pd.DataFrame, tolerances: dict[str, Any]) -> GateResult:
    problems: list[str] = []
    rows = []
    run_idx = {(r.label, r.metric): r for r in run.itertuples()}
    exit_code = PASS
    for b in baseline.itertuples():
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
        base, new = float(b.mean), float(r.mean)
        allowed = max(float(tol.get("abs", 0.0)), float(tol.get("rel", 0.0)) * abs(base))
        delta = new - base
        worse_by = -delta if hib else delta
        if math.isnan(new) and not math.isnan(base):
            status = "REGRESSION (now NaN)"
        elif int(r.n_failed) > int(b.n_failed):
            status = f"REGRESSION ({int(r.n_failed) - int(b.n_failed)} more failed)"
        elif not math.isnan(worse_by) and worse_by > allowed + 1e-12:
            status = "REGRESSION"
        else:
            status = "ok"
        if status != "ok":
            exit_code = max(exit_code, REGRESSION)
        rows.append({"codec": b.label, "metric": b.metric, "direction": "↑" if hib else "↓",
                     "baseline": base, "run": new, "delta": delta, "allowed": allowed,
                     "failed": f"{int(b.n_failed)}→{int(r.n_failed)}", "status": status})
    if baseline.empty:
        problems.append("baseline has no rows")
        exit_code = UNUSABLE
    return GateResult(pd.DataFrame(rows), exit_code, problems)


def gate(baseline: Path, run: Path, config: Path | None = None) -> GateResult:
    return compare(load_summary(baseline), load_summary(run), load_tolerances(config))
