"""Where the stock files are: codec cards, suites, demo data, Lyra models, gate margins, layouts.

The repository keeps them at its top level (``codecs/``, ``datasets.yaml``, ``data/speech_demo``,
``third_party/``, ``reports/gate.yaml``, ``reports/layouts``). A wheel carries copies of the same
tree as package data under ``bench/_data`` (``setup.py`` copies them at build time), so an
installed ``bench`` finds them through :mod:`importlib.resources` wherever it runs; an editable
install or a plain checkout has no ``_data`` and reads the checkout. Paths inside cards ("relative
to the repository root") resolve against :func:`data_root` either way, because the copy keeps the
layout.

User folders come on top of the stock ones: ``$BENCH_CODECS`` and ``USER_CONFIG/codecs`` for
cards, ``USER_CONFIG/layouts`` for layouts. Caches go to a per-user cache folder (``$BENCH_CACHE``
or ``bench run --cache``), never to a folder relative to the working directory.

``$BENCH_CACHE`` and ``$BENCH_CODECS`` reach this module through :mod:`bench.locations` (the CLI
reads them, :mod:`bench.cli.defaults`); the platform's ``XDG_*`` folders through platformdirs, or
:mod:`bench.procenv` without it.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

APP = "codecbench"

@lru_cache(maxsize=1)
def checkout_root() -> Path | None:
    """The repository this ``bench`` package sits in (editable install or checkout), else None."""
    root = Path(__file__).resolve().parents[1]
    return root if (root / "datasets.yaml").is_file() and (root / "codecs").is_dir() else None


@lru_cache(maxsize=1)
def data_root() -> Path:
    """Folder laid out like the repository's top level: the wheel's ``bench/_data`` or the checkout."""
    packaged = resources.files("bench") / "_data"
    if packaged.is_dir() and (packaged / "datasets.yaml").is_file():
        return Path(str(packaged))
    root = checkout_root()
    if root is None:
        from bench.errors import ConfigError

        raise ConfigError(f"{Path(__file__).parent}: this bench package has neither its bundled data "
                          "(bench/_data) nor a checkout around it; reinstall it from a wheel built by `pip wheel .`")
    return root


def user_config_dir() -> Path:
    try:
        import platformdirs
    except ImportError:
        from bench import procenv

        base = Path(procenv.in_effect(["XDG_CONFIG_HOME"]).get("XDG_CONFIG_HOME") or Path.home() / ".config")
        return base / APP
    return Path(platformdirs.user_config_dir(APP))


def user_cache_dir() -> Path:
    try:
        import platformdirs
    except ImportError:
        from bench import procenv

        base = Path(procenv.in_effect(["XDG_CACHE_HOME"]).get("XDG_CACHE_HOME") or Path.home() / ".cache")
        return base / APP
    return Path(platformdirs.user_cache_dir(APP))


def cache_dir() -> Path:
    """The locations' cache (CLI: ``$BENCH_CACHE``) or the per-user cache folder; absolute, looked up
    each time (not at import)."""
    from bench import locations

    value = locations.current().cache
    return (Path(value).expanduser() if value else user_cache_dir()).absolute()


def cards_dirs() -> list[Path]:
    """Stock cards, then ``USER_CONFIG/codecs``, then ``$BENCH_CODECS``: a later card of the same name wins."""
    dirs = [data_root() / "codecs"]
    user = user_config_dir() / "codecs"
    if user.is_dir():
        dirs.append(user)
    from bench import locations

    return [*dirs, *locations.current().codec_dirs]


def layout_dirs() -> list[Path]:
    """Stock layouts, then ``USER_CONFIG/layouts`` (a later file of the same name wins)."""
    dirs = [data_root() / "reports" / "layouts"]
    user = user_config_dir() / "layouts"
    if user.is_dir():
        dirs.append(user)
    return dirs


def gate_config() -> Path:
    """The stock gate margins (``reports/gate.yaml``)."""
    return data_root() / "reports" / "gate.yaml"


def runs_dir() -> Path:
    """Default parent of run directories: the checkout's reports/runs, or ./reports/runs when installed
    (a run is the user's output, like ``--out``; caches never go there)."""
    root = checkout_root()
    return (root if root is not None else Path.cwd()) / "reports" / "runs"


def repo_relative(value: str | Path) -> Path:
    """A path from a card ("relative to the repository root") as an absolute path under :func:`data_root`."""
    p = Path(value).expanduser()
    return p if p.is_absolute() else data_root() / p
