"""Items x codec settings -> rows in a run directory, in parallel, resumable.

Original-side work belongs to the suite: metrics get a per-suite cache directory (keyed by the
suite's content hash) so e.g. transcripts of the originals are made once for every codec run.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pandas as pd

from bench.adapters import adapter_class, create_codec, parse_setting
from bench.errors import BenchError
from bench.metrics import MetricContext, metric_class, resolve_metrics
from bench.pipeline.provenance import environment, git_state
from bench.pipeline.rundir import RunDir
from bench.pipeline.unit import UnitSpec, process_unit
from bench.reporting.tables import SET_ITEM, summarize, summary_markdown
from bench.suites import REPO_ROOT, Suite, load_suite, select_items
from bench.suites.selection import Selection, ids_digest

RUNS_DIR = REPO_ROOT / "reports" / "runs"
CACHE_DIR = Path(os.environ.get("BENCH_CACHE", REPO_ROOT / "reports" / "cache"))


@dataclass
class RunResult:
    path: Path
    rows: pd.DataFrame
    summary: pd.DataFrame
    n_units: int
    n_skipped: int

    @property
    def markdown(self) -> str:
        return summary_markdown(self.summary)


def _split(values: list[str] | str | None) -> list[str]:
    if values is None:
        return []
    values = [values] if isinstance(values, str) else values
    return [v.strip() for part in values for v in part.split(",") if v.strip()]


def run_id(suite: Suite, suite_hash: str, codecs: list[str], metrics: list[str], limit: int | None,
           selection: Selection | None = None) -> str:
    """Same command -> same directory, which is what makes a re-run resume."""
    picked = limit if selection is None or selection == Selection(limit=limit) else selection.as_dict()
    key = json.dumps([suite_hash, codecs, sorted(metrics), picked])
    return f"{suite.name}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def _init_worker() -> None:
    """Each worker is single-threaded: parallelism is across items, not inside one."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # ViSQOL's numba kernels: no oversubscription
    # numpy's BLAS started its thread pool when this process imported numpy (before this ran), so
    # the variables above come too late for it: limit it now, or 2 workers run 2 BLAS threads each.
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover - torch is a hard dependency
        pass


def run(codecs: list[str] | str, suite: str, metrics: list[str] | str | None = None, *,
        out: Path | None = None, limit: int | None = None, jobs: int | None = None,
        progress: bool = True, selection: Selection | None = None, allow_untrained: bool = False) -> RunResult:
    """``allow_untrained``: run codecs with random-init weights (refused otherwise); every row,
    summary and table of such a codec is then labelled untrained."""
    from bench.adapters.neural import allow_untrained as _allow_untrained

    with _allow_untrained(allow_untrained):
        return _run(codecs, suite, metrics, out=out, limit=limit, jobs=jobs, progress=progress, selection=selection)


