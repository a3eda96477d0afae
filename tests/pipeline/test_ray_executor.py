"""The Ray executor (issue 12): the local executor's rows, resumes and failure semantics, on Ray.

The resume test joins one local Ray instance with 2 CPUs, started once for the module in a process
of its own (as ``ray start --head`` runs one), so that its driver can be killed without taking the
cluster along. The other Ray run lets the executor start and stop its own 2-CPU instance, the path
``bench run --executor ray`` takes without --address. Nearly all of the time is Python starting:
every run is a Ray job, and a job's workers are new processes (4-9 s of CPU each here, much of it
importing torch in the worker initialiser), so the tests use few runs and metrics without
torchmetrics (its import costs another ~6 s of CPU per worker). Measured: 127 s for the module at
load average 2.8-5.1 on 2 shared cores, 99 s of CPU in its whole process tree.
"""

from __future__ import annotations

import importlib.util
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.errors import BenchError, UnavailableError
from bench.pipeline.executors import create_executor
from bench.pipeline.runner import run
from bench.suites import load_suite, select_items
from helpers.data import DEMO, REPO

pytestmark = [pytest.mark.ray]

needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                               reason="ray is not installed (pip install 'codecbench[ray]')")
METRICS = ["stoi", "pesq-wb"]
LIMIT = 8
COLUMNS = ["item", "label", "metric", "value", "weight", "error"]
PLUGINS = Path(__file__).resolve().parents[1] / "plugins"
HEAD = """
import sys, ray
ray.init("local", num_cpus=2, include_dashboard=False, logging_level="warning")
print(ray.get_runtime_context().gcs_address, flush=True)
sys.stdin.read()  # until the test module closes it
ray.shutdown()
"""


def _values(rows: pd.DataFrame) -> pd.DataFrame:
    out = rows[COLUMNS].sort_values(["item", "label", "metric"]).reset_index(drop=True)
    # only the error column's missing values become None (NaN and None are the same "no error")
    out["error"] = out["error"].astype(object).where(out["error"].notna(), None)
    return out


@pytest.fixture(scope="module")
def cluster():
    """GCS address of a 2-CPU Ray instance that outlives the drivers that join it."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAY_USAGE_STATS_ENABLED", "0")
        mp.setenv("RAY_AUTH_MODE", "token")  # Ray's default for a new instance; an explicit address must say so
        head = subprocess.Popen([sys.executable, "-c", HEAD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            address = head.stdout.readline().strip()
            assert address, "the Ray head process did not start"
            yield address
        finally:
            head.stdin.close()
            try:
                head.wait(timeout=60)
            except subprocess.TimeoutExpired:
                head.kill()


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    """The reference: the demo's first LIMIT items with the local executor (one worker: rows do not
    depend on the number of workers, and each costs a process start)."""
    out = tmp_path_factory.mktemp("local") / "run"
    rows = run(["opus@6"], "demo", METRICS, out=out, limit=LIMIT, jobs=1, progress=False).rows
    assert rows["error"].isna().all() and len(rows) == LIMIT * (1 + len(METRICS))
    return rows


@needs_ray
def test_rows_identical_to_local_while_a_crash_a_hang_and_an_unreadable_item_fail_alone(tmp_path, local,
                                                                                        monkeypatch):
    """On an instance the executor starts with 2 CPUs (and stops): the demo items' rows equal the
    local pool's bit for bit, and each bad item fails only its own rows, with the local reasons."""
    import ray

    clip = DEMO / "cmu_arctic/bdl/arctic_a0001.flac"
    missing = tmp_path / "gone.flac"  # absent on every node, as on a node without the shared dataset
    good = [(it.id, it.path) for it in select_items(load_suite("demo").items, LIMIT)]
    manifest = tmp_path / "m.csv"
    manifest.write_text("id,path,speaker,text\n" + "".join(f"{i},{p},spk,HELLO\n" for i, p in
                        [*good, ("crash", clip), ("hang", clip), ("gone", missing)]))
    monkeypatch.syspath_prepend(str(PLUGINS))  # workers get it from where the driver imported the plugin
    metrics = [*METRICS, "test-fault"]
    # 30 s: a worker's first unit imports its backends, which took over 15 s with the cores shared;
    # the plugin's switch reaches the workers in the job's runtime_env, from the run's config
    res = run(["opus@6"], str(manifest), metrics, out=tmp_path / "ray", jobs=2, progress=False, timeout=30,
              plugins=["fault_metric"], executor="ray", worker_env={"CODECBENCH_FAULTS": "segv=crash,hang=hang"})

    rows = res.rows[res.rows["item"] != "*"]
    ours = rows[rows["item"].isin(local["item"]) & rows["metric"].isin(local["metric"])]
    assert ours["error"].isna().all(), ours.loc[ours["error"].notna(), ["item", "metric", "error"]].to_string()
    pd.testing.assert_frame_equal(_values(ours), _values(local), check_exact=True)
    fault = rows[rows["item"].isin(local["item"]) & (rows["metric"] == "test-fault")]
    assert len(fault) == LIMIT and fault["error"].isna().all() and np.isfinite(fault["value"]).all()

    for item in ("crash", "hang", "gone"):
        assert sorted(rows.loc[rows["item"] == item, "metric"]) == sorted(["kbps", *metrics])
    # the crash is in one metric's code: run again in parts, only that metric's row fails, naming it
    crash = rows[rows["item"] == "crash"].set_index("metric")
    assert np.isnan(crash.loc["test-fault", "value"])
    assert crash.loc["test-fault", "error"].startswith("worker crashed in metric test-fault: WorkerCrashedError")
    kept = crash.drop("test-fault")
    assert kept["error"].isna().all() and np.isfinite(kept["value"]).all()
    for item in ("hang", "gone"):
        bad = rows[rows["item"] == item]
        assert bad["value"].isna().all() and bad["error"].nunique() == 1
    error = rows.set_index("item").groupby(level=0)["error"].first()
    assert error["hang"] == "timed out: coding/scoring hang with opus@6 took longer than 30 s; worker killed"
    assert error["gone"].startswith(f"{missing}: file not found (on host {socket.gethostname()}, Ray node ")
    assert "every Ray node must see the suite's audio" in error["gone"]
    failed = res.summary.set_index("metric")["n_failed"]
    assert failed["test-fault"] == 3 and (failed.drop("test-fault") == 2).all()

    assert not ray.is_initialized()  # it shut down what it started
    recorded = json.loads((tmp_path / "ray" / "manifest.json").read_text())["executor"]
    assert recorded["name"] == "ray" and recorded["ray"] == ray.__version__
    assert recorded["address"] == "local instance" and recorded["nodes"] == 1
    assert recorded["resources"]["CPU"] == 2 and recorded["in_flight"] == 4


