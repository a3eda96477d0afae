"""The codec setting's delay: recovered once, applied to every item, jitter flagged not followed.

A synthetic codec (tests/plugins/delay_codec.py, registered in every worker through the run's
``plugins``) delays its output by a known constant D, and some items by D plus a jitter.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from bench.audio import load_audio
from bench.errors import BenchError
from bench.pipeline.align import lag_tolerance
from bench.api import run  # writes summary.md too (the report is rendered above the pipeline)
from helpers.data import DEMO
from helpers.env import use_env

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"
D = 237  # samples at 16 kHz: not a frame size, not a round number
CLIPS = {  # none of them is a delay-measurement clip (bench/pipeline/delay.py)
    "a": DEMO / "LibriSpeech/test-other/1688/142285/1688-142285-0002.flac",
    "b": DEMO / "cmu_arctic/bdl/arctic_a0001.flac",
    "c": DEMO / "cmu_arctic/bdl/arctic_a0002.flac",
    "d": DEMO / "cmu_arctic/slt/arctic_a0001.flac",
    "e": DEMO / "ljspeech/wavs/LJ001-0008.flac",
}
#: extra delay per item: b and d beyond the 1 ms tolerance (16 samples), e within it
JITTER = {"b": 40, "d": -25, "e": 9}


@pytest.fixture(scope="module", autouse=True)
def plugin_path():
    sys.path.insert(0, str(PLUGINS))  # spawned workers inherit the parent's sys.path
    import delay_codec  # noqa: F401  (registers the adapter here too)

    yield
    sys.path.remove(str(PLUGINS))


@pytest.fixture
def suite(tmp_path):
    folder = tmp_path / "suite"
    folder.mkdir()
    lines = ["id,path,speaker,text"]
    for i, clip in CLIPS.items():
        shutil.copy(clip, folder / f"{i}.flac")
        lines.append(f"{i},{i}.flac,spk,HELLO")
    (folder / "m.csv").write_text("\n".join(lines) + "\n")
    return folder / "m.csv"


def _digests(suite: Path) -> dict[str, str]:
    from delay_codec import digest

    return {i: digest(load_audio(suite.parent / f"{i}.flac").samples) for i in CLIPS}


@pytest.fixture
def cards(tmp_path, monkeypatch, suite):
    """Card folder on $BENCH_CODECS; ``card(name, **options)`` writes one."""
    folder = tmp_path / "cards"
    folder.mkdir()
    use_env(monkeypatch, BENCH_CODECS=str(folder))

    def card(name: str, delay_samples: int | None = None, **options) -> str:
        body = {"name": name, "adapter": "test-delay", "sample_rate": 16000, "options": options}
        if delay_samples is not None:
            body["delay_samples"] = delay_samples
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(body))
        return name

    return card


def _run(suite, codec, out, **kw):
    """In this process (fast); the first test runs in worker processes, as a real run does."""
    kw.setdefault("executor", "inline")
    return run([codec], str(suite), ["si-sdr"], out=out, progress=False, plugins=["delay_codec"], jobs=1,
               cache_dir=out.parent / "cache", **kw)


@pytest.mark.workers
def test_constant_delay_recovered_exactly_and_jitter_flagged(tmp_path, suite, cards):
    digests = _digests(suite)
    name = cards("jitter", delay=D, tail=300, noise=1e-3, jitter={digests[i]: j for i, j in JITTER.items()})
    res = _run(suite, name, tmp_path / "setting", executor="local")  # the plugin codec in a worker

    delay = json.loads((res.path / "manifest.json").read_text())["codecs"][name]["delay"]
    assert delay["source"] == "measured" and delay["sample_rate"] == 16000
    assert delay["samples"] == D and delay["clip_lags"] == [D] * 5  # the measurement clips carry no jitter

    items = pd.read_csv(res.path / "items.csv").set_index("item")
    assert (items["lag"] == D).all()  # every item shifted by the setting's delay, none by its own
    assert (items["setting_delay"] == D).all()
    np.testing.assert_array_equal(items.loc[list(CLIPS), "own_lag"], [D + JITTER.get(i, 0) for i in CLIPS])
    assert lag_tolerance(16000) == 16
    assert set(items.index[items["lag_flag"]]) == {"b", "d"}  # e's 9 samples are within 1 ms
    manifest = json.loads((res.path / "manifest.json").read_text())
    assert manifest["execution"]["align"] == "setting"
    assert manifest["alignment"][name] == {"n_items": 5, "n_lag_flagged": 2}
    header = (res.path / "summary.md").read_text()
    assert f"its delay in samples at 16000 Hz: {name} {D} (measured, 2/5 items flagged)" in header

    sdr = res.rows.set_index("item").query("metric == 'si-sdr'")["value"]
    per_item = _run(suite, name, tmp_path / "item", align="item")
    pitems = pd.read_csv(per_item.path / "items.csv").set_index("item")
    np.testing.assert_array_equal(pitems.loc[list(CLIPS), "lag"], [D + JITTER.get(i, 0) for i in CLIPS])
    assert set(pitems.index[pitems["lag_flag"]]) == {"b", "d"}  # flagged against the setting's delay either way
    psdr = per_item.rows.set_index("item").query("metric == 'si-sdr'")["value"]
    # per-item alignment hides the jitter (every item looks clean); per setting, jittered items score low
    assert (psdr > 25).all()
    assert sdr[["b", "d", "e"]].max() < 10 < 25 < sdr[["a", "c"]].min()
    assert "each item shifted by its own cross-correlation lag" in (per_item.path / "summary.md").read_text()


def test_zero_delay_output_scored_unshifted_bit_identical(tmp_path, suite, cards):
    """A codec with no delay whose output peaks at lag 1 (a two-tap filter, as Lyra's did on one
    item): per setting it is scored exactly as the codec produced it."""
    from bench.metrics import metric_class

    name = cards("lowpass", delay_samples=0, fir=[0.4, 0.6], tail=160)
    res = _run(suite, name, tmp_path / "r")  # scored in this process, as below
    manifest = json.loads((res.path / "manifest.json").read_text())
    assert manifest["codecs"][name]["delay"] == {"samples": 0, "sample_rate": 16000, "source": "card",
                                                 "clip_lags": [], "ms": 0.0}
    items = pd.read_csv(res.path / "items.csv").set_index("item")
    assert (items["lag"] == 0).all() and (items["own_lag"] == 1).all() and not items["lag_flag"].any()

    from bench.adapters import create_codec, parse_setting

    codec = create_codec(parse_setting(name))
    metric = metric_class("si-sdr")(None)
    got = res.rows.set_index("item").query("metric == 'si-sdr'")["value"]
    for i in CLIPS:
        reference = load_audio(suite.parent / f"{i}.flac")
        output = codec.decode(codec.encode(reference))  # the codec's own output, cut to the reference
        expected = metric.score(reference=reference, estimate=output.with_samples(output.samples[: len(reference)]))
        assert got[i] == expected.value  # bit-identical: no shift was applied

    shifted = _run(suite, name, tmp_path / "i", align="item").rows.set_index("item").query("metric == 'si-sdr'")
    assert (shifted["value"] != got).all()  # per item, each is moved by one sample: other values


def test_align_mode_is_part_of_the_run_identity(tmp_path, suite, cards, monkeypatch):
    import bench.pipeline.runner as runner

    name = cards("plain", delay=D)
    monkeypatch.setattr(runner, "RUNS_DIR", tmp_path / "runs")
    kw = dict(progress=False, plugins=["delay_codec"], jobs=1, cache_dir=tmp_path / "cache", limit=1,
              executor="inline")
    a = run([name], str(suite), ["snr"], **kw)
    b = run([name], str(suite), ["snr"], align="item", **kw)
    assert a.path != b.path and b.n_skipped == 0
    with pytest.raises(BenchError, match="--align setting.*this run asks for.*--align item"):
        run([name], str(suite), ["snr"], out=a.path, align="item", **kw)
    with pytest.raises(BenchError, match="--align diagonal: expected one of setting, item"):
        run([name], str(suite), ["snr"], align="diagonal", **kw)


def test_changed_card_delay_refuses_to_resume(tmp_path, suite, cards):
    name = cards("declared", delay_samples=D, delay=D)
    _run(suite, name, tmp_path / "r", limit=1)
    cards("declared", delay_samples=D + 1, delay=D)
    with pytest.raises(BenchError, match=f"aligned by a delay of {D} samples \\(card\\); this run's is {D + 1}"):
        _run(suite, name, tmp_path / "r", limit=1)


def test_measured_delay_is_cached_per_setting(tmp_path, suite, cards, monkeypatch):
    import bench.pipeline.delay as delay_mod

    name = cards("cached", delay=D)
    calls = []
    real = delay_mod.measure
    monkeypatch.setattr(delay_mod, "measure", lambda *a: calls.append(a) or real(*a))
    first = _run(suite, name, tmp_path / "a", limit=1)
    second = _run(suite, name, tmp_path / "b", limit=1)
    assert len(calls) == 1
    m = [json.loads((r.path / "manifest.json").read_text())["codecs"][name]["delay"] for r in (first, second)]
    assert m[0] == m[1] and m[0]["samples"] == D
    cards("cached", delay=D + 3)  # another card content: measured anew
    third = _run(suite, name, tmp_path / "c", limit=1)
    assert len(calls) == 2
    assert json.loads((third.path / "manifest.json").read_text())["codecs"][name]["delay"]["samples"] == D + 3


@pytest.mark.parametrize("bad", [-3, 2.5, "ten", True])
def test_card_delay_must_be_whole_samples(tmp_path, bad):
    from bench.adapters import read_card
    from bench.errors import ConfigError

    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"name": "bad", "adapter": "test-delay", "sample_rate": 16000, "delay_samples": bad}))
    with pytest.raises(ConfigError, match=f"{path}: delay_samples must be a whole number of samples"):
        read_card(path)
