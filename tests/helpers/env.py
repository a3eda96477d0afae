"""Tests that set ``BENCH_*`` variables the way a user's shell does, and see them as the CLI does.

codecbench reads its environment in one place (:mod:`bench.cli.defaults`); library code gets
locations and options as arguments. These helpers apply the CLI's reading of the patched
environment, so a test of a loader or an adapter sees what ``bench ...`` would.
"""

from __future__ import annotations

import dataclasses

from bench import locations
from bench.adapters import CodecOptions
from bench.adapters import create_codec as _create_codec
from bench.cli.defaults import env_checkpoints, env_locations


def use_env(monkeypatch, **values: object) -> None:
    """Set (a value) or unset (None) variables, then make the CLI's locations from the environment
    this process's for the test (undone with the monkeypatch)."""
    for name, value in values.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, str(value))
    monkeypatch.setattr(locations, "_current", env_locations())


def shell_options(base: CodecOptions | None = None, **changes: object) -> CodecOptions:
    """Codec options with the environment's checkpoint overrides, as the CLI builds them."""
    return dataclasses.replace(base or CodecOptions(), checkpoints=env_checkpoints(), **changes)


def create_codec(setting, options: CodecOptions | None = None):
    """:func:`bench.adapters.create_codec` with the environment's checkpoint overrides (the CLI's view)."""
    return _create_codec(setting, shell_options(options))
