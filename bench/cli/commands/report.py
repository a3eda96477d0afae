from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from bench.cli.commands import COMMANDS


@COMMANDS.register("report")
def add(app: typer.Typer) -> None:
    @app.command()
    def report(
        runs: list[Path] = typer.Argument(..., help="run directories to merge"),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="the report folder (card.md, card.csv, card.tex, "
                                                                     "index.html, plots/); without it, print markdown"),
        layout: str = typer.Option("summary", "--layout", "-l", help="report layout: a name in reports/layouts/ "
                                                                     "(summary: every metric; nemo-card, paper) or a "
                                                                     "YAML file"),
        fmt: str = typer.Option("md,csv,latex,html", "--format", "-f", help="formats to write with --out"),
        speed: Optional[list[Path]] = typer.Option(None, "--speed", help="`bench speed --out` CSV(s) for the speed "
                                                                         "table (RUN/speed.csv is found by itself)"),
        worst: int = typer.Option(3, "--worst", help="worst items per codec shown in the HTML listening section"),
        listen: int = typer.Option(0, "--listen", help="re-decode the N worst items per codec for listening when the "
                                                       "run did not keep audio (bench run --save-audio)"),
        listen_metric: Optional[str] = typer.Option(None, "--listen-metric", help="metric that ranks the worst items "
                                                                                  "(default: visqol-speech, pesq-wb, ...)"),
        bd_method: str = typer.Option("akima", "--bd-method", help="BD interpolation: akima, pchip or cubic"),
        listening: Optional[Path] = typer.Option(None, "--listening", help="a MUSHRA test folder: adds a MUSHRA "
                                                                           "column (mean [95 % CI]) and a rate-MUSHRA "
                                                                           "curve"),
        listening_screening: str = typer.Option("bs1534", "--listening-screening", help="screening for --listening: "
                                                                                      "bs1534, encodec or none"),
        wide: bool = typer.Option(False, "--wide", help="print every metric column (default: what fits the "
                                                        "terminal; the files always have all)"),
    ) -> None:
        """Merge runs into a report: every metric per codec setting (the summary layout), or a model card's
        tables (--layout nemo-card) with plots, BD-rate, listening material and HTML."""
        from bench import api

        formats = tuple(f.strip() for f in fmt.split(",") if f.strip())
        card = api.report(runs, layout, out, formats=formats, speed=speed, worst=worst, listen=listen,
                          listen_metric=listen_metric, bd_method=bd_method, listening=listening,
                          listening_screening=listening_screening)
        if out is None:
            typer.echo(api.report_markdown(card, None if wide else api.terminal_width()))
        else:
            typer.echo(f"wrote {len(card.files)} files to {out} "
                       f"({', '.join(p.name for p in card.files if p.parent == Path(out))}"
                       f"{', plots/' if card.plots else ''})")
