from __future__ import annotations

import typer

from bench.cli.commands import COMMANDS


@COMMANDS.register("list")
def add(app: typer.Typer) -> None:
    @app.command("list")
    def list_(what: str = typer.Argument(..., help="codecs, suites or metrics")) -> None:
        """Show what exists and whether it is usable here (and why not)."""
        from bench import api
        from bench.cli.defaults import default_config

        table = api.listing(what, checkpoints=default_config().checkpoints)
        typer.echo(table.to_markdown(index=False))
