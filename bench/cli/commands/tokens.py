from __future__ import annotations

from pathlib import Path

import typer

from bench.cli.commands import COMMANDS


@COMMANDS.register("tokens")
def add(app: typer.Typer) -> None:
    @app.command()
    def tokens(
        run_dir: Path = typer.Argument(..., help="a run directory made by `bench run` with a neural codec"),
        per_codebook: bool = typer.Option(False, "--per-codebook", help="also print one row per codebook"),
    ) -> None:
        """Token statistics of a run: codebook utilisation, entropy, entropy-coded bitrate bound."""
        from bench import api

        summary, per_cb = api.tokens(run_dir)
        if summary.empty:
            typer.echo(f"{run_dir}: no token files")
            raise typer.Exit(1)
        typer.echo(summary.to_markdown(index=False, floatfmt=".3f"))
        typer.echo("\nentropy_bound_kbps: sum over codebooks of the unigram entropy of the run's tokens x frame "
                   "rate (a static entropy coder's rate on these items; in-sample, so optimistic on few tokens)")
        if per_codebook:
            typer.echo("\n" + per_cb.to_markdown(index=False, floatfmt=".3f"))
