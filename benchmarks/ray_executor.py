"""The Ray executor next to the local pool: wall times on the demo suite, rows checked identical,
and a simulated estimate of how a run scales with more CPUs.

    .venv/bin/python benchmarks/ray_executor.py [--limit N] [--codec opus@6,mp3@8] [--metric NAME ...]
                                                [--jobs 2] [--cpus 2,4,8,16,32]

In one invocation: a warm-up (inline, 2 items: imports, file caches), then the same run with
``--executor local`` and with ``--executor ray`` (a local Ray instance with --jobs CPUs, which the
executor starts and stops), each into a fresh temporary run directory and suite cache. It prints
both wall times and their ratio, the Ray instance's start-up (which a run on an already running
cluster does not pay), the CPU seconds each run's process tree used (a cost that other jobs'
load skews far less than wall time), the load average around each run, and fails if the rows'
value/weight/error differ. The default workload is the demo's 6 classical
codec settings x 96 clips with the cheap metrics (576 units of ~0.1-0.3 s each): long enough that
per-run start-up costs do not decide the ratio, short enough to run twice.

Scaling beyond this machine's cores is a SIMULATION, not a measurement. From the Ray run it takes
the per-unit costs (encode + decode + every metric's ``seconds``, with each metric's first call per
worker, which loads its model, set to the median), scaled by one factor so that the simulated run
at --jobs CPUs takes the measured time between the first and the last result (the factor covers
what the rows do not time: loading, resampling, alignment, transfers); the workers' start-up (Ray
start to the first result); and the driver's CPU time per result, which bounds the throughput.
Units go to the first free CPU in submission order; the fixed costs (Ray start, the driver's
set-up and finalize) are added as measured. It assumes per-unit costs do not change with more CPUs
(no memory-bandwidth or file-server contention) and that workers start in parallel.
"""

from __future__ import annotations

import argparse
import heapq
import os
import threading
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

CODECS = "opus@6,opus@12,codec2@3.2,codec2@1.3,mp3@8,amrnb@12.2"  # the demo's classical settings
METRICS = ["si-sdr", "snr", "stoi", "pesq-wb"]
COLUMNS = ["item", "label", "metric", "value", "weight", "error"]


class TreeCPU:
    """CPU seconds used by this process and its descendants while open, sampled from /proc (a Ray
    worker is a grandchild that no rusage reaches): a cost that other jobs' load skews far less
    than wall time does. A process that ends loses its last ``interval`` of CPU time."""

    interval = 0.2

    def __enter__(self) -> "TreeCPU":
        self.seen: dict[tuple[int, int], int] = {}  # (pid, start time) -> utime + stime ticks
        self.cpu0 = time.process_time()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.seconds = time.process_time() - self.cpu0 + sum(self.seen.values()) / os.sysconf("SC_CLK_TCK")

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        parent, ticks = {}, {}
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parent[int(pid)] = int(fields[1])
            ticks[(int(pid), int(fields[19]))] = int(fields[11]) + int(fields[12])
        mine, todo = set(), [os.getpid()]
        while todo:
            pid = todo.pop()
            kids = [c for c, p in parent.items() if p == pid]
            mine.update(kids)
            todo.extend(kids)
        self.seen.update({key: t for key, t in ticks.items() if key[0] in mine})


def makespan(costs: list[float], cpus: int) -> float:
    """Units (in submission order) each to the first free CPU: when the last one ends."""
    free = [0.0] * cpus
    for cost in costs:
        heapq.heappush(free, heapq.heappop(free) + cost)
    return max(free)


def unit_costs(run_dir: Path, jobs: int) -> list[float]:
    """Per-unit seconds from the rows, in completion order, with each metric's ``jobs`` slowest
    calls (each worker's first: model loading) set to the metric's median."""
    import pandas as pd

    from bench.pipeline.rundir import RunDir

    rundir = RunDir(run_dir)
    rows = rundir.rows()
    rows = rows[rows["item"] != "*"].dropna(subset=["seconds"]).copy()
    for _, sub in rows.groupby("metric"):
        rows.loc[sub["seconds"].nlargest(jobs).index, "seconds"] = sub["seconds"].median()
    items = rundir.items()
    per = rows.groupby(["item", "label"])["seconds"].sum()
    coded = items.set_index(["item", "label"])[["encode_s", "decode_s"]].sum(axis=1)
    total = per.add(coded, fill_value=0.0)
    order = pd.MultiIndex.from_frame(items[["item", "label"]])  # completion order stands in for submission
    return [float(total[k]) for k in order]


