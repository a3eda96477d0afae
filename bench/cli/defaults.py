"""The CLI's defaults from the environment: the one place codecbench reads its ``BENCH_*`` variables.

A shell may set defaults for run options (``BENCH_DEVICE=cuda``, ``BENCH_ASR_MODEL=...``); the
CLI turns them into a :class:`~bench.config.RunConfig` here, the run manifest records that config,
and nothing below the CLI looks at the environment again: adapters, models and workers get
their options as arguments. ``bench.api`` callers pass a config of their own and are unaffected
by these variables.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bench import locations
from bench.config import DEFAULT_CPU_KERNELS, RunConfig
from bench.envvars import in_use
from bench.errors import ConfigError

DEVICE_ENV = "BENCH_DEVICE"
ALLOW_UNTRAINED_ENV = "BENCH_ALLOW_UNTRAINED"
CACHE_ENV = "BENCH_CACHE"
ASR_MODEL_ENV = "BENCH_ASR_MODEL"
ASR_COMPUTE_ENV = "BENCH_ASR_COMPUTE_TYPE"
ASR_THREADS_ENV = "BENCH_ASR_THREADS"
SPEAKER_MODEL_ENV = "BENCH_SPEAKER_MODEL"
DATASETS_ENV = "BENCH_DATASETS"
CODECS_ENV = "BENCH_CODECS"
HF_OFFLINE_ENV = "HF_HUB_OFFLINE"
#: variable -> RunConfig field, for the options a shell may set (every name is in bench.envvars' table)
OPTION_ENV = {
    DEVICE_ENV: "device",
    ALLOW_UNTRAINED_ENV: "allow_untrained",
    CACHE_ENV: "cache_dir",
    ASR_MODEL_ENV: "asr_model",
    ASR_COMPUTE_ENV: "asr_compute_type",
    ASR_THREADS_ENV: "asr_threads",
    SPEAKER_MODEL_ENV: "speaker_model",
}
_FALSE = ("", "0", "false", "no")
#: how the variables that replace a card's weights end (a card's ``weights.env``: BENCH_OURS_CHECKPOINT,
#: BENCH_LYRA_MODELS; ESC's code: BENCH_ESC_REPO)
CHECKPOINT_SUFFIXES = ("_CHECKPOINT", "_MODELS", "_REPO")


def env_checkpoints(environ: dict[str, str] | None = None) -> tuple[tuple[str, str], ...]:
    """``BENCH_*_CHECKPOINT`` / ``BENCH_*_MODELS`` / ``BENCH_*_REPO`` variables that are set: the
    weights that replace the cards' (see :class:`~bench.config.CodecOptions`)."""
    env = os.environ if environ is None else environ
    return tuple(sorted((k, v) for k, v in env.items()
                        if k.startswith("BENCH_") and k.endswith(CHECKPOINT_SUFFIXES) and v))


def env_locations(environ: dict[str, str] | None = None) -> locations.Locations:
    """Where data, cards and corpus caches are: ``BENCH_DATASETS`` (os.pathsep-separated files or
    folders), ``BENCH_CODECS`` (os.pathsep-separated folders), ``BENCH_CACHE``, ``BENCH_DATA`` and
    ``BENCH_DATA_<SUITE>``."""
    env = os.environ if environ is None else environ
    return locations.from_variables(
        env, datasets=tuple(Path(p) for p in env.get(DATASETS_ENV, "").split(os.pathsep) if p),
        codec_dirs=tuple(Path(p) for p in env.get(CODECS_ENV, "").split(os.pathsep) if p),
        cache=Path(env[CACHE_ENV]) if env.get(CACHE_ENV) else None)


def data_dir() -> Path | None:
    """``$BENCH_DATA``: the folder that holds the corpora, if set."""
    return env_locations().data


def apply_locations() -> None:
    """Make the environment's locations this process's (the CLI does this before every command)."""
    locations.use(env_locations())


def env_options(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """The run options the environment sets (only those it sets), typed as RunConfig wants them.

    CTranslate2's kernel pins (``CT2_USE_MKL``, ``CT2_FORCE_CPU_ISA``, ``ONEDNN_MAX_CPU_ISA``)
    that the user set replace the defaults one by one; ``HF_HUB_OFFLINE`` becomes ``hf_offline``.
    """
    env = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    for var, name in OPTION_ENV.items():
        value = env.get(var)
        if not value:
            continue
        if name == "allow_untrained":
            out[name] = value.strip().lower() not in _FALSE
        elif name == "asr_threads":
            if not value.strip().isdigit():
                raise ConfigError(f"${var}={value!r}: expected a whole number of threads")
            out[name] = int(value)
        elif name == "cache_dir":
            out[name] = Path(value)
        else:
            out[name] = value
    kernels = {k: env.get(k, v) for k, v in DEFAULT_CPU_KERNELS}
    if kernels != dict(DEFAULT_CPU_KERNELS):
        out["cpu_kernels"] = tuple(kernels.items())
    if env.get(HF_OFFLINE_ENV, "").strip().lower() not in _FALSE:
        out["hf_offline"] = True
    checkpoints = env_checkpoints(env)
    if checkpoints:
        out["checkpoints"] = checkpoints
    used = in_use(env)
    if used:
        out["environment"] = tuple(used.items())
    return out


def default_config(**options: Any) -> RunConfig:
    """The environment's defaults, overridden by the options the command line gave."""
    return RunConfig().replace(**{**env_options(), **options})
