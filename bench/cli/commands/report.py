from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def report(
        runs: list[Path] = typer.Argument(..., help="run directories to merge"),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="write OUT.md, OUT.csv and OUT.html"),
    ) -> None:
        """Merge runs into one table (markdown on stdout; CSV/HTML/markdown files with --out)."""
        from bench import api

        rep = api.report(runs, out=out)
        typer.echo(rep.markdown)
        if out:
            typer.echo(f"\nwrote {', '.join(str(p) for p in rep.files)}")
