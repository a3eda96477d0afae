import json
import math
import shutil

import numpy as np
import pandas as pd
import pytest

from bench.errors import BenchError, UnknownNameError
from bench.pipeline.runner import run
from helpers.data import DEMO, write_wav

# Tests about the driver (run directory, resume, naming, failure rows) use the inline executor: no worker
# process start per run (4-6 s each on 2 cores). test_inline_executor_equals_worker_processes pins inline to
# the worker pool; the tests marked ``workers`` keep real worker processes.

CLIPS = [
    DEMO / "LibriSpeech/test-other/1688/142285/1688-142285-0002.flac",
    DEMO / "cmu_arctic/bdl/arctic_a0001.flac",
]


@pytest.fixture
def mixed_manifest(tmp_path, make_manifest):
    """Two good clips, one corrupt file, one silent clip, one missing file."""
    good = [(f"good{i}", shutil.copy(p, tmp_path / p.name)) for i, p in enumerate(CLIPS)]
    corrupt = tmp_path / "corrupt.flac"
    corrupt.write_bytes(b"not audio at all" * 10)
    silent = write_wav(tmp_path / "silent.wav", np.zeros(16000))
    rows = [*good, ("corrupt", corrupt), ("silent", silent), ("missing", tmp_path / "missing.wav")]
    return make_manifest([(i, p if not isinstance(p, str) else tmp_path / p) for i, p in rows])


@pytest.mark.workers
def test_failed_items_are_recorded_with_reasons_not_lost(tmp_path, mixed_manifest):
    res = run(["opus@6"], str(mixed_manifest), ["si-sdr", "snr"], out=tmp_path / "run", jobs=1, progress=False)
    rows = res.rows
    assert set(rows["item"]) == {"good0", "good1", "corrupt", "silent", "missing"}
    failed = rows[rows["value"].isna()]
    assert set(failed["item"]) == {"corrupt", "silent", "missing"}
    reasons = failed.groupby("item")["error"].first()
    assert "corrupt.flac: cannot decode audio" in reasons["corrupt"]
    assert "silent.wav: is silent" in reasons["silent"]
    assert "missing.wav: file not found" in reasons["missing"]
    s = res.summary.set_index("metric")
    assert s.loc["si-sdr", "n"] == 2 and s.loc["si-sdr", "n_failed"] == 3
    assert 0 < s.loc["kbps", "mean"] < 8


def test_run_dir_contents_and_resume(tmp_path):
    out = tmp_path / "run"
    args = dict(out=out, limit=3, jobs=1, progress=False, executor="inline")
    first = run(["opus@6", "codec2@3.2"], "demo", ["si-sdr"], **args)
    assert first.n_units == 6 and first.n_skipped == 0
    for f in ["rows.jsonl", "rows.csv", "items.csv", "summary.csv", "manifest.json"]:  # summary.md: bench.api
        assert (out / f).exists(), f
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["suite"]["n_items"] == 3 and len(manifest["suite"]["hash"]) == 64
    assert manifest["environment"]["resampler"]["backend"] == "soxr"
    assert manifest["metrics"]["si-sdr"]["backend"] == "torchmetrics"
    assert manifest["codecs"]["opus@6"]["card"]["adapter"] == "pyav"
    items = pd.read_csv(out / "items.csv")
    assert {"lag", "length_change", "encode_s", "kbps"} <= set(items.columns)
    assert (items.loc[items["label"] == "opus@6", "lag"] > 0).all()  # Opus pre-skip was found

    again = run(["opus@6", "codec2@3.2"], "demo", ["si-sdr"], **args)
    assert again.n_skipped == 6
    pd.testing.assert_frame_equal(first.summary, again.summary, check_exact=True)

    # an interrupted run: drop the last unit's record, re-run redoes only that unit
    lines = (out / "items.jsonl").read_text().splitlines()
    (out / "items.jsonl").write_text("\n".join(lines[:-1]) + "\n")
    third = run(["opus@6", "codec2@3.2"], "demo", ["si-sdr"], **args)
    assert third.n_skipped == 5
    pd.testing.assert_frame_equal(first.summary, third.summary, check_exact=True)

    # the manifest holds the run's whole config; a resume with other value-changing options is refused
    from bench.config import RunConfig

    recorded = RunConfig.from_dict(json.loads((out / "manifest.json").read_text())["config"])
    assert recorded == RunConfig(**args) and recorded.asr_compute_type == "float32"
    with pytest.raises(BenchError, match="asr_compute_type 'float32' \\(now 'int8'\\)"):
        run(["opus@6", "codec2@3.2"], "demo", ["si-sdr"], **args, asr_compute_type="int8")
    with pytest.raises(BenchError, match="unknown run option"):
        run(["opus@6"], "demo", ["si-sdr"], **args, devcie="cuda")


@pytest.mark.workers
def test_parallel_equals_serial(tmp_path):
    serial = run(["mp3@8"], "demo", ["snr"], out=tmp_path / "a", limit=4, jobs=1, progress=False)
    parallel = run(["mp3@8"], "demo", ["snr"], out=tmp_path / "b", limit=4, jobs=2, progress=False)
    pd.testing.assert_frame_equal(serial.summary, parallel.summary, check_exact=True)


def test_same_command_same_run_dir(tmp_path, monkeypatch):
    import bench.pipeline.runner as runner

    monkeypatch.setattr(runner, "RUNS_DIR", tmp_path)
    a = run(["opus@6"], "demo", ["snr"], limit=1, jobs=1, progress=False, executor="inline")
    b = run(["opus@6"], "demo", ["snr"], limit=1, jobs=1, progress=False, executor="inline")
    c = run(["opus@8"], "demo", ["snr"], limit=1, jobs=1, progress=False, executor="inline")
    assert a.path == b.path != c.path and b.n_skipped == 1


def test_bad_names_fail_before_any_work(tmp_path):
    with pytest.raises(UnknownNameError, match="known codecs"):
        run(["nope@6"], "demo", out=tmp_path / "x")
    with pytest.raises(BenchError, match="supported: 3.2, 2.4"):
        run(["codec2@5"], "demo", out=tmp_path / "x")
    with pytest.raises(UnknownNameError, match="unknown metric 'pesq-xx'"):
        run(["opus@6"], "demo", ["pesq-xx"], out=tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_metric_failure_is_a_nan_row_not_a_crash(tmp_path, make_manifest):
    # a constant (DC) clip: loads fine, but zero-mean SI-SDR has no signal to score
    p = write_wav(tmp_path / "dc.wav", np.full(16000, 0.2))
    res = run(["original"], str(make_manifest([("dc", p)])), ["si-sdr", "snr"], out=tmp_path / "r", jobs=1, progress=False,
              executor="inline")
    row = res.rows.set_index("metric")
    assert math.isfinite(row.loc["snr", "value"])
    assert math.isnan(row.loc["si-sdr", "value"]) and row.loc["si-sdr", "error"]


@pytest.mark.workers
def test_inline_executor_equals_worker_processes(tmp_path):
    local = run(["opus@6"], "demo", ["snr"], out=tmp_path / "a", limit=2, jobs=1, progress=False)
    inline = run(["opus@6"], "demo", ["snr"], out=tmp_path / "b", limit=2, jobs=1, progress=False, executor="inline")
    pd.testing.assert_frame_equal(local.summary, inline.summary, check_exact=True)
    with pytest.raises(UnknownNameError, match="executor"):
        run(["opus@6"], "demo", ["snr"], out=tmp_path / "c", limit=1, executor="nope", progress=False)
