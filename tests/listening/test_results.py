"""MUSHRA analysis on constructed cases: screening boundaries, interval coverage on simulated
panels, paired differences of a known shift, agreement with objective metrics, and the commands.

Test folders are built from the dataclasses (no audio: the analysis never reads it) and ratings are
written through RatingStore or handed over as DataFrames."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from bench.errors import BenchError
from bench.listening import agreement as ag
from bench.listening import analysis as A
from bench.listening import simulate as S
from bench.listening.output import md_escape
from bench.listening.results import results, simulate_panel
from bench.listening.store import RatingStore
from bench.listening.testdef import RATINGS_FILE, Condition, ListeningTest, Stimulus, Trial
from bench.pipeline.rundir import RunDir

REPO = Path(__file__).resolve().parents[2]
CODECS = (("a@6", 6.0), ("b@12", 12.0), ("c@24", 24.0))


def make_test(n_trials=8, codecs=CODECS, anchors=True, reference=True, suite="demo", runs=None) -> ListeningTest:
    conds = [Condition("reference", "reference")] if reference else []
    if anchors:
        conds += [Condition("anchor-3.5k", "anchor", lowpass_hz=3500.0), Condition("anchor-7k", "anchor",
                                                                                  lowpass_hz=7000.0)]
    conds += [Condition(c, "codec", kbps=k) for c, k in codecs]
    trials = [Trial(f"t{i:02d}", item=f"item{i:02d}", suite=suite, start=0.0, seconds=5.0,
                    reference=f"audio/r{i}.wav", reference_token=f"ref{i}",
                    stimuli=[Stimulus(c.id, f"tok{i}-{j}", f"audio/{i}-{j}.wav") for j, c in enumerate(conds)])
              for i in range(n_trials)]
    return ListeningTest(name="t", seed=0, conditions=conds, trials=trials,
                         provenance={"runs": [str(r) for r in runs or []]})


def ratings_frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["rater", "trial", "condition", "score"]).assign(position=0, time="")


# ------------------------------------------------------------------------------------------ screening


def _screening_panel(test: ListeningTest) -> pd.DataFrame:
    """40 trials; rater NAME has the reference below 90 in R trials and the low anchor above 80 in A.
    Boundary scores (reference exactly 90, anchor exactly 80) never count."""
    expected = {"ok": (0, 0), "ref6": (6, 0), "ref7": (7, 0), "ref8": (8, 0), "anc7": (0, 7), "anc8": (0, 8),
            "edge": (0, 0)}
    rows = []
    for name, (r_low, a_high) in expected.items():
        for k, t in enumerate(test.trials):
            ref = 89 if k < r_low else (90 if name == "edge" else 100)
            anc = 81 if k < a_high else (80 if name == "edge" else 15)
            rows += [(name, t.id, "reference", ref), (name, t.id, "anchor-3.5k", anc),
                     (name, t.id, "anchor-7k", 85), (name, t.id, "a@6", 40), (name, t.id, "b@12", 60),
                     (name, t.id, "c@24", 80)]
    return ratings_frame(rows)


@pytest.mark.parametrize("rule, removed", [
    # BS.1534-3: more than 15 % -> 7/40 = 17.5 % is out, 6/40 = 15 % stays; anchors are not looked at
    ("bs1534", {"ref7", "ref8"}),
    # EnCodec: at least 20 % -> 8/40 is out, 7/40 stays; the low anchor (3.5 kHz, not 7 kHz at 85) too
    ("encodec", {"ref8", "anc8"}),
    ("none", set()),
])
def test_screening_removes_exactly_the_raters_that_break_the_rule(rule, removed):
    test = make_test(n_trials=40)
    scr = A.screen(test, _screening_panel(test), rule)
    assert set(scr.removed) == removed
    assert set(scr.kept) == {"ok", "ref6", "ref7", "ref8", "anc7", "anc8", "edge"} - removed
    t = scr.table.set_index("rater")
    assert t.loc["ref7", "ref_below_90"] == 7 and t.loc["ref7", "ref_below_90_frac"] == pytest.approx(0.175)
    assert t.loc["anc8", "anchor_above_80_frac"] == pytest.approx(0.2)
    assert t.loc["edge", "ref_below_90"] == 0 and t.loc["edge", "anchor_above_80"] == 0
    for r in removed:  # each removed rater is listed with the rule's reason and their fraction
        assert t.loc[r, "reason"] and "%" in t.loc[r, "reason"]
    assert scr.low_anchor == "anchor-3.5k"


def test_screening_needs_a_reference_and_names_the_way_out():
    test = make_test(reference=False)
    df = ratings_frame([("r", "t00", "a@6", 50)])
    with pytest.raises(BenchError, match="--screening none"):
        A.screen(test, df, "bs1534")
    assert A.screen(test, df, "none").kept == ["r"]
    with pytest.raises(BenchError, match="choose one of"):
        A.screen(make_test(), df, "strict")


# --------------------------------------------------------------------------------- means and pairs


def test_estimate_is_the_mean_of_rater_means_with_the_t_interval_over_raters():
    test = make_test(n_trials=4, codecs=(("a@6", 6.0),), anchors=False, reference=False)
    # unbalanced: r1 rated two trials, r2 and r3 all four
    rows = [("r1", "t00", "a@6", 10), ("r1", "t01", "a@6", 30)]
    rows += [(r, f"t{i:02d}", "a@6", s) for r, base in (("r2", 50), ("r3", 70)) for i, s in
             enumerate([base, base + 2, base + 4, base + 6])]
    tab = A.condition_table(A.canonical(ratings_frame(rows), test), test)
    row = tab.iloc[0]
    rater_means = np.array([20.0, 53.0, 73.0])
    lo, hi = st.t.interval(0.95, 2, loc=rater_means.mean(), scale=st.sem(rater_means))
    assert row["mean"] == pytest.approx(rater_means.mean()) and row["mean_of_ratings"] == pytest.approx(54.4)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi))
    assert (row["n_ratings"], row["n_raters"], row["n_items"]) == (10, 3, 4)


def test_bootstrap_carries_item_uncertainty_the_t_interval_over_raters_does_not():
    """Every rater gives the same scores, items differ: raters agree exactly (t interval is a point),
    but which items were chosen matters, and only the two-way bootstrap shows it."""
    test = make_test(n_trials=6, codecs=(("a@6", 6.0),), anchors=False, reference=False)
    rows = [(f"r{k}", f"t{i:02d}", "a@6", 30 + 8 * i) for k in range(5) for i in range(6)]
    row = A.condition_table(A.canonical(ratings_frame(rows), test), test).iloc[0]
    assert row["ci_low"] == row["ci_high"] == row["mean"] == pytest.approx(50.0)
    assert row["boot_low"] < 45 < 55 < row["boot_high"]


def test_a_constructed_shift_is_found_with_its_size_and_a_null_pair_is_not():
    test = make_test(n_trials=6, codecs=(("x@1", 1.0), ("y@2", 2.0), ("z@3", 3.0)), anchors=False, reference=False)
    rng = np.random.default_rng(5)
    rows = []
    for k in range(12):
        bias = rng.normal(0, 8)
        for i in range(6):
            base = 50 + bias + rng.normal(0, 5)
            rows += [(f"r{k}", f"t{i:02d}", "x@1", int(round(base + rng.normal(0, 3)))),
                     (f"r{k}", f"t{i:02d}", "z@3", int(round(base + rng.normal(0, 3)))),
                     (f"r{k}", f"t{i:02d}", "y@2", int(round(base + 6 + rng.normal(0, 3))))]
    pairs = A.pair_table(A.canonical(ratings_frame(rows), test), test).set_index(["a", "b"])
    xy, yz, xz = pairs.loc[("x@1", "y@2")], pairs.loc[("y@2", "z@3")], pairs.loc[("x@1", "z@3")]
    assert xy["ci_low"] < -6 < xy["ci_high"] and xy["significant"] and xy["ci_excludes_zero"]
    assert yz["ci_low"] < 6 < yz["ci_high"] and yz["significant"]
    assert xz["ci_low"] < 0 < xz["ci_high"] and not xz["significant"]
    assert xy["n_pairs"] == 72 and xy["n_raters"] == 12
    # the per-rater bias cancels in the pair: its interval is far narrower than a condition mean's
    conds = A.condition_table(A.canonical(ratings_frame(rows), test), test).set_index("condition")
    assert xy["ci_high"] - xy["ci_low"] < 0.5 * (conds.loc["x@1", "ci_high"] - conds.loc["x@1", "ci_low"])


def test_holm_matches_the_step_down_definition():
    p = np.array([0.01, 0.04, 0.03, np.nan, 0.5])
    # sorted 0.01, 0.03, 0.04, 0.5 (m = 4): 4*0.01, max(.04, 3*0.03), max(.09, 2*0.04), max(.09, .5)
    assert A.holm(p)[[0, 2, 1, 4]] == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert math.isnan(A.holm(p)[3])


def test_results_do_not_depend_on_row_order_and_reruns_are_identical():
    test = make_test()
    df, _ = S.simulate_ratings(test, 8, S.Panel(S.default_means(test), careless=1), seed=2)
    a = A.analyse(test, df, rounds=300)
    b = A.analyse(test, df.sample(frac=1.0, random_state=7).reset_index(drop=True), rounds=300)
    pd.testing.assert_frame_equal(a.conditions, b.conditions, check_exact=True)
    pd.testing.assert_frame_equal(a.pairs, b.pairs, check_exact=True)
    pd.testing.assert_frame_equal(a.screening.table, b.screening.table, check_exact=True)


def test_ratings_for_unknown_trials_or_conditions_are_named():
    test = make_test()
    with pytest.raises(BenchError, match="trials not in test.json: t99"):
        A.canonical(ratings_frame([("r", "t99", "a@6", 3)]), test)
    with pytest.raises(BenchError, match="conditions not in test.json: opus@9"):
        A.canonical(ratings_frame([("r", "t00", "opus@9", 3)]), test)


# ------------------------------------------------------------------------------- simulated panels


def test_95_percent_intervals_cover_the_true_means_at_their_nominal_rate():
    """250 simulated tests of 12 raters x 6 items; true means 30..75, away from 0 and 100 where
    clipping would bias the observed mean. Conditions share raters (correlated), so the tolerance
    is the binomial one for 250 independent tests: 3 SD of a proportion 0.95 at n = 250."""
    test = make_test(n_trials=6, codecs=(("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0)), anchors=False,
                     reference=False)
    means = {"a": 30.0, "b": 45.0, "c": 60.0, "d": 75.0}
    n_tests = 250
    hit_t = hit_b = total = 0
    for seed in range(n_tests):
        df, _ = S.simulate_ratings(test, 12, S.Panel(means), seed=seed)
        tab = A.condition_table(A.canonical(df, test), test, rounds=400, seed=seed)
        true = tab["condition"].map(means)
        hit_t += int(((tab["ci_low"] <= true) & (true <= tab["ci_high"])).sum())
        hit_b += int(((tab["boot_low"] <= true) & (true <= tab["boot_high"])).sum())
        total += len(tab)
    tol = 3 * math.sqrt(0.95 * 0.05 / n_tests)
    assert abs(hit_t / total - 0.95) < tol, hit_t / total
    assert abs(hit_b / total - 0.95) < tol, hit_b / total


def test_the_minimum_detectable_difference_is_detected_80_percent_of_the_time():
    """Two conditions MDD apart (paired SD noise*sqrt(2/trials), rater bias cancels): over 300
    simulated panels the paired t-test finds the difference at 80 % (binomial 3-SD tolerance)."""
    trials, raters, noise = 4, 10, 8.0
    test = make_test(n_trials=trials, codecs=(("lo", 1.0), ("hi", 2.0)), anchors=False, reference=False)
    sd = noise * math.sqrt(2 / trials)
    mdd = S.min_detectable(sd, raters)
    assert S.power(mdd, sd, raters) == pytest.approx(0.8, abs=1e-6)
    n_sims, found = 300, 0
    for seed in range(n_sims):
        df, _ = S.simulate_ratings(test, raters, S.Panel({"lo": 50.0, "hi": 50.0 + mdd}, noise_sd=noise), seed=seed)
        pair = A.pair_table(A.canonical(df, test), test, rounds=0).iloc[0]
        found += bool(pair["p"] < 0.05)
    assert abs(found / n_sims - 0.8) < 3 * math.sqrt(0.8 * 0.2 / n_sims), found / n_sims
    assert S.min_detectable(sd, 40) < S.min_detectable(sd, 10) < S.min_detectable(sd, 5)


def test_careless_raters_are_screened_out_and_honest_ones_kept():
    test = make_test()
    df, raters = S.simulate_ratings(test, 15, S.Panel(S.default_means(test), careless=3), seed=4)
    careless = {r["rater"] for r in raters if r["careless"]}
    assert len(careless) == 3
    for rule in ("bs1534", "encodec"):
        assert set(A.screen(test, A.canonical(df, test), rule).removed) == careless


def test_means_option_is_validated():
    test = make_test()
    assert S.parse_means("a@6=12, b@12=70", test)["a@6"] == 12.0
    for bad, msg in (("opus@9=3", "unknown condition 'opus@9'"), ("a@6=120", "0..100"), ("a@6", "CONDITION=SCORE"),
                     ("a@6=lots", "not a number")):
        with pytest.raises(BenchError, match=msg):
            S.parse_means(bad, test)


def test_simulate_writes_simulated_raters_and_refuses_to_mix_with_humans(tmp_path):
    test = make_test()
    test.save(tmp_path / "T")
    rep = simulate_panel(tmp_path / "T", 6, seed=1, careless=1)
    store = RatingStore(tmp_path / "T" / RATINGS_FILE)
    assert set(store.raters()["kind"]) == {"simulated"} and len(store.ratings()) == 6 * 8 * 6
    assert rep.plan.n_raters == 5 and rep.plan.mdd > 0 and "smallest difference" in rep.text()
    again = simulate_panel(tmp_path / "T", 6, seed=1, careless=1)  # same seed: same raters, upserted
    assert len(store.ratings()) == 6 * 8 * 6 and again.plan.mdd == rep.plan.mdd
    store.add_rater("alice")
    store.submit("alice", "t00", {"reference": 100, "a@6": 30})
    with pytest.raises(BenchError, match="non-simulated"):
        simulate_panel(tmp_path / "T", 3, seed=2)
    human = results(tmp_path / "T", raters="human", screening="none", agreement=False)
    assert list(human.results.screening.table["rater"]) == ["alice"]
    mixed = results(tmp_path / "T", screening="none", agreement=False)
    assert "SIMULATED" in mixed.markdown


# ------------------------------------------------------------------------------------------ agreement


def test_vectorised_rank_statistics_equal_scipy():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 6, size=(5, 30)).astype(float)  # ties on purpose
    y = x + rng.integers(0, 4, size=(5, 30))
    for k in range(5):
        assert ag.kendall_stat(x, y)[k] == pytest.approx(st.kendalltau(x[k], y[k]).statistic, abs=1e-12)
        assert ag.spearman_stat(x, y)[k] == pytest.approx(st.spearmanr(x[k], y[k]).statistic, abs=1e-12)


def _run_with_metrics(root: Path, test: ListeningTest, truth: dict[str, float], item_fx: dict[str, float]) -> Path:
    """A run directory whose per-item 'pesq-wb' follows the listeners (truth + item effect), 'wer'
    follows them inversely (lower is better) and 'noise-metric' is unrelated."""
    rng = np.random.default_rng(3)
    rows = []
    for label, mu in truth.items():
        for t in test.trials:
            q = mu + item_fx[t.item]
            base = {"suite": t.suite, "item": t.item, "label": label, "codec": label.split("@")[0],
                    "setting": label.split("@")[-1], "weight": 1.0, "error": None}
            rows += [{**base, "metric": "pesq-wb", "value": 1 + q / 25}, {**base, "metric": "wer", "value": 100 - q},
                     {**base, "metric": "noise-metric", "value": float(rng.normal())},
                     {**base, "metric": "kbps", "value": 6.0}]
        rows.append({"suite": "demo", "item": "*", "label": label, "metric": "wer-original", "value": 5.0})
    rd = RunDir(root / "run")
    rd.create()
    rd.append(rows, {"item": "x", "label": "y"})
    return rd.path


def test_agreement_orients_by_direction_and_leaves_out_what_is_not_a_codec(tmp_path):
    truth = {"a@6": 35.0, "b@12": 55.0, "c@24": 80.0}
    item_fx = {f"item{i:02d}": (i - 3.5) * 4 for i in range(8)}
    test = make_test()
    run = _run_with_metrics(tmp_path, test, truth, item_fx)
    rows = []
    rng = np.random.default_rng(1)
    for k in range(10):
        for t in test.trials:
            for c in test.conditions:
                mu = truth.get(c.id, 100.0 if c.kind == "reference" else 20.0) + (item_fx[t.item] if c.id in truth
                                                                                   else 0.0)
                rows.append((f"r{k}", t.id, c.id, int(np.clip(round(mu + rng.normal(0, 4)), 0, 100))))
    res = A.analyse(test, ratings_frame(rows), rounds=200)
    table = ag.agreement(res, ag.objective_rows([run]), rounds=300)
    shuffled = ag.agreement(res, ag.objective_rows([run]).sample(frac=1.0, random_state=3), rounds=300)
    pd.testing.assert_frame_equal(table, shuffled, check_exact=True)  # seeded, independent of row order
    agree = table.set_index(["level", "metric"])
    assert set(agree.index.get_level_values("metric")) == {"pesq-wb", "wer", "noise-metric"}  # no kbps, no *
    assert agree.loc[("item", "pesq-wb"), "n"] == 24 and agree.loc[("condition", "pesq-wb"), "n"] == 3
    assert agree.loc[("item", "pesq-wb"), "n_ratings"] == 240
    for m in ("pesq-wb", "wer"):  # both track the listeners: positive agreement, CI above 0
        row = agree.loc[("item", m)]
        assert row["pearson"] > 0.9 and row["pearson_low"] > 0.5 and row["spearman_low"] > 0.5
        assert row["kendall"] > 0.7 and row["kendall_low"] <= row["kendall"] <= row["kendall_high"]
    assert agree.loc[("item", "wer"), "raw_pearson"] < -0.9  # lower is better: raw sign flipped
    noise = agree.loc[("item", "noise-metric")]
    assert noise["pearson_low"] < 0 < noise["pearson_high"] and noise["spearman_low"] < 0 < noise["spearman_high"]
    lo, hi = st.pearsonr(*[np.arange(5.0), np.arange(5.0) ** 2]).confidence_interval(0.95)  # Fisher z, as used
    assert ag.correlations(np.arange(5.0), np.arange(5.0) ** 2)["pearson_low"] == pytest.approx(lo)


def test_results_take_the_runs_from_the_tests_provenance(tmp_path):
    truth = {"a@6": 35.0, "b@12": 60.0, "c@24": 85.0}  # the simulated panel's default means
    test = make_test()
    run = _run_with_metrics(tmp_path, test, truth, {f"item{i:02d}": 0.0 for i in range(8)})
    test = make_test(runs=[run])
    test.save(tmp_path / "T")
    simulate_panel(tmp_path / "T", 8, seed=0)
    rep = results(tmp_path / "T", out=tmp_path / "res")
    agree = pd.read_csv(tmp_path / "res" / "agreement.csv")
    cond = agree[(agree["level"] == "condition") & (agree["metric"] == "pesq-wb")].iloc[0]
    assert cond["n"] == 3 and cond["spearman"] == pytest.approx(1.0)  # same ranking as the true means
    assert "Agreement of objective metrics" in rep.markdown and "whole item" in rep.markdown


def test_missing_run_directory_is_named(tmp_path):
    test = make_test(runs=[tmp_path / "gone"])
    test.save(tmp_path / "T")
    with pytest.raises(BenchError, match="gone not found"):
        ag.run_dirs(test)


# ------------------------------------------------------------------------------------ command line


def bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.workers
def test_results_command_writes_every_file_and_escapes_markdown(tmp_path):
    evil = "x|<b>y</b>@6"
    test = make_test(codecs=(("a@6", 6.0), (evil, 12.0)))
    test.save(tmp_path / "T")
    store = RatingStore(tmp_path / "T" / RATINGS_FILE)
    for k in range(4):
        store.add_rater(f"r{k}")
        for t in test.trials:
            store.submit(f"r{k}", t.id, {"reference": 100 if k else 70, "anchor-3.5k": 20, "anchor-7k": 45,
                                         "a@6": 40 + k, evil: 60 + k})
    r = bench("listen", "results", str(tmp_path / "T"), "--out", str(tmp_path / "res"))
    assert r.returncode == 0, r.stderr
    for name in ("results.csv", "pairs.csv", "raters.csv", "results.md", "results.png"):
        assert (tmp_path / "res" / name).stat().st_size > 0
    raters = pd.read_csv(tmp_path / "res" / "raters.csv")
    assert raters.loc[raters["removed"], "rater"].tolist() == ["r0"]
    res = pd.read_csv(tmp_path / "res" / "results.csv").set_index("condition")
    assert res.loc["a@6", "n_raters"] == 3 and res.loc["a@6", "mean"] == pytest.approx(42.0)
    md = (tmp_path / "res" / "results.md").read_text()
    assert "<b>" not in md and md_escape(evil) in md and "| x|" not in md
    assert "the test names no runs" in md
    bad = bench("listen", "results", str(tmp_path / "T"), "--screening", "strict")
    assert bad.returncode == 2 and "choose one of" in bad.stderr and "Traceback" not in bad.stderr
    (tmp_path / "E").mkdir()
    make_test().save(tmp_path / "E")
    empty = bench("listen", "results", str(tmp_path / "E"))
    assert empty.returncode == 2 and "no ratings yet" in empty.stderr


@pytest.mark.workers
def test_simulate_command_prints_the_detectable_difference(tmp_path):
    make_test().save(tmp_path / "T")
    r = bench("listen", "simulate", str(tmp_path / "T"), "--raters", "12", "--seed", "3", "--careless", "2",
              "--means", "a@6=40,b@12=45")
    assert r.returncode == 0, r.stderr
    assert "smallest difference between two conditions detected with 10 raters" in r.stdout
    assert "removed 2 (sim3-011, sim3-012)" in r.stdout
    bad = bench("listen", "simulate", str(tmp_path / "T"), "--raters", "4", "--means", "zz=3")
    assert bad.returncode == 2 and "unknown condition 'zz'" in bad.stderr
