"""``bench run --batch N`` (items of one codec setting coded and scored together) and ``--device``.

- ``--batch 3`` against ``--batch 1`` on demo clips: on the CPU every codec codes item by item
  (neural codecs batch on CUDA only: slower here), so the rows are bit-identical except GE2E's
  spk-sim (one forward pass for the batch: float32 rounding), within the bound measured here;
- resuming keeps item granularity: a batch whose rows were partly written redoes only the rest;
- batches are formed deterministically, over all items, so a resumed run keeps them;
- a batch lost to its worker is split and its items run again one by one (here through a test
  executor; tests/pipeline/test_isolation.py does it with a real segfault);
- ``--device cuda`` where torch has no CUDA fails before any work.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from bench.errors import BenchError
from bench.pipeline import runner
from bench.pipeline.executors import Failed, InlineExecutor, register_executor
from bench.pipeline.runner import batches, run
from bench.suites.items import Item

pytestmark = [pytest.mark.models]

CODECS = ["opus@6", "encodec@6"]
METRICS = ["si-sdr", "snr", "spk-sim", "eer"]
#: |--batch 3 - --batch 1| per (codec, metric) at most; every other pair is bit-identical. GE2E
#: embeddings in a batch differ by up to 2e-7 per element (tests/models/test_batches.py); on these
#: clips opus's spk-sim measured 0. The untrained EnCodec's output is near silence, so its spk-sim
#: fails the same way in both runs (no speech left after voice-activity trimming).
BOUNDS = {("opus@6", "spk-sim"): 1e-6, ("opus@6", "eer"): 1e-6}
#: the same for the untrained EnCodec coding batches of 3 (as on CUDA, here on the CPU): measured
#: SI-SDR 1.6e-4 dB, SNR 5.4e-8 dB (its samples differ by ~1e-7; its output is near silence,
#: SI-SDR -66 dB, which makes SI-SDR sensitive)
CODED_BOUNDS = {"si-sdr": 1e-3, "snr": 1e-6}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("batch")
    common = dict(limit=3, jobs=1, progress=False, allow_untrained=True, executor="inline", cache_dir=tmp / "cache")
    return {b: run(CODECS, "demo", METRICS, out=tmp / f"batch{b}", batch=b, **common) for b in (1, 3)}


def _by_key(rows: pd.DataFrame) -> pd.DataFrame:
    """Item rows and set-level rows (EER), by (label, item, metric)."""
    return rows.set_index(["label", "item", "metric"]).sort_index()


def test_batch_of_three_against_one_by_one(runs):
    one, three = _by_key(runs[1].rows), _by_key(runs[3].rows)
    assert one.index.equals(three.index)
    # both runs ran in this process: the second must score into its own run directory (EER's
    # embeddings), not the first's
    assert runs[3].rows.set_index(["label", "item", "metric"]).loc[("opus@6", "*", "eer"), "value"] >= 0
    pd.testing.assert_series_equal(one["error"].fillna(""), three["error"].fillna(""))
    diff = (one["value"] - three["value"]).abs().groupby(level=["label", "metric"]).max().fillna(0.0)
    for (label, metric), d in diff.items():
        assert d <= BOUNDS.get((label, metric), 0.0), (label, metric, d)
    items = pd.read_json(runs[3].path / "items.jsonl", lines=True).set_index("label")["batch"].dropna()
    assert set(items) == {1}  # coded item by item: opus always, EnCodec on the CPU
    execution = json.loads((runs[3].path / "manifest.json").read_text())["execution"]
    assert execution == {"device": "cpu", "batch": 3, "align": "setting"}


def test_batched_coding_in_a_run_as_on_cuda(runs, tmp_path, monkeypatch):
    """The path a CUDA run takes, run on the CPU: EnCodec codes each batch in one padded pass."""
    from bench.adapters.encodec import EnCodec

    monkeypatch.setattr(EnCodec, "batch_in_runs", property(lambda self: True))
    batched = run(["encodec@6"], "demo", METRICS, out=tmp_path, limit=3, jobs=1, progress=False,
                  allow_untrained=True, executor="inline", batch=3, cache_dir=runs[3].path.parent / "cache")
    one = _by_key(runs[1].rows).loc["encodec@6"]
    three = _by_key(batched.rows).loc["encodec@6"]
    pd.testing.assert_series_equal(one["error"].fillna(""), three["error"].fillna(""))
    diff = (one["value"] - three["value"]).abs().groupby(level="metric").max().fillna(0.0)
    for metric, d in diff.items():
        assert d <= CODED_BOUNDS.get(metric, 0.0), (metric, d)
    assert set(pd.read_json(tmp_path / "items.jsonl", lines=True)["batch"].dropna()) == {3}


def test_resume_redoes_only_the_missing_items_of_a_batch(runs, tmp_path):
    first = runs[3].path
    done = pd.read_json(first / "items.jsonl", lines=True)
    lost = done[done["label"] == "encodec@6"]["item"].iloc[1]
    for name in ("rows.jsonl", "items.jsonl"):  # as if the run had stopped before that item's rows
        lines = (first / name).read_text().splitlines()
        kept = [ln for ln in lines if not (json.loads(ln)["item"] == lost and json.loads(ln)["label"] == "encodec@6")]
        (tmp_path / name).write_text("\n".join(kept) + "\n")
    (tmp_path / "manifest.json").write_text((first / "manifest.json").read_text())
    again = run(CODECS, "demo", METRICS, out=tmp_path, limit=3, jobs=1, progress=False, allow_untrained=True,
                executor="inline", batch=3, cache_dir=runs[3].path.parent / "cache")
    assert again.n_skipped == again.n_units - 1
    redone = pd.read_json(tmp_path / "items.jsonl", lines=True)
    redone, done = redone[redone["item"] != "*"], done[done["item"] != "*"]  # set-level records: once per run
    assert len(redone) == len(done)  # the lost item's record once more, nothing else redone
    assert redone[["item", "label"]].iloc[-1].tolist() == [lost, "encodec@6"]  # appended by the resumed run


def test_batches_are_deterministic_and_sorted_by_duration():
    from bench.suites import load_suite

    items = load_suite("demo").items[:10]
    groups = batches(items, 4)
    assert [len(g) for g in groups] == [4, 4, 2]
    flat = [it for g in groups for it in g]
    assert sorted(flat, key=lambda it: it.id) == sorted(items, key=lambda it: it.id)
    assert [it.seconds() for it in flat] == sorted(it.seconds() for it in items)
    assert batches(items, 1) == [[it] for it in items]  # --batch 1: the run's order, one by one


def test_an_unreadable_file_sorts_first_in_batches(tmp_path):
    """Grouping tolerates a file whose length cannot be read (its unit fails it with the reason)."""
    from bench.suites import load_suite

    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio")
    items = [*load_suite("demo").items[:3], Item("bad", bad)]
    assert [it.id for it in batches(items, 2)[0]][0] == "bad"


@register_executor("test-loses-batches")
class _LosesBatches(InlineExecutor):
    """Every unit of several items comes back lost (as a crash or a timeout does); single items run."""

    def run(self, units):
        for unit in units:
            if len(unit.items) > 1:
                yield unit, Failed(f"timed out: coding/scoring {unit.describe()} took longer than 1 s; worker killed")
            else:
                yield from super().run([unit])


def test_a_lost_batch_is_split_and_its_items_run_one_by_one(runs, tmp_path):
    result = run(CODECS[:1], "demo", METRICS, out=tmp_path, limit=3, jobs=1, progress=False,
                 executor="test-loses-batches", batch=3, cache_dir=runs[3].path.parent / "cache")
    got, want = _by_key(result.rows), _by_key(runs[1].rows).loc[[CODECS[0]]]
    pd.testing.assert_series_equal(got["value"], want["value"])
    pd.testing.assert_series_equal(got["error"].fillna("").astype(str), want["error"].fillna("").astype(str))
    assert set(pd.read_json(tmp_path / "items.jsonl", lines=True)["batch"].dropna()) == {1}


def test_resuming_with_another_batch_size_is_refused(runs):
    with pytest.raises(BenchError, match="--batch 3.*pass a new --out"):
        run(CODECS, "demo", METRICS, out=runs[3].path, limit=3, jobs=1, progress=False, allow_untrained=True,
            executor="inline", batch=1, cache_dir=runs[3].path.parent / "cache")


def test_default_run_directory_name_is_unchanged_and_batches_get_their_own():
    from bench.pipeline.unit import RunOptions
    from bench.suites import load_suite

    suite = load_suite("demo")
    args = (suite, "h", ["opus@6"], ["snr"], 3)
    assert runner.run_id(*args) == runner.run_id(*args, None, RunOptions())
    assert runner.run_id(*args, None, RunOptions(batch=3)) != runner.run_id(*args)


def test_cuda_without_cuda_fails_before_any_work(tmp_path, monkeypatch):
    import torch
    from typer.testing import CliRunner

    from bench.cli import app

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(BenchError, match=r"--device cuda: torch.cuda.is_available\(\) is False"):
        run(["opus@6"], "demo", ["snr"], out=tmp_path / "run", limit=1, device="cuda", progress=False)
    assert not (tmp_path / "run").exists()
    result = CliRunner().invoke(app, ["run", "--codec", "opus@6", "--limit", "1", "--device", "cuda:1",
                                      "--out", str(tmp_path / "cli"), "--no-progress"])
    assert result.exit_code != 0 and "torch.cuda.is_available() is False" in str(result.exception)
    assert not (tmp_path / "cli").exists()
    with pytest.raises(BenchError, match="expected cpu, cuda or cuda:N"):
        run(["opus@6"], "demo", ["snr"], out=tmp_path / "run", device="gpu", progress=False)
    with pytest.raises(BenchError, match="--batch 0"):
        run(["opus@6"], "demo", ["snr"], out=tmp_path / "run", batch=0, progress=False)