@needs_ray
def test_resume_after_the_driver_is_killed(tmp_path, cluster, local):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "bench", "run", "--codec", "opus@6", "--suite", "demo", "--limit", str(LIMIT),
           *(f"--metric={m}" for m in METRICS), "--out", str(out), "--executor", "ray", "--address", cluster,
           "--jobs", "1", "--no-progress"]  # one task in flight: fewer workers to start, a wider window to kill in
    driver = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    items = out / "items.jsonl"
    deadline = time.monotonic() + 240
    while not (items.exists() and items.read_text().count("\n")) and driver.poll() is None:
        assert time.monotonic() < deadline, "no unit finished"
        time.sleep(0.05)
    driver.send_signal(signal.SIGKILL)
    assert driver.wait() == -signal.SIGKILL, driver.stderr.read()
    done = items.read_text().count("\n")
    assert 0 < done < LIMIT, f"{done} units finished before the kill: nothing left to resume"

    again = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    resumed = int(again.stdout.split(" units, ")[1].split(" resumed")[0])
    assert done <= resumed < LIMIT
    rows = pd.read_csv(out / "rows.csv")
    assert not rows.duplicated(["item", "label", "metric"]).any()
    records = [json.loads(line) for line in items.read_text().splitlines()]
    assert len({(r["item"], r["label"]) for r in records}) == len(records) == LIMIT  # no unit done twice
    pd.testing.assert_frame_equal(_values(rows[rows["item"] != "*"]), _values(local), check_exact=True)
    assert json.loads((out / "manifest.json").read_text())["executor"]["address"] == cluster


@needs_ray
def test_unreachable_or_unsupported_address_fails_clearly(tmp_path):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.monotonic()
    with pytest.raises(BenchError, match=f"--address 127.0.0.1:{port}: no Ray cluster reachable there"):
        run(["opus@6"], "demo", ["snr"], out=tmp_path / "a", limit=1, progress=False, executor="ray",
            address=f"127.0.0.1:{port}")
    assert time.monotonic() - t0 < 30
    with pytest.raises(BenchError, match=r"Ray Client \(ray://\) cannot stream"):
        run(["opus@6"], "demo", ["snr"], out=tmp_path / "b", limit=1, progress=False, executor="ray",
            address="ray://head:10001")
    assert not (tmp_path / "b").exists()  # refused before any work


def test_address_is_an_option_of_ray_only(tmp_path):
    with pytest.raises(BenchError, match="executor 'local' takes no 'address' option .--address is for --executor ray"):
        run(["opus@6"], "demo", ["snr"], out=tmp_path / "a", limit=1, progress=False, address="auto")
    assert not (tmp_path / "a").exists()


def test_missing_ray_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(UnavailableError, match=r"pip install 'codecbench\[ray\]'"):
        create_executor("ray", jobs=2)
    with pytest.raises(UnavailableError, match="needs Ray"):
        run(["opus@6"], "demo", ["snr"], out=tmp_path / "a", limit=1, progress=False, executor="ray")
    assert not (tmp_path / "a").exists()


def test_codecbench_imports_no_ray_until_the_executor_is_used():
    code = ("import sys, bench.api, bench.cli; from bench.pipeline.executors import executor_class; "
            "cls = executor_class('ray'); assert cls.__name__ == 'RayExecutor'; assert 'ray' not in sys.modules")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
