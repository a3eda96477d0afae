"""bench listen create: a MUSHRA test folder from a real run (Opus + Codec 2 on 6 demo items)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyloudnorm
import pytest
import soundfile as sf
from scipy import signal

from _listen_runs import demo_run
from bench.audio import load_audio
from bench.listening.create import (ANCHORS, CreateOptions, ListeningCreateError, choose_items, create_test, fade,
                                    lowpass, speech_window)
from bench.listening.testdef import load_test
from bench.pipeline.rundir import audio_path
from bench.suites import load_suite

REPO = Path(__file__).resolve().parents[2]
OPTS = CreateOptions(items=4, excerpt=2.0, seed=0)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return demo_run(tmp_path_factory)


@pytest.fixture(scope="module")
def test_dir(run_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("listen") / "a"
    create_test([run_dir], out, OPTS)
    return out


def _read(folder: Path, rel: str) -> np.ndarray:
    return sf.read(str(folder / rel), dtype="float64")[0]


def _stimuli(test, trial):
    return {s.condition: s for s in trial.stimuli}


def test_every_condition_is_cut_at_the_same_indices(test_dir, run_dir):
    """Each stimulus, its gain undone, is the faded slice [start:stop] of its source: the original
    item (hidden reference), the run's saved reconstruction (codecs) or the low-passed original
    (anchors). So all conditions of a trial are sample-aligned with each other."""
    test = load_test(test_dir)
    items = {it.id: it for it in load_suite("demo").items}
    records = pd.read_csv(run_dir / "items.csv").set_index(["item", "label"])
    loud = test.provenance["loudness"]["trials"]
    assert [c.id for c in test.conditions] == ["reference", "anchor-3.5k", "anchor-7k", "opus@6", "codec2@3.2"]
    for trial in test.trials:
        ex = test.provenance["excerpt"]["trials"][trial.id]
        start, stop, rate = ex["start_sample"], ex["stop_sample"], ex["sample_rate"]
        assert stop - start == round(2.0 * rate) and abs(trial.start - start / rate) < 1e-12
        original = load_audio(items[trial.item].path).samples.astype(np.float64)
        assert stop <= len(original)
        sources = {"reference": original,
                   **{a: lowpass(original, rate, hz)[0] for a, hz in ANCHORS.items()},
                   **{lab: load_audio(audio_path(run_dir, lab, trial.item)).samples.astype(np.float64)
                      for lab in ("opus@6", "codec2@3.2")}}
        stim = _stimuli(test, trial)
        for cond, src in sources.items():
            x = _read(test_dir, stim[cond].file)
            g = 10 ** (loud[trial.id]["stimuli"][cond]["gain_db"] / 20)
            expected = fade(src[start:stop], rate)
            assert len(x) == stop - start
            assert np.max(np.abs(x / g - expected)) <= 1.0 / 32768 / g + 1e-4, (trial.id, cond)
        # the open and the hidden reference are the same audio; cross-correlation peaks at lag 0
        ref = _read(test_dir, trial.reference)
        hidden = _read(test_dir, stim["reference"].file)
        assert np.array_equal(ref, hidden)
        for cond in ("reference", "anchor-7k"):
            y = _read(test_dir, stim[cond].file)
            xc = signal.correlate(y, ref, mode="full")
            assert int(np.argmax(xc)) - (len(ref) - 1) == 0, (trial.id, cond)
        # a codec's excerpt is cut at the same indices from what the run scored (checked above): shifted
        # by its setting's one delay, so its own best lag is what items.csv records for the item
        # (own lag - setting delay), not re-aligned per excerpt
        rec = records.loc[(trial.item, "opus@6")]
        y = _read(test_dir, stim["opus@6"].file)
        lag = int(np.argmax(signal.correlate(y, ref, mode="full"))) - (len(ref) - 1)
        assert abs(lag - (rec["own_lag"] - rec["lag"])) <= 1, (trial.id, lag, rec["own_lag"], rec["lag"])


def test_provenance_names_the_runs_for_the_analysis(test_dir, run_dir):
    """The runs are recorded relative to the test folder, where `bench listen results` finds them."""
    from bench.listening.agreement import run_dirs

    test = load_test(test_dir)
    assert [p.resolve() for p in run_dirs(test)] == [run_dir.resolve()]
    detail = test.provenance["run_details"][0]
    assert detail["labels"] == ["opus@6", "codec2@3.2"] and detail["suite"]["name"] == "demo"
    assert detail["suite"]["hash"] == test.provenance["suite"]["hash"] and len(detail["git_sha"]) == 40
    assert test.provenance["git"]["sha"] and test.provenance["seed_note"]
    assert {c.id: c.run for c in test.conditions if c.kind == "codec"} == {"opus@6": test.provenance["runs"][0],
                                                                           "codec2@3.2": test.provenance["runs"][0]}


def test_every_stimulus_is_loudness_matched_to_its_reference(test_dir):
    test = load_test(test_dir)
    for trial in test.trials:
        rate = sf.info(str(test_dir / trial.reference)).samplerate
        meter = pyloudnorm.Meter(rate)
        ref = meter.integrated_loudness(_read(test_dir, trial.reference))
        recorded = test.provenance["loudness"]["trials"][trial.id]["stimuli"]
        for s in trial.stimuli:
            lufs = meter.integrated_loudness(_read(test_dir, s.file))
            assert abs(lufs - ref) <= 0.5, (trial.id, s.condition, lufs, ref)
            assert abs(lufs - recorded[s.condition]["lufs"]) < 0.01 and recorded[s.condition]["matched"]
            assert np.max(np.abs(_read(test_dir, s.file))) <= 10 ** (-1 / 20) + 1e-4  # -1 dBFS guard


def _band_db(x: np.ndarray, rate: int, lo: float, hi: float) -> float:
    f, p = signal.welch(x, rate, nperseg=1024)
    return 10 * np.log10(p[(f >= lo) & (f < hi)].sum() + 1e-30)


def test_anchors_are_the_specified_low_passes(test_dir):
    """In the written files (16 kHz items): above 1.05 x cut-off the anchor is > 30 dB below the
    reference (7 kHz included: at 16 kHz it removes 7.35-8 kHz); below 0.9 x cut-off it passes."""
    test = load_test(test_dir)
    loud = test.provenance["loudness"]["trials"]
    for trial in test.trials:
        stim = _stimuli(test, trial)
        rate = sf.info(str(test_dir / trial.reference)).samplerate
        assert rate == 16000
        gain = {c: 10 ** (loud[trial.id]["stimuli"][c]["gain_db"] / 20) for c in stim}
        ref = _read(test_dir, stim["reference"].file) / gain["reference"]
        for aid, hz in ANCHORS.items():
            a = _read(test_dir, stim[aid].file) / gain[aid]
            assert _band_db(ref, rate, 1.05 * hz, rate / 2) - _band_db(a, rate, 1.05 * hz, rate / 2) > 30, (trial.id, aid)
            assert abs(_band_db(ref, rate, 50, 0.9 * hz) - _band_db(a, rate, 50, 0.9 * hz)) < 0.2, (trial.id, aid)
    assert {c.id: c.lowpass_hz for c in test.conditions if c.kind == "anchor"} == {"anchor-3.5k": 3500.0,
                                                                                   "anchor-7k": 7000.0}


def test_lowpass_response_on_noise_and_refusal_above_nyquist():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(16000 * 4)
    for hz in (3500.0, 7000.0):
        y, order = lowpass(x, 16000, hz)
        assert order >= 5
        assert _band_db(x, 16000, 1.05 * hz, 8000) - _band_db(y, 16000, 1.05 * hz, 8000) > 90
        assert abs(_band_db(x, 16000, 50, 0.9 * hz) - _band_db(y, 16000, 50, 0.9 * hz)) < 0.2
        assert np.argmax(signal.correlate(y, x, mode="full")) == len(x) - 1  # zero phase: no delay
    with pytest.raises(ValueError, match="8000 Hz"):
        lowpass(x, 8000, 7000.0)  # a 7 kHz anchor of a narrow-band item would equal the reference


def test_condition_labels_never_reach_the_exposed_file_names(test_dir):
    test = load_test(test_dir)
    names = sorted(p.relative_to(test_dir).as_posix() for p in test_dir.rglob("*") if p.is_file())
    assert names[-1] == "test.json" and all(re.fullmatch(r"audio/[0-9a-f]{16}\.wav", n) for n in names[:-1])
    assert len(names) - 1 == sum(len(t.stimuli) + 1 for t in test.trials) == 4 * 6
    words = [b"opus", b"codec2", b"anchor", b"reference", b"3.5k", b"7k"]
    for n in names[:-1]:
        raw = (test_dir / n).read_bytes()
        assert not any(w in raw for w in words), n  # nor in the WAV's own metadata


def test_same_seed_same_folder_other_seed_other_choice(run_dir, test_dir, tmp_path):
    a, b = tmp_path / "one" / "t", tmp_path / "two" / "t"  # same name and depth: same relative run paths
    create_test([run_dir], a, OPTS)
    create_test([run_dir], b, OPTS)
    files = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert all((b / f).read_bytes() == (a / f).read_bytes() for f in files)
    seen = {}
    for seed in (1, 2, 3):
        t = create_test([run_dir], tmp_path / f"s{seed}", CreateOptions(items=3, excerpt=2.0, seed=seed))
        seen[seed] = (tuple(t.provenance["selection"]["chosen"]), {s.token for tr in t.trials for s in tr.stimuli})
    base = load_test(test_dir)
    tokens = {s.token for tr in base.trials for s in tr.stimuli}
    assert all(not (tok & tokens) for _, tok in seen.values())
    assert len({c for c, _ in seen.values()}) > 1


def test_choose_items_spreads_over_quality_bins_and_speakers():
    cands = [f"i{k}" for k in range(12)]
    speakers = {c: f"s{k % 3}" for k, c in enumerate(cands)}
    quality = {c: k / 11 for k, c in enumerate(cands)}
    for seed in range(5):
        chosen = choose_items(cands, 4, seed, speakers, quality)
        assert sorted(int(c[1:]) // 3 for c in chosen) == [0, 1, 2, 3]  # one per quality quartile
        assert len({speakers[c] for c in chosen}) == 3  # every speaker before any twice
        assert chosen == choose_items(cands, 4, seed, speakers, quality)
    no_q = choose_items(cands, 3, 0, speakers, {})
    assert len({speakers[c] for c in no_q}) == 3


def test_speech_window_finds_the_active_part():
    rate = 16000
    t = np.arange(rate * 2) / rate
    x = np.concatenate([np.zeros(rate), 0.3 * np.sin(2 * np.pi * 220 * t), np.zeros(rate * 2)])
    x += 1e-4 * np.random.default_rng(0).standard_normal(len(x))
    start, stop, active = speech_window(x.astype(np.float32), rate, 1.5)
    frame = 320  # a window may start one partly active 20 ms frame early
    assert rate - frame <= start and stop <= 3 * rate + frame and stop - start == int(1.5 * rate) and active > 0.95
    assert speech_window(x.astype(np.float32), rate, 10.0)[:2] == (0, len(x))  # longer than the item: all of it


def test_failed_items_are_skipped_and_said(run_dir, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    lines = [json.loads(line) for line in (run / "items.jsonl").read_text().splitlines()]
    victim = next(r for r in lines if r["label"] == "codec2@3.2")
    victim["error"] = "DecodeError: injected"
    (run / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    said = []
    test = create_test([run], tmp_path / "t", CreateOptions(items=5, excerpt=2.0), log=said.append)
    assert victim["item"] not in {t.item for t in test.trials} and len(test.trials) == 5
    assert test.provenance["selection"]["skipped"] == [{"item": victim["item"],
                                                        "reason": "codec2@3.2: DecodeError: injected"}]
    assert any(victim["item"] in m and "injected" in m for m in said)
    with pytest.raises(ListeningCreateError, match="5 usable items.*6 asked"):
        create_test([run], tmp_path / "t6", CreateOptions(items=6, excerpt=2.0))


def test_redecoded_items_equal_saved_ones(tmp_path_factory, tmp_path):
    """A run without --save-audio: the chosen items are re-decoded by the run's own steps."""
    saved, plain = demo_run(tmp_path_factory), demo_run(tmp_path_factory, save_audio=False, codecs=("opus@6",))
    opts = CreateOptions(codecs=("opus@6",), items=2, excerpt=2.0)
    a, b = create_test([saved], tmp_path / "a", opts), create_test([plain], tmp_path / "b", opts)
    assert [t.item for t in a.trials] == [t.item for t in b.trials]
    for ta, tb in zip(a.trials, b.trials):
        for sa, sb in zip(ta.stimuli, tb.stimuli):
            assert (tmp_path / "a" / sa.file).read_bytes() == (tmp_path / "b" / sb.file).read_bytes()
    assert {r["source"] for r in b.provenance["loudness"]["trials"]["t01"]["stimuli"].values()} >= {"re-decoded"}
    with pytest.raises(ListeningCreateError, match="could be read"):
        create_test([plain], tmp_path / "c", CreateOptions(codecs=("opus@6",), items=2, excerpt=2.0, redecode=False))


