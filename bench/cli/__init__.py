"""The ``bench`` command: a thin typer layer over :mod:`bench.api`.

Each command lives in its own module under ``bench.cli.commands`` and registers itself in
:data:`bench.cli.commands.COMMANDS` (the registry every plug-in point uses, :mod:`bench.registry`);
modules are discovered, so a new command is one new file.
"""

from __future__ import annotations

import sys

import typer

from bench.errors import BenchError

#: plain click help (rich_markup_mode=None): it wraps to the terminal and never cuts an option name,
#: where rich's boxed panels truncated e.g. ``--allow-untrained`` at 80 columns; ``-h`` everywhere
app = typer.Typer(help="codecbench: evaluate and benchmark audio codecs.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None,
                  context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})


def version_text() -> str:
    """'codecbench 0.1.0 (git 1a2b3c4d5e, modified)': the package version, plus the commit when
    run from a git checkout."""
    import importlib.metadata
    from pathlib import Path

    from bench.pipeline.provenance import git_state

    try:
        version = importlib.metadata.version("codecbench")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    repo = Path(__file__).resolve().parents[2]
    git = git_state(repo) if (repo / ".git").exists() else {}
    if git.get("sha"):
        return f"codecbench {version} (git {git['sha'][:10]}{', modified' if git.get('dirty') else ''})"
    return f"codecbench {version}"


def _version(value: bool) -> None:
    if value:
        typer.echo(version_text())
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", "-V", callback=_version, is_eager=True,
                                       help="print the version (and git commit) and exit")) -> None:
    """codecbench: evaluate and benchmark audio codecs."""
    from bench.cli.defaults import apply_locations

    apply_locations()  # before every command: where data, cards and caches are, from the environment


def _add_commands() -> None:
    from bench.cli.commands import COMMANDS

    for name in sorted(COMMANDS.names()):
        COMMANDS.get(name)(app)


_add_commands()


def main() -> None:
    try:
        app()
    except BenchError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
