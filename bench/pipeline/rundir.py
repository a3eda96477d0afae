"""The run directory: append-only while running, resumable, and self-describing.

Layout::

    RUN/rows.jsonl      one line per metric value, appended as units finish (the source of truth)
    RUN/items.jsonl     one line per (item, codec): alignment, lengths, timings, error, session
    RUN/rows.csv        the same rows, rewritten at the end for pandas/spreadsheets
    RUN/summary.csv     mean (weighted), n, n_failed per codec setting and metric
    RUN/summary.md      the table a person reads
    RUN/manifest.json   exactly how the numbers were made (``finished`` once the run completed)
    RUN/.lock           held (``flock``) by the one process writing the directory

Every unit's rows and then its record are appended and fsync'ed together, so a crash, a kill or
a full disk can cut at most the last line. Opening for append repairs that: a last line without
its newline is cut off and counted (its unit has no record yet, so it is redone); nothing is ever
appended onto a fragment. ``fcntl.flock`` rather than a pid file: the kernel drops the lock when
its holder dies (kill -9 included), so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import errno
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import pandas as pd

from bench.errors import BenchError
from bench.filenames import safe_name  # also what reporting imports from here

ROWS, ITEMS, MANIFEST, LOCK = "rows.jsonl", "items.jsonl", "manifest.json", ".lock"
AUDIO = "audio"
#: errors that mean "this directory cannot be written", not a bug: reported in one line
WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}


class RunDirError(BenchError):
    """The run directory cannot be used: not writable, disk full, or held by another process."""


def audio_path(run_dir: Path, label: str, item_id: str) -> Path:
    """Where ``bench run --save-audio`` keeps a reconstruction: RUN/audio/LABEL/ITEM.wav."""
    return Path(run_dir) / AUDIO / safe_name(label) / f"{safe_name(item_id)}.wav"


def _clean(obj: dict[str, Any]) -> dict[str, Any]:
    """JSON has no NaN: write null and read it back as NaN."""
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in obj.items()}


def write_error(path: Path, exc: OSError) -> RunDirError:
    """One line for a directory that cannot be written (full, read-only, no permission)."""
    what = {errno.ENOSPC: "disk full", errno.EDQUOT: "disk quota exceeded", errno.EROFS: "read-only file system",
            errno.EFBIG: "file too large"}.get(exc.errno, exc.strerror or str(exc))
    where = exc.filename or path
    return RunDirError(f"{path}: cannot write the run directory ({what}: {where}); fix that and rerun the same "
                       "command: it resumes where it stopped")


def atomic_write(path: Path, text: str) -> None:
    """Write a whole file or leave the old one: a crash or a full disk never leaves half a manifest."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


