"""``bench listen export TEST --webmushra DIR`` and ``bench listen import TEST RESULTS.csv``:
run a test on webMUSHRA and bring its ratings back (see bench.listening.webmushra)."""

from __future__ import annotations

from pathlib import Path

import typer

from bench.cli.listen_commands import LISTEN_COMMANDS


@LISTEN_COMMANDS.register("webmushra")
def add(app: typer.Typer) -> None:
    @app.command()
    def export(
        test: Path = typer.Argument(..., help="a test folder made by `bench listen create`"),
        webmushra: Path = typer.Option(..., "--webmushra", help="folder to write the webMUSHRA config and audio to "
                                       "(copy its contents into a webMUSHRA checkout)"),
        force: bool = typer.Option(False, "--force", help="replace an earlier export of this test"),
    ) -> None:
        """Export a test as a webMUSHRA configuration (one mushra page per trial) plus its audio."""
        from bench import api

        cfg, tid = api.listen_export_webmushra(test, webmushra, force=force)
        typer.echo(f"wrote {cfg} and the audio it plays under {cfg.parent / 'resources' / 'audio' / tid}")
        typer.echo(f"copy {webmushra}/configs into your webMUSHRA folder, open index.html?config={tid}.yaml; "
                   f"then: bench listen import {test} results/{tid}/mushra.csv")

    @app.command(name="import")
    def import_(
        test: Path = typer.Argument(..., help="the test folder the results belong to"),
        results: Path = typer.Argument(..., help="webMUSHRA's results/<testId>/mushra.csv"),
    ) -> None:
        """Import webMUSHRA's mushra.csv into the test's ratings (raters of kind 'imported'; re-import replaces)."""
        from bench import api

        n = api.listen_import_webmushra(test, results)
        typer.echo(f"imported {n['ratings']} ratings: {n['sessions']} sessions, {n['trials']} session x trial pages "
                   f"into {test}/ratings.sqlite")
