"""``bench listen ...``: the listening-test commands, one module each in ``bench.cli.listen_commands``."""

from __future__ import annotations

import typer

from bench.cli.commands import COMMANDS

listen_app = typer.Typer(help="MUSHRA listening tests: create, serve, collect, analyse.", no_args_is_help=True)


@COMMANDS.register("listen")
def add(app: typer.Typer) -> None:
    from bench.cli.listen_commands import LISTEN_COMMANDS

    for name in sorted(LISTEN_COMMANDS.names()):
        LISTEN_COMMANDS.get(name)(listen_app)
    app.add_typer(listen_app, name="listen")
