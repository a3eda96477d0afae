"""EER / minDCF on score sets small enough to work out by hand, trial lists, bootstrap CI."""

from pathlib import Path

import numpy as np
import pytest

from bench.errors import ConfigError
from bench.metrics.base import MetricContext
from bench.metrics.downstream import verification as ver
from bench.metrics.downstream.speaker import EER
from bench.suites.items import Item


def test_eer_and_min_dcf_by_hand():
    # accept if score >= t. t=0.8: miss 1/3, fa 0; t=0.7: miss 1/3, fa 1/3 -> EER 1/3.
    # DCF/0.05 = miss + 19 fa: best is (miss 1/3, fa 0) -> 1/3.
    scores = [0.9, 0.8, 0.3, 0.7, 0.2, 0.1]
    labels = [True, True, True, False, False, False]
    assert ver.eer(scores, labels) == pytest.approx(1 / 3)
    assert ver.min_dcf(scores, labels) == pytest.approx(1 / 3)


def test_eer_separable_inverted_and_interpolated():
    assert ver.eer([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0]) == 0.0
    assert ver.min_dcf([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0]) == 0.0
    assert ver.eer([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0]) == 1.0
    # targets 0.9, 0.5; non-targets 0.7, 0.1: t=0.9 miss .5 fa 0; t=0.7 miss .5 fa .5 -> 0.5
    assert ver.eer([0.9, 0.5, 0.7, 0.1], [1, 1, 0, 0]) == pytest.approx(0.5)
    # crossing inside a segment: targets .9 .8 .7, non-targets .75 .1. t=.8: miss 1/3, fa 0;
    # t=.75: miss 1/3, fa 1/2. Miss stays 1/3 along that segment, so the rates meet at fa = 1/3.
    assert ver.eer([0.9, 0.8, 0.7, 0.75, 0.1], [1, 1, 1, 0, 0]) == pytest.approx(1 / 3)


def test_min_dcf_operating_point_weights_false_accepts():
    # a non-target above every target. Normalised DCF = miss + 19 fa at P_target 0.05: any
    # threshold accepting it costs >= 9.5, so rejecting everything (miss 1, fa 0) is best: 1.0.
    # At P_target 0.5 it is miss + fa: accepting both targets (miss 0, fa 1/2) gives 0.5.
    scores = [0.9, 0.6, 0.95, 0.1]
    labels = [1, 1, 0, 0]
    assert ver.min_dcf(scores, labels) == pytest.approx(1.0)
    assert ver.min_dcf(scores, labels, p_target=0.5) == pytest.approx(0.5)


def test_eer_needs_both_trial_kinds():
    with pytest.raises(ValueError, match="target and non-target"):
        ver.eer([0.1, 0.2], [1, 1])


def test_build_trials_deterministic_and_balanced():
    speakers = {f"{s}_{i}": s for s in "abc" for i in range(4)}
    trials = ver.build_trials(speakers)
    shuffled = dict(reversed(list(speakers.items())))
    assert ver.build_trials(shuffled) == trials
    target = [t for t in trials if t.target]
    non = [t for t in trials if not t.target]
    assert len(target) == 3 * 6 and len(non) == len(target)
    assert all(speakers[t.enroll] == speakers[t.test] for t in target)
    assert all(speakers[t.enroll] != speakers[t.test] for t in non)
    assert len({(t.enroll, t.test) for t in trials}) == len(trials)
    assert ver.build_trials(speakers, seed=1) != trials  # the seed matters, and is fixed


def test_build_trials_takes_all_non_targets_when_fewer():
    speakers = {**{f"a{i}": "a" for i in range(5)}, "b0": "b"}
    trials = ver.build_trials(speakers)
    assert sum(t.target for t in trials) == 10 and sum(not t.target for t in trials) == 5


def test_trial_file_round_trip_and_bad_line(tmp_path: Path):
    trials = ver.build_trials({"x1": "x", "x2": "x", "y1": "y"})
    path = tmp_path / "trials.txt"
    ver.write_trials(path, trials)
    assert ver.read_trials(path) == trials
    path.write_text("1 a b\n2 a c\n")
    with pytest.raises(ConfigError, match=r"trials.txt:2"):
        ver.read_trials(path)
    with pytest.raises(ConfigError, match="not found"):
        ver.read_trials(tmp_path / "none.txt")


def test_bootstrap_ci_is_deterministic_and_brackets_eer():
    scores = [0.9, 0.8, 0.3, 0.75, 0.6, 0.7, 0.2, 0.1, 0.65, 0.4]
    labels = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]
    groups = ["s1", "s1", "s2", "s2", "s3", "s1", "s2", "s3", "s3", "s1"]
    low, high = ver.bootstrap_eer_ci(scores, labels, groups)
    assert (low, high) == ver.bootstrap_eer_ci(scores, labels, groups)
    assert low <= ver.eer(scores, labels) <= high and low < high
    assert ver.bootstrap_eer_ci([0.9, 0.1, 0.8, 0.2], [1, 0, 1, 0], ["a", "a", "b", "b"]) == (0.0, 0.0)


def test_suite_trial_list_matches_paths_relative_to_the_suite(tmp_path: Path):
    (tmp_path / "wav").mkdir()
    items = [Item(i, tmp_path / "wav" / s / f"{i}.wav", speaker=s) for s, i in
             [("s1", "a"), ("s1", "b"), ("s2", "c")]]
    items.append(Item("s3-v-1", tmp_path / "wav" / "s3" / "v" / "1.wav", speaker="s3", extra={"trial_path": "s3/v/1.wav"}))
    (tmp_path / "trials.txt").write_text(
        "1 wav/s1/a.wav wav/s1/b.wav\n0 wav/s1/a wav/s2/c.wav\n0 a missing\n0 s3/v/1.wav c\n")
    ctx = MetricContext(suite="t", suite_hash="h", cache_dir=tmp_path, run_dir=tmp_path, items=items,
                        suite_entry={"trials": "trials.txt"}, suite_source=str(tmp_path / "manifest.csv"))
    trials, source = EER(ctx).trials()
    assert source == str(tmp_path / "trials.txt")
    assert trials == [ver.Trial(True, "a", "b"), ver.Trial(False, "a", "c"), ver.Trial(False, "s3-v-1", "c")]


def test_roc_matches_sklearn_with_ties():
    from sklearn.metrics import roc_curve

    rng = np.random.default_rng(3)
    scores = np.round(rng.normal(size=300), 1)  # many ties
    labels = rng.random(300) < 0.4
    fpr, fnr = ver._rates(scores, labels)
    ref_fpr, ref_tpr, _ = roc_curve(labels.astype(int), scores, drop_intermediate=False)
    np.testing.assert_allclose(fpr, ref_fpr)
    np.testing.assert_allclose(fnr, 1 - ref_tpr)


def test_weights_count_trials_as_repeats():
    scores = [0.9, 0.8, 0.3, 0.7, 0.2, 0.1]
    labels = [1, 1, 1, 0, 0, 0]
    weights = [2, 1, 1, 1, 3, 1]
    repeated = [(s, l) for s, l, w in zip(scores, labels, weights) for _ in range(w)]
    assert ver.eer(scores, labels, weights) == pytest.approx(ver.eer(*zip(*repeated)))
