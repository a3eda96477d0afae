"""The gate on damaged inputs: each corruption of a real baseline is refused (exit 2, with its
reason), and a real regression is caught (exit 1) against every valid form of the baseline."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench import baseline as baselines
from bench.gate import gate, rows_path
from bench.pipeline.rundir import RunDir
from bench.pipeline.runner import run
from bench.reporting.tables import summarize

REPO = Path(__file__).resolve().parents[2]
MARGINS = REPO / "reports" / "gate.yaml"
LABELS = ["opus@6", "opus@12"]
METRICS = ["si-sdr", "snr", "pesq-wb"]
N_ITEMS = 6


def _lowered(src: Path, dst: Path, label: str, metric: str, by: float) -> Path:
    """A copy of a run directory whose ``label``/``metric`` values are ``by`` lower on every item,
    with summary.csv and rows.csv recomputed as the runner writes them."""
    shutil.copytree(src, dst)
    lines = [json.loads(x) for x in (dst / "rows.jsonl").read_text().splitlines()]
    for r in lines:
        if r["label"] == label and r["metric"] == metric:
            r["value"] -= by
    (dst / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    rows = RunDir(dst).rows()
    rows.to_csv(dst / "rows.csv", index=False)
    summarize(rows, order=LABELS).to_csv(dst / "summary.csv", index=False)
    return dst


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One real run (opus at two bitrates, 6 demo items, SI-SDR/SNR/PESQ-wb), its baseline, the
    same run with opus@6 PESQ-wb 0.5 lower on every item, and a run of a subset (for --common-only)."""
    root = tmp_path_factory.mktemp("gate")
    good = run(LABELS, "demo", METRICS, out=root / "run", limit=N_ITEMS, executor="inline", progress=False).path
    base = root / "base" / "demo.csv"
    baselines.write([good], base, overwrite=False)
    worse = _lowered(good, root / "worse", "opus@6", "pesq-wb", 0.5)
    subset = run(["opus@6"], "demo", ["si-sdr", "snr"], out=root / "subset", limit=N_ITEMS, executor="inline",
                 progress=False).path
    return {"root": root, "good": good, "base": base, "worse": worse, "subset": subset}


def _copy(world, name: str, checksum: bool = True) -> Path:
    """A copy of the baseline's three files; ``checksum=False``: a manifest without checksums
    (as baselines made before they were recorded), so validation alone must catch the damage."""
    d = world["root"] / name
    d.mkdir()
    src = world["base"]
    for f in (src, rows_path(src), src.with_name("demo.manifest.json")):
        shutil.copy(f, d / f.name)
    if not checksum:
        mp = d / "demo.manifest.json"
        meta = json.loads(mp.read_text())
        del meta["checksums"]
        mp.write_text(json.dumps(meta))
    return d / "demo.csv"


def _edit_rows(base: Path, change) -> None:
    rp = rows_path(base)
    rows = pd.read_csv(rp, dtype={"item": str})
    rows = change(rows)
    rows.to_csv(rp, index=False, compression={"method": "gzip", "mtime": 0})


def _edit_summary(base: Path, col: str, value) -> None:
    s = pd.read_csv(base, dtype={"setting": str})
    s[col] = s[col].astype(object)
    s.loc[(s.label == "opus@6") & (s.metric == "pesq-wb"), col] = value
    s.to_csv(base, index=False)


def _summary_only(base: Path) -> Path:
    """The summary CSV alone (no rows file, no manifest): the unpaired form."""
    d = base.parent / "summary_only"
    d.mkdir()
    shutil.copy(base, d / "demo.csv")
    return d / "demo.csv"


def _assert_unusable(res, reason: str) -> None:
    assert res.exit_code == 2, (res.problems, res.markdown)
    assert res.table.empty  # refused before any comparison
    assert any(reason in p for p in res.problems), res.problems


def test_the_real_regression_is_caught_against_every_valid_baseline_form(world):
    base, good, worse = world["base"], world["good"], world["worse"]
    forms = {"paired, with checksum": base, "paired, no checksum": _copy(world, "legacy", checksum=False),
             "summary only": _summary_only(_copy(world, "so")), "run directory": good,
             "run summary.csv": good / "summary.csv"}
    for name, form in forms.items():
        ok = gate(form, good, MARGINS)
        assert ok.exit_code == 0, (name, ok.problems, ok.markdown)
        res = gate(form, worse, MARGINS)
        assert res.exit_code == 1, (name, res.problems, res.markdown)
        t = res.table.set_index(["codec", "metric"])
        assert t.loc[("opus@6", "pesq-wb"), "status"] == "REGRESSION", name
        assert t.loc[("opus@6", "pesq-wb"), "delta"] == pytest.approx(-0.5)
        assert (t.drop(("opus@6", "pesq-wb"))["status"] == "ok").all(), name
        paired = "unpaired (means vs margin)" if name in ("summary only", "run summary.csv") else "paired bootstrap"
        assert t.loc[("opus@6", "pesq-wb"), "test"] == paired
    assert any("no checksum recorded" in n for n in gate(forms["paired, no checksum"], good, MARGINS).notes)


