"""A native crash or a hang in one unit costs that unit's rows, never the run (issue 13).

The faults come from ``tests/plugins/fault_metric.py``, registered through the run's ``plugins``
option so spawned workers import it too. Every other item's rows must be identical to a run
that never saw the bad item. With ``--batch N`` a crash takes down the whole batch's worker: the
batch is split and its items run again one by one, so the crashing item still costs only its own
rows (tests/pipeline/test_batch_run.py checks the split for a timed-out batch too).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.pipeline.runner import run
from helpers.data import DEMO

pytestmark = [pytest.mark.workers]

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"
METRICS = ["si-sdr", "snr", "test-fault"]
CLIPS = [DEMO / "LibriSpeech/test-other/1688/142285/1688-142285-0002.flac",
         DEMO / "cmu_arctic/bdl/arctic_a0001.flac",
         DEMO / "cmu_arctic/bdl/arctic_a0002.flac"]


@pytest.fixture(scope="module", autouse=True)
def plugin_path():
    sys.path.insert(0, str(PLUGINS))  # spawned workers inherit the parent's sys.path
    yield
    sys.path.remove(str(PLUGINS))


def _manifest(folder: Path, ids: list[str]) -> Path:
    """Item ``a``/``b``/``c`` is always the same clip, whichever other items the suite holds."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["id,path,speaker,text"]
    for i in ids:
        shutil.copy(CLIPS["abc".index(i)], folder / f"{i}.flac")
        lines.append(f"{i},{i}.flac,spk,HELLO")
    (folder / "m.csv").write_text("\n".join(lines) + "\n")
    return folder / "m.csv"


def _run(manifest, out, **kw):
    kw.setdefault("jobs", 1)
    return run(["opus@6"], str(manifest), METRICS, out=out, progress=False, plugins=["fault_metric"], **kw)


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """Items a and c with no fault anywhere: what every other run must reproduce bit for bit."""
    tmp = tmp_path_factory.mktemp("clean")
    return _run(_manifest(tmp / "suite", ["a", "c"]), tmp / "run").rows


def _values(rows: pd.DataFrame) -> pd.DataFrame:
    cols = ["item", "label", "metric", "value", "weight", "error"]
    out = rows[cols].sort_values(["item", "metric"]).reset_index(drop=True)
    # only the error column's missing values become None (a DataFrame-wide where() would blank
    # every error-free row and compare nothing)
    out["error"] = out["error"].astype(object).where(out["error"].notna(), None)
    return out


def _check(bad: pd.DataFrame, clean: pd.DataFrame, bad_item: str, reason: str, only: str | None = None) -> None:
    """The good items' rows equal the clean run's; the bad item's rows fail with ``reason`` (all of
    them, or with ``only`` just that metric's row while its other metrics keep real values)."""
    good = bad[bad["item"] != bad_item]
    pd.testing.assert_frame_equal(_values(good), _values(clean), check_exact=True)  # bit-identical, error-free
    assert clean["error"].isna().all()
    broken = bad[bad["item"] == bad_item]
    assert sorted(broken["metric"]) == sorted(["kbps", *METRICS])
    failed = broken if only is None else broken[broken["metric"] == only]
    assert failed["value"].isna().all()
    assert failed["error"].str.contains(reason, regex=False).all(), failed["error"].iloc[0]
    if only is not None:
        kept = broken[broken["metric"] != only]
        assert kept["value"].notna().all() and kept["error"].isna().all(), kept[["metric", "error"]]


def test_segfault_fails_only_its_rows_and_a_one_off_crash_is_retried(tmp_path, clean, monkeypatch):
    # b crashes every time (recorded after a retry); c crashes once (the retry succeeds)
    monkeypatch.setenv("CODECBENCH_FAULTS", "segv=b,flaky=c")
    bad = _run(_manifest(tmp_path / "suite", ["a", "b", "c"]), tmp_path / "bad")
    assert (tmp_path / "bad" / "flaky-c").exists()  # c did crash once
    # b's crash is in one metric's code: run again in parts, only that metric's row fails, named
    _check(bad.rows, clean, "b", "worker crashed in metric test-fault: signal 11 (SIGSEGV) while coding/scoring b "
                                 "with opus@6 (also in a fresh worker", only="test-fault")
    s = bad.summary.set_index("metric")
    assert s.loc["test-fault", "n"] == 2 and s.loc["test-fault", "n_failed"] == 1
    assert (s.drop("test-fault")["n"] == 3).all() and (s.drop("test-fault")["n_failed"] == 0).all()
    assert (tmp_path / "bad" / "items.jsonl").read_text().count('"item": "b"') == 1


def test_segfault_in_a_batch_costs_only_its_own_rows(tmp_path, clean, monkeypatch):
    # b crashes every time: the batch of all three dies with it, is split, and a and c run again alone
    from bench.pipeline import executors

    monkeypatch.setenv("CODECBENCH_FAULTS", "segv=b")
    monkeypatch.setattr(executors, "CRASH_ATTEMPTS", 1)  # a single item's retry is the test above's
    bad = _run(_manifest(tmp_path / "suite", ["a", "b", "c"]), tmp_path / "bad", batch=3, jobs=2)
    _check(bad.rows, clean, "b", "worker crashed in metric test-fault: signal 11 (SIGSEGV) while coding/scoring b "
                                 "with opus@6", only="test-fault")
    records = pd.read_json(tmp_path / "bad" / "items.jsonl", lines=True)
    assert sorted(records["item"]) == ["a", "b", "c"]  # one record per item: nothing counted twice


def test_hung_unit_times_out_and_the_run_goes_on(tmp_path, clean, monkeypatch):
    monkeypatch.setenv("CODECBENCH_FAULTS", "hang=b")
    # the limit covers each worker's first unit too, which imports torchmetrics (~6 s of CPU): 8 s
    # timed out item a as well on a 2-core machine shared with other jobs (load average ~5)
    bad = _run(_manifest(tmp_path / "suite", ["a", "b", "c"]), tmp_path / "bad", timeout=20, jobs=2)
    _check(bad.rows, clean, "b", "timed out: coding/scoring b with opus@6 took longer than 20 s; worker killed")


def test_default_timeout_scales_with_duration():
    from bench.adapters import parse_setting
    from bench.pipeline.executors import Unit
    from bench.pipeline.unit import RunOptions, WorkUnit
    from bench.suites.items import Item

    def unit(timeout, *durations):
        work = WorkUnit("s", parse_setting("opus@6"), [], None, options=RunOptions(timeout=timeout))
        return Unit(work, tuple(Item(f"x{i}", CLIPS[0], duration=d) for i, d in enumerate(durations)))

    assert unit(None, 10.0).deadline_s() == 20 * 10.0 + 300
    assert unit(None, None).deadline_s() > 300  # read from the file header
    assert unit(5, 10.0).deadline_s() == 5 and unit(0, 10.0).deadline_s() is None
    assert unit(None, 10.0, 4.0).deadline_s() == 20 * 14.0 + 300  # a batch: its items' audio, one start-up
    assert unit(5, 10.0, 4.0).deadline_s() == 10 and unit(0, 10.0, 4.0).deadline_s() is None
    assert [u.key for u in unit(5, 1.0, 2.0).split()] == [(("x0",), "opus@6"), (("x1",), "opus@6")]
