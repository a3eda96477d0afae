"""Subcommands of ``bench listen``: each module adds itself to :data:`LISTEN_COMMANDS` (see
:data:`bench.cli.commands.COMMANDS`, the same registry shape)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

import typer

from bench.registry import Registry


def _discover() -> None:
    for mod in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{mod.name}")


LISTEN_COMMANDS: Registry[Callable[[typer.Typer], None]] = Registry("listen command", discover=_discover)
