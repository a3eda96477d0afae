"""Re-decoding for listening uses the codec options the run's manifest records, not this process's."""

from __future__ import annotations

from bench.config import CodecOptions, RunConfig
from bench.pipeline.redecode import run_codec_options


def test_options_come_from_the_manifest_config():
    config = RunConfig(device="cuda:3", allow_untrained=True, checkpoints={"BENCH_OURS_CHECKPOINT": "/o.nemo"})
    options = run_codec_options({"config": config.as_dict(), "execution": {"device": "cpu"}})
    assert options == CodecOptions(allow_untrained=True, device="cuda:3",
                                   checkpoints=(("BENCH_OURS_CHECKPOINT", "/o.nemo"),))


def test_runs_from_before_the_config_keep_their_device():
    assert run_codec_options({"execution": {"device": "cuda:0", "batch": 1}}) == CodecOptions(device="cuda:0")
    assert run_codec_options({}) == CodecOptions()