def test_bad_requests_are_clear_errors(run_dir, test_dir, tmp_path):
    with pytest.raises(ListeningCreateError, match=r"lyra@6 not in the runs .*they have: opus@6, codec2@3.2"):
        create_test([run_dir], tmp_path / "x", CreateOptions(codecs=("lyra@6",)))
    with pytest.raises(ListeningCreateError, match="not a run directory"):
        create_test([tmp_path], tmp_path / "y", OPTS)
    with pytest.raises(ListeningCreateError, match="exists and is not empty"):
        create_test([run_dir], test_dir, OPTS)
    rated = tmp_path / "rated"
    shutil.copytree(test_dir, rated)
    (rated / "ratings.sqlite").write_bytes(b"")
    with pytest.raises(ListeningCreateError, match="holds ratings"):
        create_test([run_dir], rated, OPTS, force=True)
    with pytest.raises(ListeningCreateError, match="--items"):
        CreateOptions(items=0)


@pytest.mark.workers
def test_cli_create(run_dir, tmp_path):
    out = tmp_path / "cli"
    r = subprocess.run([sys.executable, "-m", "bench", "listen", "create", str(run_dir), "--out", str(out),
                        "--items", "2", "--excerpt", "2", "--codec", "opus@6", "--no-anchors", "--seed", "7"],
                       cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "2 trials x 2 conditions (reference, opus@6)" in r.stdout and "bench listen serve" in r.stdout
    t = load_test(out)
    assert t.seed == 7 and [c.id for c in t.conditions] == ["reference", "opus@6"]
    r = subprocess.run([sys.executable, "-m", "bench", "listen", "create", str(run_dir), "--out", str(out)],
                       cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "exists and is not empty" in r.stderr and "Traceback" not in r.stderr


def test_narrowband_items_get_no_7k_anchor(make_manifest, tmp_path):
    """At 8 kHz a 7 kHz low-pass would equal the reference: the anchor is left out and recorded,
    the 3.5 kHz one stays."""
    from bench.api import run
    from bench.audio import resample

    from helpers.data import DEMO, write_wav

    clips = sorted((DEMO / "cmu_arctic" / "slt").glob("*.flac"))[:3]
    rows = []
    for k, clip in enumerate(clips):
        nb = resample(load_audio(clip), 8000)
        rows.append((f"nb{k}", write_wav(tmp_path / "nb" / f"nb{k}.wav", nb.samples, 8000)))
    manifest = make_manifest(rows)
    r = run(["codec2@3.2"], str(manifest), ["snr"], out=tmp_path / "run", jobs=1, progress=False, save_audio=True,
            executor="inline")
    said = []
    t = create_test([r.path], tmp_path / "t", CreateOptions(items=2, excerpt=1.5), log=said.append)
    assert [c.id for c in t.conditions] == ["reference", "anchor-3.5k", "codec2@3.2"]
    assert all(tr.conditions == ["reference", "anchor-3.5k", "codec2@3.2"] for tr in t.trials)
    assert set(t.provenance["anchors"]["anchor-7k:skipped"]) == {"t01", "t02"}
    assert sum("anchor-7k left out" in m for m in said) == 2
    assert sf.info(str(tmp_path / "t" / t.trials[0].reference)).samplerate == 8000
