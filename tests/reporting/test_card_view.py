"""The HTML card leads with what was run; unrun parts of the layout collapse into one line; run
metrics no layout table names get a table; thin BD values carry a visible caveat."""

from __future__ import annotations

import re

import pytest

from bench.reporting.bdrate import CAVEAT, bd_table
from bench.reporting.layouts import load_runs, merged_summary

from test_card import _row, make_run  # hand-made run directories (tests/reporting/test_card.py)

# (label, kbps, visqol-speech, wer): two families of three settings each
THREE = [("opus@6", 5.5, 2.0, 20.0), ("opus@12", 11.5, 3.8, 12.0), ("opus@24", 23.0, 4.3, 10.0),
         ("lyra@3.2", 3.2, 2.4, 25.0), ("lyra@6", 6.0, 3.0, 16.0), ("lyra@9.2", 9.2, 3.3, 13.0)]
ITEMS_20 = tuple(f"i{k:02d}" for k in range(20))


def _run_with_pesq(tmp_path):
    """A nemo-card run on the demo suite that also holds pesq-wb, which no nemo-card table names."""
    from bench.pipeline.rundir import RunDir

    path = make_run(tmp_path, points=THREE, items=ITEMS_20)
    RunDir(path).append([_row("demo", it, lab, "pesq-wb", 1.0 + 0.01 * k) for k, it in enumerate(ITEMS_20)
                         for lab, *_ in THREE], {"item": "x", "label": "y", "error": None})
    return path


def _html(tmp_path, run) -> str:
    from bench.api import report as card

    card([run], "nemo-card", tmp_path / "card", formats=("html",), worst=0)
    return (tmp_path / "card" / "index.html").read_text()


def test_html_leads_with_the_run_suite_and_collapses_unrun_parts(tmp_path):
    html = _html(tmp_path, _run_with_pesq(tmp_path))
    headings = re.findall(r"<h2>(.*?)</h2>", html)
    assert headings[0] == "Table 1: signal quality and WER per LibriSpeech split — demo"
    # no section of a suite that was not run, no table of only "missing"
    assert not any("librispeech-test-clean" in h or "voxceleb1-o" in h for h in headings)
    assert not any("speed" in h for h in headings)  # never timed: only in the not-run line
    assert html.count('id="not-run"') == 1
    line = re.search(r'<p class="note" id="not-run">(.*?)</p>', html, re.S).group(1)
    for part in ("librispeech-test-clean (Table 1)", "librispeech-test-other (Table 1)", "voxceleb1-o (Table 3)",
                 "Fisher, MCV11, SPGI, VoxPopuli (Table 2)", "ViSQOL (audio mode)", "Table 5: encode/decode speed"):
        assert part in line, part
    # the not-run line comes after every table that holds numbers
    assert html.index('id="not-run"') > html.rindex("<h2>Table 2")


def test_run_metrics_outside_the_layout_get_their_own_table(tmp_path):
    html = _html(tmp_path, _run_with_pesq(tmp_path))
    m = re.search(r"<h2>Other metrics run \(no table of the layout names them\) — demo</h2>.*?</table>", html, re.S)
    assert m, "no extra table"
    table = m.group(0)
    # pesq-wb and the measured bitrate: run, but in no column of nemo-card; visqol-speech is in Table 1
    assert "<th>pesq-wb</th>" in table and "<th>kbps</th>" in table and "visqol-speech" not in table
    assert re.search(r"<td class=\"ok\"[^>]*>1\.10 \[1\.\d\d, 1\.\d\d\]</td>", table)  # mean [95 % CI]


def test_bd_rows_from_few_settings_or_items_carry_a_caveat(tmp_path):
    thin = merged_summary(load_runs([make_run(tmp_path / "a", items=("a", "b", "c"))]))  # 3 items, 2-3 settings
    bd = bd_table(thin, ["wer"])
    valued = bd[bd["bd_rate_pct"].notna() | bd["bd_quality"].notna()]
    assert len(valued) and valued["note"].str.contains(CAVEAT).all()
    assert valued["note"].str.contains("3 items per setting").all()
    solid = merged_summary(load_runs([make_run(tmp_path / "b", points=THREE, items=ITEMS_20)]))
    bd = bd_table(solid, ["wer", "visqol-speech"])
    assert bd["bd_rate_pct"].notna().all() and not bd["note"].str.contains(CAVEAT).any()
    two = [p for p in THREE if p[0] not in ("opus@24", "lyra@9.2")]
    bd = bd_table(merged_summary(load_runs([make_run(tmp_path / "c", points=two, items=ITEMS_20)])), ["wer"])
    assert bd["note"].str.contains("settings per curve: opus 2, lyra 2").all()


def test_caveat_is_visible_in_the_html(tmp_path):
    html = _html(tmp_path, make_run(tmp_path, items=("a", "b", "c")))
    bd = html.split("Bjøntegaard delta")[1]
    assert '<tr class="warn">' in bd and "rest on few settings or items" in bd


@pytest.mark.parametrize("layout", ["nemo-card", "paper"])
def test_every_run_metric_is_in_some_table(tmp_path, layout):
    from bench.api import report as card
    from bench.reporting.card_view import collapse

    c = card([_run_with_pesq(tmp_path)], layout)
    shown, _ = collapse(c.tables)
    seen = set()
    for t, cols in shown:
        seen |= {str(x) for x in cols}
    names = {"visqol-speech": ("ViSQOL (speech mode)", "ViSQOL speech"), "wer": ("WER %", "demo"),
             "pesq-wb": ("pesq-wb", "PESQ-WB"), "wer-original": ("WER % / original audio", "wer-original"),
             "kbps": ("kbps",)}
    for metric, titles in names.items():
        assert any(t in seen for t in titles), (metric, sorted(seen))
