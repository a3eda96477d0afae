"""`bench score`: existing files, as given (no alignment), one pair, folders or a list file."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

for _backend in ("visqol", "pesq", "pystoi", "librosa"):  # the `metrics` extra
    pytest.importorskip(_backend)

from typer.testing import CliRunner

from bench import api
from bench.audio import Audio, write_audio
from bench.cli import app

DEMO = Path(__file__).resolve().parents[1] / "data/speech_demo/LibriSpeech/test-other/1688/142285/1688-142285-0002.flac"
VISQOL = Path(__file__).resolve().parent / "data" / "visqol" / "testdata" / "clean_speech"


@pytest.fixture()
def pairs(tmp_path):
    from bench.audio import load_audio

    ref = load_audio(DEMO)
    noisy = ref.with_samples(ref.samples + 0.01 * np.random.default_rng(0).standard_normal(len(ref)))
    (tmp_path / "ref").mkdir()
    (tmp_path / "est").mkdir()
    write_audio(tmp_path / "ref" / "a.wav", ref)
    write_audio(tmp_path / "est" / "a.wav", noisy)
    write_audio(tmp_path / "ref" / "b.wav", ref)  # no estimate named b.wav
    write_audio(tmp_path / "est" / "c.wav", noisy.with_samples(noisy.samples[:-800]))  # no reference
    return tmp_path


def test_one_pair_via_library(pairs):
    rows = api.score(pairs / "ref/a.wav", pairs / "est/a.wav", ["pesq-wb", "stoi"])
    assert list(rows["metric"]) == ["pesq-wb", "stoi"]
    assert rows["error"].isna().all()
    assert 0.5 < rows.set_index("metric").loc["stoi", "value"] < 1.0
    assert 1.0 < rows.set_index("metric").loc["pesq-wb", "value"] < 4.64
    assert all("not aligned" in n for n in rows["note"])


def test_folders_match_by_name_and_report_orphans(pairs):
    rows = api.score(pairs / "ref", pairs / "est", ["stoi"]).set_index("pair")
    assert math.isfinite(rows.loc["a.wav", "value"])
    assert math.isnan(rows.loc["b.wav", "value"]) and "no estimate" in rows.loc["b.wav", "error"]
    assert math.isnan(rows.loc["c.wav", "value"]) and "no reference" in rows.loc["c.wav", "error"]


def test_list_file_and_trimming_note(pairs):
    (pairs / "pairs.csv").write_text("reference,estimate\nref/a.wav,est/c.wav\n")
    (row,) = api.score(metrics=["stoi"], listing=pairs / "pairs.csv").to_dict(orient="records")
    assert row["error"] is None and "trimmed to" in row["note"] and "lengths differ" in row["note"]


def test_native_rate_versus_metric_rate():
    ref, est = VISQOL / "CA01_01.wav", VISQOL / "transcoded_CA01_01.wav"
    native = api.score(ref, est, ["pesq-wb"], native_rate=True).iloc[0]
    assert native["sample_rate"] == 16000 and "defined only at 16000" in native["note"]  # PESQ cannot go native


def test_cli_json_prints_googles_value():
    """The issue's example command: ViSQOL speech (lattice) at 48 kHz on Google's CA01 pair."""
    result = CliRunner().invoke(app, ["score", "--reference", str(VISQOL / "CA01_01.wav"), "--estimate",
                                      str(VISQOL / "transcoded_CA01_01.wav"), "--metric", "visqol-speech",
                                      "--native-rate", "--json"])
    assert result.exit_code == 0, result.output
    (record,) = json.loads(result.stdout[result.stdout.index("["):])
    assert record["sample_rate"] == 48000 and record["mode"] == "speech, lattice"
    assert record["value"] == pytest.approx(3.3129234313964844, abs=5e-3)  # Google's C++ value


def test_cli_exit_1_and_reason_when_a_score_fails(pairs, tmp_path):
    write_audio(tmp_path / "silent.wav", Audio(np.zeros(16000, np.float32), 16000))
    result = CliRunner().invoke(app, ["score", "-r", str(pairs / "ref/a.wav"), "-e", str(tmp_path / "silent.wav"),
                                      "-m", "stoi"])
    assert result.exit_code == 1
    assert "silent" in result.output


def test_bad_arguments_are_user_errors(pairs):
    from bench.errors import BenchError

    with pytest.raises(BenchError, match="both be files or both folders"):
        api.score(pairs / "ref", pairs / "est/a.wav", ["stoi"])
    with pytest.raises(BenchError, match="unknown metric"):
        api.score(pairs / "ref/a.wav", pairs / "est/a.wav", ["nope"])


def test_defaults_work_outside_a_run(pairs):
    """Every default metric that can score a bare pair, none that needs a run (spk-sim)."""
    from bench.metrics import resolve_metrics

    rows = api.score(pairs / "ref/a.wav", pairs / "est/a.wav")
    assert rows["error"].isna().all(), rows[rows["error"].notna()][["metric", "error"]]
    expect = [c.name for c in resolve_metrics(None, set()) if not c.needs_run]
    assert list(rows["metric"]) == expect and "spk-sim" not in expect and "pesq-wb" in expect
    from bench.errors import BenchError

    with pytest.raises(BenchError, match="spk-sim' scores only inside a run"):
        api.score(pairs / "ref/a.wav", pairs / "est/a.wav", ["spk-sim"])


def test_folders_pair_by_stem_and_suffix(tmp_path):
    from bench.audio import load_audio
    from bench.errors import BenchError

    ref = load_audio(DEMO)
    est = ref.with_samples(ref.samples * 0.5)
    (tmp_path / "ref" / "spk1").mkdir(parents=True)
    (tmp_path / "est" / "spk1").mkdir(parents=True)
    (tmp_path / "dec").mkdir()
    write_audio(tmp_path / "ref" / "spk1" / "u1.flac", ref)
    write_audio(tmp_path / "ref" / "u2.flac", ref)
    write_audio(tmp_path / "est" / "spk1" / "u1.wav", est)  # .flac vs .wav: same stem, paired
    write_audio(tmp_path / "est" / "u2.wav", est)
    rows = api.score(tmp_path / "ref", tmp_path / "est", ["snr"]).set_index("pair")
    assert list(rows.index) == ["spk1/u1.flac", "u2.flac"] and rows["error"].isna().all()
    write_audio(tmp_path / "dec" / "u2_opus6.wav", est)
    rows = api.score(tmp_path / "ref", tmp_path / "dec", ["snr"], suffix="_opus6").set_index("pair")
    assert rows["error"].isna().to_dict() == {"spk1/u1.flac": False, "u2.flac": True}
    write_audio(tmp_path / "est" / "u2.flac", est)  # u2.wav and u2.flac would both pair with u2
    with pytest.raises(BenchError, match="u2.flac and u2.wav would pair with the same file"):
        api.score(tmp_path / "ref", tmp_path / "est", ["snr"])


def test_mean_with_ci_over_the_folder(tmp_path):
    from bench import stats
    from bench.audio import load_audio

    ref = load_audio(DEMO)
    rng = np.random.default_rng(1)
    (tmp_path / "r").mkdir()
    (tmp_path / "e").mkdir()
    for i, level in enumerate((0.01, 0.02, 0.05, 0.1)):
        write_audio(tmp_path / "r" / f"u{i}.wav", ref)
        write_audio(tmp_path / "e" / f"u{i}.wav", ref.with_samples(ref.samples + level * rng.standard_normal(len(ref))))
    write_audio(tmp_path / "r" / "u9.wav", ref)  # no estimate: a failed pair, counted
    rows = api.score(tmp_path / "r", tmp_path / "e", ["snr"])
    summ = api.score_summary(rows).set_index("metric").loc["snr"]
    ok = rows[rows["value"].notna()]
    assert (summ["n"], summ["failed"]) == (4, 1)
    assert summ["mean"] == pytest.approx(ok["value"].mean())
    ci = stats.mean_ci(ok.sort_values("pair")["value"].to_numpy())
    assert (summ["ci_low"], summ["ci_high"]) == (ci.low, ci.high) and ci.low < summ["mean"] < ci.high
    result = CliRunner().invoke(app, ["score", "-r", str(tmp_path / "r"), "-e", str(tmp_path / "e"), "-m", "snr"])
    assert result.exit_code == 1  # u9 has no estimate
    assert "mean over 5 pairs" in result.output and "| snr      |   4 |        1 |" in result.output