CORRUPT_ROWS = {
    "every value NaN": (lambda r: r.assign(value=np.nan), "NaN item values but 0 failed items"),
    "every row duplicated": (lambda r: pd.concat([r, r]).sort_values(["label", "metric", "item"]),
                             "item rows are duplicated"),
    "half the rows missing": (lambda r: r.iloc[::2], "item rows; the summary says 6 items"),
    "an infinite value": (lambda r: r.assign(value=np.where(r.index == 3, np.inf, r["value"])), "infinite"),
}


@pytest.mark.parametrize("name", list(CORRUPT_ROWS))
def test_damaged_rows_are_refused_with_their_reason(world, name):
    change, reason = CORRUPT_ROWS[name]
    legacy = _copy(world, f"rows-{name}-legacy", checksum=False)
    _edit_rows(legacy, change)
    for run_side in (world["good"], world["worse"]):  # the damage must not hide the regression as a pass
        _assert_unusable(gate(legacy, run_side, MARGINS), reason)
    current = _copy(world, f"rows-{name}")
    _edit_rows(current, change)
    res = gate(current, world["worse"], MARGINS)
    _assert_unusable(res, reason)
    _assert_unusable(res, "baseline rows were edited after creation (checksum")


def test_an_edited_value_is_caught_by_the_checksum(world):
    base = _copy(world, "edited")

    def nudge(rows):
        rows.loc[(rows.label == "opus@6") & (rows.metric == "pesq-wb"), "value"] -= 0.5  # hides the regression
        return rows

    _edit_rows(base, nudge)
    _assert_unusable(gate(base, world["worse"], MARGINS), "baseline rows were edited after creation (checksum")
    base = _copy(world, "edited-summary")
    _edit_summary(base, "mean", 1.0)
    _assert_unusable(gate(base, world["worse"], MARGINS), "baseline summary was edited after creation")


@pytest.mark.parametrize("col,value,reason", [
    ("mean", float("nan"), "has mean nan (expected a finite number)"),
    ("mean", float("inf"), "has mean inf (expected a finite number)"),
    ("n_failed", float("nan"), "has n_failed nan (expected a whole number >= 0)"),
    ("n", -3, "has n -3"),
    ("mean", "abc", "has mean 'abc'"),
])
def test_damaged_summaries_are_refused(world, col, value, reason):
    for form in ("paired", "summary only"):
        base = _copy(world, f"sum-{col}-{value}-{form}", checksum=False)
        if form == "summary only":
            base = _summary_only(base)
        _edit_summary(base, col, value)
        _assert_unusable(gate(base, world["worse"], MARGINS), reason)


def test_damaged_manifests_are_refused(world):
    base = _copy(world, "truncated")
    mp = base.with_name("demo.manifest.json")
    mp.write_text(mp.read_text()[:200])
    _assert_unusable(gate(base, world["worse"], MARGINS), "demo.manifest.json: not valid JSON")
    run_dir = world["root"] / "run-truncated"
    shutil.copytree(world["worse"], run_dir)
    (run_dir / "manifest.json").write_text("{\"suite\": ")
    _assert_unusable(gate(world["base"], run_dir, MARGINS), "manifest.json: not valid JSON")


def test_another_suite_or_item_set_is_refused(world):
    so = _summary_only(_copy(world, "other-suite"))
    s = pd.read_csv(so, dtype={"setting": str})
    s["suite"] = "librispeech-test-clean"
    s.to_csv(so, index=False)
    _assert_unusable(gate(so, world["worse"], MARGINS), "baseline is suite librispeech-test-clean, the run suite demo")
    for key, reason in (("item_ids_sha256", "item-id hash"), ("hash", "suite content hash"), ("name", "in suite:")):
        base = _copy(world, f"other-{key}")
        mp = base.with_name("demo.manifest.json")
        meta = json.loads(mp.read_text())
        meta["suite"][key] = "0123456789abcdef"
        mp.write_text(json.dumps(meta))
        _assert_unusable(gate(base, world["worse"], MARGINS), reason)


