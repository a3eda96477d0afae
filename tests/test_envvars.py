"""Every environment variable the code reads is in bench.envvars.VARIABLES and the README table."""

import re
from pathlib import Path

from bench.envvars import VARIABLES, documented, in_use, markdown_table

REPO = Path(__file__).resolve().parents[1]
#: variables bench sets for libraries (not user settings), and Ray's own
SET_BY_BENCH = {"RAY_USAGE_STATS_ENABLED", "OMP_NUM_THREADS", "NUMBA_NUM_THREADS"}


def _names_read_by_the_code() -> set[str]:
    names = set()
    pattern = re.compile(r"""(?:environ(?:\.get|\.setdefault)?\s*[\[(]\s*|getenv\(\s*|_ENV\w*\s*=\s*|ENV_VAR\s*=\s*)
                             ["']([A-Z][A-Z0-9_]+)["']""", re.X)
    for path in (REPO / "bench").rglob("*.py"):
        names |= set(pattern.findall(path.read_text()))
    for card in (REPO / "codecs").glob("*.yaml"):
        names |= set(re.findall(r"env:\s*(BENCH_\w+)", card.read_text()))
    return names - SET_BY_BENCH


def test_every_variable_read_is_documented():
    names = _names_read_by_the_code()
    assert {"BENCH_CODECS", "BENCH_DATASETS", "BENCH_CACHE", "BENCH_ASR_THREADS", "BENCH_DAC24_CHECKPOINT"} <= names
    assert not [n for n in names if not documented(n)]


def test_readme_has_the_table():
    assert markdown_table() in (REPO / "README.md").read_text()
    assert len(markdown_table().splitlines()) == len(VARIABLES) + 2


def test_in_use_lists_set_variables_only():
    env = {"BENCH_CODECS": "/x", "BENCH_DATA_LIBRISPEECH": "/d", "HOME": "/root", "CT2_USE_MKL": "1"}
    assert in_use(env) == {"BENCH_CODECS": "/x", "BENCH_DATA_LIBRISPEECH": "/d", "CT2_USE_MKL": "1"}
