import json

import pytest

from bench.errors import ConfigError, UnknownNameError
from bench.suites import load_suite, select_items
from bench.suites.manifests import read_csv_manifest, read_jsonl_manifest
from helpers.env import use_env


def test_demo_suite_is_embedded_and_complete():
    suite = load_suite("demo")
    assert len(suite.items) == 96
    assert len({it.speaker for it in suite.items}) == 16
    assert all(it.path.exists() and it.text for it in suite.items)
    assert suite.fields == {"speaker", "text"}
    assert suite.policy.sample_rate == 16000


def test_csv_paths_are_relative_to_manifest_and_extras_kept(tmp_path):
    (tmp_path / "sub").mkdir()
    m = tmp_path / "sub" / "m.csv"
    m.write_text("id,path,speaker,text,lang\na,audio/a.wav,s1,hi there,en\n")
    [it] = read_csv_manifest(m)
    assert it.path == (tmp_path / "sub" / "audio" / "a.wav").resolve()
    assert it.extra == {"lang": "en"} and it.text == "hi there"


def test_csv_row_without_audio_names_line(tmp_path):
    m = tmp_path / "m.csv"
    m.write_text("id,path,speaker,text\na,x.wav,s,t\nb,,s,t\n")
    with pytest.raises(ConfigError, match=r"m.csv:3: row 'b' has no audio path"):
        read_csv_manifest(m)


def test_csv_missing_columns(tmp_path):
    m = tmp_path / "m.csv"
    m.write_text("file,text\nx.wav,t\n")
    with pytest.raises(ConfigError, match="needs columns id,path"):
        read_csv_manifest(m)


def test_duplicate_ids(tmp_path):
    m = tmp_path / "m.csv"
    m.write_text("id,path\na,x.wav\na,y.wav\n")
    with pytest.raises(ConfigError, match="duplicate item id 'a'"):
        read_csv_manifest(m)


def test_nemo_jsonl(tmp_path):
    m = tmp_path / "m.jsonl"
    m.write_text(json.dumps({"audio_filepath": "w/a.wav", "text": "hey", "duration": 1.5, "speaker": 3}) + "\n\n")
    [it] = read_jsonl_manifest(m)
    assert it.id == "a" and it.speaker == "3" and it.duration == 1.5 and it.path.name == "a.wav"
    m.write_text('{"audio_filepath": "a.wav"\n')
    with pytest.raises(ConfigError, match=r"m.jsonl:1: not valid JSON"):
        read_jsonl_manifest(m)


def test_manifest_path_as_suite(tmp_path):
    m = tmp_path / "mine.jsonl"
    m.write_text(json.dumps({"audio_filepath": "a.wav"}) + "\n")
    assert load_suite(str(m)).name == "mine"


def test_unknown_suite_lists_known():
    with pytest.raises(UnknownNameError, match="unknown suite 'nope'.*demo"):
        load_suite("nope")


def test_malformed_datasets_yaml(tmp_path, monkeypatch):
    f = tmp_path / "datasets.yaml"
    f.write_text("suites: [oops\n")
    use_env(monkeypatch, BENCH_DATASETS=str(f))
    with pytest.raises(ConfigError, match="datasets.yaml: malformed YAML"):
        load_suite("demo")


def test_limit_is_deterministic_and_spread():
    items = load_suite("demo").items
    a, b = select_items(items, 8), select_items(items, 8)
    assert [i.id for i in a] == [i.id for i in b] and len(a) == 8
    assert len({i.speaker for i in a}) >= 4  # not the first speaker's 8 clips
    assert select_items(items, None) == items


def test_suite_hash_changes_with_content(tmp_path):
    m = tmp_path / "m.csv"
    m.write_text("id,path,text\na,x.wav,one\n")
    h1 = load_suite(str(m)).content_hash()
    m.write_text("id,path,text\na,x.wav,two\n")
    assert load_suite(str(m)).content_hash() != h1


def test_one_alias_resolver_for_loading_and_checking(tmp_path, monkeypatch):
    """load_suite and bench data check follow aliases by the same rule; a loop or an alias to no
    suite is an error naming the datasets file, not a hang or a silent stop."""
    from bench.suites.check import check_suite

    f = tmp_path / "extra.yaml"
    f.write_text("suites:\n  demo-too: {alias: demo}\n  loop-a: {alias: loop-b}\n  loop-b: {alias: loop-a}\n"
                 "  dangling: {alias: nowhere}\n")
    use_env(monkeypatch, BENCH_DATASETS=str(f))
    assert len(load_suite("demo-too").items) == 96 and check_suite("demo-too").status == "present"
    for name, why in (("loop-a", "a loop"), ("dangling", "no such suite")):
        with pytest.raises(ConfigError, match=f"extra.yaml: suite '{name}' has a bad alias .*{why}"):
            load_suite(name)
        status = check_suite(name)
        assert status.status == "missing" and why in status.detail
