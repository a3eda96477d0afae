"""How often does the paired gate cry wolf, and how often does it catch a real drop?

Simulation on the item-level rows of a real demo run (the baseline). Each simulated rerun adds
mean-zero noise of the size measured between platforms / thread counts:

- WER / WER original: the per-item differences measured between two real runs that differ only
  in the ASR setting (``--noise-run``, e.g. int8 vs float32 transcripts), each applied with a
  random sign (mean zero, same size);
- every other metric: Gaussian noise with the per-item standard deviation given by ``--sd
  METRIC=SD`` (measured by benchmarks/thread_repro.py; 0 where the backend is bit-identical).

Scenarios (200 runs each by default): null reruns; visqol-speech -0.1 on every item; pesq-wb
-0.05 on a random half of the items; corpus WER +1 point (one extra word error on randomly chosen
utterances until the errors add up to 1 % of the reference words). Prints false-alarm and
detection rates (exit 1 of the gate) and the minimum detectable effect per metric.

  python benchmarks/gate_power.py reports/runs/int8 --noise-run reports/runs/f32 [--sims 200]
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.gate import Side, compare, item_rows, load_tolerances
from bench.metrics import all_metrics
from bench.pipeline.rundir import RunDir

ROOT = Path(__file__).resolve().parents[1]


def light_summary(items: pd.DataFrame) -> pd.DataFrame:
    """mean / n / n_failed per (label, metric) from item rows (the gate reads only these)."""
    hib = {n: c.higher_is_better for n, c in all_metrics().items()}
    hib.update({"kbps": False, "wer-original": False, "cer-original": False})
    out = []
    for (label, metric), g in items.groupby(["label", "metric"], sort=False):
        ok = g[g["value"].notna()]
        w, v = ok["weight"].to_numpy(float), ok["value"].to_numpy(float)
        out.append({"label": label, "metric": metric, "mean": float(np.sum(w * v) / np.sum(w)) if len(ok) else math.nan,
                    "n": len(ok), "n_failed": int(g["value"].isna().sum()), "higher_is_better": hib.get(metric, True)})
    return pd.DataFrame(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run", type=Path, help="run directory used as the baseline (item rows)")
    ap.add_argument("--noise-run", type=Path, help="same run with another ASR setting: WER noise")
    ap.add_argument("--sd", action="append", default=[], help="METRIC=SD per-item Gaussian noise")
    ap.add_argument("--sims", type=int, default=200)
    ap.add_argument("--config", type=Path, default=ROOT / "reports/gate.yaml")
    args = ap.parse_args()
    tol = load_tolerances(args.config)
    base_items = item_rows(RunDir(args.run).rows()).sort_values(["label", "metric", "item"]).reset_index(drop=True)
    base = Side(light_summary(base_items), base_items, {}, args.run)
    sd = {k: float(v) for k, v in (s.split("=") for s in args.sd)}

    # measured WER noise: per-item differences in errors between the two ASR settings, on the items
    # the noise run scored; each simulated rerun draws, for every item, one measured difference of
    # the same codec setting and metric (with replacement) with a random sign
    pools: dict[tuple[str, str], np.ndarray] = {}
    if args.noise_run:
        other = item_rows(RunDir(args.noise_run).rows()).set_index(["label", "metric", "item"])["value"]
        key = pd.MultiIndex.from_frame(base_items[["label", "metric", "item"]])
        d = other.reindex(key).to_numpy() - base_items["value"].to_numpy()
        errs = d * base_items["weight"].to_numpy(float) / 100.0  # in word errors
        for m in ("wer", "wer-original"):
            for label in base_items["label"].unique():
                sel = ((base_items["metric"] == m) & (base_items["label"] == label)).to_numpy() & ~np.isnan(d)
                if sel.any():
                    pools[(label, m)] = errs[sel]
                    print(f"measured {label} {m} noise: {int((errs[sel] != 0).sum())} of {int(sel.sum())} "
                          f"utterances differ; |errors| mean {np.abs(errs[sel]).mean():.3f}")
    sd_vec = base_items["metric"].map(lambda m: sd.get(m, 0.0)).to_numpy(float)
    pool_idx = {k: np.flatnonzero(((base_items["label"] == k[0]) & (base_items["metric"] == k[1])).to_numpy())
                for k in pools}

    metric = base_items["metric"].to_numpy()
    words = base_items["weight"].to_numpy(float)

    def simulate(rng: np.random.Generator, scenario: str) -> pd.DataFrame:
        v = base_items["value"].to_numpy(float).copy()
        v += rng.normal(0, 1, len(v)) * sd_vec
        for k, idx in pool_idx.items():
            e = rng.choice(pools[k], size=len(idx)) * rng.choice([-1.0, 1.0], size=len(idx))
            v[idx] += 100.0 * e / words[idx]  # mean zero (not clamped at 0 errors)
        if scenario == "visqol-speech -0.1 all":
            v[metric == "visqol-speech"] -= 0.1
        elif scenario == "pesq-wb -0.05 half":
            for label in base_items["label"].unique():
                idx = np.flatnonzero((metric == "pesq-wb") & (base_items["label"].to_numpy() == label))
                v[rng.choice(idx, size=len(idx) // 2, replace=False)] -= 0.05
        elif scenario == "wer +1 point":
            for label in base_items["label"].unique():
                idx = np.flatnonzero((metric == "wer") & (base_items["label"].to_numpy() == label))
                need = int(round(0.01 * words[idx].sum()))
                for i in rng.choice(idx, size=need, replace=need > len(idx)):
                    v[i] += 100.0 / words[i]  # one more word error on that utterance
        run_items = base_items.assign(value=v)
        return compare(base, Side(light_summary(run_items), run_items, {}, args.run), tol)

    scenarios = ["null", "visqol-speech -0.1 all", "pesq-wb -0.05 half", "wer +1 point"]
    target = {"visqol-speech -0.1 all": "visqol-speech", "pesq-wb -0.05 half": "pesq-wb", "wer +1 point": "wer"}
    mde: dict[tuple[str, str], list[float]] = {}
    t0 = time.perf_counter()
    for s_i, scenario in enumerate(scenarios):
        fails = caught = inconclusive = 0
        for k in range(args.sims):
            res = simulate(np.random.default_rng(1000 * s_i + k), scenario)
            t = res.table
            fails += res.exit_code == 1
            if scenario == "null":
                inconclusive += int((t["status"] == "inconclusive").sum())
                for r in t.itertuples():
                    mde.setdefault((r.codec, r.metric), []).append(r.mde)
            else:
                rows = t[t["metric"] == target[scenario]]
                caught += bool(rows["status"].str.startswith("REGRESSION").all())
        if scenario == "null":
            print(f"null reruns: {fails} false alarms (exit 1) in {args.sims}; "
                  f"{inconclusive} inconclusive cells in {args.sims * len(t)}")
        else:
            print(f"{scenario}: gate exit 1 in {fails}/{args.sims}; metric flagged REGRESSION for every "
                  f"codec setting in {caught}/{args.sims} ({100 * caught / args.sims:.1f} %)")
    print(f"({time.perf_counter() - t0:.0f} s)")
    print("\nminimum detectable effect per metric (5 % test, 80 % power; at least the margin), null reruns:")
    for (label, m), vals in mde.items():
        stat = np.nanmean(vals)
        margin = compare(base, base, tol).table.set_index(["codec", "metric"]).loc[(label, m), "margin"]
        print(f"  {label:12s} {m:14s} mde {stat:.4f} (margin {margin:.4f})")


if __name__ == "__main__":
    main()