def test_an_unfinished_run_is_refused(world):
    run_dir = world["root"] / "unfinished"
    shutil.copytree(world["worse"], run_dir)
    meta = json.loads((run_dir / "manifest.json").read_text())
    del meta["finished"]
    (run_dir / "manifest.json").write_text(json.dumps(meta))
    _assert_unusable(gate(world["base"], run_dir, MARGINS), "is unfinished")
    _assert_unusable(gate(world["base"], run_dir / "summary.csv", MARGINS), "its run is unfinished")
    _assert_unusable(gate(run_dir, world["good"], MARGINS), f"baseline {run_dir} is unfinished")
    with pytest.raises(Exception, match="unfinished"):
        baselines.write([run_dir], world["root"] / "never" / "x.csv", overwrite=False)


def test_baseline_records_checksums_of_what_it_wrote(world):
    meta = json.loads(world["base"].with_name("demo.manifest.json").read_text())
    with gzip.open(rows_path(world["base"]), "rb") as fh:
        import hashlib

        assert meta["checksums"]["rows_sha256"] == hashlib.sha256(fh.read()).hexdigest()


def test_common_only_gates_what_both_hold_and_says_what_it_left_out(world):
    res = gate(world["base"], world["subset"], MARGINS)
    assert res.exit_code == 2 and len(res.problems) == 1  # one line, not one per pair
    assert "opus@6: pesq-wb; opus@12 (all 4 metrics)" in res.problems[0] and "--common-only" in res.problems[0]
    res = gate(world["base"], world["subset"], MARGINS, common_only=True)
    assert res.exit_code == 0, (res.problems, res.markdown)
    assert set(res.table["metric"]) == {"kbps", "si-sdr", "snr"} and set(res.table["codec"]) == {"opus@6"}
    assert any(n.startswith("left out (in the baseline, not in the run): opus@6: pesq-wb; opus@12 (all 4 metrics)")
               for n in res.notes)
    # the reverse: the run holds more than the baseline
    res = gate(world["subset"], world["worse"], MARGINS, common_only=True)
    assert res.exit_code == 0 and any("left out (in the run, not in the baseline)" in n for n in res.notes)


@pytest.mark.workers
def test_cli_outside_the_checkout_uses_the_package_margins_and_says_so(world, tmp_path):
    def cli(*args):
        return subprocess.run([sys.executable, "-m", "bench", "gate", *args], cwd=tmp_path, capture_output=True,
                              text=True, timeout=300, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin",
                                                          "HF_HUB_OFFLINE": "1"})

    r = cli("--baseline", str(world["base"]), "--run", str(world["worse"]))
    assert r.returncode == 1 and f"margins: {MARGINS}" in r.stdout, r.stdout + r.stderr
    own = tmp_path / "m.yaml"
    own.write_text("default: {abs: 1.0}\nmetrics: {}\n")  # PESQ's own margin (0.01) outranks a file's default
    r = cli("--baseline", str(world["base"]), "--run", str(world["worse"]), "--margins", str(own))
    assert r.returncode == 1 and f"margins: {own}" in r.stdout, r.stdout + r.stderr
    own.write_text("metrics: {pesq-wb: {abs: 1.0}}\n")  # an entry for the metric overrides it: 0.5 worse is within 1
    r = cli("--baseline", str(world["base"]), "--run", str(world["worse"]), "--margins", str(own))
    assert r.returncode == 0 and f"margins: {own}" in r.stdout, r.stdout + r.stderr
    bad = _copy(world, "cli-truncated")
    bad.with_name("demo.manifest.json").write_text("{")
    r = cli("--baseline", str(bad), "--run", str(world["worse"]))
    assert r.returncode == 2 and "not valid JSON" in r.stderr and "Traceback" not in r.stderr + r.stdout


def test_a_run_directory_is_gated_on_the_rows_it_summarized(world):
    """rows.jsonl keeps rows of earlier runs into the same directory (other settings, more items);
    the gate takes the run's own rows (rows.csv, written with its summary)."""
    run_dir = world["root"] / "reused"
    shutil.copytree(world["worse"], run_dir)
    extra = [{**json.loads(x), "label": "mp3@8", "codec": "mp3", "setting": "8"}
             for x in (run_dir / "rows.jsonl").read_text().splitlines()]
    with (run_dir / "rows.jsonl").open("a") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in extra)
    res = gate(world["base"], run_dir, MARGINS)
    assert res.exit_code == 1 and not res.problems, res.problems
