"""Where units run: an executor takes units and yields each one's outcome, in any order.

The runner only needs ``Executor.run(units) -> iterator of (unit, outcome)``; it appends each
outcome to the run directory as it arrives, so an executor never touches files. A unit holds one
item or a batch of items (``--batch N``); its outcome is one result per item, or one ``Failed``
for the whole unit, and the runner splits a failed batch and runs its items again one by one, so
that an item that crashes its worker costs only its own rows. Executors are registered by name
(``@register_executor("local")``) so another backend is one new class behind the same interface;
``ray`` (bench/pipeline/ray_executor.py) is registered lazily, so that importing codecbench never
imports Ray.

Why not ``concurrent.futures.ProcessPoolExecutor``: a native crash (segfault in a codec library,
an OOM kill) breaks the whole pool, and a hung task cannot be cancelled once it runs. The local
executor therefore keeps its own worker processes (spawn context, one per slot, one unit at a
time) and a watchdog: a worker that dies is replaced and its unit retried once in the fresh
worker; a unit past its deadline has its worker killed and is recorded as timed out. Either way
the outcome is a :class:`Failed` that the runner turns into counted rows, and the run goes on.
"""

from __future__ import annotations

import importlib
import inspect
import os
import signal
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing import get_context
from multiprocessing.connection import wait
from typing import Any, Callable, Iterable, Iterator, Protocol, TypeVar

from bench import procenv
from bench.errors import AudioError, BenchError
from bench.registry import Registry
from bench.pipeline.mainguard import BOOTSTRAP_EXIT, MainGuardError
from bench.pipeline.unit import UnitResult, WorkUnit, process_unit
from bench.suites.items import Item

#: default per-unit time limit: generous, so only a unit that truly hangs is cut off. The constant
#: covers a worker's first unit, which loads models and compiles numba kernels (~20-60 s here).
TIMEOUT_PER_AUDIO_SECOND = 20.0
TIMEOUT_CONSTANT_S = 300.0


@dataclass(frozen=True)
class Unit:
    """Items (one, or a batch of one codec setting) to code and score, with the :class:`WorkUnit`
    (everything else a worker needs) they share."""

    work: WorkUnit
    items: tuple[Item, ...]
    #: "" for a whole unit; "code" or "metric:NAME" for the parts a crashed one-item unit is run
    #: again as (see ``bench.pipeline.runner._execute``)
    part: str = ""

    @property
    def key(self) -> tuple[tuple[str, ...], str]:
        """(item ids, codec label): what the unit covers in the run directory."""
        return (tuple(item.id for item in self.items), self.work.setting.label)

    def describe(self) -> str:
        return f"{', '.join(item.id for item in self.items)} with {self.work.setting.label}"

    def deadline_s(self) -> float | None:
        """Seconds this unit may take: the run's ``timeout`` per item if set (0 or less: no
        limit), else 20 x the items' duration + 300 s (the constant once: a worker loads its
        models once per unit at most)."""
        timeout = self.work.options.timeout
        if timeout is not None:
            return timeout * len(self.items) if timeout > 0 else None
        return TIMEOUT_PER_AUDIO_SECOND * sum(_seconds_or_zero(item) for item in self.items) + TIMEOUT_CONSTANT_S

    def split(self) -> list[Unit]:
        """One unit per item: how a batch whose worker crashed or timed out is run again."""
        return [Unit(self.work, (item,)) for item in self.items]


def _seconds_or_zero(item: Item) -> float:
    # an unreadable file counts 0 s here: its unit fails fast on reading it, with its own reason in
    # the row, so it needs no time of its own and must not stop the unit from being handed out
    try:
        return item.seconds()
    except AudioError:
        return 0.0


@dataclass(frozen=True)
class Failed:
    """A unit that produced no result of its own (worker crashed or timed out)."""

    reason: str


#: a one-item unit whose worker dies is tried this many times in total (each time in another
#: worker); a batch only once, because the runner then tries its items one by one
CRASH_ATTEMPTS = 2


def retry_or_fail(queue: deque[tuple[Unit, int]], unit: Unit, attempt: int, how: str) -> Failed | None:
    """A unit whose worker died (``how``: signal, exit code, the backend's error) goes back to
    the front of ``queue`` for another worker, or, on its last attempt, fails with the reason
    every executor records for it."""
    attempts = CRASH_ATTEMPTS if len(unit.items) == 1 else 1
    if attempt < attempts:
        queue.appendleft((unit, attempt + 1))
        return None
    again = " (also in a fresh worker; not retried again)" if attempts > 1 else ""
    return Failed(f"worker crashed: {how} while coding/scoring {unit.describe()}{again}")


