"""The bad-input catalogue: every kind of broken input is a counted failure (or a recorded warning)
naming the file and the problem, and the good items' values are exactly those of a run without
the bad ones."""

from __future__ import annotations

import csv
import os
import shutil

import numpy as np
import pytest
import soundfile as sf

from bench.errors import ConfigError
from bench.pipeline.runner import run
from bench.suites import load_suite
from helpers.data import DEMO, write_wav

GOOD = [DEMO / "LibriSpeech/test-other/1688/142285/1688-142285-0002.flac",
        DEMO / "cmu_arctic/bdl/arctic_a0001.flac"]
METRICS = ["si-sdr", "snr"]


def _speech(seconds: float = 1.0, rate: int = 16000) -> np.ndarray:
    x, r = sf.read(str(GOOD[0]), dtype="float32")
    assert r == 16000
    x = x[: int(seconds * 16000)]
    if rate != 16000:
        import soxr

        x = soxr.resample(x, 16000, rate)
    return x


def _catalogue(d):
    """(id, path, expected reason substring or None for a recorded-but-scored item)."""
    d.mkdir(parents=True, exist_ok=True)
    out = []

    def bad(item_id, path, reason):
        out.append((item_id, path, reason))

    bad("missing", d / "missing.wav", "missing.wav: file not found")
    (d / "empty.wav").write_bytes(b"")
    bad("empty", d / "empty.wav", "empty.wav: file is empty (0 bytes)")
    (d / "corrupt.flac").write_bytes(b"not audio at all" * 10)
    bad("corrupt", d / "corrupt.flac", "corrupt.flac: cannot decode audio")
    (d / "text.wav").write_text("RIFF? no, a text file\n" * 20)
    bad("text-as-wav", d / "text.wav", "text.wav: cannot decode audio")
    bad("silent", write_wav(d / "silent.wav", np.zeros(16000)), "silent.wav: is silent")
    bad("too-short", write_wav(d / "short.wav", _speech(0.05)), "short.wav: too short")
    bad("clipped", write_wav(d / "clipped.wav", np.clip(_speech() * 50, -1, 1)), "clipped.wav: clipped")
    sf.write(str(d / "stereo.wav"), np.stack([_speech(), _speech()], axis=1), 16000)
    bad("stereo", d / "stereo.wav", "stereo.wav: has 2 channels")
    nan = _speech().astype(np.float32)
    nan[100] = np.nan
    sf.write(str(d / "nan.wav"), nan, 16000, subtype="FLOAT")
    bad("nan", d / "nan.wav", "nan.wav: contains NaN or infinite samples")
    inf = _speech().astype(np.float32)
    inf[100] = np.inf
    sf.write(str(d / "inf.wav"), inf, 16000, subtype="FLOAT")
    bad("inf", d / "inf.wav", "inf.wav: contains NaN or infinite samples")
    os.symlink(d / "loop_b.wav", d / "loop_a.wav")
    os.symlink(d / "loop_a.wav", d / "loop_b.wav")
    bad("symlink-loop", d / "loop_a.wav", "loop_a.wav: cannot open (Too many levels of symbolic links)")
    os.symlink(d / "nowhere.wav", d / "dangling.wav")
    bad("dangling-link", d / "dangling.wav", "dangling.wav: file not found")
    (d / "adir.wav").mkdir()
    bad("directory", d / "adir.wav", "adir.wav: is a directory")
    sf.write(str(d / "header_only.wav"), np.zeros(0, np.float32), 16000, subtype="PCM_16")
    bad("no-frames", d / "header_only.wav", "header_only.wav: contains no samples")
    sf.write(str(d / "long.wav"), np.full(8000 * 601, 0.01, np.float32), 8000, subtype="PCM_16")
    bad("too-long", d / "long.wav", "long.wav: too long (601.0 s > the suite's max_item_seconds 600 s")
    # Recorded, not failed: the file is scored and the row says what was wrong or done.
    full = write_wav(d / "full.wav", _speech(1.5))
    raw = full.read_bytes()
    (d / "truncated.wav").write_bytes(raw[: len(raw) * 2 // 3])
    bad("truncated", d / "truncated.wav", None)
    bad("rate-8k", write_wav(d / "eight.wav", _speech(1.5, 8000), rate=8000), None)
    bad("rate-48k", write_wav(d / "fortyeight.wav", _speech(1.5, 48000), rate=48000), None)
    sf.write(str(d / "u8.wav"), _speech(1.5), 16000, subtype="PCM_U8")
    bad("8-bit", d / "u8.wav", None)
    sf.write(str(d / "vorbis.ogg"), _speech(1.5), 16000, format="OGG", subtype="VORBIS")
    bad("ogg-vorbis", d / "vorbis.ogg", None)
    bad("unicode name", shutil.copy(GOOD[1], d / "ünï cødé name.flac"), None)
    bad("id/with/slashes", shutil.copy(GOOD[1], d / "slashes.flac"), None)
    return out


def _manifest(path, rows, bom=False, crlf=False):
    with path.open("w", newline="", encoding="utf-8-sig" if bom else "utf-8") as fh:
        w = csv.writer(fh, lineterminator="\r\n" if crlf else "\n")
        w.writerow(["id", "path", "speaker", "text"])
        for i, (item_id, p) in enumerate(rows):
            w.writerow([item_id, os.path.relpath(p, path.parent), f"spk{i % 2}", "HELLO WORLD"])
    return path


@pytest.fixture(scope="module")
def catalogue_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("catalogue")
    good = [(f"good{i}", shutil.copy(p, d / p.name)) for i, p in enumerate(GOOD)]
    cat = _catalogue(d / "bad")
    m_all = _manifest(d / "all.csv", good + [(i, p) for i, p, _ in cat], bom=True, crlf=True)
    m_good = _manifest(d / "good.csv", good)
    everything = run(["opus@6"], str(m_all), METRICS, out=d / "run-all", executor="inline", progress=False)
    only_good = run(["opus@6"], str(m_good), METRICS, out=d / "run-good", executor="inline", progress=False)
    return cat, everything, only_good


def test_at_least_twenty_kinds_each_counted_with_its_reason(catalogue_run):
    cat, res, _ = catalogue_run
    assert len(cat) >= 20
    rows = res.rows[res.rows["metric"].isin(METRICS)]
    for item_id, _path, reason in cat:
        mine = rows[rows["item"] == item_id]
        assert len(mine) == len(METRICS), item_id  # never lost: one row per metric
        if reason is None:
            assert mine["value"].notna().all(), (item_id, mine["error"].tolist())
        else:
            assert mine["value"].isna().all(), item_id
            assert all(reason in e for e in mine["error"]), (item_id, mine["error"].tolist())
    s = res.summary.set_index("metric")
    n_bad = sum(1 for *_, r in cat if r is not None)
    assert s.loc["si-sdr", "n_failed"] == n_bad
    assert s.loc["si-sdr", "n"] == len(GOOD) + len(cat) - n_bad


def test_good_items_are_unchanged_by_bad_neighbours(catalogue_run):
    _, res, good = catalogue_run
    key = ["item", "label", "metric"]
    a = res.rows[res.rows["item"].isin(["good0", "good1"])].sort_values(key)[key + ["value"]].reset_index(drop=True)
    b = good.rows.sort_values(key)[key + ["value"]].reset_index(drop=True)
    assert a.equals(b)


def test_input_facts_and_warnings_are_recorded_per_item(catalogue_run):
    _, res, _ = catalogue_run
    items = res.items.set_index("item") if hasattr(res, "items") else None
    if items is None:
        import pandas as pd

        items = pd.read_csv(res.path / "items.csv").set_index("item")
    assert items.loc["rate-8k", "input_rate"] == 8000
    assert items.loc["good0", "input_rate"] == 16000 and items.loc["good0", "input_channels"] == 1
    warning = items.loc["truncated", "input_warning"]
    assert "truncated: header promises 24000 frames, file holds" in warning
    assert isinstance(items.loc["good0", "input_warning"], float)  # NaN: nothing to warn about


def test_manifest_level_problems_are_clear_errors(tmp_path):
    loop = tmp_path / "loop.csv"
    os.symlink(tmp_path / "loop2.csv", loop)
    os.symlink(loop, tmp_path / "loop2.csv")
    with pytest.raises(Exception) as err:  # noqa: PT011 - the message is what matters
        load_suite(str(loop))
    assert "loop.csv" in str(err.value)
    dup = tmp_path / "dup.csv"
    dup.write_text("id,path\na,x.wav\na,y.wav\n")
    with pytest.raises(ConfigError, match="dup.csv: duplicate item id 'a'"):
        load_suite(str(dup))
    cols = tmp_path / "cols.csv"
    cols.write_text("\ufeffname,file\na,x.wav\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"cols.csv: CSV manifest needs columns id,path \(has: file, name\)"):
        load_suite(str(cols))


def test_bom_and_crlf_manifests_read_like_plain_ones(tmp_path):
    rows = [("a", GOOD[0]), ("b", GOOD[1])]
    plain = load_suite(str(_manifest(tmp_path / "plain.csv", rows)))
    odd = load_suite(str(_manifest(tmp_path / "odd.csv", rows, bom=True, crlf=True)))
    assert [(i.id, i.path, i.text) for i in plain.items] == [(i.id, i.path, i.text) for i in odd.items]


def test_some_items_without_transcript_keep_the_text_metrics(tmp_path):
    m = tmp_path / "m.csv"
    m.write_text(f"id,path,text\na,{GOOD[0]},HELLO\nb,{GOOD[1]},\n")
    suite = load_suite(str(m))
    assert "text" in suite.fields  # WER runs; item b becomes its failed row
    assert [bool(i.text) for i in suite.items] == [True, False]
