"""The Ray executor (issue 12): the local executor's rows, resumes and failure semantics, on Ray.

Tests that need Ray use one local Ray instance with 2 CPUs, started once for the module in a
process of its own (as ``ray start --head`` runs one) and joined by address, so a driver can be
killed without taking the cluster with it. One test lets the executor start (and stop) its own
instance instead, the path ``bench run --executor ray`` takes without --address. Most of their
time is Python starting: every run is a Ray job, and a job's workers are new processes.
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

import pandas as pd
import pytest

from bench.errors import BenchError, UnavailableError
from bench.pipeline.executors import create_executor
from bench.pipeline.runner import run
from conftest import DEMO, REPO

needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                               reason="ray is not installed (pip install 'codecbench[ray]')")
METRICS = ["si-sdr", "snr", "stoi", "pesq-wb"]
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
    return out.astype({"error": object}).where(out["error"].notna(), None)


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
    """The reference: the same units with the local executor, 2 workers."""
    out = tmp_path_factory.mktemp("local") / "run"
    return run(["opus@6"], "demo", METRICS, out=out, limit=LIMIT, jobs=2, progress=False).rows


@needs_ray
def test_rows_identical_to_local_on_an_instance_it_starts_and_stops(tmp_path, local):
    import ray

    res = run(["opus@6"], "demo", METRICS, out=tmp_path / "ray", limit=2, jobs=2, progress=False, executor="ray")
    assert len(res.rows) == 2 * (1 + len(METRICS))
    pd.testing.assert_frame_equal(_values(res.rows), _values(local[local["item"].isin(res.rows["item"])]))
    assert local["error"].isna().all() and len(local) == LIMIT * (1 + len(METRICS))
    assert not ray.is_initialized()  # it shut down what it started
    executor = json.loads((tmp_path / "ray" / "manifest.json").read_text())["executor"]
    assert executor["name"] == "ray" and executor["ray"] == ray.__version__
    assert executor["address"] == "local instance" and executor["nodes"] == 1
    assert executor["resources"]["CPU"] == 2 and executor["in_flight"] == 4


@needs_ray
def test_resume_after_the_driver_is_killed(tmp_path, cluster, local):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "bench", "run", "--codec", "opus@6", "--suite", "demo", "--limit", str(LIMIT),
           *(f"--metric={m}" for m in METRICS), "--out", str(out), "--executor", "ray", "--address", cluster,
           "--no-progress"]
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
    pd.testing.assert_frame_equal(_values(rows[rows["item"] != "*"]), _values(local))


@needs_ray
def test_crash_hang_and_unreadable_item_fail_only_their_rows(tmp_path, cluster, monkeypatch):
    clip = DEMO / "cmu_arctic/bdl/arctic_a0001.flac"
    missing = tmp_path / "gone.flac"  # absent on every node, as on a worker without the shared dataset
    manifest = tmp_path / "m.csv"
    manifest.write_text("id,path,speaker,text\n" + "".join(f"{i},{p},spk,HELLO\n" for i, p in
                        [("a", clip), ("crash", clip), ("hang", clip), ("gone", missing)]))
    monkeypatch.syspath_prepend(str(PLUGINS))  # the workers get it from where the driver imported the plugin
    monkeypatch.setenv("CODECBENCH_FAULTS", "segv=crash,hang=hang")  # reaches the workers in the job's runtime_env
    metrics = ["si-sdr", "snr", "test-fault"]
    res = run(["opus@6"], str(manifest), metrics, out=tmp_path / "ray", jobs=2, progress=False, timeout=10,
              plugins=["fault_metric"], executor="ray", address=cluster)
    rows = res.rows[res.rows["item"] != "*"].set_index("item")
    error = rows.groupby(level=0)["error"].first()

    # a equals a run that never saw a fault
    clean = tmp_path / "clean.csv"
    clean.write_text(f"id,path,speaker,text\na,{clip},spk,HELLO\n")
    monkeypatch.delenv("CODECBENCH_FAULTS")
    ref = run(["opus@6"], str(clean), metrics, out=tmp_path / "ref", progress=False, plugins=["fault_metric"],
              executor="inline").rows
    pd.testing.assert_frame_equal(_values(rows.loc[["a"]].reset_index()), _values(ref[ref["item"] != "*"]))
    assert ref["error"].isna().all()

    for item in ("crash", "hang", "gone"):
        assert sorted(rows.loc[[item], "metric"]) == sorted(["kbps", *metrics])
        assert rows.loc[[item], "value"].isna().all() and (rows.loc[[item], "error"] == error[item]).all()
    assert error["crash"].startswith("worker crashed: WorkerCrashedError")
    assert error["crash"].endswith("while coding/scoring crash with opus@6 (also in a fresh worker; not retried again)")
    assert error["hang"] == "timed out: coding/scoring hang with opus@6 took longer than 10 s; worker killed"
    assert error["gone"].startswith(f"{missing}: file not found (on host {socket.gethostname()}, Ray node ")
    assert "every Ray node must see the suite's audio" in error["gone"]
    s = res.summary.set_index("metric")
    assert (s["n"] == 1).all() and (s["n_failed"] == 3).all()


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
