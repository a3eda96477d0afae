"""``bench listen simulate TEST --raters N``: a simulated panel in the test folder, and its power."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from bench.cli.listen_commands import LISTEN_COMMANDS


@LISTEN_COMMANDS.register("simulate")
def add(app: typer.Typer) -> None:
    @app.command("simulate")
    def simulate(
        test: Path = typer.Argument(..., help="the test folder (with test.json)"),
        raters: int = typer.Option(..., "--raters", "-n", help="panel size, careless raters included"),
        seed: int = typer.Option(0, "--seed", help="seed of the panel (raters are named simSEED-NNN)"),
        means: Optional[str] = typer.Option(None, "--means", help="true means, CONDITION=SCORE,... (default: "
                                            "reference 100, anchors 20/45, codecs 35..85 by rate)"),
        careless: int = typer.Option(0, "--careless", help="how many of the raters score uniformly at random"),
        rater_sd: float = typer.Option(6.0, "--rater-sd", help="SD of the per-rater bias"),
        noise_sd: float = typer.Option(8.0, "--noise-sd", help="SD of the per-rating noise"),
        item_sd: float = typer.Option(0.0, "--item-sd", help="SD of item x condition effects"),
        force: bool = typer.Option(False, "--force", help="add simulated raters to a test that has human ratings"),
        dry_run: bool = typer.Option(False, "--dry-run", help="plan only: write nothing"),
    ) -> None:
        """Fill a test with a simulated panel (known means, rater bias, noise, careless raters) and print the
        smallest difference between two conditions it would detect."""
        from bench import api

        rep = api.listen_simulate(test, raters, seed=seed, means=means, careless=careless, force=force,
                                  rater_sd=rater_sd, noise_sd=noise_sd, item_sd=item_sd, write=not dry_run)
        typer.echo(rep.text())
