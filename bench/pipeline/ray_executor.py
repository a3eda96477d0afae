"""Units as Ray tasks: ``bench run --executor ray [--address auto|HOST:PORT]``.

The same units, outcomes and failure semantics as the ``local`` executor, on a Ray instance that
this process starts (no address: ``--jobs`` CPUs on this machine) or on a running cluster
(``auto``: the one ``ray start`` started on this machine; ``HOST:PORT``: its GCS address). The
driver (this process) appends each result to the run directory as its task completes (the runner
does), so a run whose driver is killed resumes exactly as a local one does.

How the local executor's mechanisms map onto Ray:

* a work unit (which holds the suite's whole item list) goes into the object store once per codec
  setting (``ray.put``); each task carries its item and the work unit's reference;
* at most ``in_flight`` tasks are submitted at a time (:attr:`RayExecutor.tasks_per_cpu` per CPU,
  so a CPU that finishes a unit finds the next one queued), which keeps the driver's and the
  object store's memory bounded on a suite of any size;
* a task is a streaming generator that first yields the host it runs on: its deadline counts
  from then, as the local executor's counts from its worker's "started", not from submission
  (a submitted task may wait for a CPU);
* Ray's own retries are off: a task whose worker died (segfault, OOM kill, lost node) is
  resubmitted once by the driver, then recorded as crashed; one past its deadline is cancelled
  with ``force=True``, which kills its worker. The reasons are the local executor's
  (:func:`~bench.pipeline.executors.retry_or_fail`, :func:`~bench.pipeline.executors.timed_out`).

Ray reuses a worker process for the tasks of a run, so codec and metric models load once per
worker, as in the local pool. Workers see the paths of the driver: item paths are absolute, the
run directory receives tokens, saved audio and speaker embeddings from the workers, and plugins
are imported from the folders the driver imported them from. On a cluster all of these must
therefore be at the same path on every node (a shared filesystem); a worker that cannot read an
item records the usual failed rows with the host named.

``ray://`` addresses (Ray Client) are refused: Ray Client needs ``ray[client]`` and does not
stream generator tasks, which the deadline needs. Run the driver on a cluster node instead
(``ray job submit -- bench run ... --executor ray --address auto``).
"""

from __future__ import annotations

import importlib
import os
import socket
import sys
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from bench import procenv
from bench.config import RunConfig
from bench.errors import BenchError, UnavailableError
from bench.pipeline.executors import (Failed, Unit, import_plugins, init_worker, register_executor, retry_or_fail,
                                      timed_out)
from bench.pipeline.unit import UnitResult, WorkUnit, failed_unit, process_unit
from bench.suites.items import Item

INSTALL_HINT = "pip install 'codecbench[ray]'"
#: what a cluster needs of its nodes; said wherever a node lacks it
SHARED_PATHS = ("every Ray node must see the suite's audio and the run directory at the driver's paths "
                "(a shared filesystem)")
#: seconds to wait for a HOST:PORT address to accept a connection before calling it unreachable
CONNECT_TIMEOUT_S = 5.0


def import_ray():
    """Ray, or an error that says which extra to install (it is optional)."""
    try:
        import ray
    except ImportError as exc:
        raise UnavailableError(f"--executor ray needs Ray, an optional dependency: {INSTALL_HINT}") from exc
    return ray


def forwarded_env(config: RunConfig) -> dict[str, str]:
    """What a Ray worker's environment must hold, derived from the run's config (CTranslate2's
    kernel pins, the hub's offline switch, the config's ``worker_env``): a Ray worker starts with
    its node's environment, so these travel in the job's ``runtime_env``. Everything else a worker
    needs (device, weights policy, ASR and speaker models) is in the config inside each unit."""
    return config.runtime_env()


def plugin_roots(plugins: Iterable[str]) -> tuple[str, ...]:
    """Folders the driver imported ``plugins`` from. A spawned local worker inherits the driver's
    ``sys.path``; a Ray worker has its node's, so it appends these to import the same modules."""
    roots = []
    for name in plugins:
        file = importlib.import_module(name).__file__
        if file:  # a namespace package has none; it must then be importable on the nodes as is
            path = Path(file).resolve()
            roots.append(str(path.parents[name.count(".") + (path.name == "__init__.py")]))
    return tuple(dict.fromkeys(roots))


