"""bench compare: paired B − A per metric, CI and verdict at the gate's margin."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench import api, stats
from bench.compare import BETTER, SAME, UNSURE, WORSE, verdict
from bench.errors import BenchError

REPO = Path(__file__).resolve().parents[1]
DEMO_BASELINE = REPO / "reports" / "baselines" / "demo.csv"
CONFIG = REPO / "reports" / "gate.yaml"


def _iv(est, lo, hi):
    return stats.Interval(est, lo, hi, 10)


def test_verdict_rule_both_directions():
    assert verdict(_iv(0.5, 0.3, 0.7), 0.1, True) == BETTER
    assert verdict(_iv(0.5, 0.3, 0.7), 0.1, False) == WORSE  # lower is better: a rise is worse
    assert verdict(_iv(-0.5, -0.7, -0.3), 0.1, False) == BETTER
    assert verdict(_iv(0.01, -0.05, 0.08), 0.1, True) == SAME  # CI within ±margin
    assert verdict(_iv(0.05, 0.02, 0.08), 0.1, True) == SAME  # significant but smaller than the margin
    assert verdict(_iv(0.1, -0.2, 0.4), 0.1, True) == UNSURE  # CI spans 0 and the margin
    assert verdict(_iv(0.2, 0.01, 0.4), 0.25, True) == UNSURE  # significant, estimate below margin, CI beyond it
    assert verdict(_iv(0.2, float("nan"), float("nan")), 0.1, True) == UNSURE


def _write_baseline(path: Path, rows: pd.DataFrame) -> Path:
    from bench.reporting.tables import summarize

    rows = rows.assign(codec=rows["label"].str.split("@").str[0], setting=rows["label"].str.split("@").str[1],
                       error=None)
    summarize(rows).to_csv(path, index=False)
    rows[["suite", "label", "metric", "item", "value", "weight", "error"]].to_csv(
        path.with_name(path.stem + ".rows.csv.gz"), index=False)
    return path


def _rows(suite="demo", n=40, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        item = f"utt{i:03d}"
        pa = rng.uniform(1.5, 3.5)
        sa = rng.uniform(0.8, 0.95)
        words = int(rng.integers(5, 30))
        wa = rng.uniform(0, 30)
        vals = {"opus@6": {"pesq-wb": pa, "stoi": sa, "si-sdr": 5 + pa, "wer": wa},
                "lyra@6": {"pesq-wb": pa + 0.5 + rng.normal(0, 0.05), "stoi": sa + rng.normal(0, 1e-4),
                           "si-sdr": 5 + pa - 1.0 + rng.normal(0, 0.1), "wer": wa - 5 + rng.normal(0, 1)}}
        for label, metrics in vals.items():
            for metric, v in metrics.items():
                out.append({"suite": suite, "label": label, "metric": metric, "item": item, "value": v,
                            "weight": float(words) if metric == "wer" else 1.0})
    return pd.DataFrame(out)


def test_paired_verdicts_on_known_effects(tmp_path):
    base = _write_baseline(tmp_path / "b.csv", _rows())
    res = api.compare([base], "opus@6", "lyra@6", config=CONFIG)
    t = res.table.set_index("metric")
    assert t.loc["pesq-wb", "verdict"] == "better" and t.loc["pesq-wb", "diff"] == pytest.approx(0.5, abs=0.03)
    assert t.loc["si-sdr", "verdict"] == "worse" and t.loc["si-sdr", "diff_ci_high"] < 0
    assert t.loc["stoi", "verdict"] == "indistinguishable"  # differences ~1e-4, margin 0.002
    assert t.loc["wer", "verdict"] == "better" and t.loc["wer", "direction"] == "↓"
    assert (t["n"] == 40).all()
    # the weighted (corpus) WER difference, not the plain mean of item differences
    r = _rows()
    wa = r[(r.label == "opus@6") & (r.metric == "wer")].sort_values("item")
    wb = r[(r.label == "lyra@6") & (r.metric == "wer")].sort_values("item")
    w = wa["weight"].to_numpy()
    expect = np.sum(wb["value"].to_numpy() * w) / w.sum() - np.sum(wa["value"].to_numpy() * w) / w.sum()
    assert t.loc["wer", "diff"] == pytest.approx(expect)
    # B against A is the mirror image
    back = api.compare([base], "lyra@6", "opus@6", config=CONFIG).table.set_index("metric")
    assert back.loc["pesq-wb", "verdict"] == "worse" and back.loc["si-sdr", "verdict"] == "better"
    assert back.loc["pesq-wb", "diff"] == pytest.approx(-t.loc["pesq-wb", "diff"])


def test_settings_from_two_sources_and_suites_never_mixed(tmp_path):
    r = _rows()
    a = _write_baseline(tmp_path / "a.csv", r[r.label == "opus@6"])
    b = _write_baseline(tmp_path / "b.csv", r[r.label == "lyra@6"])
    t = api.compare([a, b], "opus@6", "lyra@6", config=CONFIG).table
    assert t.set_index("metric").loc["pesq-wb", "verdict"] == "better"
    two = _write_baseline(tmp_path / "two.csv", pd.concat([r, _rows("other", n=20, seed=1)]))
    t = api.compare([two], "opus@6", "lyra@6", config=CONFIG).table
    assert sorted(set(t["suite"])) == ["demo", "other"]
    assert set(t.loc[t.suite == "other", "n"]) == {20} and set(t.loc[t.suite == "demo", "n"]) == {40}
    assert set(api.compare([two], "opus@6", "lyra@6", suite="other").table["suite"]) == {"other"}
    # B also ran on another suite: compared where both ran, and said so
    part = _write_baseline(tmp_path / "p.csv", pd.concat([r, _rows("other", n=5, seed=1).query("label == 'lyra@6'")]))
    res = api.compare([part], "opus@6", "lyra@6", config=CONFIG)
    assert set(res.table["suite"]) == {"demo"} and "suite demo" in res.markdown
    assert "lyra@6 was also run on other: not compared" in res.markdown
    small = _write_baseline(tmp_path / "s.csv", _rows(n=5))
    assert "only 5 paired items" in api.compare([small], "opus@6", "lyra@6").markdown


def test_refusals_name_the_problem(tmp_path):
    r = _rows()
    other = _rows("other", seed=1)
    mixed = _write_baseline(tmp_path / "m.csv", pd.concat([r[r.label == "opus@6"], other[other.label == "lyra@6"]]))
    with pytest.raises(BenchError, match="no suite in common"):
        api.compare([mixed], "opus@6", "lyra@6")
    with pytest.raises(BenchError, match="settings there: lyra@6, opus@6"):
        api.compare([_write_baseline(tmp_path / "x.csv", r)], "opus@6", "mp3@8")
    with pytest.raises(BenchError, match="metrics there"):
        api.compare([tmp_path / "x.csv"], "opus@6", "lyra@6", metrics=["visqol-speech"])


def test_real_demo_baseline_lyra_vs_opus():
    """The issue's question on the committed demo baseline (96 clips, measured rows)."""
    res = api.compare([DEMO_BASELINE], "opus@6", "lyra@6", config=CONFIG)
    t = res.table.set_index("metric")
    s = pd.read_csv(DEMO_BASELINE).set_index(["label", "metric"])
    diff = s.loc[("lyra@6", "pesq-wb"), "mean"] - s.loc[("opus@6", "pesq-wb"), "mean"]
    assert t.loc["pesq-wb", "diff"] == pytest.approx(diff)
    assert t.loc["pesq-wb", "diff_ci_low"] > 0.5 and t.loc["pesq-wb", "verdict"] == "better"
    assert t.loc["kbps", "verdict"] == "worse"  # lyra@6 spends more bits than opus@6
    assert t.loc["eer", "verdict"] == "not paired"
    assert t.loc["eer", "a_ci_low"] < t.loc["eer", "mean_a"] < t.loc["eer", "a_ci_high"]  # each side's own CI
    assert "wer-original" not in t.index and any("left out: eer-original" in n for n in res.notes)
    assert "wer-original" in set(api.compare([DEMO_BASELINE], "opus@6", "lyra@6", metrics=["wer-original"]).table["metric"])
    # seeded: a rerun gives the identical table
    pd.testing.assert_frame_equal(res.table, api.compare([DEMO_BASELINE], "opus@6", "lyra@6", config=CONFIG).table)


@pytest.mark.workers
def test_cli_compare(tmp_path):
    def bench(*args):
        return subprocess.run([sys.executable, "-m", "bench", *args], cwd=REPO, capture_output=True, text=True,
                              timeout=300)

    r = bench("compare", str(DEMO_BASELINE), "--a", "opus@6", "--b", "lyra@6", "-m", "pesq-wb,wer",
              "--csv", str(tmp_path / "c.csv"))
    assert r.returncode == 0, r.stderr
    assert "A = opus@6, B = lyra@6" in r.stdout and "| pesq-wb ↑" in r.stdout and "better" in r.stdout
    assert list(pd.read_csv(tmp_path / "c.csv")["metric"]) == ["pesq-wb", "wer"]
    r = bench("compare", str(DEMO_BASELINE), "--a", "opus@6", "--b", "lyra@6", "-m", "stoi", "--json")
    rec = json.loads(r.stdout)
    assert rec[0]["metric"] == "stoi" and rec[0]["verdict"] == "better" and rec[0]["diff_ci_low"] > 0
    r = bench("compare", str(DEMO_BASELINE), "--a", "opus@7", "--b", "lyra@6")
    assert r.returncode == 2 and "--a opus@7: not in" in r.stderr
