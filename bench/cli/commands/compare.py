from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Optional

import typer

from bench.cli.commands import COMMANDS

@COMMANDS.register("compare")
def add(app: typer.Typer) -> None:
    @app.command()
    def compare(
        runs: list[Path] = typer.Argument(..., help="run directories (or baseline CSVs) holding both settings"),
        a: str = typer.Option(..., "--a", help="the reference setting, e.g. opus@6"),
        b: str = typer.Option(..., "--b", help="the setting judged against A, e.g. lyra@6"),
        metric: Optional[list[str]] = typer.Option(None, "--metric", "-m", help="only these metrics"),
        suite: Optional[str] = typer.Option(None, "--suite", "-s", help="only this suite"),
        config: Optional[Path] = typer.Option(None, "--margins", "--config", help="margins YAML (default: "
                                              "reports/gate.yaml of the checkout, as bench gate)"),
        as_json: bool = typer.Option(False, "--json", help="print JSON records"),
        csv: Optional[Path] = typer.Option(None, "--csv", help="also write the table to this CSV"),
    ) -> None:
        """Is B better than A? Paired differences per metric, CI and verdict."""
        from bench import api

        result = api.compare(runs, a, b, metrics=metric, config=config, suite=suite)
        if as_json:
            records = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
                       for r in result.table.assign(a=a, b=b).to_dict(orient="records")]
            typer.echo(json.dumps(records, indent=1))
        else:
            typer.echo(result.markdown)
        if csv is not None:
            result.table.assign(a=a, b=b).to_csv(csv, index=False)
