"""Ratings in SQLite: one row per rater x trial x condition, written transactionally.

A listening test is hours of other people's time, so the store is the one place ratings live:
WAL journal with ``synchronous=FULL`` (a committed trial survives kill -9 and power loss), one
transaction per submitted trial (all of its scores or none), a primary key on
(rater, trial, condition) so a resubmission replaces and never duplicates, and a CHECK on the score
range as a last line of defence behind the server's validation. Each call opens its own connection,
so any number of server threads or processes can write at once (SQLite serialises the writers;
``busy_timeout`` makes them wait instead of failing).

Example::

    >>> import tempfile, pathlib
    >>> s = RatingStore(pathlib.Path(tempfile.mkdtemp()) / "ratings.sqlite")
    >>> s.add_rater("r1", kind="simulated")
    >>> s.submit("r1", "t01", {"opus@6": 40, "reference": 100}, {"opus@6": 1, "reference": 0})
    >>> s.ratings()[["condition", "score"]].values.tolist()
    [['opus@6', 40], ['reference', 100]]
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

SCHEMA = """
CREATE TABLE IF NOT EXISTS raters (
    rater TEXT PRIMARY KEY,
    kind TEXT NOT NULL DEFAULT 'human',      -- human | simulated | imported
    seed INTEGER,                            -- seeds the order this rater sees
    created TEXT NOT NULL,
    info TEXT NOT NULL DEFAULT '{}'          -- JSON: user agent, import source, simulation parameters
);
CREATE TABLE IF NOT EXISTS ratings (
    rater TEXT NOT NULL,
    trial TEXT NOT NULL,
    condition TEXT NOT NULL,
    score INTEGER NOT NULL CHECK (score BETWEEN 0 AND 100),
    position INTEGER,                        -- where the condition was shown (0 = first slider)
    time TEXT NOT NULL,                      -- UTC, ISO 8601, of the submission
    PRIMARY KEY (rater, trial, condition)
);
"""
COLUMNS = ["rater", "trial", "condition", "score", "position", "time"]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class RatingStore:
    """The ratings database of one test folder (``TEST/ratings.sqlite``)."""

    def __init__(self, path: Path, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as con, con:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        con.execute("PRAGMA synchronous=FULL")
        con.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
        return con

    def add_rater(self, rater: str, *, kind: str = "human", seed: int | None = None,
                  info: Mapping | None = None) -> None:
        """Register a rater once; later calls keep the first record (so a resumed rater keeps its order)."""
        with closing(self._connect()) as con:
            con.execute("INSERT OR IGNORE INTO raters(rater, kind, seed, created, info) VALUES (?,?,?,?,?)",
                        (rater, kind, seed, _now(), json.dumps(dict(info or {}), sort_keys=True)))

    def rater(self, rater: str) -> dict | None:
        with closing(self._connect()) as con:
            row = con.execute("SELECT rater, kind, seed, created, info FROM raters WHERE rater=?", (rater,)).fetchone()
        if row is None:
            return None
        return {"rater": row[0], "kind": row[1], "seed": row[2], "created": row[3], "info": json.loads(row[4])}

    def submit(self, rater: str, trial: str, scores: Mapping[str, int], positions: Mapping[str, int] | None = None,
               *, time: str | None = None) -> None:
        """Store one trial's scores in one transaction; a resubmission replaces the earlier scores."""
        positions = positions or {}
        for cond, score in scores.items():
            if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 100:
                raise ValueError(f"score for {cond!r} must be an integer 0-100, got {score!r}")
        stamp = time or _now()
        with closing(self._connect()) as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                con.executemany(
                    "INSERT INTO ratings(rater, trial, condition, score, position, time) VALUES (?,?,?,?,?,?) "
                    "ON CONFLICT(rater, trial, condition) DO UPDATE SET score=excluded.score, "
                    "position=excluded.position, time=excluded.time",
                    [(rater, trial, c, int(s), positions.get(c), stamp) for c, s in scores.items()])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def done_trials(self, rater: str) -> set[str]:
        with closing(self._connect()) as con:
            return {r[0] for r in con.execute("SELECT DISTINCT trial FROM ratings WHERE rater=?", (rater,))}

    def rater_scores(self, rater: str) -> dict[str, dict[str, int]]:
        """One rater's scores as ``{trial: {condition: score}}`` (what a resumed session restores)."""
        out: dict[str, dict[str, int]] = {}
        with closing(self._connect()) as con:
            for trial, cond, score in con.execute("SELECT trial, condition, score FROM ratings WHERE rater=?", (rater,)):
                out.setdefault(trial, {})[cond] = score
        return out

    def ratings(self) -> pd.DataFrame:
        """Every rating, ordered by rater, trial, condition (columns: COLUMNS)."""
        with closing(self._connect()) as con:
            rows = con.execute(f"SELECT {', '.join(COLUMNS)} FROM ratings ORDER BY rater, trial, condition").fetchall()
        return pd.DataFrame(rows, columns=COLUMNS)

    def raters(self) -> pd.DataFrame:
        with closing(self._connect()) as con:
            rows = con.execute("SELECT rater, kind, seed, created, info FROM raters ORDER BY rater").fetchall()
        return pd.DataFrame(rows, columns=["rater", "kind", "seed", "created", "info"])
