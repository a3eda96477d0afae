"""The ``bench`` command: a thin typer layer over :mod:`bench.api`.

Each command lives in its own module under ``bench.cli.commands`` and exposes ``register(app)``;
modules are discovered, so a new command is one new file.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

from bench.errors import BenchError

app = typer.Typer(help="codecbench: evaluate and benchmark audio codecs.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)


def _register_commands() -> None:
    from bench.cli import commands

    for mod in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{mod.name}")
        module.register(app)


@app.callback()
def _defaults() -> None:
    """Before every command: where data, cards and caches are, from the environment."""
    from bench.cli.defaults import apply_locations

    apply_locations()


_register_commands()


def main() -> None:
    try:
        app()
    except BenchError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
