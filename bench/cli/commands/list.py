from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("list")
    def list_(what: str = typer.Argument(..., help="codecs, suites or metrics")) -> None:
        """Show what exists and whether it is usable here (and why not)."""
        from bench import api

        table = api.listing(what)
        typer.echo(table.to_markdown(index=False))
