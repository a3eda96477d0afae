"""``bench baseline create|update|show``: gate baselines with item-level rows (see bench.baseline)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from bench.cli.commands import COMMANDS


@COMMANDS.register("baseline")
def add(app: typer.Typer) -> None:
    sub = typer.Typer(help="Create, update or inspect a gate baseline (summary + item rows + manifest).",
                      no_args_is_help=True)

    @sub.command()
    def create(
        runs: list[Path] = typer.Argument(..., help="run directories to take the baseline from"),
        out: Path = typer.Option(..., "--out", "-o", help="baseline summary NAME.csv (rows: NAME.rows.csv.gz)"),
    ) -> None:
        """Make a new baseline from run directories (refuses to overwrite)."""
        from bench import api

        for p in api.baseline_create(runs, out):
            typer.echo(f"wrote {p}")

    @sub.command()
    def update(
        runs: list[Path] = typer.Argument(..., help="run directories to take the baseline from"),
        out: Path = typer.Option(..., "--out", "-o", help="existing baseline NAME.csv to replace"),
    ) -> None:
        """Replace an existing baseline with these runs."""
        from bench import api

        for p in api.baseline_update(runs, out):
            typer.echo(f"wrote {p}")

    @sub.command()
    def show(
        baseline: Path = typer.Argument(..., help="baseline NAME.csv"),
        as_json: bool = typer.Option(False, "--json", help="machine-readable"),
    ) -> None:
        """What a baseline contains and where/how it was made (git sha, CPU, date, ASR setting)."""
        from bench import api

        info = api.baseline_show(baseline)
        if as_json:
            typer.echo(json.dumps(info, indent=1))
            return
        for key, value in info.items():
            if isinstance(value, list):
                value = ", ".join(map(str, value))
            elif isinstance(value, dict):
                value = ", ".join(f"{k}={v}" for k, v in value.items())
            typer.echo(f"{key:10s} {value}")

    app.add_typer(sub, name="baseline")
