"""Gate two runs that differ only in the ASR compute type (stand-in for "another CPU").

Takes a full run (old default, int8) and a WER-only run with the new default (float32, pinned
kernels) over a subset of its items; builds two run directories over that subset that differ only
in the WER rows (every other backend is bit-identical across runs: benchmarks/thread_repro.py),
and gates the second against the first with the paired gate.

  python benchmarks/compute_type_gate.py reports/runs/int8 reports/runs/f32-40 --out reports/runs/ct
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from bench.gate import gate
from bench.pipeline.rundir import RunDir
from bench.reporting.tables import summarize

ROOT = Path(__file__).resolve().parents[1]
ASR_METRICS = {"wer", "wer-original", "cer", "cer-original"}


def _write(path: Path, rows: pd.DataFrame, manifest: dict) -> None:
    run = RunDir(path)
    run.create()
    with (path / "rows.jsonl").open("w") as fh:
        for r in rows.to_dict("records"):
            fh.write(json.dumps({k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}) + "\n")
    summarize(rows).to_csv(path / "summary.csv", index=False)
    run.write_manifest(manifest)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("base", type=Path)
    ap.add_argument("asr_run", type=Path)
    ap.add_argument("--out", type=Path, default=ROOT / "reports/runs/ct")
    args = ap.parse_args()
    base, other = RunDir(args.base), RunDir(args.asr_run)
    b_rows, o_rows = base.rows(), other.rows()
    items = set(o_rows.loc[o_rows["item"] != "*", "item"])
    keep = b_rows["item"].isin(items)
    b_sub = b_rows[keep]
    # set-level rows (wer-original) must be recomputed over the subset: derive from the item rows
    from bench.metrics import ItemScore
    from bench.metrics.downstream.asr import WER

    def with_set_rows(rows: pd.DataFrame) -> pd.DataFrame:
        out = [rows[rows["item"] != "*"]]
        for label, g in rows[rows["metric"] == "wer"].groupby("label"):
            g = g[g["item"] != "*"]
            for r in WER(None).finalize(ItemScore.from_rows(g)):
                out.append(pd.DataFrame([{**g.iloc[0][["suite", "label", "codec", "setting"]].to_dict(),
                                          "item": "*", "weight": 1.0, **r}]))
        return pd.concat(out, ignore_index=True)

    base_rows = with_set_rows(b_sub)
    run_rows = with_set_rows(pd.concat([b_sub[~b_sub["metric"].isin(ASR_METRICS)],
                                        o_rows[o_rows["metric"].isin(ASR_METRICS) & (o_rows["item"] != "*")]],
                                       ignore_index=True))
    _write(args.out / "base", base_rows, base.read_manifest())
    _write(args.out / "run", run_rows, other.read_manifest())
    res = gate(args.out / "base", args.out / "run", ROOT / "reports/gate.yaml")
    print(f"{len(items)} items; baseline {args.base} (ASR as in its manifest), run: WER rows from {args.asr_run}")
    print(res.markdown)
    for p in res.problems:
        print("not comparable:", p)
    print("exit code", res.exit_code)
    for label in sorted(set(run_rows["label"])):
        a = base_rows[(base_rows.label == label) & (base_rows.metric == "wer")].set_index("item")["x_hypothesis"]
        b = run_rows[(run_rows.label == label) & (run_rows.metric == "wer")].set_index("item")["x_hypothesis"]
        print(f"{label}: {int((a.reindex(b.index) != b).sum())} of {len(b)} reconstruction transcripts differ")
    a = base_rows[base_rows.metric == "wer"].drop_duplicates("item").set_index("item")["x_original_hypothesis"]
    b = run_rows[run_rows.metric == "wer"].drop_duplicates("item").set_index("item")["x_original_hypothesis"]
    print(f"originals: {int((a.reindex(b.index) != b).sum())} of {len(b)} transcripts differ")


if __name__ == "__main__":
    main()
