"""`bench data check|fetch` and `bench run --suite librispeech` on a miniature LibriSpeech."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest
from .layouts import make_librispeech, make_voxceleb
from typer.testing import CliRunner

from bench.cli import app
from bench.errors import BenchError
from bench.suites.check import check
from helpers.env import use_env

runner = CliRunner()


def test_check_all_reports_present_and_missing_with_next_step(tmp_path, monkeypatch):
    make_librispeech(tmp_path)
    use_env(monkeypatch, BENCH_DATA=str(tmp_path))
    rows = {s.suite: s for s in check()}
    assert rows["librispeech-test-clean"].status == "present"
    assert rows["librispeech-test-other"].status == "missing"
    assert rows["librispeech-test-other"].looked_at.startswith(str(tmp_path / "LibriSpeech" / "test-other"))
    assert "bench data fetch librispeech-test-other" in rows["librispeech-test-other"].as_row()["next step"]
    assert "Kensho" in rows["spgispeech"].as_row()["next step"]


def test_check_one_suite_counts_items_and_flags_partial_copies(tmp_path, monkeypatch):
    make_librispeech(tmp_path)
    use_env(monkeypatch, BENCH_DATA=str(tmp_path))
    result = runner.invoke(app, ["data", "check", "librispeech"])
    assert result.exit_code == 0, result.output
    assert "5/2620" in result.output and "partial copy" in result.output


def test_check_finds_missing_audio(tmp_path, monkeypatch):
    root = make_voxceleb(tmp_path)
    use_env(monkeypatch, BENCH_DATA=str(tmp_path))
    (root / "wav" / "id10271" / "1gtz-CUIygI" / "00001.wav").write_bytes(b"")
    (status,) = check("voxceleb1-o")
    assert status.status == "incomplete" and "00001.wav" in status.detail
    result = runner.invoke(app, ["data", "check", "voxceleb1-o"])
    assert result.exit_code == 1


def test_fetch_refuses_licensed_corpus_via_cli(tmp_path):
    result = runner.invoke(app, ["data", "fetch", "fisher", "--dest", str(tmp_path)])
    assert isinstance(result.exception, BenchError) and "licensed by the LDC" in str(result.exception)


@pytest.mark.workers
def test_run_librispeech_end_to_end(tmp_path):
    make_librispeech(tmp_path / "corpora")
    env = {**os.environ, "BENCH_DATA": str(tmp_path / "corpora"), "HF_HUB_OFFLINE": "1",
           "BENCH_CACHE": str(tmp_path / "cache")}
    env = {k: v for k, v in env.items() if not k.startswith("BENCH_DATA_")}
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "bench", "run", "--codec", "opus@6", "--suite", "librispeech", "--limit", "2",
           "--max-per-speaker", "1", "--out", str(out), "--jobs", "1", "--no-progress"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["suite"]["n_items_total"] == 5 and manifest["suite"]["n_items"] == 2
    assert manifest["suite"]["selection"] == {"limit": 2, "max_per_speaker": 1}
    rows = pd.read_csv(out / "rows.csv")
    items = set(rows["item"]) - {"*"}
    assert len(items) == 2 and {i.split("-")[0] for i in items} == {"1089", "121"}  # one per speaker
    assert rows.loc[rows["metric"] == "si-sdr", "value"].notna().all()
