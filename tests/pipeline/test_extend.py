"""A run directory has an identity, and a finished run can be extended.

More codec settings or metrics given for an existing run directory join it: only the new units
and the new metric rows are computed, the rows already there are neither recomputed nor written
again, the codec does not run again where ``--save-audio`` kept the reconstruction, and every new
value is bit-identical to what a run asked for everything at once gives. Another suite is refused.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bench.adapters.pyav import PyAVCodec
from bench.api import run
from bench.pipeline.rundir import RunDirError
from helpers.data import DEMO_CLIP

KW = dict(limit=3, executor="inline", progress=False)


def _lines(path, name):
    return [json.loads(line) for line in (path / name).read_text().splitlines()]


def _values(rows: pd.DataFrame) -> dict:
    rows = rows[rows["item"] != "*"]
    return {(r.item, r.label, r.metric): r.value for r in rows.itertuples()}


@pytest.fixture(scope="module")
def everything(tmp_path_factory):
    """The whole table in one run: what an extended run must reproduce bit for bit."""
    base = tmp_path_factory.mktemp("all")
    return run(["opus@6", "codec2@3.2"], "demo", ["snr", "si-sdr"], out=base / "run", cache_dir=base / "cache", **KW)


def _count_opus_encodes(monkeypatch) -> list:
    calls = []
    original = PyAVCodec.encode

    def counting(self, audio):
        calls.append(len(audio))
        return original(self, audio)

    monkeypatch.setattr(PyAVCodec, "encode", counting)
    return calls


def test_more_settings_and_metrics_compute_only_what_is_new(tmp_path, everything, monkeypatch):
    first = run(["opus@6"], "demo", ["snr"], out=tmp_path / "run", cache_dir=tmp_path / "cache", save_audio=True,
                **KW)
    before_rows, before_items = _lines(first.path, "rows.jsonl"), _lines(first.path, "items.jsonl")
    calls = _count_opus_encodes(monkeypatch)

    ext = run(["codec2@3.2"], "demo", ["si-sdr"], out=tmp_path / "run", cache_dir=tmp_path / "cache", **KW)

    assert not calls  # opus's new metric scored its kept reconstruction: the codec did not run again
    rows, items = _lines(ext.path, "rows.jsonl"), _lines(ext.path, "items.jsonl")
    assert rows[:len(before_rows)] == before_rows and items[:len(before_items)] == before_items  # kept as written
    added = rows[len(before_rows):]
    assert {(r["label"], r["metric"]) for r in added if r["item"] != "*"} == {
        ("opus@6", "si-sdr"), ("codec2@3.2", "kbps"), ("codec2@3.2", "snr"), ("codec2@3.2", "si-sdr")}
    assert [r["label"] for r in items[len(before_items):] if r["item"] != "*"] == ["codec2@3.2"] * 3  # new units only
    # the table is whole (both settings x both metrics) and equals the one-run table bit for bit
    assert _values(ext.rows) == _values(everything.rows)
    s = ext.summary
    assert set(s["label"]) == {"opus@6", "codec2@3.2"} and {"snr", "si-sdr", "kbps"} <= set(s["metric"])
    manifest = json.loads((ext.path / "manifest.json").read_text())
    assert list(manifest["codecs"]) == ["opus@6", "codec2@3.2"] and list(manifest["metrics"]) == ["snr", "si-sdr"]

    again = run(["opus@6"], "demo", ["snr"], out=tmp_path / "run", cache_dir=tmp_path / "cache", **KW)
    assert _lines(again.path, "rows.jsonl")[:len(rows)] == rows and again.n_skipped == again.n_units == 6
    assert _values(again.rows) == _values(everything.rows)  # a subset command reports the whole run


def test_without_kept_audio_the_codec_runs_again_for_the_new_metric_only(tmp_path, everything, monkeypatch, capsys):
    first = run(["opus@6"], "demo", ["snr"], out=tmp_path / "run", cache_dir=tmp_path / "cache", **KW)
    n_items, n_rows = len(_lines(first.path, "items.jsonl")), len(_lines(first.path, "rows.jsonl"))
    calls = _count_opus_encodes(monkeypatch)
    ext = run(["opus@6"], "demo", ["si-sdr"], out=tmp_path / "run", cache_dir=tmp_path / "cache", **KW)
    assert len(calls) == 3  # each item coded once more, for si-sdr
    assert len(_lines(ext.path, "items.jsonl")) == n_items  # its records (and kbps rows) are not rewritten
    added = _lines(ext.path, "rows.jsonl")[n_rows:]
    assert all(r["metric"] == "si-sdr" for r in added if r["item"] != "*")
    opus = {k: v for k, v in _values(everything.rows).items() if k[1] == "opus@6"}
    assert _values(ext.rows) == opus
    err = capsys.readouterr().err
    assert "extending the run" in err and "--save-audio" in err


def test_kept_reconstruction_is_what_was_scored(tmp_path):
    """--save-audio keeps float samples, so a metric added later scores exactly the scored signal."""
    import soundfile as sf

    from bench.pipeline.rundir import audio_path

    res = run(["opus@6"], "demo", ["snr"], out=tmp_path / "run", cache_dir=tmp_path / "cache", save_audio=True,
              **{**KW, "limit": 1})
    item = res.rows.loc[res.rows["item"] != "*", "item"].iloc[0]
    path = audio_path(res.path, "opus@6", item)
    assert sf.info(str(path)).subtype == "FLOAT"
    samples, _ = sf.read(str(path), dtype="float32")
    assert samples.dtype == np.float32 and np.isfinite(samples).all()


def test_another_suite_is_refused_even_with_force(tmp_path, make_manifest):
    run(["opus@6"], "demo", ["snr"], out=tmp_path / "run", cache_dir=tmp_path / "cache", **{**KW, "limit": 1})
    other = make_manifest([("one", DEMO_CLIP)])
    for force in (False, True):
        with pytest.raises(RunDirError, match=r"holds a run of suite 'demo'.*pass a new --out directory"):
            run(["opus@6"], str(other), ["snr"], out=tmp_path / "run", cache_dir=tmp_path / "cache", force=force,
                **{**KW, "limit": 1})
    rows = _lines(tmp_path / "run", "rows.jsonl")
    assert {r["suite"] for r in rows} == {"demo"}  # nothing of the other suite was written
