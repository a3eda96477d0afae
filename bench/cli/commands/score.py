from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Optional

import typer

from bench.cli.commands import COMMANDS


@COMMANDS.register("score")
def add(app: typer.Typer) -> None:
    @app.command()
    def score(
        reference: Optional[Path] = typer.Option(None, "--reference", "-r", help="reference file or folder"),
        estimate: Optional[Path] = typer.Option(None, "--estimate", "-e", help="estimate file or folder (paired "
                                                "by name without extension: utt.wav with utt.flac)"),
        suffix: str = typer.Option("", "--suffix", help="estimate names carry this after the reference's name "
                                   "(utt_dec.wav pairs with utt.flac under --suffix _dec)"),
        listing: Optional[Path] = typer.Option(None, "--list", "-l", help="two-column file: reference, estimate per line"),
        metric: Optional[list[str]] = typer.Option(None, "--metric", "-m", help="metric name(s); default: all default metrics"),
        as_json: bool = typer.Option(False, "--json", help="print JSON records instead of a table"),
        native_rate: bool = typer.Option(False, "--native-rate", help="score at the files' own rate (not resampled to each metric's rate)"),
    ) -> None:
        """Score existing reference/estimate files as given (no alignment; stereo averaged to mono)."""
        from bench import api

        rows = api.score(reference, estimate, metric, listing=listing, native_rate=native_rate, suffix=suffix)
        if as_json:
            records = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
                       for r in rows.to_dict(orient="records")]
            typer.echo(json.dumps(records, indent=1))
        else:
            cols = [c for c in ("pair", "metric", "value", "unit", "sample_rate", "error", "note") if c in rows]
            typer.echo(rows[cols].to_markdown(index=False, floatfmt=".6f"))
            if rows["pair"].nunique() > 1:
                summary = api.score_summary(rows)
                shown = summary.assign(**{"mean [95 % CI]": [api.interval_text(r.mean, r.ci_low, r.ci_high, ".4f")
                                                             for r in summary.itertuples()]})
                typer.echo(f"\nmean over {rows['pair'].nunique()} pairs (95 % bootstrap CI over pairs; failed "
                           "pairs left out and counted):\n")
                typer.echo(shown[["metric", "n", "failed", "mean [95 % CI]", "unit"]].to_markdown(index=False))
        failed = int(rows["error"].notna().sum())
        if failed:
            typer.echo(f"\n{failed} of {len(rows)} scores failed (see the error column)", err=True)
            raise typer.Exit(1)