def _run(codecs, suite, metrics, *, out, limit, jobs, progress, selection) -> RunResult:
    codec_specs = _split(codecs)
    if not codec_specs:
        raise BenchError("no codec given (e.g. --codec opus@6,codec2@3.2)")
    settings = [parse_setting(c) for c in codec_specs]  # unknown names/bitrates fail here, up front
    for s in settings:
        reason = adapter_class(s.card.adapter).availability(s.card)
        if reason:
            raise BenchError(f"codec {s.label!r} is unavailable here: {reason}")
    labels = [s.label for s in settings]

    the_suite = load_suite(suite)
    if selection is not None and limit is not None and selection.limit is None:
        selection = Selection(**{**selection.__dict__, "limit": limit})
    items = select_items(the_suite.items, selection if selection is not None else limit)
    if not items:
        raise BenchError(f"suite {the_suite.name!r}: the selection ({selection.describe() if selection else limit}) leaves no items")
    metric_classes = resolve_metrics(_split(metrics) or None, the_suite.fields)
    for cls in metric_classes:
        missing = cls.requires - the_suite.fields
        if missing:
            raise BenchError(f"metric {cls.name!r} needs item field(s) {sorted(missing)} that suite {the_suite.name!r} lacks")
        reason = cls.availability()
        if reason:
            raise BenchError(f"metric {cls.name!r} is unavailable here: {reason}")
    metric_names = [cls.name for cls in metric_classes]

    suite_hash = the_suite.content_hash()
    path = Path(out) if out else RUNS_DIR / run_id(the_suite, suite_hash, labels, metric_names, limit, selection)
    rundir = RunDir(path)
    rundir.create()
    ctx = MetricContext(suite=the_suite.name, suite_hash=suite_hash,
                        cache_dir=CACHE_DIR / f"{the_suite.name}-{suite_hash[:12]}", run_dir=path, items=items,
                        suite_spec=the_suite.spec, suite_source=the_suite.source)
    ctx.cache_dir.mkdir(parents=True, exist_ok=True)

    previous = rundir.read_manifest()
    manifest = _manifest(the_suite, suite_hash, items, limit, settings, metric_classes, ctx, previous)
    _check_same_weights(previous, manifest, path)
    if selection is not None:  # recorded so a CI gate can prove it compared the same items
        manifest["suite"].update(selection=selection.as_dict(), subset=selection.describe())
    manifest["suite"]["item_ids_sha256"] = ids_digest(items)
    rundir.write_manifest(manifest)

    from bench.metrics import Score  # noqa: F401  (ensures registry import in this process)

    done = rundir.done_units(["kbps", *metric_names])
    todo = [(s.label, it) for s in settings for it in items if (it.id, s.label) not in done]
    spec_for = {s.label: UnitSpec(the_suite.name, s.label, metric_names, ctx, the_suite.policy) for s in settings}
    _execute(todo, spec_for, rundir, jobs or os.cpu_count() or 1, progress)

    rows = rundir.rows()
    rows = rows[rows["label"].isin(labels) & rows["item"].isin({it.id for it in items} | {SET_ITEM})]
    set_rows = _finalize(metric_names, ctx, rows, labels)
    if set_rows:
        rundir.append(set_rows, {"item": SET_ITEM, "label": "*", "error": None})
        rows = pd.concat([rows[rows["item"] != SET_ITEM], pd.DataFrame(set_rows)], ignore_index=True)
    summary = summarize(rows, order=labels)
    manifest["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    rundir.write_manifest(manifest)
    _write_outputs(rundir, rows, summary, manifest)
    return RunResult(path, rows, summary, len(settings) * len(items), len(settings) * len(items) - len(todo))


def _finalize(metric_names: list[str], ctx: MetricContext, rows: pd.DataFrame, labels: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name in metric_names:
        metric = metric_class(name)(ctx)
        for label in labels:
            sub = rows[(rows["metric"] == name) & (rows["label"] == label) & (rows["item"] != SET_ITEM)]
            for r in metric.finalize(sub):
                first = sub.iloc[0] if len(sub) else None
                base = {"suite": ctx.suite, "item": SET_ITEM, "label": label,
                        "codec": first["codec"] if first is not None else label.split("@")[0],
                        "setting": first["setting"] if first is not None else "", "weight": 1.0, "error": None}
                out.append({**base, **r})
    return out


def _execute(todo, spec_for, rundir: RunDir, jobs: int, progress: bool) -> None:
    from tqdm import tqdm

    bar = tqdm(total=len(todo), desc="items", unit="item", disable=not progress or not todo, file=sys.stderr)
    if jobs <= 1 or len(todo) <= 1:
        # Same threading as a worker: torch's and CTranslate2's pools otherwise fight over the
        # cores (GE2E went from 0.15 s to 8 s per clip in one process).
        _init_worker()
        for label, item in todo:
            rundir.append(*process_unit(spec_for[label], item))
            bar.update()
        bar.close()
        return
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"), initializer=_init_worker) as pool:
        # Bounded in-flight queue: results are appended as they come, so a crash loses little.
        pending = set()
        units: dict[Any, tuple[str, Any]] = {}
        it = iter(todo)
        for label, item in it:
            fut = pool.submit(process_unit, spec_for[label], item)
            units[fut] = (label, item)
            pending.add(fut)
            if len(pending) >= jobs * 4:
                break
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                try:
                    result = fut.result()
                except BrokenProcessPool as exc:
                    # A native crash (segfault, OOM kill) takes the worker down with no Python
                    # exception to record; what finished is on disk, so say how to go on.
                    bar.close()
                    inflight = sorted({units[f][1].id for f in pending | finished if f in units})
                    raise BenchError(
                        f"a worker process died ({exc}) while coding/scoring one of: {', '.join(inflight)}. "
                        f"Finished units are saved in {rundir.path}; re-run the same command to resume, "
                        "or run with --jobs 1 to see which item crashes it") from exc
                rundir.append(*result)
                bar.update()
            for label, item in it:
                fut = pool.submit(process_unit, spec_for[label], item)
                units[fut] = (label, item)
                pending.add(fut)
                if len(pending) >= jobs * 4:
                    break
    bar.close()


def _manifest(suite: Suite, suite_hash: str, items, limit, settings, metric_classes, ctx, previous) -> dict[str, Any]:
    metrics_info = {}
    for cls in metric_classes:
        metrics_info[cls.name] = cls(ctx).info()
    codecs = {}
    for s in settings:
        codec = create_codec(s)
        codecs[s.label] = {"card": s.card.as_dict(), "spec": codec.spec.as_dict(), "weights": codec.weights_info}
    manifest = {
        "tool": "codecbench",
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": sys.argv,
        "git": git_state(REPO_ROOT),
        "environment": environment(),
        "suite": {"name": suite.name, "source": suite.source, "hash": suite_hash,
                  "n_items_total": len(suite.items), "n_items": len(items), "limit": limit,
                  "subset": "sha1(id) order" if limit else "all", "policy": suite.policy.__dict__},
        "codecs": codecs,
        "metrics": metrics_info,
        "cache_dir": str(ctx.cache_dir),
    }
    if previous:
        manifest["resumed_from"] = {k: previous.get(k) for k in ("started", "git")}
    return manifest


def _check_same_weights(previous: dict[str, Any], manifest: dict[str, Any], path: Path) -> None:
    """Resuming must not mix rows made with other weights (e.g. untrained, then the real checkpoint)."""
    for label, now in manifest["codecs"].items():
        before = (previous.get("codecs") or {}).get(label)
        if not before:
            continue
        keys = ("status", "sha256")
        if any((before.get("weights") or {}).get(k) != (now.get("weights") or {}).get(k) for k in keys):
            raise BenchError(f"{path}: this run directory holds {label} results made with other weights "
                             f"({(before.get('weights') or {}).get('status')}, sha256 "
                             f"{(before.get('weights') or {}).get('sha256')}); pass a new --out directory")


def _write_outputs(rundir: RunDir, rows: pd.DataFrame, summary: pd.DataFrame, manifest: dict[str, Any]) -> None:
    from bench.reporting.render import render_markdown

    rows.to_csv(rundir.path / "rows.csv", index=False)
    items = rundir.items()
    if not items.empty:
        items.to_csv(rundir.path / "items.csv", index=False)
    summary.to_csv(rundir.path / "summary.csv", index=False)
    (rundir.path / "summary.md").write_text(render_markdown(summary, [manifest]) + "\n")
