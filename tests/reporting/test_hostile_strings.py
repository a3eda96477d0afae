"""Hostile strings in every user-controlled field (suite name, file name, codec label, item id,
speaker, transcript) and every output format: no raw markup gets through, and every markdown table
row keeps its header's column count."""

from __future__ import annotations

import csv
import json
import re
import shutil

import pytest

from bench import api
from bench.pipeline.rundir import ROWS, RunDir
from bench.api import run  # writes summary.md too (the report is rendered above the pipeline)
from helpers.data import DEMO

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
HOSTILE_LABEL = "opus|6 <b>x</b>"
CLIPS = [DEMO / "LibriSpeech/test-other/1688/142285/1688-142285-0002.flac", DEMO / "cmu_arctic/bdl/arctic_a0001.flac"]


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    manifest = d / f"{IMG}.csv"  # the suite is named after the manifest file
    with manifest.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "path", "speaker", "text"])
        for i, clip in enumerate(CLIPS):
            shutil.copy(clip, d / clip.name)
            w.writerow([f"{SCRIPT}|id{i}\nnext", clip.name, f"{IMG}|spk", f"HELLO | {SCRIPT}"])
    res = run(["opus@6"], str(manifest), ["si-sdr", "snr"], out=d / "run", executor="inline", progress=False)
    # A user card whose name carries markup: rename the label everywhere it is stored.
    rd = RunDir(res.path)
    rows = [json.loads(line) for line in (rd.path / ROWS).read_text().splitlines()]
    (rd.path / ROWS).write_text("".join(json.dumps({**r, "label": HOSTILE_LABEL if r["label"] == "opus@6" else r["label"]})
                                        + "\n" for r in rows))
    m = rd.read_manifest()
    m["codecs"] = {HOSTILE_LABEL if k == "opus@6" else k: v for k, v in (m.get("codecs") or {}).items()}
    rd.write_manifest(m)
    return res.path


def _tables_keep_their_columns(md: str) -> None:
    """Every markdown table row has as many unescaped '|' as its header row."""
    header = None
    for line in md.splitlines():
        if not line.startswith("|"):
            header = None
            continue
        bars = len(re.findall(r"(?<!\\)\|", line))
        if header is None:
            header = bars
        assert bars == header, line


def _no_raw_markup(text: str) -> None:
    assert "<script>alert" not in text and "<img src=x" not in text and "<b>x</b>" not in text


def test_plain_report_markdown_html_csv(hostile_run, tmp_path):
    rep = api.report([hostile_run], out=tmp_path / "r")
    out = tmp_path / "r"
    md, csv_, html = (out / "card.md").read_text(), (out / "card.csv").read_text(), (out / "index.html").read_text()
    _no_raw_markup(md)
    _tables_keep_their_columns(md)
    _no_raw_markup(html)
    _no_raw_markup((out / "card.tex").read_text())
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # shown, as text
    assert HOSTILE_LABEL in csv_  # CSV keeps the data exactly (quoted), it is not markup
    assert rep.summary["label"].isin([HOSTILE_LABEL]).any()


def test_summary_md_written_by_the_run(hostile_run):
    md = (hostile_run / "summary.md").read_text()
    _no_raw_markup(md)
    _tables_keep_their_columns(md)


def test_card_markdown_html_latex(hostile_run, tmp_path):
    card = api.report([hostile_run], "nemo-card", tmp_path / "card", formats=("md", "latex", "html"), worst=2)
    md = api.report_markdown(card)
    _no_raw_markup(md)
    _tables_keep_their_columns(md)
    html = (tmp_path / "card" / "index.html").read_text()
    _no_raw_markup(html)
    tex = "".join(p.read_text() for p in (tmp_path / "card").glob("*.tex"))
    assert "<script>" not in tex and r"opus\textbar{}6 \textless{}b\textgreater{}x" in tex


def test_gate_markdown(hostile_run, tmp_path):
    api.baseline_create([hostile_run], tmp_path / "base.csv")
    res = api.gate(tmp_path / "base.csv", hostile_run)
    _no_raw_markup(res.markdown)
    _tables_keep_their_columns(res.markdown)