class RunDir:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.bad_lines: dict[str, int] = {}  # lines that are not JSON, per file, from the last read
        self._lock_fh = None
        self.session: int | None = None  # written into each unit's record while open for append

    def create(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise write_error(self.path, exc) from exc

    # --- writing ---------------------------------------------------------------------------------
    def open_for_append(self) -> dict[str, int]:
        """Create, lock and repair the directory; returns the torn lines cut off, per file."""
        self.create()
        self.lock()
        try:
            return self.repair()
        except OSError as exc:
            self.unlock()
            raise write_error(self.path, exc) from exc

    def lock(self) -> None:
        """Take RUN/.lock or refuse: two writers would compute every unit twice."""
        import fcntl

        path = self.path / LOCK
        try:
            fh = path.open("a+")
        except OSError as exc:
            raise write_error(self.path, exc) from exc
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                fh.close()
                raise write_error(self.path, exc) from exc
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise RunDirError(f"run directory {self.path} is being written by {holder}; wait for it to finish "
                              "or use another --out") from exc
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(f"process {os.getpid()} since {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n")
            fh.flush()
        except OSError:
            pass  # the lock is held; only its note could not be written (full disk)
        self._lock_fh = fh

    def unlock(self) -> None:
        if self._lock_fh is not None:
            self._lock_fh.close()  # closing drops the flock
            self._lock_fh = None

    def __enter__(self) -> RunDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.unlock()

    def repair(self) -> dict[str, int]:
        """Cut a last line that lacks its newline (a torn write) from rows.jsonl and items.jsonl."""
        cut: dict[str, int] = {}
        for name in (ROWS, ITEMS):
            path = self.path / name
            if not path.exists() or path.stat().st_size == 0:
                continue
            with path.open("rb+") as fh:
                size = fh.seek(0, os.SEEK_END)
                fh.seek(max(0, size - 1))
                if fh.read(1) == b"\n":
                    continue
                keep = _last_newline_end(fh, size)
                fh.truncate(keep)
                fh.flush()
                os.fsync(fh.fileno())
            cut[name] = 1
        return cut

    def append(self, rows: list[dict[str, Any]], record: dict[str, Any] | None) -> None:
        """Item rows first, then the record that marks the unit done (so a crash between the two
        leaves the unit unfinished and it is redone on resume); both reach the disk (fsync)
        before the next unit. A failed write is undone (truncated back), so the files hold whole
        units only; where even that fails, :meth:`repair` cuts the fragment on the next open.
        ``record`` None: rows of metrics added to a unit that is already done (its record stays)."""
        self._append(ROWS, "".join(json.dumps(_clean(r)) + "\n" for r in rows))
        if record is None:
            return
        if self.session is not None:
            record = {**record, "session": self.session}
        self._append(ITEMS, json.dumps(_clean(record)) + "\n")

    def _append(self, name: str, text: str) -> None:
        path = self.path / name
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise write_error(self.path, exc) from exc
        try:
            start = os.fstat(fd).st_size
            data = text.encode("utf-8")
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            except OSError as exc:
                try:
                    os.ftruncate(fd, start)
                except OSError:
                    pass
                raise write_error(self.path, exc) from exc
        finally:
            os.close(fd)

    # --- reading ---------------------------------------------------------------------------------
    def _read_jsonl(self, name: str) -> list[dict[str, Any]]:
        path = self.path / name
        self.bad_lines[name] = 0
        if not path.exists():
            return []
        out = []
        for line in path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                self.bad_lines[name] += 1  # a line cut by a crash: its unit has no record and is redone
        return out

    def done_units(self, metrics: list[str]) -> set[tuple[str, str]]:
        """(item, label) pairs whose record and every requested metric row are on disk."""
        need = set(metrics)
        return {k for k, have in self.metrics_done().items() if need <= have}

    def metrics_done(self) -> dict[tuple[str, str], set[str]]:
        """The metrics with a row on disk, per (item, label) pair that has its record (a unit that
        ran to its end); a metric added to the run later is missing from these sets."""
        records = {(r["item"], r["label"]) for r in self._read_jsonl(ITEMS)}
        have: dict[tuple[str, str], set[str]] = {k: set() for k in records}
        for r in self._read_jsonl(ROWS):
            key = (r["item"], r["label"])
            if key in have:
                have[key].add(r["metric"])
        return have

    def rows(self) -> pd.DataFrame:
        """Latest row per (item, label, metric): a resumed unit replaces its partial rows."""
        df = pd.DataFrame(self._read_jsonl(ROWS))
        if df.empty:
            return df
        df["value"] = pd.to_numeric(df["value"], errors="coerce")
        return df.drop_duplicates(["item", "label", "metric"], keep="last").reset_index(drop=True)

    def items(self) -> pd.DataFrame:
        df = pd.DataFrame(self._read_jsonl(ITEMS))
        return df if df.empty else df.drop_duplicates(["item", "label"], keep="last").reset_index(drop=True)

    def read_manifest(self) -> dict[str, Any]:
        """The manifest, {} when there is none; a damaged one is an error naming the file."""
        path = self.path / MANIFEST
        if not path.exists():
            return {}
        try:
            manifest = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BenchError(f"{path}: not valid JSON ({exc}); the run directory's manifest is damaged") from exc
        if not isinstance(manifest, dict):
            raise BenchError(f"{path}: expected a JSON object, got {type(manifest).__name__}")
        return manifest

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        try:
            atomic_write(self.path / MANIFEST, json.dumps(manifest, indent=2, default=str) + "\n")
        except OSError as exc:
            raise write_error(self.path, exc) from exc


def _last_newline_end(fh, size: int) -> int:
    """Offset just past the last b"\\n" in an open binary file (0 if none)."""
    pos, chunk = size, 1 << 16
    while pos > 0:
        start = max(0, pos - chunk)
        fh.seek(start)
        block = fh.read(pos - start)
        i = block.rfind(b"\n")
        if i >= 0:
            return start + i + 1
        pos = start
    return 0


def read_rows(path: Path | str) -> pd.DataFrame:
    """The rows of one run directory (latest per item, setting and metric), for every reader of
    runs (reports, cards, baselines, listening agreement); an error naming the directory when it
    holds none."""
    rows = RunDir(Path(path)).rows()
    if rows.empty:
        raise BenchError(f"{path}: no rows (not a run directory, or the run produced nothing)")
    return rows


def merged_rows(paths: list[Path]) -> pd.DataFrame:
    """The rows of several runs; a later run's row replaces an earlier one's (suite, item, label, metric)."""
    df = pd.concat([read_rows(p) for p in paths], ignore_index=True)
    return df.drop_duplicates(["suite", "item", "label", "metric"], keep="last")
