"""Each corpus suite, read from a miniature copy in its real layout through the real loader."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from .layouts import (make_commonvoice, make_fisher, make_librispeech, make_spgispeech, make_voxceleb,
                      make_voxpopuli)

from bench.audio import load_audio
from bench.errors import ConfigError
from bench.suites import load_suite
from helpers.env import use_env


def test_librispeech_alias_reads_original_layout(tmp_path, monkeypatch):
    make_librispeech(tmp_path)
    use_env(monkeypatch, BENCH_DATA=str(tmp_path))
    suite = load_suite("librispeech")
    assert suite.entry["format"] == "librispeech"
    assert [it.id for it in suite.items] == ["1089-134686-0000", "1089-134686-0001", "1089-134686-0002",
                                             "121-127105-0000", "121-127105-0001"]
    first = suite.items[1]
    assert first.speaker == "1089" and first.text == "HE HOPED THERE WOULD BE STEW FOR DINNER 1"
    assert first.duration == pytest.approx(0.75)
    assert first.path.name == "1089-134686-0001.flac" and first.path.exists()
    assert suite.fields == {"speaker", "text"}
    assert load_audio(first.path, suite.policy).sample_rate == 16000


def test_other_librispeech_parts_and_per_suite_override(tmp_path, monkeypatch):
    root = make_librispeech(tmp_path / "elsewhere", part="dev-other")
    use_env(monkeypatch, BENCH_DATA=str(tmp_path / "empty"))
    use_env(monkeypatch, BENCH_DATA_LIBRISPEECH_DEV_OTHER=str(root))
    suite = load_suite("librispeech-dev-other")
    assert len(suite.items) == 5 and suite.source == str(root)


def test_absent_corpus_says_where_and_how(tmp_path, monkeypatch):
    use_env(monkeypatch, BENCH_DATA=str(tmp_path))
    with pytest.raises(ConfigError) as exc:
        load_suite("librispeech")
    msg = str(exc.value)
    assert str(tmp_path / "LibriSpeech" / "test-clean") in msg
    assert "bench data fetch librispeech" in msg and "BENCH_DATA_LIBRISPEECH" in msg
    with pytest.raises(ConfigError, match="Linguistic Data Consortium"):
        load_suite("fisher")


def test_unset_bench_data_is_named(monkeypatch):
    with pytest.raises(ConfigError, match="set BENCH_DATA"):
        load_suite("voxceleb1-o")


def test_voxceleb_items_are_the_trial_files(tmp_path, monkeypatch):
    make_voxceleb(tmp_path)
    use_env(monkeypatch, BENCH_DATA=str(tmp_path))
    suite = load_suite("voxceleb1-o")
    assert [it.id for it in suite.items] == ["id10270-8jEAjG6SegY-00008", "id10270-x6uYqmx31kE-00001",
                                             "id10271-1gtz-CUIygI-00001"]
    assert [it.speaker for it in suite.items] == ["id10270", "id10270", "id10271"]
    assert suite.items[1].extra["trial_path"] == "id10270/x6uYqmx31kE/00001.wav"
    assert suite.entry["trials"] == "veri_test2.txt" and "eer" in suite.entry["tasks"]


def test_voxceleb_trial_naming_a_missing_file(tmp_path, monkeypatch):
    root = make_voxceleb(tmp_path)
    (root / "wav" / "id10271" / "1gtz-CUIygI" / "00001.wav").unlink()
    use_env(monkeypatch, BENCH_DATA=str(tmp_path))
    with pytest.raises(ConfigError, match=r"veri_test2.txt: trial names id10271/1gtz-CUIygI/00001.wav"):
        load_suite("voxceleb1-o")


def test_commonvoice_mp3_is_read_and_resampled(tmp_path, monkeypatch):
    make_commonvoice(tmp_path)
    use_env(monkeypatch, BENCH_DATA=str(tmp_path))
    suite = load_suite("mcv11-en")
    assert [it.id for it in suite.items] == ["common_voice_en_1001", "common_voice_en_1002"]
    assert suite.items[0].text == 'He said "hello there.'  # unbalanced quote kept, next row not swallowed
    assert suite.items[1].speaker == "c2" * 8
    audio = load_audio(suite.items[0].path, suite.policy)  # soundfile (libsndfile >= 1.1) decodes MP3
    assert audio.sample_rate == 16000
    assert abs(audio.duration - 1.0) < 0.06


def test_voxpopuli_segmented_release(tmp_path, monkeypatch):
    make_voxpopuli(tmp_path)
    use_env(monkeypatch, BENCH_DATA=str(tmp_path))
    suite = load_suite("voxpopuli-en")
    assert len(suite.items) == 2
    it = suite.items[1]
    assert it.path.parent.name == "2019" and it.text == "mr president colleagues 1" and it.speaker == "4001"
    assert load_audio(it.path, suite.policy).duration == pytest.approx(0.8, abs=0.01)


def test_spgispeech_val(tmp_path, monkeypatch):
    make_spgispeech(tmp_path)
    use_env(monkeypatch, BENCH_DATA=str(tmp_path))
    suite = load_suite("spgispeech")
    assert [it.id for it in suite.items] == ["4ad9a1b6c34f2e0d_1", "4ad9a1b6c34f2e0d_2", "07a785e9237c389c_1"]
    assert suite.items[0].text == "Revenue grew 5% in Q1, driven by SaaS."
    assert all(it.path.exists() for it in suite.items)


def test_fisher_cuts_each_side_once(tmp_path, monkeypatch):
    make_fisher(tmp_path)
    use_env(monkeypatch, BENCH_DATA=str(tmp_path))
    suite = load_suite("fisher")
    assert [it.id for it in suite.items] == ["fe_03_00001-A-000025-000175", "fe_03_00001-B-000210-000380"]
    a, b = suite.items
    assert a.text == "and i'm joe" and b.speaker == "fe_03_00001-B"
    xa, ra = sf.read(a.path)
    xb, _ = sf.read(b.path)
    assert ra == 8000 and len(xa) == 12000 and len(xb) == 13600
    # side A is channel 0 (300 Hz tone, loud in the first half): the cut must come from it
    spectrum = np.abs(np.fft.rfft(xa))
    assert abs(np.argmax(spectrum) * ra / len(xa) - 300) < 10
    assert load_audio(b.path, suite.policy).sample_rate == 16000
    mtime = a.path.stat().st_mtime_ns
    load_suite("fisher")
    assert a.path.stat().st_mtime_ns == mtime  # cached, not cut again


def test_fisher_malformed_transcript_names_line(tmp_path, monkeypatch):
    root = make_fisher(tmp_path)
    trans = next(root.rglob("fe_03_00001.txt"))
    trans.write_text("12.0 garbage\n")
    use_env(monkeypatch, BENCH_DATA=str(tmp_path))
    with pytest.raises(ConfigError, match=r"fe_03_00001.txt:1: expected 'START END A\|B: text'"):
        load_suite("fisher")
