from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from bench.cli.commands import COMMANDS


@COMMANDS.register("gate")
def add(app: typer.Typer) -> None:
    @app.command()
    def gate(
        baseline: Path = typer.Option(..., "--baseline", "-b", help="baseline summary CSV (or run directory)"),
        run: Path = typer.Option(..., "--run", "-r", help="run directory (or its summary CSV)"),
        margins: Optional[Path] = typer.Option(None, "--margins", "--config",
                                               help="margins YAML (default: reports/gate.yaml of the checkout "
                                                    "bench is installed from, wherever you run it)"),
        strict: bool = typer.Option(False, "--strict", help="also fail (exit 1) on inconclusive comparisons"),
        common_only: bool = typer.Option(False, "--common-only", help="gate only the codec settings and metrics "
                                         "both sides hold, and list what was left out (default: a baseline "
                                         "setting/metric missing from the run is unusable input, exit 2)"),
        markdown: Optional[Path] = typer.Option(None, "--markdown", help="append the gate's markdown table to this "
                                                "file (e.g. $GITHUB_STEP_SUMMARY)"),
    ) -> None:
        """Exit 1 on a significant regression beyond the margin (or more failed items), 2 if the
        inputs are unusable (damaged or edited baseline, unfinished run, other suite or items)."""
        from bench import api

        cfg = margins if margins is not None else api.default_margins()
        result = api.gate(baseline, run, cfg, strict=strict, common_only=common_only)
        verdict = {0: "PASS", 1: "REGRESSION", 2: "UNUSABLE INPUT"}[result.exit_code]
        typer.echo(result.markdown)
        for p in result.problems:
            typer.echo(f"unusable input: {p}", err=True)
        typer.echo(f"\ngate: {verdict}")
        if markdown is not None:
            lines = [f"## codecbench gate: {verdict}", "", result.markdown, ""]
            lines += [f"- unusable input: {p}" for p in result.problems]
            with open(markdown, "a", encoding="utf-8") as fh:
                fh.write("\n".join(lines) + "\n")
        raise typer.Exit(result.exit_code)
