"""``bench listen create RUN... --out TEST``: a MUSHRA test folder from runs (see bench.listening.create)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from bench.cli.listen_commands import LISTEN_COMMANDS


@LISTEN_COMMANDS.register("create")
def add(app: typer.Typer) -> None:
    @app.command()
    def create(
        runs: list[Path] = typer.Argument(..., help="run directories (bench run, ideally with --save-audio)"),
        out: Path = typer.Option(..., "--out", "-o", help="the test folder to make"),
        codec: Optional[list[str]] = typer.Option(None, "--codec", "-c", help="conditions (codec labels, comma "
                                                  "lists or repeated); default: every label in the runs but original"),
        items: int = typer.Option(8, "--items", help="trials: items chosen seeded and stratified"),
        excerpt: float = typer.Option(5.0, "--excerpt", help="excerpt length in seconds (the most speech-active "
                                      "window of the reference, same indices for every condition)"),
        seed: int = typer.Option(0, "--seed", help="fixes item choice, trial order and file tokens; never give "
                                 "it to raters"),
        anchors: bool = typer.Option(True, "--anchors/--no-anchors", help="add the 3.5 kHz and 7 kHz low-pass "
                                     "anchors (BS.1534-3)"),
        loudness: float = typer.Option(-23.0, "--loudness", help="LUFS (BS.1770-4) every stimulus is matched to"),
        redecode: bool = typer.Option(True, "--redecode/--no-redecode", help="re-decode chosen items whose audio "
                                      "the run did not save"),
        name: Optional[str] = typer.Option(None, "--name", help="test name (default: the folder's name)"),
        force: bool = typer.Option(False, "--force", help="replace an existing test folder that has no ratings"),
    ) -> None:
        """Build a self-contained MUSHRA test folder: hidden reference, anchors, loudness-matched excerpts."""
        from bench import api

        labels = tuple(c.strip() for part in (codec or []) for c in part.split(",") if c.strip()) or None
        test = api.listen_create(runs, out, codecs=labels, items=items, excerpt=excerpt, seed=seed, anchors=anchors,
                                 loudness=loudness, redecode=redecode, name=name, force=force,
                                 log=lambda m: typer.echo(m, err=True))
        n_files = sum(len(t.stimuli) + 1 for t in test.trials)
        typer.echo(f"wrote {out}: {len(test.trials)} trials x {len(test.conditions)} conditions "
                   f"({', '.join(c.id for c in test.conditions)}), {n_files} files in {out}/audio")
        typer.echo(f"serve it with: bench listen serve {out}")
