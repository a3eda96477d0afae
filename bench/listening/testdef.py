"""The listening-test folder and its definition file, ``TEST/test.json``.

A test folder is self-contained: ``test.json`` (conditions, trials, provenance), ``audio/`` with one
WAV per stimulus and ``ratings.sqlite`` (see :mod:`bench.listening.store`). Stimulus files are named
by an opaque token, so nothing a rater's browser sees (URLs, file names) tells which condition it
is; the token -> condition map lives only in ``test.json``, which the server never serves.

Condition kinds: ``reference`` (the hidden reference: the open reference's audio under another
token), ``anchor`` (BS.1534-3 low-pass anchors, ``lowpass_hz`` set) and ``codec`` (a codec setting
from a run; ``id`` is its label, e.g. ``opus@6``).

Example::

    >>> t = ListeningTest(name="x", seed=0, conditions=[Condition("reference", "reference")],
    ...                   trials=[Trial("t01", item="a", suite="s", start=0.0, seconds=5.0,
    ...                                 reference="audio/r.wav", reference_token="r",
    ...                                 stimuli=[Stimulus("reference", "h", "audio/h.wav")])])
    >>> t.trial("t01").stimulus("h").condition
    'reference'
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import ConfigError

FORMAT = "codecbench-listening/1"
TEST_FILE = "test.json"
AUDIO_DIR = "audio"
RATINGS_FILE = "ratings.sqlite"
KINDS = ("reference", "anchor", "codec")


@dataclass(frozen=True)
class Condition:
    id: str  # "reference", "anchor-3.5k", "anchor-7k" or a codec label such as "opus@6"
    kind: str  # one of KINDS
    label: str = ""  # shown in results, never to raters
    kbps: float | None = None
    lowpass_hz: float | None = None  # anchors only
    run: str | None = None  # the run directory a codec condition came from


@dataclass(frozen=True)
class Stimulus:
    condition: str
    token: str  # opaque id the page uses; the audio URL is /audio/<token>.wav
    file: str  # relative to the test folder


@dataclass(frozen=True)
class Trial:
    id: str
    item: str
    suite: str
    start: float  # excerpt start in the original item, seconds
    seconds: float  # excerpt length
    reference: str  # the open reference's file, relative to the test folder
    reference_token: str
    stimuli: list[Stimulus] = field(default_factory=list)

    def stimulus(self, token: str) -> Stimulus:
        for s in self.stimuli:
            if s.token == token:
                return s
        raise KeyError(token)

    @property
    def conditions(self) -> list[str]:
        return [s.condition for s in self.stimuli]


@dataclass
class ListeningTest:
    name: str
    seed: int
    conditions: list[Condition]
    trials: list[Trial]
    method: str = "mushra"
    provenance: dict[str, Any] = field(default_factory=dict)  # runs, git sha, versions, options
    path: Path | None = None  # the folder, once saved or loaded

    def trial(self, trial_id: str) -> Trial:
        for t in self.trials:
            if t.id == trial_id:
                return t
        raise KeyError(trial_id)

    def condition(self, condition_id: str) -> Condition:
        for c in self.conditions:
            if c.id == condition_id:
                return c
        raise KeyError(condition_id)

    def file_for_token(self, token: str) -> Path:
        """The audio file behind a token (the only way the server maps a URL to a file)."""
        assert self.path is not None, "test not saved or loaded"
        for t in self.trials:
            if t.reference_token == token:
                return self.path / t.reference
            for s in t.stimuli:
                if s.token == token:
                    return self.path / s.file
        raise KeyError(token)

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "name": self.name, "method": self.method, "seed": self.seed,
                "provenance": self.provenance, "conditions": [asdict(c) for c in self.conditions],
                "trials": [asdict(t) for t in self.trials]}

    def save(self, folder: Path) -> Path:
        """Write ``folder/test.json`` atomically (a crash leaves the old file or the new, never half)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / TEST_FILE
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".test.", suffix=".json")
        with os.fdopen(fd, "w") as fh:
            json.dump(self.to_json(), fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        self.path = folder
        return target


def load_test(folder: Path) -> ListeningTest:
    """Read and validate ``folder/test.json``; errors name the file and the problem."""
    folder = Path(folder)
    path = folder / TEST_FILE
    if not path.is_file():
        raise ConfigError(f"{path}: no listening test here (make one with `bench listen create`)")
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not readable JSON ({exc})") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ConfigError(f"{path}: format is {data.get('format') if isinstance(data, dict) else None!r}, "
                          f"expected {FORMAT!r}")
    try:
        conditions = [Condition(**c) for c in data["conditions"]]
        trials = [Trial(**{**t, "stimuli": [Stimulus(**s) for s in t["stimuli"]]}) for t in data["trials"]]
        test = ListeningTest(name=str(data["name"]), seed=int(data["seed"]), conditions=conditions,
                             trials=trials, method=str(data.get("method", "mushra")),
                             provenance=dict(data.get("provenance") or {}), path=folder)
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: malformed test definition ({type(exc).__name__}: {exc})") from exc
    known = {c.id for c in conditions}
    for c in conditions:
        if c.kind not in KINDS:
            raise ConfigError(f"{path}: condition {c.id!r} has kind {c.kind!r}; expected one of {', '.join(KINDS)}")
    tokens: set[str] = set()
    for t in trials:
        for s in t.stimuli:
            if s.condition not in known:
                raise ConfigError(f"{path}: trial {t.id!r} uses unknown condition {s.condition!r}")
        for tok in [t.reference_token, *(s.token for s in t.stimuli)]:
            if tok in tokens:
                raise ConfigError(f"{path}: token {tok!r} is used twice")
            tokens.add(tok)
    if len({t.id for t in trials}) != len(trials):
        raise ConfigError(f"{path}: duplicate trial ids")
    return test
