"""``bench listen ...``: the listening-test commands, one module each in ``bench.cli.listen_commands``."""

from __future__ import annotations

import importlib
import pkgutil

import typer

listen_app = typer.Typer(help="MUSHRA listening tests: create, serve, collect, analyse.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    listen_commands = importlib.import_module("bench.cli.listen_commands")
    for mod in sorted(pkgutil.iter_modules(listen_commands.__path__), key=lambda m: m.name):
        importlib.import_module(f"{listen_commands.__name__}.{mod.name}").register(listen_app)
    app.add_typer(listen_app, name="listen")
