from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer



def register(app: typer.Typer) -> None:
    @app.command()
    def gate(
        baseline: Path = typer.Option(..., "--baseline", "-b", help="baseline summary CSV (or run directory)"),
        run: Path = typer.Option(..., "--run", "-r", help="run directory (or its summary CSV)"),
        config: Optional[Path] = typer.Option(None, "--config", help="margins YAML (default: the stock reports/gate.yaml)"),
        strict: bool = typer.Option(False, "--strict", help="also fail (exit 1) on inconclusive comparisons"),
        markdown: Optional[Path] = typer.Option(None, "--markdown", help="append the gate's markdown table to this "
                                                "file (e.g. $GITHUB_STEP_SUMMARY)"),
    ) -> None:
        """Exit 1 on a significant regression beyond the margin (or more failed items), 2 if not comparable."""
        from bench import api

        cfg = config if config is not None else api.stock_gate_config()
        result = api.gate(baseline, run, cfg, strict=strict)
        verdict = {0: "PASS", 1: "REGRESSION", 2: "UNUSABLE INPUT"}[result.exit_code]
        typer.echo(result.markdown)
        for p in result.problems:
            typer.echo(f"not comparable: {p}", err=True)
        typer.echo(f"\ngate: {verdict}")
        if markdown is not None:
            lines = [f"## codecbench gate: {verdict}", "", result.markdown, ""]
            lines += [f"- not comparable: {p}" for p in result.problems]
            with open(markdown, "a", encoding="utf-8") as fh:
                fh.write("\n".join(lines) + "\n")
        raise typer.Exit(result.exit_code)
