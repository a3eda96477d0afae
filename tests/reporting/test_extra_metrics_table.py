"""The nemo-card's table of additional metrics (issue 21): shown next to the card's own tables when
such metrics were run, with only the columns that were run and the original row for the
non-intrusive ones; left out entirely otherwise, so the card's own tables never change."""

from __future__ import annotations

import pytest
from test_card import _row, make_run  # noqa: E402  (tests/reporting is on sys.path under pytest's rootdir-less import)

from bench.pipeline.rundir import RunDir
from bench.reporting.layouts import build_tables, load_layout, load_runs


def _add_rows(run, rows):
    RunDir(run).append(rows, {"item": "x", "label": "y", "error": None})


def test_extra_table_appears_with_the_run_metrics_only_and_the_original_row(tmp_path):
    run = make_run(tmp_path)
    plain = build_tables(load_layout("nemo-card"), load_runs([run]))
    assert not [t for t in plain if t.id == "extra-metrics"]  # none of them run: no table
    rows = []
    for label, mos in (("original", 4.1), ("opus@6", 2.6), ("opus@12", 3.4)):
        for item in ("a", "b"):
            rows.append(_row("demo", item, label, "distillmos", mos))
            rows.append(_row("demo", item, label, "mcd", 0.0 if label == "original" else 10 - mos))
    _add_rows(run, rows)
    tables = build_tables(load_layout("nemo-card"), load_runs([run]))
    extra = [t for t in tables if t.id == "extra-metrics"]
    assert len(extra) == 1 and extra[0].section == "demo"
    t = extra[0]
    assert list(t.values.columns) == ["DistillMOS", "MCD (dB)"]
    assert t.values.at["original", "DistillMOS"] == pytest.approx(4.1)
    assert t.values.at["opus@12", "MCD (dB)"] == pytest.approx(6.6)
    assert t.status.at["opus@24", "DistillMOS"] == "missing"  # that setting was not scored with it
    own = [x for x in tables if x.id == "librispeech" and x.section == "demo"][0]
    same = [x for x in plain if x.id == "librispeech" and x.section == "demo"][0]
    assert list(own.values.columns) == list(same.values.columns)  # the card's columns are untouched
