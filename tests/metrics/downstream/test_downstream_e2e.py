"""End to end with the real offline models (Whisper tiny.en, GE2E) on 4 short demo clips."""

import os
from pathlib import Path

# librosa (resemblyzer) JIT-compiles with numba: keep its cache warm across runs, as the Makefile does
os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parents[3] / "reports" / "cache" / "numba"))

import csv  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

from bench.errors import BenchError
from bench.metrics import resolve_metrics
from bench.pipeline import runner
from bench.suites import REPO_ROOT, load_suite

pytestmark = [pytest.mark.slow, pytest.mark.workers, pytest.mark.models]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("downstream")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the runner's workers do: torch's and CTranslate2's thread pools contend
    try:
        result = runner.run("original,codec2@1.3", "demo", "wer,eer,spk-sim", out=base / "run", limit=4,
                            jobs=1, progress=False, cache_dir=base / "cache")
    finally:
        torch.set_num_threads(threads)
    return result, base


def _value(summary, label, metric):
    row = summary[(summary["label"] == label) & (summary["metric"] == metric)]
    assert len(row) == 1, f"no {metric} for {label}"
    return float(row["mean"].iloc[0]), int(row["n_failed"].iloc[0])


def test_columns_values_and_direction(demo_run):
    result, _ = demo_run
    s = result.summary
    for label in ("original", "codec2@1.3"):
        for metric in ("wer", "wer-original", "eer", "eer-original", "min-dcf", "spk-sim"):
            value, failed = _value(s, label, metric)
            assert failed == 0 and value == value, (label, metric)
    # the original's reconstruction is the original: same transcript, same voice
    assert _value(s, "original", "wer")[0] == _value(s, "original", "wer-original")[0]
    assert _value(s, "original", "spk-sim")[0] > 0.99
    # 1.3 kbps codec2 loses words and voice identity
    assert _value(s, "codec2@1.3", "wer")[0] > _value(s, "codec2@1.3", "wer-original")[0]
    assert _value(s, "codec2@1.3", "spk-sim")[0] < _value(s, "original", "spk-sim")[0] - 0.1
    from bench.api import report, report_markdown

    md = report_markdown(report([result.path]))  # the run's plain report (the summary layout)
    assert "WER original" in md and "EER original" in md
    assert md.index("WER (%)") < md.index("WER original")


def test_set_rows_carry_trials_ci_and_provenance(demo_run):
    result, base = demo_run
    eer = result.rows[(result.rows["metric"] == "eer") & (result.rows["item"] == "*")].iloc[0]
    assert eer["n_trials"] == eer["n_target"] + eer["n_nontarget"] and eer["n_target"] == eer["n_nontarget"] > 0
    assert eer["n"] == 4  # items whose embeddings entered the trials
    assert eer["eer_ci_low"] <= eer["value"] <= eer["eer_ci_high"]
    trials = (base / "run" / "trials.txt").read_text().split("\n")
    assert len([t for t in trials if t]) == eer["n_trials"]
    manifest = (base / "run" / "manifest.json").read_text()
    assert "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a" in manifest
    assert '"compute_type": "float32"' in manifest and '"CT2_FORCE_CPU_ISA": "AVX2"' in manifest
    assert "EnglishTextNormalizer" in manifest and "pretrained.pt" in manifest
    # originals: one transcript and one embedding per item in the suite cache, shared by both codecs
    # (the cache also holds delays/, the codec settings' measured delays, beside the suite's folder)
    cache = next(d for d in (base / "cache").iterdir() if (d / "asr").is_dir())
    assert len(list((cache / "asr").glob("*/*.json"))) == 4
    assert len(list((cache / "speaker").glob("*/*.npy"))) == 4


def test_missing_model_in_a_run_gives_failed_rows_with_the_reason(tmp_path):
    result = runner.run("original", "demo", "wer", out=tmp_path / "run", limit=1, jobs=1, progress=False,
                        cache_dir=tmp_path / "cache", asr_model=str(tmp_path / "no-such-model"))
    rows = result.rows[result.rows["metric"] == "wer"]
    assert rows["value"].isna().all()
    assert "BENCH_ASR_MODEL" in rows["error"].iloc[0] and "no-such-model" in rows["error"].iloc[0]


def test_suite_without_text_or_speakers(tmp_path, monkeypatch):
    """wer is skipped by default on a suite without transcripts, and refused when forced."""
    demo = load_suite("demo")
    manifest = tmp_path / "untranscribed.csv"
    with manifest.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "path"])
        for it in demo.items[:2]:
            w.writerow([it.id, str(it.path)])
    suite = load_suite(str(manifest))
    names = [m.name for m in resolve_metrics(None, suite.fields)]
    assert "wer" not in names and "eer" not in names and "spk-sim" in names
    with pytest.raises(BenchError, match=r"'wer' needs item field\(s\) \['text'\]"):
        runner.run("original", str(manifest), "wer", out=tmp_path / "r1", progress=False, cache_dir=tmp_path / "cache")
    with pytest.raises(BenchError, match=r"'eer' needs item field\(s\) \['speaker'\]"):
        runner.run("original", str(manifest), "eer", out=tmp_path / "r2", progress=False, cache_dir=tmp_path / "cache")
    assert REPO_ROOT.exists()
