from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from bench.cli.commands import COMMANDS


@COMMANDS.register("speed")
def add(app: typer.Typer) -> None:
    @app.command()
    def speed(
        codec: list[str] = typer.Option(..., "--codec", "-c", help="codec setting(s), comma lists or repeated"),
        device: Optional[list[str]] = typer.Option(None, "--device", help="cpu and/or cuda (default: cpu, plus cuda "
                                                                          "when present)"),
        seconds: float = typer.Option(10.0, "--seconds", help="clip length (the ESC paper uses 10 s of 16 kHz speech)"),
        repeats: int = typer.Option(3, "--repeats", "-n", help="timed runs after one warm-up; the median is shown"),
        allow_untrained: bool = typer.Option(False, "--allow-untrained",
                                             help="time a random-init model when no weights are found (same "
                                                  "compute as a trained one; labelled untrained)"),
        out: Optional[Path] = typer.Option(None, "--out", help="also write the table as CSV (e.g. RUN/speed.csv, "
                                                               "which bench report --layout nemo-card shows)"),
    ) -> None:
        """Encode/decode time and real-time factor, next to the ESC paper's 0.78 s / 0.59 s (CPU)."""
        from bench import api
        from bench.cli.defaults import default_config
        from bench.api import ESC_PAPER

        table = api.speed(codec, device, seconds, repeats, allow_untrained, checkpoints=default_config().checkpoints)
        typer.echo(table.to_markdown(index=False, floatfmt=".3f"))
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            table.to_csv(out, index=False)
        typer.echo(f"\nmedian of {repeats} after 1 warm-up; rtf = (encode + decode) / clip seconds. ESC paper, "
                   f"10 s clip: CPU {ESC_PAPER['cpu'][0]} s / {ESC_PAPER['cpu'][1]} s, "
                   f"GPU {ESC_PAPER['cuda'][0]} s / {ESC_PAPER['cuda'][1]} s (encode / decode); "
                   "'vs ESC paper' = ours / paper (below 1 is faster). Different hardware: compare with care.")
