"""The Python API from a plain script, ``python -c`` and (by the same rule) a notebook.

A script without ``if __name__ == "__main__":`` must fail at once with a message naming the guard
and ``executor="inline"``, and no item may be recorded as failed for it; everything without a main
file that spawn re-runs works as it is.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.workers  # builds/starts other Python processes

REPO = Path(__file__).resolve().parents[2]
RUN = 'api.run("opus@6", "demo", "si-sdr", limit=2, jobs=2, out=sys.argv[1], progress=False{extra})'


def _python(tmp_path: Path, code: str, *args: str, script: bool = True, timeout: float = 300):
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "BENCH_CACHE": str(tmp_path / "cache")}
    if script:
        path = tmp_path / "script.py"
        path.write_text(textwrap.dedent(code))
        cmd = [sys.executable, str(path), *args]
    else:
        cmd = [sys.executable, "-c", textwrap.dedent(code), *args]
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout)


def _no_rows(out: Path) -> bool:
    rows = out / "rows.csv"
    return not rows.exists() or pd.read_csv(rows).empty


def _assert_guard_message(stderr: str) -> None:
    assert 'if __name__ == "__main__":' in stderr and 'executor="inline"' in stderr, stderr[-2000:]
    assert "bootstrapping phase" not in stderr  # Python's own RuntimeError is never shown


def test_unguarded_script_fails_at_once_naming_the_guard(tmp_path):
    code = "import sys\nfrom bench import api\n" + RUN.format(extra="") + "\n"
    r = _python(tmp_path, code, str(tmp_path / "out"))
    assert r.returncode != 0
    _assert_guard_message(r.stderr)
    assert "script.py:3" in r.stderr  # the offending line
    assert _no_rows(tmp_path / "out")


def test_worker_side_check_stops_the_run_without_failed_rows(tmp_path):
    """Where the parent cannot see the call site, the re-running worker exits with a known code."""
    code = ("import sys\nimport bench.pipeline.runner as runner\nrunner.check_main_guard = lambda: None\n"
            "from bench import api\n" + RUN.format(extra="") + "\n")
    r = _python(tmp_path, code, str(tmp_path / "out"))
    assert r.returncode != 0
    _assert_guard_message(r.stderr)
    assert "worker crashed" not in r.stderr + r.stdout
    assert _no_rows(tmp_path / "out")


def test_guarded_script_passes_the_check(tmp_path):
    code = """
    import bench.pipeline.mainguard as mg

    def main():
        mg.check_main_guard()
        print("checked")

    if __name__ == "__main__":
        main()
    """
    r = _python(tmp_path, code)
    assert r.returncode == 0 and "checked" in r.stdout, r.stderr


@pytest.mark.slow
def test_notebook_like_main_without_file_runs_in_workers(tmp_path):
    """``python -c`` has no main file, like a notebook kernel: spawned workers need no guard."""
    code = "import sys\nfrom bench import api\nr = " + RUN.format(extra="") + "\nprint('rows', len(r.rows))\n"
    r = _python(tmp_path, code, str(tmp_path / "out"), script=False)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = pd.read_csv(tmp_path / "out" / "rows.csv")
    assert len(rows[rows["metric"] == "si-sdr"]) == 2 and rows["error"].isna().all()


@pytest.mark.slow
def test_unguarded_script_runs_inline(tmp_path):
    code = "import sys\nfrom bench import api\nr = " + RUN.format(extra=', executor="inline"') + "\n"
    r = _python(tmp_path, code, str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr[-2000:]
    rows = pd.read_csv(tmp_path / "out" / "rows.csv")
    assert len(rows[rows["metric"] == "si-sdr"]) == 2 and rows["error"].isna().all()