_worker_ready = False


def _unit_task(work: WorkUnit, items: tuple[Item, ...], roots: tuple[str, ...]) -> Iterator[str | list[UnitResult]]:
    """Runs in a Ray worker: yields where it runs (the unit's deadline starts), then one result per item."""
    global _worker_ready
    import ray

    if not _worker_ready:
        init_worker()
        _worker_ready = True
    sys.path.extend(r for r in roots if r not in sys.path)
    import_plugins(work.options.plugins)
    where = f"host {socket.gethostname()}, Ray node {ray.util.get_node_ip_address()}"
    yield where
    yield _process(work, items, where)


def _process(work: WorkUnit, items: tuple[Item, ...], where: str) -> list[UnitResult]:
    """:func:`process_unit`, with the host named when this node lacks the driver's paths."""
    run_dir = work.context.run_dir
    if run_dir is not None and not Path(run_dir).is_dir():
        return [failed_unit(work, item, f"{run_dir}: run directory not found on {where}; {SHARED_PATHS}")
                for item in items]
    results = process_unit(work, items)
    for i, (item, (_, record)) in enumerate(zip(items, results)):
        if record["error"] is not None and not os.access(item.path, os.R_OK):
            results[i] = failed_unit(work, item, f"{record['error']} (on {where}; {SHARED_PATHS})")
    return results


def _cause(cause: BaseException, where: str | None) -> str:
    """What killed a task, for the crash reason: Ray's error (worker died, node lost, OOM) or the
    Python error raised outside :func:`process_unit` (e.g. a plugin that does not import)."""
    first = (str(cause).strip().splitlines() or [""])[0][:200]
    how = f"{type(cause).__name__} ({first})" if first else type(cause).__name__
    return f"{how} on {where}" if where else how


@dataclass
class _Task:
    unit: Unit
    attempt: int
    #: where it runs, once it has started; its deadline counts from then
    where: str | None = None
    deadline: float | None = None


