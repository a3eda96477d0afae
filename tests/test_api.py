from bench import api


def _usable(df, codec):
    return df.set_index("codec").loc[codec, "usable"]


def test_neural_codecs_without_weights_are_not_listed_as_ready(monkeypatch, tmp_path):
    df = api.listing("codecs")
    assert _usable(df, "opus") == "yes"
    assert _usable(df, "ours").startswith("no: no weights here (set $BENCH_OURS_CHECKPOINT")
    assert "not in the local Hugging Face cache" in _usable(df, "encodec")
    ckpt = tmp_path / "ours.nemo"
    ckpt.write_bytes(b"x")  # listing checks where weights are, not their content (run verifies it)
    assert _usable(api.listing("codecs", checkpoints={"BENCH_OURS_CHECKPOINT": str(ckpt)}), "ours") == "yes"