def timed_out(unit: Unit) -> Failed:
    """The reason for a unit cut off at :meth:`Unit.deadline_s` (its worker is killed)."""
    return Failed(f"timed out: coding/scoring {unit.describe()} took longer than {unit.deadline_s():g} s; "
                  "worker killed")


class Executor(Protocol):
    """Runs units; yields ``(unit, list[UnitResult] | Failed)`` exactly once per unit, in
    completion order: the list holds one result per ``unit.items``, from
    ``process_unit(unit.work, unit.items)``.

    A new backend implements this, registers with ``@register_executor(name)`` and is constructed
    as ``cls(jobs=N or None, **options)`` (options: its own keyword arguments, e.g. Ray's
    ``address``). It must call :func:`init_worker` and :func:`import_plugins`
    (``unit.work.options.plugins``) wherever :func:`process_unit` runs, and report a unit lost to
    its worker as ``Failed(reason)`` (:func:`retry_or_fail`, :func:`timed_out`) instead of raising.
    ``info()`` is what the run manifest records about where the units ran.
    """

    def run(self, units: Iterable[Unit]) -> Iterator[tuple[Unit, list[UnitResult] | Failed]]: ...

    def info(self) -> dict[str, Any]: ...


#: executors whose module imports an optional package when used (ray) register on first look-up
_EXECUTORS: Registry[Callable[..., Executor]] = Registry("executor", lazy={"ray": "bench.pipeline.ray_executor"})
E = TypeVar("E")


def register_executor(name: str):
    """Class decorator: make an executor selectable by name; constructed as ``cls(jobs=N, **options)``."""
    return _EXECUTORS.register(name)


def executor_class(name: str) -> Callable[..., Executor]:
    return _EXECUTORS.get(name)


def create_executor(name: str, *, jobs: int | None, **options: Any) -> Executor:
    """``jobs``: how many units at once (None: the executor's default). ``options`` not given are
    None; one the executor does not take (``address`` for ``local``) is an error, not ignored."""
    cls = executor_class(name)
    given = {key: value for key, value in options.items() if value is not None}
    takes = inspect.signature(cls).parameters
    for key in given:
        if key not in takes:
            users = sorted(n for n in _EXECUTORS.names() if key in inspect.signature(executor_class(n)).parameters)
            raise BenchError(f"executor {name!r} takes no {key!r} option (--{key} is for --executor "
                             f"{' or '.join(users) or '(none)'})")
    return cls(jobs=jobs, **given)


def init_worker() -> None:
    """Each worker is single-threaded: parallelism is across items, not inside one. (torch's and
    CTranslate2's pools otherwise fight over the cores: GE2E went from 0.15 s to 8 s per clip.)"""
    procenv.set_default("OMP_NUM_THREADS", "1")
    procenv.set_default("NUMBA_NUM_THREADS", "1")  # ViSQOL's numba kernels: no oversubscription
    # numpy's BLAS started its thread pool when this process imported numpy (before this ran), so
    # the variables above come too late for it: limit it now, or 2 workers run 2 BLAS threads each.
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover - torch is a hard dependency
        pass


def import_plugins(modules: Iterable[str]) -> None:
    """Import modules that register extra codecs/metrics/loaders (the run's ``plugins`` option),
    in the parent and in every worker, so both see the same registries."""
    for name in modules:
        importlib.import_module(name)


@register_executor("inline")
class InlineExecutor:
    """Units one after another in this process: no isolation (a segfault ends the run, a hang
    hangs it). For debugging with pdb or profilers; ``local`` is the default."""

    def __init__(self, jobs: int | None = 1) -> None:
        self.jobs = 1

    def run(self, units: Iterable[Unit]) -> Iterator[tuple[Unit, list[UnitResult] | Failed]]:
        init_worker()
        for unit in units:
            import_plugins(unit.work.options.plugins)
            yield unit, process_unit(unit.work, unit.items)

    def info(self) -> dict[str, Any]:
        return {"in_process": True}


def _worker_main(conn, plugins: tuple[str, ...], env: tuple[tuple[str, str], ...] = ()) -> None:
    """Worker loop: receive ``(work key, work unit or None, items)``, send back the unit's results;
    ``None`` means stop. A work unit (which holds the suite's whole item list) crosses the pipe once
    per worker, not once per unit. ``env``: the run's ``worker_env``, set before anything loads."""
    procenv.apply(dict(env))
    init_worker()
    import_plugins(plugins)
    held: dict[int, WorkUnit] = {}
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        key, work, items = task
        if work is not None:
            held[key] = work
        conn.send("started")  # the deadline counts from here, not from the worker's start-up
        conn.send(process_unit(held[key], items))


@dataclass
class _Slot:
    #: None after its worker died or was killed, until there is work for a fresh one
    process: Any
    conn: Any
    unit: Unit | None = None
    attempt: int = 0
    deadline: float | None = None
    #: ids of the work units this worker already holds
    held: set[int] = field(default_factory=set)


