"""One module per ``bench`` sub-command; each adds itself to :data:`COMMANDS` with
``@COMMANDS.register("name")`` on a function that adds its command(s) to the typer app, so a new
command is one new file (a second module taking a name already registered is an error)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

import typer

from bench.registry import Registry


def _discover() -> None:
    for mod in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{mod.name}")


COMMANDS: Registry[Callable[[typer.Typer], None]] = Registry("command", discover=_discover)
