"""Every environment variable codecbench reads, in one table: the README's table, what a run
prints at its start and what its manifest records are all made from :data:`VARIABLES`.

The CLI reads them (:mod:`bench.cli.defaults`) and passes the ones set to the run in its config
(``RunConfig.environment``); this module only describes them.

Why a table in code: variables were documented one by one where they were added, and a user
could not find out what changes a run; ``tests/test_envvars.py`` checks this table against the
names the code reads, so a new variable cannot go undocumented.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping


@dataclass(frozen=True)
class Variable:
    name: str
    meaning: str
    default: str


VARIABLES: tuple[Variable, ...] = (
    Variable("BENCH_CODECS", "extra folders of codec cards (os.pathsep-separated); they add cards, and a card "
             "named like a stock one replaces it (reported at run start, recorded in the manifest)", "none: codecs/"),
    Variable("BENCH_DATASETS", "extra datasets files or folders of them (os.pathsep-separated); they add suites, "
             "and a suite named like a stock one replaces it (reported, recorded)", "none: datasets.yaml"),
    Variable("BENCH_DATA", "folder that holds the evaluation corpora (`${BENCH_DATA}` in datasets.yaml)", "unset"),
    Variable("BENCH_DATA_<SUITE>", "one corpus's root, e.g. BENCH_DATA_LIBRISPEECH_TEST_CLEAN (wins over "
             "BENCH_DATA)", "unset"),
    Variable("BENCH_CACHE", "cache of original-side work (transcripts, embeddings, ViSQOL references) and "
             "numba kernels; `bench run --cache DIR` wins over it", "per-user cache folder (~/.cache/codecbench)"),
    Variable("XDG_CACHE_HOME", "base of the per-user cache folder (XDG_CACHE_HOME/codecbench)", "~/.cache"),
    Variable("XDG_CONFIG_HOME", "base of the user folders for extra cards and layouts "
             "(XDG_CONFIG_HOME/codecbench/codecs, .../layouts)", "~/.config"),
    Variable("BENCH_ASR_MODEL", "ASR model: a CTranslate2 Whisper folder or a local .nemo", "Whisper tiny.en"),
    Variable("BENCH_ASR_COMPUTE_TYPE", "CTranslate2 compute type (int8: faster, CPU-dependent transcripts)",
             "float32"),
    Variable("BENCH_ASR_THREADS", "CPU threads per Whisper instance", "1"),
    Variable("BENCH_SPEAKER_MODEL", "speaker model: a GE2E .pt checkpoint or a .nemo TitaNet", "resemblyzer GE2E"),
    Variable("BENCH_<CODEC>_CHECKPOINT", "weights of a neural codec, named by its card's weights.env "
             "(BENCH_OURS_CHECKPOINT, BENCH_ENCODEC_CHECKPOINT, BENCH_DAC_CHECKPOINT, BENCH_ESC_CHECKPOINT, ...)",
             "the card's weights.path / hub id"),
    Variable("BENCH_LYRA_MODELS", "folder with Lyra v2's three .tflite files", "third_party/lyra_v2"),
    Variable("BENCH_ESC_REPO", "ESC model code checkout", "third_party/esc"),
    Variable("BENCH_ALLOW_UNTRAINED", "1: `bench run` builds random-init neural codecs as with --allow-untrained "
             "(Python callers set RunConfig.allow_untrained)", "0"),
    Variable("BENCH_DEVICE", "torch device of `bench run` when --device is not given (Python callers set "
             "RunConfig.device)", "cpu"),
    Variable("CT2_USE_MKL, CT2_FORCE_CPU_ISA, ONEDNN_MAX_CPU_ISA", "CTranslate2 kernel pins; values you set win",
             "0, AVX2, AVX2"),
    Variable("NUMBA_CACHE_DIR", "numba's compile cache (ViSQOL)", "reports/cache/numba"),
    Variable("HF_HUB_OFFLINE", "1: no Hugging Face hub look-ups (passed to Ray workers)", "unset"),
)

def documented(name: str) -> bool:
    """Whether ``name`` is one of :data:`VARIABLES` (patterns included)."""
    for v in VARIABLES:
        names = [n.strip() for n in v.name.split(",")]
        if name in names:
            return True
        if "<SUITE>" in v.name and name.startswith("BENCH_DATA_"):
            return True
        if "<CODEC>" in v.name and name.startswith("BENCH_") and name.endswith("_CHECKPOINT"):
            return True
    return False


def in_use(environ: Mapping[str, str]) -> dict[str, str]:
    """The documented variables set in ``environ`` (what changes a run), by name."""
    return {name: environ[name] for name in sorted(environ) if name.startswith("BENCH_") or documented(name)}


def markdown_table() -> str:
    """The README's "Environment variables" table."""
    lines = ["| variable | meaning | default |", "|---|---|---|"]
    lines += [f"| `{v.name}` | {v.meaning} | {v.default} |" for v in VARIABLES]
    return "\n".join(lines)


def overrides() -> dict[str, list[dict[str, str]]]:
    """User cards and suites that replace stock ones of the same name."""
    from bench.adapters import card_overrides
    from bench.suites import suite_overrides

    return {"codecs": card_overrides(), "suites": suite_overrides()}


def run_start_notes(used: Mapping[str, str]) -> tuple[list[str], dict]:
    """Lines a run prints to stderr at its start, and what its manifest records ("configuration"):
    ``used``, the variables the CLI took the run's defaults from (``RunConfig.environment``), and
    the user cards and suites that replace stock ones."""
    used, over = dict(used), overrides()
    lines = [f"using {k}={v}" for k, v in used.items() if k != "NUMBA_CACHE_DIR"]
    for kind in ("codecs", "suites"):
        what = "card" if kind == "codecs" else "suite"
        lines += [f"{what} {o['name']!r} from {o['used']} replaces {o['replaced']}" for o in over[kind]]
    return lines, {"variables": used, "overrides": over}
