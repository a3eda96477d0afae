"""Card layouts, report formats, plots, BD-rate and the HTML report, on hand-made run directories
(no codec runs: the values are known, so every cell can be checked)."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from bench.pipeline.rundir import RunDir
from bench.reporting.bdrate import bd_quality, bd_rate, bd_table
from bench.reporting.layouts import build_tables, load_layout, load_runs, merged_summary
from bench.reporting.paths import portable_path

EVIL = "<script>alert(1)</script>"

# (label, kbps, visqol-speech, wer) per codec setting
POINTS = [("opus@6", 5.5, 2.0, 20.0), ("opus@12", 11.5, 3.8, 12.0), ("opus@24", 23.0, 4.3, 10.0),
          ("codec2@1.3", 1.3, 1.6, 40.0), ("codec2@3.2", 3.2, 2.2, 18.0), (EVIL, 8.0, 2.5, 30.0)]


def _row(suite, item, label, metric, value, **kw):
    codec = label.split("@")[0]
    return {"suite": suite, "item": item, "label": label, "codec": codec, "setting": label.split("@")[-1],
            "metric": metric, "value": value, "weight": 1.0, "error": None, **kw}


def make_run(root, name="demo-aaaa", suite="demo", points=POINTS, items=("a", "b", EVIL), model_file=None):
    rd = RunDir(root / name)
    rd.create()
    rows = []
    for k, (label, kbps, vq, wer) in enumerate(points):
        for j, item in enumerate(items):
            rows.append(_row(suite, item, label, "kbps", kbps))
            rows.append(_row(suite, item, label, "visqol-speech", vq + 0.1 * (j - 1)))
            rows.append(_row(suite, item, label, "wer", wer + (j - 1)))
        rows.append(_row(suite, "*", label, "wer-original", 8.0))
    rd.append(rows, {"item": "x", "label": "y", "error": None})
    manifest = {
        "suite": {"name": suite, "n_items": len(items), "hash": "f" * 64, "subset": "all",
                  "source": "/home/someone/checkout/data/speech_demo/manifest.csv"},
        "git": {"sha": "0123456789abcdef", "dirty": False},
        "codecs": {label: {"spec": {"sample_rate": 16000, "nominal_kbps": kbps, "frame_rate": 50.0,
                                    "num_codebooks": None, "codebook_size": None, "latent_dim": None,
                                    "params_m": None}} for label, kbps, _, _ in points},
        "metrics": {"visqol-speech": {"unit": "MOS-LQO", "higher_is_better": True,
                                      "model_file": model_file or "/opt/x/lib/python3.11/site-packages/pkg/m.bin"}},
    }
    (rd.path / "manifest.json").write_text(json.dumps(manifest))
    return rd.path


# ------------------------------------------------------------------------------------------ layouts


def test_nemo_card_marks_missing_suites_and_names_the_run_of_every_cell(tmp_path):
    run = make_run(tmp_path)
    tables = build_tables(load_layout("nemo-card"), load_runs([run]))
    by = {(t.id, t.section): t for t in tables}
    clean = by[("librispeech", "librispeech-test-clean")]
    # every card column is there, every cell says missing, none came from a run
    assert list(clean.values.columns) == ["ViSQOL (audio mode)", "ViSQOL (speech mode)", "SI-SDR (dB)", "SNR (dB)",
                                          "WER %", "WER % / original audio"]
    assert (clean.status == "missing").all().all() and (clean.runs == "").all().all()
    assert "missing" in clean.text_frame().to_string()
    demo = by[("librispeech", "demo")]  # the demo suite is shown under its own name, with real values
    assert demo.values.at["opus@12", "ViSQOL (speech mode)"] == pytest.approx(3.8)
    assert demo.values.at["opus@12", "WER %"] == pytest.approx(12.0)
    assert demo.values.at["opus@12", "WER % / original audio"] == pytest.approx(8.0)
    assert demo.status.at["opus@12", "ViSQOL (audio mode)"] == "missing"  # metric not run
    assert demo.runs.at["opus@12", "WER %"] == "demo-aaaa"
    wer = by[("wer-datasets", "")]
    assert list(wer.values.columns) == ["Fisher", "MCV11", "SPGI", "VoxPopuli", "demo"]
    assert wer.values.index[0] == "Original audio" and wer.values.at["Original audio", "demo"] == pytest.approx(8.0)
    assert (wer.status[["Fisher", "MCV11", "SPGI", "VoxPopuli"]] == "missing").all().all()
    spec = by[("spec", "")]
    assert spec.values.at["opus@24", "Bitrate (kbps)"] == 23.0 and spec.cell_text("opus@24", "Codebook size") == "-"
    assert spec.cell_text("opus@24", "Sampling rate (kHz)") == "16"
    speed = by[("speed", "")]
    assert (speed.status == "missing").all().all() and "no timings" in speed.note


def test_each_cell_names_the_run_it_came_from_when_runs_are_merged(tmp_path):
    a = make_run(tmp_path, "demo-first", points=POINTS[:2])
    b = make_run(tmp_path, "demo-second", points=[("opus@12", 11.5, 3.9, 11.0), POINTS[2]])
    t = [t for t in build_tables(load_layout("nemo-card"), load_runs([a, b])) if t.section == "demo"][0]
    assert t.runs.at["opus@6", "WER %"] == "demo-first"
    assert t.runs.at["opus@12", "WER %"] == "demo-second"  # the later run replaces the cell
    assert t.values.at["opus@12", "ViSQOL (speech mode)"] == pytest.approx(3.9)
    long = t.long()
    assert set(long.columns) >= {"table", "section", "row", "column", "value", "status", "run"}


def test_alias_lets_a_suite_stand_for_a_card_suite(tmp_path):
    run = make_run(tmp_path, suite="librispeech")
    t = [t for t in build_tables(load_layout("nemo-card"), load_runs([run])) if t.id == "librispeech"]
    clean = [x for x in t if x.section == "librispeech-test-clean"][0]
    assert clean.values.at["opus@6", "WER %"] == pytest.approx(20.0) and "alias" in clean.note
    assert not [x for x in t if x.section == "librispeech"]  # not shown twice


def test_paper_layout_shows_confidence_intervals_when_summaries_have_them(tmp_path):
    runs = load_runs([make_run(tmp_path)])
    lay = load_layout("paper")
    s = runs[0].summary = runs[0].summary.drop(columns=["ci_low", "ci_high"], errors="ignore")  # made before CIs
    plain = build_tables(lay, runs)[0]
    assert "[" not in plain.cell_text("opus@6", "ViSQOL speech")
    s["ci_low"], s["ci_high"] = s["mean"] - 0.25, s["mean"] + 0.25
    ci = build_tables(lay, runs)[0]
    assert ci.cell_text("opus@6", "ViSQOL speech") == "2.00 ± 0.25"  # symmetric at the shown precision
    s["ci_high"] = s["mean"] + 0.5
    assert build_tables(lay, runs)[0].cell_text("opus@6", "ViSQOL speech") == "2.00 [1.75, 2.50]"
    assert ci.cell_text("opus@6", "Mel distance") == "missing"


def test_bad_layout_files_are_refused_with_the_file_name(tmp_path):
    from bench.errors import BenchError

    p = tmp_path / "mine.yaml"
    p.write_text("tables:\n  - {kind: pie}\n")
    with pytest.raises(BenchError, match="mine.yaml.*kind 'pie'"):
        load_layout(p)
    with pytest.raises(BenchError, match="no file"):
        load_layout("no-such-layout")


# ---------------------------------------------------------------------------------------- renderers


def test_every_format_renders_the_card(tmp_path):
    from bench.api import report as card

    run = make_run(tmp_path)
    out = tmp_path / "report"
    c = card([run], "nemo-card", out, worst=1)
    md = (out / "card.md").read_text()
    assert "## Table 1: signal quality and WER per LibriSpeech split — librispeech-test-other" in md
    assert "| opus@12" in md and "missing" in md and "demo-aaaa" in md
    csv = pd.read_csv(out / "card.csv")
    cell = csv[(csv["table"] == "librispeech") & (csv["section"] == "demo") & (csv["row"] == "opus@24")
               & (csv["column"] == "WER %")].iloc[0]
    assert cell["value"] == pytest.approx(10.0) and cell["status"] == "ok" and cell["run"] == "demo-aaaa"
    assert (csv[csv["section"] == "librispeech-test-other"]["status"] == "missing").all()
    tex = (out / "card.tex").read_text()
    assert tex.count("\\begin{table}") >= 7 and "WER \\%" in tex and "\\toprule" in tex
    html = (out / "index.html").read_text()
    assert "Table 4: codec specification" in html and 'title="run: demo-aaaa"' in html
    assert (out / "bd.csv").exists() and c.tables


def test_html_escapes_labels_and_item_ids_and_opens_offline(tmp_path):
    from bench.api import report as card

    out = tmp_path / "report"
    card([make_run(tmp_path)], "nemo-card", out, worst=2, listen_metric="visqol-speech")
    html = (out / "index.html").read_text()
    assert EVIL not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # the one script is ours (the sorter); no markup from data, nothing fetched from the network
    assert html.count("<script>") == 1
    assert not re.search(r"https?://", html)
    assert 'class="sortable"' in html and 'data-v="' in html


def test_reports_carry_no_absolute_paths_of_the_machine(tmp_path):
    from bench.api import report as card, report

    run = make_run(tmp_path)
    out = tmp_path / "report"
    card([run], "nemo-card", out)
    for name in ("card.md", "index.html", "card.tex", "card.csv"):
        text = (out / name).read_text()
        assert "/opt/x" not in text and "site-packages" not in text and str(tmp_path) not in text, name
    assert "pkg:m.bin" in (out / "card.md").read_text()
    from bench.api import report_markdown

    assert "pkg:m.bin" in report_markdown(report([run]))


def test_portable_path():
    assert portable_path("/w/.venv/lib/python3.11/site-packages/resemblyzer/pretrained.pt") == "resemblyzer:pretrained.pt"
    assert portable_path("/a/b/checkout/reports/runs/demo-1") == "reports/runs/demo-1"
    assert portable_path("/srv/models/tiny.bin") == "tiny.bin"
    assert portable_path("libsvm_nu_svr_model.txt") == "libsvm_nu_svr_model.txt"


# ------------------------------------------------------------------------------------------- BD-rate

# Published curve pairs: "Sample 3" of the VCEG-M33 reference scripts and "Test 1" of the FAU-LMS
# bjontegaard package (rates kbit/s, PSNR dB).
M33 = ([686.76, 309.58, 157.11, 85.95], [40.28, 37.18, 34.24, 31.42],
       [893.34, 407.8, 204.93, 112.75], [40.39, 37.21, 34.17, 31.24])
FAU1 = ([9487.76, 4593.60, 2486.44, 1358.24], [40.037, 38.615, 36.845, 34.851],
        [9787.80, 4469.00, 2451.52, 1356.24], [40.121, 38.651, 36.970, 34.987])


def _vceg_m33(r1, p1, r2, p2):
    """Bjøntegaard's VCEG-M33 formula written out (cubic fit of log-rate over PSNR, integrated over
    the common PSNR range): an independent reference for the package's 'cubic' method."""
    f1, f2 = np.polyfit(p1, np.log(r1), 3), np.polyfit(p2, np.log(r2), 3)
    lo, hi = max(min(p1), min(p2)), min(max(p1), max(p2))
    i1 = np.polyval(np.polyint(f1), hi) - np.polyval(np.polyint(f1), lo)
    i2 = np.polyval(np.polyint(f2), hi) - np.polyval(np.polyint(f2), lo)
    return (math.exp((i2 - i1) / (hi - lo)) - 1) * 100


