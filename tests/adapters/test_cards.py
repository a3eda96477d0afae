import pytest

from bench.adapters import load_cards, parse_setting, read_card
from bench.errors import BenchError, ConfigError, UnknownNameError
from helpers.env import use_env


def test_repo_cards_load():
    cards = load_cards()
    for name in ["original", "opus", "codec2", "mp3", "aac", "g722", "amrnb"]:
        assert name in cards


def test_setting_labels_and_default():
    assert parse_setting("opus@6").label == "opus@6"
    assert parse_setting("codec2@3.2").bitrate == 3.2
    assert parse_setting("opus").bitrate == 6.0
    assert parse_setting("original").label == "original"


def test_unknown_codec_lists_known():
    with pytest.raises(UnknownNameError, match="unknown codec 'opuss'; known codecs: .*opus"):
        parse_setting("opuss@6")


def test_unsupported_bitrate_lists_supported_and_how_to_add_a_card():
    with pytest.raises(BenchError, match=r"does not support 20 kbps; supported: 8, 16, 24, 32, 40, .*, 160 "
                                         r"\(card .*mp3.yaml\); if the codec itself accepts it, .*BENCH_CODECS"):
        parse_setting("mp3@20")  # LAME would silently give 16.5 kbps
    with pytest.raises(BenchError, match=r"does not support 2.0 kbps; supported: 3.2, 2.4, 1.6, 1.4, 1.3, 1.2, 0.7"):
        parse_setting("codec2@2.0")
    with pytest.raises(BenchError, match=r"supported: .*any value from 6 to 256"):
        parse_setting("opus@400")
    with pytest.raises(BenchError, match=r"supported: 4.75, .*12.2 \(card"):
        parse_setting("amrnb@8")  # a card without supported: accepts its sweep points only
    with pytest.raises(UnknownNameError, match="unknown codec 'opuss'.*BENCH_CODECS"):
        parse_setting("opuss@6")


def test_any_supported_bitrate_is_accepted_sweep_points_unchanged():
    for label, kbps in (("opus@7", 7.0), ("opus@10", 10.0), ("opus@64", 64.0), ("mp3@40", 40.0),
                       ("codec2@1.4", 1.4), ("codec2@1.2", 1.2), ("aac@48", 48.0)):
        s = parse_setting(label)
        assert s.bitrate == kbps and s.label == label
    cards = load_cards()  # the sweep points (and defaults) the committed baseline was made with
    assert cards["opus"].bitrates == (6, 8, 12, 16, 24) and cards["opus"].default_bitrate == 6
    assert cards["mp3"].bitrates == (8, 16, 24, 32) and cards["codec2"].bitrates == (3.2, 2.4, 1.6, 1.3, 0.7)
    assert cards["aac"].bitrates == (12, 16, 24, 32) and cards["amrnb"].supported == ()


def test_an_off_sweep_opus_setting_codes_at_its_rate(speech):
    from bench.adapters import create_codec
    from bench.audio import resample

    codec = create_codec("opus@10")
    payload = codec.encode(resample(speech, codec.sample_rate))
    assert 9.5 < payload.kbps < 11.0  # measured 10.2 on this clip


def test_supported_field_is_validated(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("name: x\nadapter: pyav\nsample_rate: 16000\nbitrates: [6, 300]\nsupported: {min: 6, max: 256}\n")
    with pytest.raises(ConfigError, match="c.yaml: bitrates .*300.* must lie within supported"):
        read_card(p)
    p.write_text("name: x\nadapter: pyav\nsample_rate: 16000\nbitrates: [6]\nsupported: {low: 6}\n")
    with pytest.raises(ConfigError, match="c.yaml: supported must be"):
        read_card(p)


def test_malformed_yaml_card_names_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nadapter: [unclosed\n")
    with pytest.raises(ConfigError, match="bad.yaml: malformed YAML"):
        read_card(bad)


def test_card_missing_field_and_unknown_field(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("name: x\nadapter: pyav\n")
    with pytest.raises(ConfigError, match="c.yaml: missing required field.*sample_rate"):
        read_card(p)
    p.write_text("name: x\nadapter: pyav\nsample_rate: 16000\nbitrate: 6\n")
    with pytest.raises(ConfigError, match="unknown field.*bitrate"):
        read_card(p)


def test_extra_card_dirs_via_env(tmp_path, monkeypatch):
    (tmp_path / "mine.yaml").write_text(
        "name: myopus\nadapter: pyav\nsample_rate: 16000\nbitrates: [10]\noptions: {codec: libopus}\n")
    use_env(monkeypatch, BENCH_CODECS=str(tmp_path))
    assert parse_setting("myopus@10").card.options["codec"] == "libopus"


def test_same_name_card_is_reported_as_an_override(tmp_path, monkeypatch):
    from bench.adapters import card_overrides
    from bench.envvars import run_start_notes

    (tmp_path / "opus.yaml").write_text(
        "name: opus\nadapter: pyav\nsample_rate: 16000\nbitrates: [7]\noptions: {codec: libopus}\n")
    use_env(monkeypatch, BENCH_CODECS=str(tmp_path))
    assert parse_setting("opus").bitrate == 7.0  # the user's card wins ...
    (o,) = card_overrides()  # ... and says so
    assert o["name"] == "opus" and o["used"] == str(tmp_path / "opus.yaml") and o["replaced"].endswith("codecs/opus.yaml")
    lines, record = run_start_notes({"BENCH_CODECS": str(tmp_path)})  # what the CLI passes in the run's config
    assert f"using BENCH_CODECS={tmp_path}" in lines
    assert any(line.startswith("card 'opus' from ") and "replaces" in line for line in lines)
    assert record["variables"]["BENCH_CODECS"] == str(tmp_path) and record["overrides"]["codecs"] == [o]


def test_bench_datasets_adds_suites_like_bench_codecs(tmp_path, monkeypatch, demo_clip):
    from bench.suites import load_suite, suite_overrides, suite_entries

    (tmp_path / "m.csv").write_text(f"id,path\na,{demo_clip}\n")
    (tmp_path / "mine.yaml").write_text("suites:\n  mine: {manifest: m.csv, format: csv}\n"
                                        "  demo: {manifest: m.csv, format: csv}\n")
    use_env(monkeypatch, BENCH_DATASETS=str(tmp_path / "mine.yaml"))
    entries = suite_entries()
    assert "librispeech-test-clean" in entries and "mine" in entries  # added, stock suites kept
    assert [i.id for i in load_suite("mine").items] == ["a"]  # relative to its own file
    assert [o["name"] for o in suite_overrides()] == ["demo"] and len(load_suite("demo").items) == 1
