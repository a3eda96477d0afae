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


def test_unsupported_bitrate_lists_supported():
    with pytest.raises(BenchError, match="does not support 7 kbps; supported: 6, 8, 12, 16, 24"):
        parse_setting("opus@7")


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