def test_bd_rate_matches_reference_values():
    # VCEG-M33 cubic: 31.3974 % and -4.4205 % (also the values other implementations test against)
    assert bd_rate(*M33, method="cubic") == pytest.approx(31.397374054908, abs=1e-6)
    assert bd_rate(*FAU1, method="cubic") == pytest.approx(-4.420462706090, abs=1e-6)
    assert bd_rate(*M33, method="cubic") == pytest.approx(_vceg_m33(*M33), abs=1e-8)
    # PCHIP / Akima stay close to the cubic fit on these smooth curves
    for method in ("pchip", "akima"):
        assert bd_rate(*M33, method=method) == pytest.approx(31.4, abs=0.05)
        assert bd_rate(*FAU1, method=method) == pytest.approx(-4.42, abs=0.02)


def _pchip_bd_rate(r1, q1, r2, q2):
    """PCHIP BD-rate written out from Fritsch & Carlson (the slopes MATLAB's pchip and the JCT-VC
    CTC sheet use), integrated exactly by 3-point Gauss-Legendre per knot interval: a reference
    that shares no code with scipy or the bjontegaard package."""

    def slopes(x, y):
        h, dl = np.diff(x), np.diff(y) / np.diff(x)
        d = np.zeros(len(x))
        for k in range(1, len(x) - 1):
            if dl[k - 1] * dl[k] > 0:
                w1, w2 = 2 * h[k] + h[k - 1], h[k] + 2 * h[k - 1]
                d[k] = (w1 + w2) / (w1 / dl[k - 1] + w2 / dl[k])
        for i, (j, a, b) in enumerate([(0, 0, 1), (-1, -1, -2)]):
            ha, hb = h[a], h[b]
            e = ((2 * ha + hb) * dl[a] - ha * dl[b]) / (ha + hb)
            if np.sign(e) != np.sign(dl[a]):
                e = 0.0
            elif np.sign(dl[a]) != np.sign(dl[b]) and abs(e) > 3 * abs(dl[a]):
                e = 3 * dl[a]
            d[j] = e
        return d

    def integral(x, y, lo, hi):
        o = np.argsort(x)
        x, y = np.asarray(x, float)[o], np.asarray(y, float)[o]
        d = slopes(x, y)
        total = 0.0
        gx, gw = np.polynomial.legendre.leggauss(3)
        for k in range(len(x) - 1):
            a, b = max(lo, x[k]), min(hi, x[k + 1])
            if b <= a:
                continue
            h = x[k + 1] - x[k]
            t = ((b - a) / 2 * gx + (a + b) / 2 - x[k]) / h
            v = ((2 * t**3 - 3 * t**2 + 1) * y[k] + (t**3 - 2 * t**2 + t) * h * d[k]
                 + (-2 * t**3 + 3 * t**2) * y[k + 1] + (t**3 - t**2) * h * d[k + 1])
            total += (b - a) / 2 * np.sum(gw * v)
        return total

    lo, hi = max(min(q1), min(q2)), min(max(q1), max(q2))
    i1, i2 = integral(q1, np.log10(r1), lo, hi), integral(q2, np.log10(r2), lo, hi)
    return (10 ** ((i2 - i1) / (hi - lo)) - 1) * 100


