"""bench.registry: the one registry behind adapters, metrics, executors, report and corpus formats."""

from __future__ import annotations

import pytest

from bench.errors import ConfigError, UnknownNameError
from bench.registry import Registry


def test_register_get_and_unknown_names_listed():
    reg = Registry("widget")

    @reg.register("a")
    def a():
        return 1

    assert reg.get("a") is a and "a" in reg and reg.names() == ["a"]
    with pytest.raises(UnknownNameError, match=r"unknown widget 'b'; known widgets: a"):
        reg.get("b")


def test_a_second_object_under_a_taken_name_is_refused():
    """A plugin must not silently replace a stock metric or codec: that would change numbers."""
    reg = Registry("metric")
    reg.add("x", int)
    reg.add("x", int)  # the same object again (a module imported twice) is fine
    with pytest.raises(ConfigError, match=r"metric 'x' is registered twice: by builtins.int and builtins.float"):
        reg.add("x", float)


def test_discovery_runs_once_and_lazy_modules_load_on_first_use():
    calls = []
    reg = Registry("thing", discover=lambda: calls.append(1) or reg.add("found", "F"),
                   lazy={"json-thing": "json"})
    assert "json-thing" in reg.names() and calls == [1]  # listed before it is imported
    assert reg.get("found") == "F" and calls == [1]
    with pytest.raises(UnknownNameError, match="json-thing"):  # json registers nothing: named as known, still unknown
        reg.get("json-thing")


def test_the_package_registries_use_it():
    from bench.adapters import _ADAPTERS
    from bench.metrics import _METRICS
    from bench.pipeline.executors import _EXECUTORS
    from bench.reporting.formats import _FORMATS
    from bench.suites.manifests import _LOADERS

    assert all(isinstance(r, Registry) for r in (_ADAPTERS, _METRICS, _EXECUTORS, _FORMATS, _LOADERS))
    assert {"local", "inline", "ray"} <= set(_EXECUTORS.names()) and "snr" in _METRICS.names()


def test_cli_commands_are_registry_entries_one_per_module():
    """Every module under bench/cli/commands (and listen_commands) adds its command through the
    registry, so a new command is one file and a module reusing a taken name is refused."""
    import pkgutil

    import typer

    import bench.cli.commands as commands
    import bench.cli.listen_commands as listen_commands
    from bench.cli import app

    for package, reg in ((commands, commands.COMMANDS), (listen_commands, listen_commands.LISTEN_COMMANDS)):
        assert isinstance(reg, Registry)
        assert sorted(reg.names()) == sorted(m.name for m in pkgutil.iter_modules(package.__path__))
    shown = {c.name or c.callback.__name__ for c in app.registered_commands} | {g.name for g in app.registered_groups}
    assert {"run", "report", "gate", "score", "listen", "baseline"} <= shown
    with pytest.raises(ConfigError, match="command 'run' is registered twice"):
        commands.COMMANDS.add("run", lambda app: None)
    assert callable(commands.COMMANDS.get("run")) and not isinstance(commands.COMMANDS.get("run"), typer.Typer)
