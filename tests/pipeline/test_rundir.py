"""The run directory under faults: torn writes, a full disk, kill -9, two writers, a read-only
directory, other code. After the fault is cleared and the run resumed, its rows are complete
and bit-identical to an uninterrupted run."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from bench.errors import BenchError
from bench.pipeline import rundir as rundir_mod
from bench.pipeline.rundir import ITEMS, ROWS, RunDir, RunDirError
from bench.pipeline.runner import run

REPO = Path(__file__).resolve().parents[2]
CODECS, METRICS, LIMIT = ["opus@6"], ["si-sdr", "snr"], 4
N_ROWS = LIMIT * (len(METRICS) + 1)  # kbps too
KEY = ["item", "label", "metric"]


def _run(out: Path, **kw):
    return run(CODECS, "demo", METRICS, out=out, limit=LIMIT, executor="inline", progress=False, **kw)


def _values(path: Path) -> pd.DataFrame:
    """What a run measured, in a fixed order (timings left out: they differ run to run)."""
    rows = pd.read_csv(path / "rows.csv", dtype={"item": str})
    return rows[[*KEY, "value", "weight", "error"]].sort_values(KEY).reset_index(drop=True)


def _assert_same_as_uninterrupted(path: Path, reference: Path) -> None:
    got, want = _values(path), _values(reference)
    assert len(got) == N_ROWS and not got.duplicated(KEY).any()
    pd.testing.assert_frame_equal(got, want, check_exact=True)  # bit-identical values
    live = RunDir(path).rows()
    assert len(live[live["item"] != "*"]) == N_ROWS
    assert json.loads((path / "manifest.json").read_text())["finished"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "run"
    _run(out)
    return out


def _session(path: Path) -> dict:
    return json.loads((path / "manifest.json").read_text())["sessions"][-1]


# --- the directory on its own -----------------------------------------------------------------
def _row(i: int) -> dict:
    return {"item": f"i{i}", "label": "x@1", "metric": "m", "value": float(i)}


def test_a_torn_last_line_is_cut_and_counted_never_appended_onto(tmp_path):
    rd = RunDir(tmp_path)
    rd.create()
    rd.append([_row(0)], {"item": "i0", "label": "x@1"})
    with (tmp_path / ROWS).open("a") as fh:
        fh.write('{"item": "i1", "label": "x@1", "met')  # a write cut by a crash
    assert rd.open_for_append() == {ROWS: 1}
    rd.append([_row(1)], {"item": "i1", "label": "x@1"})
    rd.unlock()
    lines = (tmp_path / ROWS).read_text().splitlines()
    assert [json.loads(x)["item"] for x in lines] == ["i0", "i1"]
    assert rd.done_units(["m"]) == {("i0", "x@1"), ("i1", "x@1")} and rd.bad_lines[ROWS] == 0
    assert RunDir(tmp_path).open_for_append() == {}  # nothing to cut on a clean directory


def test_a_failed_write_is_undone_and_reported_in_one_line(tmp_path, monkeypatch):
    rd = RunDir(tmp_path)
    rd.create()
    rd.append([_row(0)], {"item": "i0", "label": "x@1"})
    before = (tmp_path / ROWS).read_bytes()
    real = os.write

    def full_disk(fd, data):
        if len(data) > 10:
            real(fd, bytes(data[: len(data) // 2]))  # half the unit reaches the disk, then it is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(rundir_mod.os, "write", full_disk)
    with pytest.raises(RunDirError, match="disk full.*rerun the same command"):
        rd.append([_row(1), _row(2)], {"item": "i1", "label": "x@1"})
    assert (tmp_path / ROWS).read_bytes() == before  # whole units only


def test_a_second_writer_is_refused_with_who_holds_the_directory(tmp_path):
    first = RunDir(tmp_path)
    first.open_for_append()
    with pytest.raises(RunDirError, match=rf"being written by process {os.getpid()} since .*another --out"):
        RunDir(tmp_path).open_for_append()
    first.unlock()
    RunDir(tmp_path).open_for_append()  # free again


def test_a_damaged_manifest_is_an_error_naming_it(tmp_path):
    (tmp_path / "manifest.json").write_text('{"suite": {"na')
    with pytest.raises(BenchError, match="manifest.json: not valid JSON"):
        RunDir(tmp_path).read_manifest()


# --- real runs under faults --------------------------------------------------------------------
def test_disk_full_mid_line_then_resume(tmp_path, reference, monkeypatch):
    """Simulated ENOSPC: the third unit's rows reach the disk half written, and even undoing that
    fails (the fragment stays, as after a power cut); the resumed run cuts it and redoes the unit."""
    out = tmp_path / "run"
    real, calls = os.write, []

    def enospc(fd, data):
        calls.append(len(data))
        if len(calls) == 5:  # rows of unit 3 (each unit: rows, then its record)
            real(fd, bytes(data[: len(data) // 2]))
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data)

    monkeypatch.setattr(rundir_mod.os, "write", enospc)
    monkeypatch.setattr(rundir_mod.os, "ftruncate", lambda fd, n: (_ for _ in ()).throw(OSError(errno.ENOSPC, "x")))
    with pytest.raises(RunDirError, match="disk full"):
        _run(out)
    monkeypatch.undo()
    assert not (out / ROWS).read_text().endswith("\n")
    assert len((out / ITEMS).read_text().splitlines()) == 2
    _run(out)
    assert _session(out)["torn_lines_cut"] == {ROWS: 1}
    _assert_same_as_uninterrupted(out, reference)


def _free_pages(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail


def test_a_real_full_tmpfs_then_resume(tmp_path, reference):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip() or 'not root'}); the simulated ENOSPC test covers it")
    try:
        page = os.statvfs(mnt).f_frsize
        filler = mnt / "filler"
        filler.write_bytes(b"\0" * ((_free_pages(mnt) - 3) * page))  # room for .lock, manifest, rows.jsonl
        assert _free_pages(mnt) == 3
        out = mnt / "run"
        with pytest.raises(RunDirError, match="disk full"):
            _run(out)
        done = len((out / ITEMS).read_text().splitlines()) if (out / ITEMS).exists() else 0
        assert done < LIMIT  # it stopped mid-run
        filler.unlink()
        _run(out)
        _assert_same_as_uninterrupted(out, reference)
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


CHILD = textwrap.dedent("""
    import os, signal, sys, time
    from bench.pipeline import rundir
    from bench.pipeline.runner import run
    mode, calls = sys.argv[2], []
    real = rundir.RunDir._append

    def append(self, name, text):
        calls.append(name)
        if mode == "kill" and len(calls) == 5:  # inside the third unit's row write
            fd = os.open(self.path / name, os.O_WRONLY | os.O_APPEND)
            os.write(fd, text.encode()[: len(text) // 2])
            os.kill(os.getpid(), signal.SIGKILL)
        if mode == "slow":
            time.sleep(0.4)
        return real(self, name, text)

    rundir.RunDir._append = append
    run(["opus@6"], "demo", ["si-sdr", "snr"], out=sys.argv[1], limit=4, executor="inline", progress=False)
""")


def _child(out: Path, mode: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen([sys.executable, "-c", CHILD, str(out), mode], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.workers
def test_kill_9_inside_a_row_write_then_resume(tmp_path, reference):
    out = tmp_path / "run"
    proc = _child(out, "kill")
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL, err
    assert not (out / ROWS).read_text().endswith("\n")  # the torn line is there
    _run(out)
    assert _session(out)["torn_lines_cut"] == {ROWS: 1}
    _assert_same_as_uninterrupted(out, reference)


@pytest.mark.workers
def test_two_writers_on_one_directory(tmp_path, reference):
    out = tmp_path / "run"
    proc = _child(out, "slow")
    deadline = time.monotonic() + 120
    while not ((out / ".lock").exists() and (out / ".lock").read_text().strip()):
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.poll() else "timeout"
        time.sleep(0.05)
    with pytest.raises(RunDirError, match=rf"{out} is being written by process {proc.pid} since"):
        _run(out)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    lines = [json.loads(x) for x in (out / ROWS).read_text().splitlines()]
    assert len(lines) == N_ROWS  # every unit computed once
    _assert_same_as_uninterrupted(out, reference)


@pytest.mark.workers
def test_a_read_only_directory_is_one_clear_error_then_resumes(tmp_path, reference):
    mnt = tmp_path / "ro"
    mnt.mkdir()
    if os.geteuid() == 0:  # root writes through chmod: use a read-only mount
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mnt)], capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"root cannot mount a tmpfs here ({r.stderr.strip()}): no way to make a read-only directory")
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        make_writable = ["mount", "-o", "remount,rw", str(mnt)]
    else:
        mnt.chmod(0o555)
        make_writable = ["chmod", "755", str(mnt)]
    try:
        out = mnt / "run"
        env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
        r = subprocess.run([sys.executable, "-m", "bench", "run", "--codec", "opus@6", "--suite", "demo", "--limit",
                            str(LIMIT), "--metric", "si-sdr", "--metric", "snr", "--out", str(out), "--no-progress",
                            "--executor", "inline"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert r.stderr.strip().count("\n") == 0 and "cannot write" in r.stderr, r.stderr
        subprocess.run(make_writable, check=True)
        _run(out)
        _assert_same_as_uninterrupted(out, reference)
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(mnt)], check=False)


def test_a_unit_missing_a_row_is_redone(tmp_path, reference):
    out = tmp_path / "run"
    shutil.copytree(reference, out)
    lines = (out / ROWS).read_text().splitlines()
    lost = json.loads(lines[4])
    (out / ROWS).write_text("".join(x + "\n" for i, x in enumerate(lines) if i != 4))
    result = _run(out)
    assert result.n_skipped == LIMIT - 1  # only the unit that lost a row ran again
    assert json.loads((out / ROWS).read_text().splitlines()[-1])["item"] == lost["item"]
    _assert_same_as_uninterrupted(out, reference)


def _edit_manifest(out: Path, **changes) -> None:
    meta = json.loads((out / "manifest.json").read_text())
    for key, value in changes.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    meta["sessions"] = [{k: meta.get(k) for k in ("started", "git", "source_sha256")}]
    (out / "manifest.json").write_text(json.dumps(meta))


def test_resuming_with_other_code_is_refused_unless_forced(tmp_path, reference):
    out = tmp_path / "run"
    shutil.copytree(reference, out)
    other_commit = {"sha": "1" * 40, "dirty": False}
    # another commit, the same measuring code (a docs change): resumed, both shas recorded
    _edit_manifest(out, git=other_commit)
    _run(out)
    sessions = json.loads((out / "manifest.json").read_text())["sessions"]
    assert [x["git"]["sha"] == "1" * 40 for x in sessions] == [True, False]
    # a directory from before source digests: only the sha can tell, and it differs
    _edit_manifest(out, git=other_commit, source_sha256=None)
    with pytest.raises(RunDirError, match=r"other code or options \(git sha 111111111111 -> "):
        _run(out)
    # edited measuring code
    _edit_manifest(out, git=other_commit, source_sha256="0" * 64)
    lines = (out / ITEMS).read_text().splitlines()
    (out / ITEMS).write_text("".join(x + "\n" for x in lines[:-1]))  # the last unit to redo
    with pytest.raises(RunDirError, match=r"other code or options \(source 000000000000 -> .*--force"):
        _run(out)
    _run(out, force=True)
    sessions = json.loads((out / "manifest.json").read_text())["sessions"]
    assert len(sessions) == 2 and sessions[0]["source_sha256"] == "0" * 64 and "forced_over" in sessions[1]
    records = [json.loads(x) for x in (out / ITEMS).read_text().splitlines()]
    redone = [r for r in records if r["item"] == json.loads(lines[-1])["item"]]
    assert redone[-1]["session"] == 1  # the unit made by the new code says so
    _assert_same_as_uninterrupted(out, reference)


def test_a_garbled_line_left_by_older_code_is_counted_and_its_unit_redone(tmp_path, reference, capsys):
    """A fragment with a row appended onto it (what appending without repair produced) reads as
    one unreadable line: the unit that lost its row is redone and the skip is reported."""
    out = tmp_path / "run"
    shutil.copytree(reference, out)
    lines = (out / ROWS).read_text().splitlines()
    lines[7] = lines[7][:30] + lines[8]  # unit 3's si-sdr row cut, its snr row appended onto it
    del lines[8]
    (out / ROWS).write_text("".join(x + "\n" for x in lines))
    result = _run(out)
    assert result.n_skipped == LIMIT - 1
    assert "1 unreadable line(s) skipped" in capsys.readouterr().err
    _assert_same_as_uninterrupted(out, reference)