@register_executor("ray")
class RayExecutor:
    """Units as Ray tasks on a local instance (``address=None``) or a running cluster.

    ``jobs``: without an address, the CPUs of the local instance this starts (None: all cores);
    with one, the most tasks in flight (None: ``tasks_per_cpu`` per cluster CPU).
    """

    #: tasks in flight per CPU: enough that no CPU waits for the driver, few enough that memory
    #: stays bounded whatever the suite's size
    tasks_per_cpu = 2

    def __init__(self, jobs: int | None = None, address: str | None = None) -> None:
        if address is not None and address.startswith("ray://"):
            raise BenchError(f"--address {address}: Ray Client (ray://) cannot stream a task's start, which the "
                             "per-unit deadline needs; run bench on a cluster node (e.g. `ray job submit -- bench "
                             "run ... --executor ray --address auto`)")
        self.ray = import_ray()  # a missing Ray fails here, before any work
        self.jobs = jobs
        self.address = address
        self._info: dict[str, Any] = {"ray": self.ray.__version__, "address": address or "local instance"}

    def info(self) -> dict[str, Any]:
        """Ray's version, the address, and (once connected) the cluster's nodes and resources."""
        return dict(self._info)

    def run(self, units: Iterable[Unit]) -> Iterator[tuple[Unit, list[UnitResult] | Failed]]:
        queue: deque[tuple[Unit, int]] = deque((u, 1) for u in units)
        if not queue:
            return
        ray = self.ray
        owned = self._connect(queue[0][0].work.options)
        tasks: dict[Any, _Task] = {}
        try:
            in_flight = self._describe_cluster(owned)
            remote = ray.remote(num_cpus=1, max_retries=0)(_unit_task)
            roots = plugin_roots(queue[0][0].work.options.plugins)
            stored: dict[int, Any] = {}
            while queue or tasks:
                while queue and len(tasks) < in_flight:
                    unit, attempt = queue.popleft()
                    if id(unit.work) not in stored:  # the runner shares one work unit per codec setting
                        stored[id(unit.work)] = ray.put(unit.work)
                    tasks[remote.remote(stored[id(unit.work)], unit.items, roots)] = _Task(unit, attempt)
                deadlines = [t.deadline for t in tasks.values() if t.deadline is not None]
                timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
                ready, _ = ray.wait(list(tasks), num_returns=1, timeout=timeout)
                for gen in ready:
                    task = tasks[gen]
                    try:
                        value = ray.get(next(gen))
                    except ray.exceptions.RayError as exc:
                        del tasks[gen]
                        cause = exc.cause if isinstance(exc, ray.exceptions.RayTaskError) else exc
                        outcome = retry_or_fail(queue, task.unit, task.attempt, _cause(cause, task.where))
                        if outcome is not None:
                            yield task.unit, outcome
                        continue
                    if task.where is None:
                        task.where = value
                        limit = task.unit.deadline_s()
                        task.deadline = None if limit is None else time.monotonic() + limit
                        continue
                    del tasks[gen]
                    yield task.unit, value
                now = time.monotonic()
                for gen, task in list(tasks.items()):
                    if task.deadline is not None and now >= task.deadline:
                        ray.cancel(gen, force=True)
                        del tasks[gen]
                        yield task.unit, timed_out(task.unit)
        finally:
            for gen in tasks:  # the caller stopped early (Ctrl-C): nothing may keep running
                ray.cancel(gen, force=True)
            if owned:
                ray.shutdown()  # a local instance stops; a cluster only loses this driver

    def _connect(self, config: RunConfig) -> bool:
        """Start or join Ray; True when this call did (and must shut down what it started). A
        session the caller opened already (``ray.init`` in a notebook) is used as it is."""
        ray = self.ray
        if ray.is_initialized():
            return False
        procenv.set_default("RAY_USAGE_STATS_ENABLED", "0")
        common = {"runtime_env": {"env_vars": forwarded_env(config)}, "logging_level": "warning"}
        t0 = time.perf_counter()
        if self.address is None:
            # "local": never join a cluster that `ray start` left running on this machine
            ray.init("local", num_cpus=self.jobs or os.cpu_count() or 1, include_dashboard=False, **common)
        else:
            self._check_reachable()
            try:
                ray.init(self.address, **common)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise BenchError(f"--address {self.address}: cannot connect to a Ray cluster ({exc}). Start one "
                                 "with `ray start --head` (it prints the address), or leave out --address for a "
                                 "local instance; with token authentication (Ray's default), an explicit address "
                                 "also needs RAY_AUTH_MODE=token and the cluster's ~/.ray/auth_token") from exc
        self._info["connect_s"] = round(time.perf_counter() - t0, 3)
        return True

    def _check_reachable(self) -> None:
        """A ``HOST:PORT`` that accepts no connection fails in seconds (``ray.init`` retries for
        minutes)."""
        host, _, port = self.address.rpartition(":")
        if not host or not port.isdigit():
            return  # "auto", or a form Ray itself will judge
        try:
            socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
        except OSError as exc:
            raise BenchError(f"--address {self.address}: no Ray cluster reachable there ({exc}); start one with "
                             "`ray start --head`, or leave out --address for a local instance") from exc

    def _describe_cluster(self, owned: bool) -> int:
        """Record nodes and resources for the manifest; return the in-flight limit."""
        ray = self.ray
        resources = ray.cluster_resources()
        cpus = int(resources.get("CPU", 0))
        in_flight = (self.jobs if self.jobs and (self.address is not None or not owned)
                     else self.tasks_per_cpu * max(1, cpus))
        self._info.update(nodes=sum(1 for n in ray.nodes() if n.get("Alive")), in_flight=in_flight,
                          resources={k: resources[k] for k in ("CPU", "GPU", "memory", "object_store_memory")
                                     if k in resources})
        return in_flight
