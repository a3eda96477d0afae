"""``bench report --layout ... --listening TEST``: the MUSHRA column and the rate–MUSHRA curve, on a
hand-made run directory and a test folder with known ratings (every cell can be checked)."""

from __future__ import annotations

import json

import pytest

from bench import api
from bench.errors import BenchError
from bench.listening.store import RatingStore
from bench.listening.testdef import RATINGS_FILE, Condition, ListeningTest, Stimulus, Trial
from bench.pipeline.rundir import RunDir

LABELS = {"opus@6": 5.7, "opus@12": 11.6, "codec2@3.2": 3.2}  # label -> measured kbps
IN_TEST = ("opus@6", "opus@12")  # codec2@3.2 was run but not listened to


def _run(root, suite="demo"):
    rd = RunDir(root / "run")
    rd.create()
    rows = []
    for label, kbps in ["original", 256.0], *LABELS.items():
        for i in range(4):
            base = {"suite": suite, "item": f"i{i}", "label": label, "codec": label.split("@")[0],
                    "setting": label.split("@")[-1], "weight": 1.0, "error": None}
            rows += [{**base, "metric": "kbps", "value": kbps}, {**base, "metric": "pesq-wb", "value": 2.0 + i / 10}]
    rd.append(rows, {"item": "x", "label": "y"})
    (rd.path / "manifest.json").write_text(json.dumps({"suite": {"name": suite, "n_items": 4, "hash": "0" * 64}}))
    return rd.path


def _test(root, suite="demo"):
    conds = [Condition("reference", "reference"), Condition("anchor-3.5k", "anchor", lowpass_hz=3500.0)]
    conds += [Condition(lab, "codec", kbps=round(LABELS[lab])) for lab in IN_TEST]
    trials = [Trial(f"t{i}", item=f"i{i}", suite=suite, start=0.0, seconds=4.0, reference=f"audio/r{i}.wav",
                    reference_token=f"r{i}", stimuli=[Stimulus(c.id, f"s{i}{j}", f"audio/{i}{j}.wav")
                                                      for j, c in enumerate(conds)]) for i in range(4)]
    test = ListeningTest("pilot", 0, conds, trials)
    test.save(root / "T")
    store = RatingStore(root / "T" / RATINGS_FILE)
    for k in range(3):  # rater k: opus@6 = 40 + k, opus@12 = 70 + 2k on every trial
        for t in trials:
            store.submit(f"r{k}", t.id, {"reference": 100, "anchor-3.5k": 15, "opus@6": 40 + k, "opus@12": 70 + 2 * k})
    return root / "T"


def test_card_gets_a_mushra_column_with_intervals_and_a_rate_mushra_curve(tmp_path):
    run, test = _run(tmp_path), _test(tmp_path)
    card = api.report([run], "nemo-card", tmp_path / "card", listening=test, formats=("md", "csv", "html"))
    demo = next(t for t in card.tables if t.id == "librispeech" and t.section == "demo")
    assert demo.values.at["opus@6", "MUSHRA"] == pytest.approx(41.0)
    assert demo.values.at["opus@12", "MUSHRA"] == pytest.approx(72.0)
    assert demo.values.at["original", "MUSHRA"] == pytest.approx(100.0)  # the hidden reference
    assert demo.status.at["codec2@3.2", "MUSHRA"] == "missing"  # run, never listened to
    text = demo.cell_text("opus@6", "MUSHRA")
    assert text.startswith("41.0 ± ")  # a t interval over raters: symmetric
    lo, hi = demo.ci_low.at["opus@6", "MUSHRA"], demo.ci_high.at["opus@6", "MUSHRA"]
    assert lo < 41.0 < hi and text == f"41.0 ± {hi - 41.0:.1f}"
    assert "SI-SDR (dB)" in demo.values.columns and "3 of 3 raters kept by bs1534" in demo.note
    other = [t for t in card.tables if t.id == "librispeech" and t.section != "demo"]
    assert other and all("MUSHRA" not in t.values.columns for t in other)  # only the test's suite
    names = {p.name for p in card.plots}
    assert {"rq-mushra.png", "rq-mushra.svg"} <= names
    html = (tmp_path / "card" / "index.html").read_text()
    assert "plots/rq-mushra.svg" in html and "41.0 ± " in html
    md = (tmp_path / "card" / "card.md").read_text()
    assert "| MUSHRA" in md or "MUSHRA |" in md
    csv = (tmp_path / "card" / "card.csv").read_text()
    assert "MUSHRA" in csv and "listening test T" in csv


def test_a_test_on_another_suite_is_an_error_naming_it(tmp_path):
    run, test = _run(tmp_path), _test(tmp_path, suite="other-suite")
    with pytest.raises(BenchError, match="other-suite"):
        api.report([run], "nemo-card", None, listening=test)