def main(argv: list[str] | None = None) -> int:
    import json
    import statistics

    from bench.pipeline import ray_executor
    from bench.pipeline.runner import run, split_names

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit", type=int, default=None, help="items of the demo suite (default: all 96)")
    p.add_argument("--codec", default=CODECS)
    p.add_argument("--metric", action="append", default=None, help=f"default: {' '.join(METRICS)}")
    p.add_argument("--jobs", type=int, default=2, help="local workers = CPUs of the Ray instance")
    p.add_argument("--repeat", type=int, default=1, help="pairs of runs, in alternating order (local first, then "
                                                          "ray first, ...), so that a change of load shows")
    p.add_argument("--cpus", default="2,4,8,16,32", help="CPU counts for the simulated scaling")
    args = p.parse_args(argv)
    codecs, metrics = split_names(args.codec), args.metric or METRICS

    marks: dict[str, list[float]] = {"wall": [], "cpu": []}
    timed_run = ray_executor.RayExecutor.run

    def mark() -> None:
        marks["wall"].append(time.perf_counter())
        marks["cpu"].append(time.process_time())

    def run_and_mark(self, units):  # driver-side marks for the simulation: start, then each result
        marks["wall"].clear()
        marks["cpu"].clear()
        mark()
        for outcome in timed_run(self, units):
            mark()
            yield outcome

    ray_executor.RayExecutor.run = run_and_mark
    pairs: list[dict[str, tuple[float, float, float, float]]] = []  # name -> (wall, CPU, load before, after)
    reference, same = None, True
    with tempfile.TemporaryDirectory() as tmp:
        run(codecs[:1], "demo", metrics, out=Path(tmp) / "warm", limit=2, jobs=1, progress=False, executor="inline",
            cache_dir=Path(tmp) / "cache-warm")
        for r in range(args.repeat):
            pairs.append({})
            for name in ("local", "ray") if r % 2 == 0 else ("ray", "local"):
                out = Path(tmp) / f"{name}-{r}"
                before = os.getloadavg()[0]
                t0 = time.perf_counter()
                with TreeCPU() as used:
                    result = run(codecs, "demo", metrics, out=out, limit=args.limit, jobs=args.jobs, progress=False,
                                 executor=name, cache_dir=Path(tmp) / f"cache-{name}-{r}")
                pairs[-1][name] = (time.perf_counter() - t0, used.seconds, before, os.getloadavg()[0])
                rows = _values(result.rows)
                reference = rows if reference is None else reference
                same = same and rows.equals(reference)
                if name == "ray":
                    info = json.loads((out / "manifest.json").read_text())["executor"]
                    costs, n = unit_costs(out, args.jobs), result.n_units
                    wall, cpu, ray_wall = list(marks["wall"]), list(marks["cpu"]), pairs[-1]["ray"][0]

    print(f"{n} units ({len(codecs)} codec settings x {n // len(codecs)} demo items), metrics {', '.join(metrics)}, "
          f"--jobs {args.jobs}, ray {info['ray']}, {os.cpu_count()} cores")
    for pair in pairs:
        for name, (seconds, used, before, after) in pair.items():
            print(f"  {name:<6} wall {seconds:7.1f} s   CPU {used:7.1f} s   load average {before:.1f} before, "
                  f"{after:.1f} after")
        print(f"  ray / local: wall {pair['ray'][0] / pair['local'][0]:.3f}, CPU {pair['ray'][1] / pair['local'][1]:.3f}")
    start = info["connect_s"]
    for i, what in ((0, "wall"), (1, "CPU ")):
        ratios = [pair["ray"][i] / pair["local"][i] for pair in pairs]
        print(f"ray / local {what}: mean {statistics.mean(ratios):.3f} over {len(ratios)} pair(s)")
    print(f"  (the Ray instance's start, {start:.1f} s in the last run, is in both; a run on a running cluster "
          "pays a connect instead)")
    print(f"rows (value, weight, error) of all {2 * len(pairs)} runs {'identical' if same else 'DIFFERENT'}")

    driver_fixed = ray_wall - (wall[-1] - wall[0])
    startup = wall[1] - wall[0] - start  # workers starting (and their first unit) until the first result
    driver_per_unit = (cpu[-1] - cpu[1]) / max(1, n - 1)
    scale = (wall[-1] - wall[1]) / makespan(costs, args.jobs)
    print(f"\nSIMULATED scaling of the last Ray run (from its measured per-unit costs; not measured on more CPUs): "
          f"row-timed unit costs {sum(costs):.1f} s in all x {scale:.2f} (calibrated at {args.jobs} CPUs); "
          f"fixed: driver {driver_fixed:.1f} s + Ray start {start:.1f} s + workers' start-up {startup:.1f} s; "
          f"driver CPU {driver_per_unit * 1e3:.1f} ms per result")
    base = None
    for cpus in [int(c) for c in args.cpus.split(",")]:
        total = driver_fixed + start + startup + max(scale * makespan(costs, cpus), n * driver_per_unit)
        base = base or total
        print(f"  {cpus:>3} CPUs  {total:7.1f} s   speed-up {base / total:5.2f}x vs {args.cpus.split(',')[0]} CPUs")
    return 0 if same else 1


def _values(rows):
    out = rows[COLUMNS].sort_values(COLUMNS[:3]).reset_index(drop=True)
    out["error"] = out["error"].astype(object).where(out["error"].notna(), None)  # only that column
    return out


if __name__ == "__main__":
    raise SystemExit(main())
