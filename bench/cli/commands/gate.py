from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

DEFAULT_CONFIG = Path("reports/gate.yaml")


def register(app: typer.Typer) -> None:
    @app.command()
    def gate(
        baseline: Path = typer.Option(..., "--baseline", "-b", help="baseline summary CSV (or run directory)"),
        run: Path = typer.Option(..., "--run", "-r", help="run directory (or its summary CSV)"),
        config: Optional[Path] = typer.Option(None, "--config", help="tolerances YAML (default: reports/gate.yaml if present)"),
    ) -> None:
        """Exit 1 if the run regresses against the baseline beyond tolerance, 2 if not comparable."""
        from bench import api

        cfg = config if config is not None else (DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None)
        result = api.gate(baseline, run, cfg)
        typer.echo(result.markdown)
        for p in result.problems:
            typer.echo(f"not comparable: {p}", err=True)
        verdict = {0: "PASS", 1: "REGRESSION", 2: "UNUSABLE INPUT"}[result.exit_code]
        typer.echo(f"\ngate: {verdict}")
        raise typer.Exit(result.exit_code)
