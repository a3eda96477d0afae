"""The process environment that third-party libraries read themselves, set in one place.

Numba, OpenMP, BLAS, CTranslate2 and Ray read environment variables when they load, so the few
settings codecbench makes for them must be written there before the library is imported. This
module only writes those (and reports what is in effect, for the manifest); codecbench's own
options never come from here: they are fields of :class:`bench.config.RunConfig`, whose defaults
the CLI alone takes from ``BENCH_*`` variables (:mod:`bench.cli.defaults`).
"""

from __future__ import annotations

import os
from typing import Iterable, Mapping


def set_default(name: str, value: str) -> None:
    """Set ``name`` unless the user's environment already sets it (their value wins)."""
    os.environ.setdefault(name, value)


def apply(values: Mapping[str, str]) -> None:
    """Set each variable to the given value (a run's kernel pins and worker entries)."""
    os.environ.update({str(k): str(v) for k, v in values.items()})


def in_effect(names: Iterable[str]) -> dict[str, str]:
    """The values now set among ``names`` (what the libraries will read), for run manifests."""
    return {name: os.environ[name] for name in names if name in os.environ}
