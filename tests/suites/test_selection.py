from __future__ import annotations

from pathlib import Path

import pytest

from bench.errors import AudioError, ConfigError
from bench.suites import select_items
from bench.suites.items import Item
from bench.suites.selection import Selection


def _items(n: int = 40) -> list[Item]:
    return [Item(id=f"utt{i:03d}", path=Path(f"/x/{i}.wav"), speaker=f"spk{i % 4}", duration=1.0 + i * 0.25)
            for i in range(n)]


def test_subset_is_deterministic_and_seeded():
    items = _items()
    a = Selection(subset=10, seed=1).apply(items)
    assert [i.id for i in a] == [i.id for i in Selection(subset=10, seed=1).apply(list(reversed(items)))][::-1]
    assert len(a) == 10
    assert {i.id for i in Selection(subset=10, seed=2).apply(items)} != {i.id for i in a}
    assert [i.id for i in a] == sorted(i.id for i in a)  # suite order kept


def test_limit_matches_historical_select_items():
    items = _items()
    assert select_items(items, Selection(limit=7)) == select_items(items, 7)


def test_duration_bounds_and_speaker_cap():
    items = _items()
    chosen = Selection(min_duration=2.0, max_duration=6.0, max_per_speaker=2).apply(items)
    assert all(2.0 <= i.duration <= 6.0 for i in chosen)
    per = {}
    for it in chosen:
        per[it.speaker] = per.get(it.speaker, 0) + 1
    assert per == {"spk0": 2, "spk1": 2, "spk2": 2, "spk3": 2}


def test_duration_read_from_file_when_manifest_has_none(tmp_path):
    import numpy as np
    import soundfile as sf

    short, long_ = tmp_path / "s.wav", tmp_path / "l.wav"
    sf.write(short, np.zeros(800, dtype=np.float32), 16000)
    sf.write(long_, np.zeros(32000, dtype=np.float32), 16000)
    items = [Item("s", short), Item("l", long_)]
    assert [i.id for i in Selection(min_duration=1.0).apply(items)] == ["l"]


def test_unreadable_file_stops_a_duration_selection_with_its_name(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio")
    with pytest.raises(AudioError, match=r"bad\.wav: cannot read its duration.*--min/--max-duration"):
        Selection(min_duration=1.0).apply([Item("b", bad)])
    with pytest.raises(AudioError, match=r"bad\.wav"):
        Item("b", bad).seconds()
    assert Item("b", bad, duration=2.5).seconds() == 2.5  # the suite's duration: the file is not read


def test_selection_is_recorded_compactly():
    sel = Selection(subset=5, seed=3, max_per_speaker=1)
    assert sel.as_dict() == {"subset": 5, "seed": 3, "max_per_speaker": 1}
    assert "sha1('3:'+id)" in sel.describe()
    assert Selection().is_all and Selection().describe() == "all"


def test_bad_selection_is_a_config_error():
    with pytest.raises(ConfigError, match="subset must be a positive"):
        Selection(subset=0)
    with pytest.raises(ConfigError, match="min_duration 5 > max_duration 1"):
        Selection(min_duration=5, max_duration=1)
