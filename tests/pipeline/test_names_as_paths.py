"""Names that come from input (suite names, item ids, codec labels) never become paths as they
are: each is a safe file name under the folder it belongs to, unique even when two names clean to
the same text."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from bench.audio import AudioPolicy
from bench.filenames import safe_name
from bench.pipeline.rundir import audio_path
from bench.pipeline.runner import run_id
from bench.pipeline.tokens import codebook_histograms, save_tokens
from bench.suites import Suite

HOSTILE = ["../escaped_cache", "/etc/passwd", "a/b", "a_b", "..", ".", "", "x\\y", "c:\\win", "a b", "<img src=x>"]


@pytest.mark.parametrize("name", HOSTILE)
def test_safe_name_is_one_plain_path_component(name):
    out = safe_name(name)
    assert out and "/" not in out and "\\" not in out and out not in {".", ".."}
    assert not out.startswith(".")


def test_distinct_names_never_share_a_file():
    assert len({safe_name(n) for n in HOSTILE}) == len(HOSTILE)
    assert safe_name("opus@6") == "opus@6" and safe_name("demo") == "demo"  # plain names stay readable


def test_saved_audio_keeps_its_path():
    """Saved reconstructions are looked up by these paths in existing run directories: the rule
    must not drift (values from the run-directory rule every saved run used)."""
    assert safe_name("a b") == "a_b-c8687a08" and safe_name("spk/utt 1") == "spk_utt_1-56a69ba7"
    assert audio_path("RUN", "opus@6", "1089-134686-0000").as_posix() == "RUN/audio/opus@6/1089-134686-0000.wav"


def test_a_hostile_suite_name_stays_inside_the_runs_folder(tmp_path):
    suite = Suite(name="../escaped_cache", items=[], policy=AudioPolicy())
    rid = run_id(suite, "0" * 64, ["opus@6"], ["si-sdr"], None)
    target = (tmp_path / "runs" / rid).resolve()
    assert target.parent == (tmp_path / "runs").resolve()
    assert rid.startswith("escaped_cache-")


def test_item_ids_that_clean_alike_get_their_own_token_and_audio_files(tmp_path):
    payload = SimpleNamespace(tokens=np.array([[1, 2, 3]]), data=None, meta={"codebook_size": 8, "frame_rate": 50.0},
                              duration=0.06)
    a = save_tokens(tmp_path, "lyra@3.2", "x/y", payload)
    b = save_tokens(tmp_path, "lyra@3.2", "x_y", payload)
    assert a != b and a.exists() and b.exists()
    assert a.parent == b.parent == tmp_path / "tokens" / "lyra@3.2"
    assert codebook_histograms(tmp_path)["lyra@3.2"]["items"] == 2
    assert audio_path(tmp_path, "opus@6", "x/y") != audio_path(tmp_path, "opus@6", "x_y")
    assert audio_path(tmp_path, "../../up", "../../etc").resolve().is_relative_to(tmp_path.resolve())
