"""RunConfig: one typed record of a run's options; the environment is read by the CLI's defaults only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import bench
from bench.cli.defaults import env_options
from bench.config import DEFAULT_CPU_KERNELS, RunConfig
from bench.errors import ConfigError
from bench.suites.selection import Selection

BENCH_DIR = Path(bench.__file__).parent
#: the CLI's defaults read BENCH_* variables; procenv writes what third-party libraries read
ENV_MODULES = {"cli/defaults.py", "procenv.py"}


def test_json_round_trip_keeps_every_option():
    config = RunConfig(limit=24, selection=Selection(subset=5, seed=3), out=Path("/tmp/x"), jobs=2,
                       executor="ray", address="auto", timeout=9.5, plugins=["tests.plugins.fault_metric"],
                       device="cuda:1", batch=4, allow_untrained=True, cache_dir="/tmp/c", save_audio=True,
                       asr_model="/m", asr_compute_type="int8", asr_threads=2, cpu_kernels={"CT2_USE_MKL": "1"},
                       speaker_model="/s.pt", hf_offline=True, worker_env={"A": "b"})
    again = RunConfig.from_json(config.to_json())
    assert again == config and hash(again) == hash(config)
    assert again.plugins == ("tests.plugins.fault_metric",) and again.out == Path("/tmp/x")
    assert again.selection == Selection(subset=5, seed=3)


def test_bad_options_fail_clearly():
    with pytest.raises(ConfigError, match="unknown run option.*'devcie'"):
        RunConfig().replace(devcie="cuda")
    with pytest.raises(ConfigError, match="--batch 0"):
        RunConfig(batch=0)
    with pytest.raises(ConfigError, match="cpu_kernels"):
        RunConfig(cpu_kernels=5)


def test_parts_for_codecs_models_and_remote_workers():
    config = RunConfig(device="cuda:0", allow_untrained=True, asr_compute_type="int8", speaker_model="x.pt",
                       hf_offline=True, worker_env={"CODECBENCH_FAULTS": "segv=a"})
    assert (config.codec_options.device, config.codec_options.allow_untrained) == ("cuda:0", True)
    models = config.model_options
    assert (models.device, models.asr_compute_type, models.speaker_model) == ("cuda:0", "int8", "x.pt")
    assert config.runtime_env() == {**dict(DEFAULT_CPU_KERNELS), "HF_HUB_OFFLINE": "1", "CODECBENCH_FAULTS": "segv=a"}
    assert "HF_HUB_OFFLINE" not in RunConfig().runtime_env()


def test_cli_defaults_come_from_the_environment():
    env = {"BENCH_DEVICE": "cuda", "BENCH_ALLOW_UNTRAINED": "1", "BENCH_ASR_MODEL": "/w", "BENCH_ASR_THREADS": "3",
           "BENCH_ASR_COMPUTE_TYPE": "int8", "BENCH_SPEAKER_MODEL": "/s.nemo", "BENCH_CACHE": "/c",
           "CT2_FORCE_CPU_ISA": "AVX512", "HF_HUB_OFFLINE": "1", "UNRELATED": "x"}
    config = RunConfig().replace(**env_options(env))
    assert (config.device, config.allow_untrained, config.asr_model, config.asr_threads) == ("cuda", True, "/w", 3)
    assert (config.asr_compute_type, config.speaker_model, config.cache_dir) == ("int8", "/s.nemo", Path("/c"))
    assert dict(config.cpu_kernels)["CT2_FORCE_CPU_ISA"] == "AVX512" and config.hf_offline
    assert env_options({"BENCH_ALLOW_UNTRAINED": "0"})["allow_untrained"] is False and env_options({}) == {}
    # the variables set are recorded with the config (printed at run start, in the manifest)
    assert dict(config.environment)["BENCH_ASR_MODEL"] == "/w" and "UNRELATED" not in dict(config.environment)
    with pytest.raises(ConfigError, match="BENCH_ASR_THREADS"):
        env_options({"BENCH_ASR_THREADS": "two"})


def _env_uses(tree: ast.AST) -> list[int]:
    """Lines that touch the process environment: ``os.environ``, ``os.getenv``, ``os.putenv``,
    ``os.path.expandvars`` or those names imported from ``os``."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "putenv", "environb", "expandvars"):
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os" and any(
                a.name in ("environ", "getenv", "putenv", "environb") for a in node.names):
            lines.append(node.lineno)
    return lines


def test_only_the_cli_defaults_and_procenv_touch_the_environment():
    found = {}
    for path in sorted(BENCH_DIR.rglob("*.py")):
        rel = path.relative_to(BENCH_DIR).as_posix()
        lines = _env_uses(ast.parse(path.read_text(), str(path)))
        if lines and rel not in ENV_MODULES:
            found[rel] = lines
    assert found == {}, f"modules reading the environment outside bench/cli/defaults.py: {found}"


def test_procenv_never_reads_codecbench_options():
    """procenv serves third-party libraries' variables; a BENCH_ name there would be an option read deep down."""
    text = (BENCH_DIR / "procenv.py").read_text()
    assert "BENCH_" not in text.replace("``BENCH_*``", "")


def test_locations_and_checkpoints_come_from_the_cli_environment(tmp_path):
    from bench.cli.defaults import env_checkpoints, env_locations

    env = {"BENCH_DATA": str(tmp_path), "BENCH_DATA_LIBRISPEECH_TEST_CLEAN": "/ls", "BENCH_DATASETS": "/d.yaml",
           "BENCH_CODECS": f"/a{__import__('os').pathsep}/b", "BENCH_CACHE": "/c",
           "BENCH_OURS_CHECKPOINT": "/o.nemo", "BENCH_LYRA_MODELS": "/lyra", "BENCH_ESC_REPO": "/esc",
           "BENCH_ASR_MODEL": "/not-a-checkpoint", "HOME": "/home/x"}
    where = env_locations(env)
    assert where.data == tmp_path and where.get("BENCH_DATA_LIBRISPEECH_TEST_CLEAN") == "/ls"
    assert (where.datasets, where.codec_dirs, where.cache) == ((Path("/d.yaml"),), (Path("/a"), Path("/b")), Path("/c"))
    # datasets.yaml's $BENCH_DATA expands from the record; other names stay as written
    assert where.expand("${BENCH_DATA}/x/$BENCH_DATA/$HOME") == f"{tmp_path}/x/{tmp_path}/$HOME"
    assert dict(env_checkpoints(env)) == {"BENCH_OURS_CHECKPOINT": "/o.nemo", "BENCH_LYRA_MODELS": "/lyra",
                                          "BENCH_ESC_REPO": "/esc"}
    config = RunConfig().replace(**env_options(env))
    assert dict(config.codec_options.checkpoints)["BENCH_OURS_CHECKPOINT"] == "/o.nemo"


def test_weights_override_travels_in_the_codec_options(tmp_path):
    """A checkpoint given in the options (not the environment) is the one the adapter looks up."""
    from bench.adapters import load_cards
    from bench.adapters.neural import weights_ref

    card = load_cards()["ours"]
    assert weights_ref(card).kind == "random"
    ckpt = tmp_path / "ours.nemo"
    ckpt.write_bytes(b"x")
    ref = weights_ref(card, {"BENCH_OURS_CHECKPOINT": str(ckpt)})
    assert (ref.kind, ref.location, ref.via) == ("path", str(ckpt), "$BENCH_OURS_CHECKPOINT")
