"""User-facing errors.

Everything a user can cause (a bad file, an unknown name, a broken card) raises a subclass of
:class:`BenchError`, whose message names the offending file or name and says what to do. The CLI
turns these into exit code 2 with that message instead of a traceback; the runner turns them into
a failed row for the one item concerned instead of aborting the run.
"""

from __future__ import annotations

from collections.abc import Iterable


class BenchError(Exception):
    """An error the user can fix; its message is shown as is."""

    exit_code = 2


class AudioError(BenchError):
    """An audio file cannot be used (missing, corrupt, empty, silent, stereo, wrong rate...)."""


class ConfigError(BenchError):
    """A YAML card, datasets.yaml entry, manifest or gate config is malformed."""


class UnknownNameError(BenchError):
    """A codec, suite or metric name that does not exist; the message lists the known ones."""

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        known = sorted(known)
        super().__init__(f"unknown {kind} {name!r}; known {kind}s: {', '.join(known) or '(none)'}")
        self.kind, self.name, self.known = kind, name, known


class UnavailableError(BenchError):
    """Something exists but cannot run here (missing package, absent weights, unsupported rate)."""


class MetricInputError(BenchError):
    """A metric cannot score this pair (too short for the metric, silent estimate...)."""