def _signal_name(code: int | None) -> str:
    if code is None:
        return "no exit code"
    if code < 0:
        try:
            return f"signal {-code} ({signal.Signals(-code).name})"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


@register_executor("local")
class LocalExecutor:
    """``jobs`` worker processes on this machine, each running one unit at a time.

    Also used for ``--jobs 1``: the unit runs in one child process, so a crash in a codec or
    metric library costs that unit, not the run. Results are the same as in-process because the
    worker sees the same units in the same order with the same thread settings.
    """

    def __init__(self, jobs: int | None = 1) -> None:
        """``jobs``: worker processes (None: one per core)."""
        self.jobs = max(1, int(jobs or os.cpu_count() or 1))
        self._ctx = get_context("spawn")

    def info(self) -> dict[str, Any]:
        return {"workers": self.jobs}

    def _start(self, plugins: tuple[str, ...], env: tuple[tuple[str, str], ...] = ()) -> _Slot:
        parent, child = self._ctx.Pipe(duplex=True)
        proc = self._ctx.Process(target=_worker_main, args=(child, plugins, env), daemon=True)
        proc.start()
        child.close()
        return _Slot(proc, parent)

    @staticmethod
    def _stop(slot: _Slot, kill: bool = False) -> None:
        if kill and slot.process.is_alive():
            slot.process.kill()
        slot.process.join(timeout=5)
        if slot.process.is_alive():  # pragma: no cover - a worker ignoring SIGTERM
            slot.process.kill()
            slot.process.join()
        slot.conn.close()

    def run(self, units: Iterable[Unit]) -> Iterator[tuple[Unit, list[UnitResult] | Failed]]:
        queue: deque[tuple[Unit, int]] = deque((u, 1) for u in units)
        if not queue:
            return
        plugins, env = queue[0][0].work.options.plugins, queue[0][0].work.options.worker_env
        import_plugins(plugins)
        slots = [self._start(plugins, env) for _ in range(min(self.jobs, len(queue)))]
        try:
            while queue or any(s.unit is not None for s in slots):
                for i, slot in enumerate(slots):  # hand out work, retries first (they sit at the left)
                    if slot.unit is None and queue:
                        if slot.process is None:
                            slots[i] = slot = self._start(plugins, env)
                        unit, attempt = queue.popleft()
                        slot.unit, slot.attempt, slot.deadline = unit, attempt, None
                        try:
                            key = id(unit.work)  # the runner shares one work unit per codec setting
                            slot.conn.send((key, None if key in slot.held else unit.work, unit.items))
                            slot.held.add(key)
                        except (BrokenPipeError, OSError):
                            pass  # the worker died idle; found below as a crash and retried
                busy = [s for s in slots if s.unit is not None]
                deadlines = [s.deadline for s in busy if s.deadline is not None]
                timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
                ready = set(wait([s.conn for s in busy] + [s.process.sentinel for s in busy], timeout))
                for i, slot in enumerate(slots):
                    if slot.unit is None:
                        continue
                    unit, outcome = slot.unit, None
                    if slot.conn in ready or slot.process.sentinel in ready:
                        try:
                            outcome = slot.conn.recv()
                            if outcome == "started":
                                limit = unit.deadline_s()
                                slot.deadline = None if limit is None else time.monotonic() + limit
                                continue
                        except (EOFError, OSError):  # died mid-unit: segfault, abort, OOM kill
                            slot.process.join(timeout=5)
                            if slot.process.exitcode == BOOTSTRAP_EXIT:  # not the unit's fault: stop the run
                                raise MainGuardError(str(getattr(sys.modules.get("__main__"), "__file__", "__main__")))
                            slots[i] = self._retire(slot)
                            outcome = retry_or_fail(queue, unit, slot.attempt, _signal_name(slot.process.exitcode))
                            if outcome is None:
                                continue
                    elif slot.deadline is not None and time.monotonic() >= slot.deadline:
                        outcome = timed_out(unit)
                        slots[i] = self._retire(slot, kill=True)
                    if outcome is None:
                        continue
                    slots[i].unit = None
                    yield unit, outcome
        finally:
            live = [slot for slot in slots if slot.process is not None]
            for slot in live:
                try:
                    slot.conn.send(None)
                except (BrokenPipeError, OSError):
                    pass
            for slot in live:
                self._stop(slot, kill=slot.unit is not None)

    def _retire(self, slot: _Slot, kill: bool = False) -> _Slot:
        """Stop a worker that died or hung. Its slot gets a fresh worker when there is work for it:
        one started now would cost a start-up (and a wait for it to exit) when the run is ending."""
        self._stop(slot, kill=kill)
        return _Slot(None, None)
