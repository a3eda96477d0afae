"""Where codecbench finds things outside the repository, as one explicit record.

Extra datasets files, extra codec-card folders, the corpora (``$BENCH_DATA`` and per-corpus
``$BENCH_DATA_<SUITE>`` roots, which datasets.yaml refers to as ``$BENCH_DATA/...``) and the cache
for corpus preparation. The CLI sets this record from the environment before each command
(:mod:`bench.cli.defaults`); a script sets it with :func:`use`. Nothing else reads environment
variables: a ``$NAME`` in datasets.yaml is expanded from :attr:`Locations.variables`.

These are where the driver process looks; work units carry what they need already resolved
(absolute item paths, parsed codec cards, and checkpoints in the run's config), so workers never
consult this record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

#: the corpora folder's variable; BENCH_DATA_<SUITE> names one corpus's root
DATA_VAR = "BENCH_DATA"


@dataclass(frozen=True)
class Locations:
    #: datasets files (or folders of them) read after the repository's datasets.yaml
    datasets: tuple[Path, ...] = ()
    #: folders of extra codec cards, after the repository's codecs/
    codec_dirs: tuple[Path, ...] = ()
    #: cache root for corpus preparation (None: reports/cache)
    cache: Path | None = None
    #: ``BENCH_DATA`` and ``BENCH_DATA_<SUITE>`` values: corpus roots and datasets.yaml's ``$NAME``s
    variables: tuple[tuple[str, str], ...] = ()

    def get(self, name: str) -> str | None:
        return dict(self.variables).get(name) or None

    @property
    def data(self) -> Path | None:
        """The folder that holds the corpora (``$BENCH_DATA``), if set."""
        value = self.get(DATA_VAR)
        return Path(value).expanduser() if value else None

    def expand(self, text: str) -> str:
        """``$NAME`` / ``${NAME}`` replaced from :attr:`variables`; unknown names stay as written
        (as ``os.path.expandvars`` leaves unset ones), so a caller can say which is missing."""
        values = dict(self.variables)

        def sub(m: re.Match) -> str:
            name = m.group(1) or m.group(2)
            return values.get(name, m.group(0))

        return re.sub(r"\$(?:\{(\w+)\}|(\w+))", sub, text)


_current = Locations()


def current() -> Locations:
    return _current


def use(locations: Locations) -> Locations:
    """Make ``locations`` this process's; returns the previous record (to restore it)."""
    global _current
    previous, _current = _current, locations
    return previous


def from_variables(values: Mapping[str, str], datasets: tuple[Path, ...] = (), codec_dirs: tuple[Path, ...] = (),
                   cache: Path | None = None) -> Locations:
    """A record from ``BENCH_DATA*`` style names (others are ignored)."""
    picked = tuple(sorted((k, v) for k, v in values.items() if k == DATA_VAR or k.startswith(DATA_VAR + "_")))
    return Locations(datasets=tuple(datasets), codec_dirs=tuple(codec_dirs), cache=cache, variables=picked)
