from __future__ import annotations

import os

import pandas as pd
import pytest

from bench.reporting.formats import table_markdown
from bench.reporting.layouts import summary_tables
from bench.reporting.tables import summarize

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def test_untrained_rows_are_labelled_in_summary_and_markdown():
    rows = pd.DataFrame([
        {"suite": "s", "item": "a", "label": "enc@6", "codec": "enc", "setting": "6", "metric": "kbps",
         "value": 6.0, "weight": 1.0, "weights": "untrained"},
        {"suite": "s", "item": "a", "label": "opus@6", "codec": "opus", "setting": "6", "metric": "kbps",
         "value": 6.1, "weight": 1.0},
    ])
    summary = summarize(rows)
    assert summary.set_index("label")["weights"].to_dict()["enc@6"] == "untrained"
    md = table_markdown(summary_tables(summary)[0])
    assert "enc@6 (untrained)" in md and "opus@6 (untrained)" not in md and "opus@6" in md


@pytest.mark.models
def test_info_and_speed_tables_from_a_random_encodec(monkeypatch):
    pytest.importorskip("transformers")
    from bench.api import info
    from bench.pipeline.perf import speech_clip, time_codec

    table = info(["encodec@6", "opus@6"], allow_untrained=True)
    col = table["encodec@6 (untrained)"]
    assert (col["frame rate (Hz)"], col["codebooks"], col["bitrate (kbps)"]) == ("75", "8", "6")
    assert col["parameters (M)"] == "14.85" and table["opus@6"]["codebooks"] == "n/a"

    from bench.adapters import create_codec
    from bench.adapters import CodecOptions

    codec = create_codec("encodec@1.5", CodecOptions(allow_untrained=True))
    clip = speech_clip(0.5)
    assert clip.duration == pytest.approx(0.5) and clip.sample_rate == 16000
    r = time_codec(codec, clip, repeats=1, warmup=0)
    assert r["encode_s"] > 0 and r["decode_s"] > 0 and r["rtf"] == pytest.approx((r["encode_s"] + r["decode_s"]) / 0.5)
    assert r["kbps"] == pytest.approx(1.5, rel=0.05)


def test_info_refuses_without_weights():
    from bench.adapters.neural import WeightsMissing
    from bench.api import info

    with pytest.raises(WeightsMissing):
        info(["encodec@6"])
