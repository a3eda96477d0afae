from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from bench.cli.commands import COMMANDS


@COMMANDS.register("data")
def add(app: typer.Typer) -> None:
    data = typer.Typer(help="Evaluation corpora: what is on disk, and fetching the public ones.", no_args_is_help=True)
    app.add_typer(data, name="data")

    @data.command("check")
    def check(suite: Optional[str] = typer.Argument(None, help="one suite to verify file by file (default: all, shallow)")) -> None:
        """Where each suite's data is looked for, whether it is there, and how to get it."""
        import pandas as pd

        from bench import api
        from bench.cli.defaults import data_dir

        statuses = api.data_check(suite)
        typer.echo(pd.DataFrame([s.as_row() for s in statuses]).to_markdown(index=False))
        if data_dir() is None:
            typer.echo("\nBENCH_DATA is not set: set it to the folder that holds your corpora (e.g. export BENCH_DATA=~/corpora).")
        if suite and statuses[0].status != "present":
            raise typer.Exit(1)

    @data.command("fetch")
    def fetch(
        suite: str = typer.Argument(..., help="public suite to download, e.g. librispeech-test-clean"),
        dest: Optional[Path] = typer.Option(None, "--dest", help="folder to extract into (default: $BENCH_DATA)"),
        keep_archives: bool = typer.Option(True, "--keep-archives/--delete-archives"),
    ) -> None:
        """Download (resumable, checksum-verified) and safely extract a public corpus."""
        from bench import api
        from bench.cli.defaults import data_dir

        def progress(done: int, total: int | None) -> None:
            pct = f" {done / total:.0%}" if total else ""
            print(f"\r{done / 1e6:8.1f} MB{pct}", end="", file=sys.stderr, flush=True)

        paths = api.data_fetch(suite, dest, progress=progress, keep_archives=keep_archives)
        target = dest or data_dir()
        print(file=sys.stderr)
        typer.echo(f"fetched {', '.join(p.name for p in paths)} into {target}")
        if dest and data_dir() is None:
            typer.echo(f"now: export BENCH_DATA={target}")
