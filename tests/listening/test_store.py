"""The ratings store and the test definition: what the server and the analysis build on."""

from __future__ import annotations

import json

import pytest

from bench.errors import ConfigError
from bench.listening.store import RatingStore
from bench.listening.testdef import Condition, ListeningTest, Stimulus, Trial, load_test


def test_resubmission_replaces_and_never_duplicates(tmp_path):
    s = RatingStore(tmp_path / "r.sqlite")
    s.add_rater("a", seed=7)
    s.submit("a", "t1", {"x": 10, "y": 20}, {"x": 0, "y": 1})
    s.submit("a", "t1", {"x": 55, "y": 20}, {"x": 0, "y": 1})
    df = s.ratings()
    assert len(df) == 2
    assert df.set_index("condition")["score"].to_dict() == {"x": 55, "y": 20}
    s.add_rater("a", seed=99)  # a returning rater keeps the first seed (and so its order)
    assert s.rater("a")["seed"] == 7
    assert s.done_trials("a") == {"t1"}


@pytest.mark.parametrize("bad", [101, -1, "abc", 5.5, True])
def test_out_of_range_scores_are_refused_and_nothing_is_written(tmp_path, bad):
    s = RatingStore(tmp_path / "r.sqlite")
    with pytest.raises(ValueError):
        s.submit("a", "t1", {"x": 50, "y": bad})
    assert s.ratings().empty


def _test(tmp_path):
    t = ListeningTest(name="x", seed=1, conditions=[Condition("reference", "reference"), Condition("opus@6", "codec")],
                      trials=[Trial("t01", item="i", suite="s", start=0.0, seconds=5.0, reference="audio/r.wav",
                                    reference_token="r", stimuli=[Stimulus("reference", "h", "audio/h.wav"),
                                                                  Stimulus("opus@6", "o", "audio/o.wav")])])
    t.save(tmp_path)
    return t


def test_round_trip_and_token_lookup(tmp_path):
    _test(tmp_path)
    t = load_test(tmp_path)
    assert t.trial("t01").conditions == ["reference", "opus@6"]
    assert t.file_for_token("o") == tmp_path / "audio/o.wav"
    with pytest.raises(KeyError):
        t.file_for_token("../../etc/passwd")


def test_malformed_definitions_name_the_file(tmp_path):
    _test(tmp_path)
    data = json.loads((tmp_path / "test.json").read_text())
    data["trials"][0]["stimuli"][1]["condition"] = "nope"
    (tmp_path / "test.json").write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=r"test.json: trial 't01' uses unknown condition 'nope'"):
        load_test(tmp_path)
    (tmp_path / "test.json").write_text("{")
    with pytest.raises(ConfigError, match="test.json: not readable JSON"):
        load_test(tmp_path)