def test_pchip_bd_rate_matches_the_written_out_method():
    for pair in (M33, FAU1):
        assert bd_rate(*pair, method="pchip") == pytest.approx(_pchip_bd_rate(*pair), abs=1e-9)


@pytest.mark.parametrize("method", ["akima", "pchip", "cubic"])
def test_bd_rate_is_exact_for_scaled_and_shifted_curves(method):
    r, q = np.array(M33[0]), np.array(M33[1])
    assert bd_rate(r, q, r * 0.8, q, method) == pytest.approx(-20.0, abs=1e-9)
    assert bd_quality(r, q, r, q + 0.5, method) == pytest.approx(0.5, abs=1e-9)
    assert bd_rate(r, q, r, q, method) == pytest.approx(0.0, abs=1e-9)


def test_bd_table_compares_families_and_says_why_not(tmp_path):
    summary = merged_summary(load_runs([make_run(tmp_path)]))
    bd = bd_table(summary, ["visqol-speech", "wer"])
    row = bd[(bd["metric"] == "wer") & (bd["A"] == "opus") & (bd["B"] == "codec2")].iloc[0]
    # WER (lower is better) works like quality: codec2 needs far fewer bits where WER overlaps
    assert row["bitrate_saving_pct"] == -row["bd_rate_pct"] and np.isfinite(row["bd_rate_pct"])
    single = bd[bd["A"] == EVIL]  # one setting: one line saying so, no pairs
    assert len(single) == 2 and single["bd_rate_pct"].isna().all() and single["note"].str.contains("1 setting").all()
    assert EVIL not in set(bd["B"]) and len(bd) == 4
    assert (bd["note"].str.contains("no common bitrate range")).any()  # codec2 <= 3.2 kbps < opus 5.5 kbps


