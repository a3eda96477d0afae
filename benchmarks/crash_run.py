"""A full demo run with one deliberately crashing item, compared with runs without it (issue 13).

Runs (or, with ``--run``, reads) the demo with the test-only ``test-fault`` metric
(tests/plugins/fault_metric.py) set to SIGSEGV its worker on ``--item``, and compares every item
row but that item's with one or more reference row files (a run directory's ``rows.jsonl`` or a
baseline's ``*.rows.csv.gz``). Prints per reference and metric how many values differ and by how
much, and checks that the crashing item's rows all failed with the crash reason. Set-level rows
(``item == "*"``: EER, corpus WER) are left out: they legitimately change when an item is missing.

A value that differs from a run on *another* CPU by the last bits is expected (README,
"Cross-CPU"); against a run on the same machine every value must be identical.

  python benchmarks/crash_run.py --against reports/baselines/demo.rows.csv.gz \\
      --against reports/runs/demo-<hash>          # ~60 CPU-minutes: runs the demo first
  python benchmarks/crash_run.py --run reports/runs/crash --against ...   # compare an existing run

Exit status: 0 when the crashing item failed alone and every value equals the first reference's,
1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ROOT / "tests" / "plugins"
DEMO_CODECS = "original,opus@6,opus@12,codec2@3.2,codec2@1.3,mp3@8,amrnb@12.2,lyra@3.2,lyra@6,lyra@9.2"
KEY = ["item", "label", "metric"]


def _rows(path: Path) -> pd.DataFrame:
    """Long-form rows of a run directory or a baseline's compressed CSV, at full float precision."""
    if path.is_dir():
        return pd.read_json(path / "rows.jsonl", lines=True, precise_float=True)
    if path.name.endswith(".csv.gz") or path.suffix == ".csv":
        return pd.read_csv(path)
    return pd.read_json(path, lines=True, precise_float=True)


def _run(out: Path, item: str) -> None:
    from bench.metrics import resolve_metrics
    from bench.suites import load_suite

    metrics = [m.name for m in resolve_metrics(None, load_suite("demo").fields)]  # the demo's defaults
    cmd = [str(Path(sys.executable).with_name("bench")), "run", "--plugin", "fault_metric", "--codec", DEMO_CODECS,
           "--suite", "demo", *[a for m in metrics for a in ("--metric", m)], "--metric", "test-fault",
           "--out", str(out), "--no-progress"]
    env = {**os.environ, "CODECBENCH_FAULTS": f"segv={item}",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(PLUGINS), os.environ.get("PYTHONPATH")]))}
    subprocess.run(cmd, check=True, env=env, cwd=ROOT)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--item", default="1688-142285-0002", help="demo item whose worker crashes every time")
    ap.add_argument("--run", type=Path, help="an existing crash run to compare (default: run one)")
    ap.add_argument("--out", type=Path, default=ROOT / "reports" / "runs" / "crash")
    ap.add_argument("--against", type=Path, action="append", required=True,
                    help="reference rows: a run directory or a baseline *.rows.csv.gz (repeatable)")
    args = ap.parse_args()
    run = args.run or args.out
    if args.run is None:
        _run(args.out, args.item)

    rows = _rows(run)
    bad = rows[rows["item"] == args.item]
    reasons = sorted(bad["error"].dropna().unique())
    crashed_alone = len(bad) > 0 and bad["error"].notna().all() and all(
        r.startswith("worker crashed: signal 11 (SIGSEGV)") and "also in a fresh worker" in r for r in reasons)
    print(f"{run}: crashing item {args.item}: {len(bad)} rows, {int(bad['error'].notna().sum())} failed")
    for r in reasons[:3]:
        print(f"  {r}")
    others = rows[(rows["item"] != "*") & (rows["item"] != args.item) & (rows["metric"] != "test-fault")]
    other_failed = int(others["error"].notna().sum())
    print(f"other item rows: {len(others)}, failed: {other_failed}")

    identical_to_first = None
    for ref_path in args.against:
        ref = _rows(ref_path)
        ref = ref[(ref["item"] != "*") & (ref["item"] != args.item) & ref["metric"].isin(others["metric"].unique())]
        m = others.merge(ref, on=KEY, how="outer", suffixes=("", "_ref"), indicator=True)
        only = m["_merge"].value_counts().to_dict()
        both = m[m["_merge"] == "both"]
        same = (both["value"] == both["value_ref"]) | (both["value"].isna() & both["value_ref"].isna())
        print(f"\nagainst {ref_path}: {len(both)} rows in both, only in the crash run {only.get('left_only', 0)}, "
              f"only in the reference {only.get('right_only', 0)}; identical {int(same.sum())}")
        diff = both.assign(d=(both["value"] - both["value_ref"]).abs(), differ=~same)
        table = diff.groupby("metric").agg(rows=("d", "size"), differ=("differ", "sum"), max_abs_diff=("d", "max"))
        print(table.to_string())
        if identical_to_first is None:
            identical_to_first = bool(same.all()) and not only.get("left_only") and not only.get("right_only")
    ok = crashed_alone and other_failed == 0 and identical_to_first
    print(f"\n{'OK' if ok else 'NOT OK'}: crashing item failed alone: {crashed_alone}; "
          f"every other value identical to {args.against[0]}: {identical_to_first}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
