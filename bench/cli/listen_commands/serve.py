from __future__ import annotations

import ipaddress
from pathlib import Path

import typer

from bench.cli.listen_commands import LISTEN_COMMANDS


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@LISTEN_COMMANDS.register("serve")
def add(listen_app: typer.Typer) -> None:
    @listen_app.command()
    def serve(
        test_dir: Path = typer.Argument(..., help="a test folder made by `bench listen create`"),
        host: str = typer.Option("127.0.0.1", "--host", help="address to bind; anything but loopback "
                                 "exposes the test to the network"),
        port: int = typer.Option(8000, "--port", min=0, max=65535, help="TCP port (0: any free port)"),
    ) -> None:
        """Serve the MUSHRA page of a test folder; ratings go to TEST/ratings.sqlite."""
        import uvicorn

        from bench import api

        app = api.listen_app(test_dir)  # a bad folder fails here, as a BenchError, before binding
        if not is_loopback(host):
            typer.secho(f"WARNING: binding {host}: anyone who can reach this machine on port {port} can open "
                        "the test and submit ratings (there is no login). Use --host 127.0.0.1 unless you "
                        "mean to collect ratings over the network.", err=True, fg=typer.colors.RED, bold=True)
        test = app.state.test
        typer.echo(f"{test.name}: {len(test.trials)} trials, {len(test.conditions)} conditions; "
                   f"ratings -> {app.state.store.path}", err=True)
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=False,
                    timeout_graceful_shutdown=5)