# --------------------------------------------------------------------------------------------- plots


def test_rate_quality_plots_are_written_and_deterministic(tmp_path):
    from bench.reporting.plots import curve_points, rate_quality_plot

    summary = merged_summary(load_runs([make_run(tmp_path)]))
    pts = curve_points(summary, "visqol-speech")
    assert list(pts[pts["family"] == "opus"]["kbps"]) == [5.5, 11.5, 23.0]
    a = rate_quality_plot(summary, "wer", tmp_path / "a")
    b = rate_quality_plot(summary, "wer", tmp_path / "b")
    assert [p.name for p in a] == ["rq-wer.png", "rq-wer.svg"] and all(p.stat().st_size > 1000 for p in a)
    assert a[1].read_bytes() == b[1].read_bytes()
    assert a[0].read_bytes() == b[0].read_bytes()
    svg = a[1].read_text()
    assert "<dc:date>" not in svg and "<path" in svg


def test_plots_draw_error_bars_from_confidence_intervals(tmp_path):
    from bench.reporting.plots import rate_quality_plot

    summary = merged_summary(load_runs([make_run(tmp_path)])).drop(columns=["ci_low", "ci_high"], errors="ignore")
    plain = rate_quality_plot(summary, "visqol-speech", tmp_path / "p")[1].read_text()
    summary["ci_low"], summary["ci_high"] = summary["mean"] - 0.3, summary["mean"] + 0.3
    with_ci = rate_quality_plot(summary, "visqol-speech", tmp_path / "c")[1].read_text()
    assert with_ci.count("<path") > plain.count("<path")  # caps and bars


