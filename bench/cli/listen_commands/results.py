"""``bench listen results TEST``: screening, MUSHRA means with intervals, paired differences, agreement."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from bench.cli.listen_commands import LISTEN_COMMANDS


@LISTEN_COMMANDS.register("results")
def add(app: typer.Typer) -> None:
    @app.command("results")
    def results(
        test: Path = typer.Argument(..., help="the test folder (with test.json and ratings.sqlite)"),
        screening: str = typer.Option("bs1534", "--screening", help="post-screening rule: bs1534 (reference < 90 "
                                      "in more than 15 % of trials), encodec (reference < 90 or low anchor > 80 in "
                                      "at least 20 %) or none"),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="write results.csv, pairs.csv, raters.csv, "
                                           "agreement.csv, results.md and results.png here"),
        raters: str = typer.Option("all", "--raters", help="all, human (leave simulated raters out) or simulated"),
        runs: Optional[list[Path]] = typer.Option(None, "--runs", help="run directories for the agreement table "
                                                  "(default: the runs the test was made from)"),
        agreement: bool = typer.Option(True, "--agreement/--no-agreement", help="correlate the runs' metrics with "
                                       "the MUSHRA scores"),
        seed: Optional[int] = typer.Option(None, "--seed", help="bootstrap seed (default: the project's)"),
    ) -> None:
        """MUSHRA results of a listening test: who was screened out and why, mean per condition with 95 %
        intervals, paired differences (Holm), and how well each objective metric agrees with the listeners."""
        from bench import api

        rep = api.listen_results(test, screening=screening, out=out, raters=raters, runs=runs, agreement=agreement,
                                 seed=seed)
        typer.echo(rep.markdown)
        if out is not None:
            typer.echo(f"\nwrote {', '.join(p.name for p in rep.files)} to {out}")
