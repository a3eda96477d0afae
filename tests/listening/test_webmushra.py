"""webMUSHRA export -> (a results CSV as webMUSHRA's write.php writes it) -> import."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from _listen_runs import demo_run
from bench.listening.create import CreateOptions, create_test
from bench.listening.store import RatingStore
from bench.listening.testdef import load_test
from bench.listening.webmushra import WebMushraError, export, import_results, stimulus_key, webmushra_test_id

REPO = Path(__file__).resolve().parents[2]
HEADER = ["session_test_id", "email", "age", "session_uuid", "trial_id", "rating_stimulus", "rating_score",
          "rating_time", "rating_comment"]


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    out = tmp_path_factory.mktemp("wm") / "Demo Test"
    create_test([demo_run(tmp_path_factory)], out, CreateOptions(items=3, excerpt=2.0, seed=3))
    return out


@pytest.fixture
def test(made, tmp_path):
    """A fresh copy per test, so each starts with an empty rating store."""
    import shutil

    shutil.copytree(made, tmp_path / "Demo Test")
    return load_test(tmp_path / "Demo Test")


def _pages(cfg):
    return [p for group in cfg["pages"] for p in (group[1:] if isinstance(group, list) else [group])]


def test_export_writes_a_webmushra_config_without_condition_names(test, tmp_path):
    cfg_path = export(test, tmp_path / "wm")
    tid = webmushra_test_id(test)
    assert tid == "demo-test" and cfg_path == tmp_path / "wm" / "configs" / "demo-test.yaml"
    text = cfg_path.read_text()
    cfg = yaml.safe_load(text)
    assert cfg["testId"] == tid and cfg["remoteService"] == "service/write.php"
    assert cfg["pages"][2][0] == "random" and _pages(cfg)[-1]["type"] == "finish"
    mushra = [p for p in _pages(cfg) if p["type"] == "mushra"]
    assert [p["id"] for p in mushra] == [t.id for t in test.trials]
    for page, trial in zip(mushra, test.trials):
        assert page["createAnchor35"] is False and page["createAnchor70"] is False
        assert page["showConditionNames"] is False and page["randomize"] is True
        want = {stimulus_key(s.token): s for s in trial.stimuli if s.condition != "reference"}
        assert set(page["stimuli"]) == set(want) and all(isinstance(k, str) for k in page["stimuli"])
        for key, rel in [("reference", page["reference"]), *page["stimuli"].items()]:
            src = test.path / (trial.reference if key == "reference" else want[key].file)
            assert (tmp_path / "wm" / rel).read_bytes() == src.read_bytes()  # paths relative to webMUSHRA's root
    for label in ["opus", "codec2", "anchor", "3.5k", "lowpass"]:
        assert label not in text  # the browser gets this file
    with pytest.raises(WebMushraError, match="already exported"):
        export(test, tmp_path / "wm")
    export(test, tmp_path / "wm", force=True)


def _write_csv(path: Path, rows, header=HEADER) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _session_rows(test, cfg, uuid, rng, email="a@b.c"):
    """What write.php appends for one finished session: every stimulus of every page, plus 'reference'."""
    rows, expected = [], []
    by_key = {t.id: {stimulus_key(s.token): s.condition for s in t.stimuli} for t in test.trials}
    for page in (p for p in _pages(cfg) if p["type"] == "mushra"):
        for key in ["reference", *page["stimuli"]]:
            score = int(rng.integers(0, 101))
            rows.append([cfg["testId"], email, "33", uuid, page["id"], key, str(score), "51234", ""])
            expected.append((f"webmushra:{uuid}", page["id"], by_key[page["id"]].get(key, "reference"), score))
    return rows, expected


def test_results_round_trip_into_the_store(test, tmp_path):
    cfg = yaml.safe_load(export(test, tmp_path / "wm").read_text())
    rng = np.random.default_rng(0)
    r1, e1 = _session_rows(test, cfg, "9f1c0e0a-1111-4c8e-9d21-7c4f0f7a0001", rng)
    r2, e2 = _session_rows(test, cfg, "9f1c0e0a-2222-4c8e-9d21-7c4f0f7a0002", rng, email="x@y.z")
    csv_path = _write_csv(tmp_path / "mushra.csv", r1 + r2)
    n = import_results(test, csv_path)
    n_cond = len(test.trials[0].stimuli)
    assert n == {"sessions": 2, "trials": 6, "ratings": 6 * n_cond}
    store = RatingStore(test.path / "ratings.sqlite")
    got = sorted(store.ratings()[["rater", "trial", "condition", "score"]].itertuples(index=False, name=None))
    assert got == sorted(e1 + e2)
    raters = store.raters()
    assert set(raters["kind"]) == {"imported"} and len(raters) == 2
    assert '"email": "x@y.z"' in raters["info"].iloc[1] or '"email": "x@y.z"' in raters["info"].iloc[0]
    import_results(test, csv_path)  # a re-import replaces, never duplicates
    assert len(store.ratings()) == 6 * n_cond
    changed = [row[:6] + ["7"] + row[7:] if i == 0 else row for i, row in enumerate(r1)] + r2
    import_results(test, _write_csv(tmp_path / "again.csv", changed))
    again = store.ratings()
    assert len(again) == 6 * n_cond
    first = e1[0]
    assert again.loc[(again["rater"] == first[0]) & (again["trial"] == first[1]) & (again["condition"] == first[2]),
                     "score"].tolist() == [7]


def test_condition_keyed_and_older_csvs_import(test, tmp_path):
    """A config keyed by condition id (written by hand) and a CSV from webMUSHRA before session_uuid."""
    trial = test.trials[0]
    rows = [[webmushra_test_id(test), "r@x", "40", trial.id, c, "50", "1", ""] for c in trial.conditions]
    header = [h for h in HEADER if h != "session_uuid"]
    n = import_results(test, _write_csv(tmp_path / "old.csv", rows, header))
    assert n == {"sessions": 1, "trials": 1, "ratings": len(trial.conditions)}
    got = RatingStore(test.path / "ratings.sqlite").ratings()
    assert sorted(got["condition"]) == sorted(trial.conditions) and got["rater"].str.startswith("webmushra:q-").all()


@pytest.mark.parametrize("mutate, message", [
    (lambda rows: rows.__setitem__(2, rows[2][:4] + ["t99"] + rows[2][5:]), r":4: unknown trial 't99'"),
    (lambda rows: rows.__setitem__(1, rows[1][:5] + ["cdeadbeef"] + rows[1][6:]), r":3: trial t01 has no stimulus"),
    (lambda rows: rows.__setitem__(0, rows[0][:6] + ["101"] + rows[0][7:]), r":2: rating_score '101'"),
    (lambda rows: rows.__setitem__(0, rows[0][:6] + ["4.5"] + rows[0][7:]), r":2: rating_score '4.5'"),
    (lambda rows: rows.__setitem__(0, rows[0][:6] + [""] + rows[0][7:]), r":2: rating_score ''"),
    (lambda rows: rows.__setitem__(3, ["other-test"] + rows[3][1:]), r":5: session_test_id 'other-test'"),
    (lambda rows: rows.__setitem__(2, rows[2][:-1]), r":4: 8 fields, the header has 9"),
    (lambda rows: rows.append(list(rows[0])), r":17: session u1 rated .reference. of trial t01 twice \(first at line 2\)"),
    (lambda rows: rows.pop(1), r":2: session .* trial t01 rates"),
])
def test_malformed_results_are_refused_with_file_and_line(test, tmp_path, mutate, message):
    cfg = yaml.safe_load(export(test, tmp_path / "wm").read_text())
    rows, _ = _session_rows(test, cfg, "u1", np.random.default_rng(1))
    mutate(rows)
    path = _write_csv(tmp_path / "mushra.csv", rows)
    with pytest.raises(WebMushraError, match=str(path).replace(".", r"\.") + message):
        import_results(test, path)
    assert RatingStore(test.path / "ratings.sqlite").ratings().empty  # nothing half-imported


def test_wrong_files_are_refused(test, tmp_path):
    with pytest.raises(WebMushraError, match="missing column.*rating_score"):
        import_results(test, _write_csv(tmp_path / "pc.csv", [], ["session_test_id", "trial_id", "rating_stimulus"]))
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(WebMushraError, match=r"empty\.csv:1: empty file"):
        import_results(test, tmp_path / "empty.csv")
    with pytest.raises(WebMushraError, match="file not found"):
        import_results(test, tmp_path / "nope.csv")


@pytest.mark.workers
def test_cli_export_and_import(made, tmp_path):
    import shutil

    folder = tmp_path / "t"
    shutil.copytree(made, folder)
    r = subprocess.run([sys.executable, "-m", "bench", "listen", "export", str(folder), "--webmushra",
                        str(tmp_path / "wm")], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    cfg = yaml.safe_load((tmp_path / "wm" / "configs" / "demo-test.yaml").read_text())
    rows, _ = _session_rows(load_test(folder), cfg, "u9", np.random.default_rng(2))
    good = _write_csv(tmp_path / "mushra.csv", rows)
    r = subprocess.run([sys.executable, "-m", "bench", "listen", "import", str(folder), str(good)],
                       cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and f"imported {len(rows)} ratings: 1 sessions" in r.stdout, r.stderr
    bad = _write_csv(tmp_path / "bad.csv", [rows[0][:6] + ["x"] + rows[0][7:]])
    r = subprocess.run([sys.executable, "-m", "bench", "listen", "import", str(folder), str(bad)],
                       cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and f"{bad}:2: rating_score 'x'" in r.stderr and "Traceback" not in r.stderr