def test_speed_table_reads_bench_speed_csv(tmp_path):
    run = make_run(tmp_path)
    pd.DataFrame([{"codec": "opus@6", "device": "cpu", "encode_s": 0.04, "decode_s": 0.01, "rtf": 0.005,
                   "kbps": 5.9}]).to_csv(run / "speed.csv", index=False)
    speed = [t for t in build_tables(load_layout("nemo-card"), load_runs([run])) if t.id == "speed"][0]
    assert speed.values.at["opus@6 (cpu)", "Encode (s)"] == pytest.approx(0.04)
    assert speed.runs.at["opus@6 (cpu)", "RTF"] == "demo-aaaa"


@pytest.mark.browser
def test_html_report_in_headless_chromium(tmp_path):
    """The page opens from its folder, its script runs, nothing is logged to the console."""
    from bench.api import report as card
    from bench.reporting.browser import check_page, chromium

    if chromium() is None:
        pytest.skip("chromium not installed (Debian package `chromium`); the browser check needs it")
    out = tmp_path / "report"
    card([make_run(tmp_path)], "nemo-card", out, worst=2)
    res = check_page(out / "index.html", tmp_path / "shot.png")
    assert res.ready and res.console == [] and res.missing_files == [], res
    assert res.screenshot is not None and res.screenshot.stat().st_size > 10_000
    # and the checker does catch a broken page
    bad = tmp_path / "bad" / "index.html"
    bad.parent.mkdir()
    bad.write_text('<html><body><img src="nothere.png"><script>undefinedFn();</script></body></html>')
    broken = check_page(bad)
    assert not broken.ok and any("undefinedFn" in m for m in broken.console) and broken.missing_files == ["nothere.png"]


