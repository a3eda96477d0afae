from __future__ import annotations

import typer

from bench.cli.commands import COMMANDS


@COMMANDS.register("info")
def add(app: typer.Typer) -> None:
    @app.command()
    def info(
        codec: list[str] = typer.Option(..., "--codec", "-c", help="codec setting(s): ours, encodec@6, comma lists"),
        allow_untrained: bool = typer.Option(False, "--allow-untrained",
                                             help="build a random-init model from the card when no weights are "
                                                  "found (labelled untrained)"),
    ) -> None:
        """Spec table (sample rate, parameters, latent dim, codebooks, frame rate, bitrate) read off the models."""
        from bench import api
        from bench.cli.defaults import default_config

        table = api.info(codec, allow_untrained=allow_untrained, checkpoints=default_config().checkpoints)
        typer.echo(table.to_markdown(colalign=["left"] + ["right"] * len(table.columns)))