@pytest.mark.workers
def test_saved_and_redecoded_audio_reach_the_listening_section(tmp_path):
    """bench run --save-audio keeps the aligned reconstruction; bench report --listen re-decodes it
    instead; both give the same samples, and the page plays original and reconstruction."""
    import soundfile as sf

    from bench.api import report as card, run
    from bench.pipeline.rundir import audio_path

    saved = run(["opus@6"], "demo", ["snr"], out=tmp_path / "saved", limit=2, jobs=1, progress=False,
                save_audio=True)
    plain = run(["opus@6"], "demo", ["snr"], out=tmp_path / "plain", limit=2, jobs=1, progress=False)
    items = sorted(saved.rows.loc[saved.rows["item"] != "*", "item"].unique())
    wav = audio_path(saved.path, "opus@6", items[0])
    assert wav.exists() and not (plain.path / "audio").exists()
    a = card([saved.path], "nemo-card", tmp_path / "ra", worst=1, listen_metric="snr")
    b = card([plain.path], "nemo-card", tmp_path / "rb", listen=1, listen_metric="snr")
    ea, eb = a.listening[0]["items"][0], b.listening[0]["items"][0]
    assert ea["item"] == eb["item"] and ea["recon"] and ea["original"] and len(ea["spectrograms"]) == 2
    xa, ra = sf.read(tmp_path / "ra" / ea["recon"])
    xb, rb = sf.read(tmp_path / "rb" / eb["recon"])
    assert ra == rb == 16000 and np.array_equal(xa, xb)
    html = (tmp_path / "ra" / "index.html").read_text()
    assert f'<audio controls preload="none" src="{ea["recon"]}">' in html
    c = card([plain.path], "nemo-card", tmp_path / "rc", worst=1, listen_metric="snr")
    assert c.listening[0]["items"][0]["recon"] is None  # not kept, not asked: no audio, and the page says how
    assert "bench run --save-audio" in (tmp_path / "rc" / "index.html").read_text()


def test_untrained_codecs_are_labelled_in_curves_and_bd_table(tmp_path):
    from bench.reporting.plots import curve_points

    summary = merged_summary(load_runs([make_run(tmp_path)]))
    summary["weights"] = np.where(summary["codec"] == "opus", "untrained", None)
    fams = set(curve_points(summary, "wer")["family"])
    assert "opus (untrained)" in fams and "opus" not in fams and "codec2" in fams
    bd = bd_table(summary, ["wer"])
    assert "opus (untrained)" in set(bd["A"]) | set(bd["B"])


def test_python_api_gives_dataframes(tmp_path):
    from bench.api import report as card

    c = card([make_run(tmp_path)], "paper")  # no out: nothing written, tables only
    frames = c.dataframes()
    # the run's wer-original is in no column of the paper layout: it gets the extra table, not silence
    assert list(frames) == ["paper/demo", "other-metrics/demo"]
    assert list(frames["other-metrics/demo"].columns) == ["wer-original"]
    df = frames["paper/demo"]
    assert df.at["opus@24", "kbps"] == pytest.approx(23.0) and math.isnan(df.at["opus@24", "STOI"])


def test_listen_on_a_suite_that_is_not_here_says_why(tmp_path):
    from bench.api import report as card

    c = card([make_run(tmp_path, suite="no-such-suite")], "nemo-card", tmp_path / "r", listen=1,
             listen_metric="wer")
    entry = c.listening[0]["items"][0]
    assert entry["recon"] is None and "not available here" in entry["error"]
    assert "not available here" in (tmp_path / "r" / "index.html").read_text()


def test_untrained_label_in_tables_and_listening(tmp_path):
    from bench.api import report as card

    run = make_run(tmp_path)
    rows = [json.loads(x) for x in (run / "rows.jsonl").read_text().splitlines()]
    for r in rows:
        if r["codec"] == "opus":
            r["weights"] = "untrained"
    (run / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    c = card([run], "nemo-card", tmp_path / "r", worst=1, listen_metric="wer")
    demo = [t for t in c.tables if t.section == "demo"][0]
    assert "opus@6 (untrained)" in demo.values.index and "codec2@1.3" in demo.values.index
    assert "opus@6 (untrained)" in {b["label"] for b in c.listening}
