"""Items x codec settings -> rows in a run directory, in parallel, resumable.

Original-side work belongs to the suite: metrics get a per-suite cache directory (keyed by the
suite's content hash) so e.g. transcripts of the originals are made once for every codec run.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from bench.adapters import adapter_class, create_codec, parse_setting
from bench.config import RunConfig
from bench.devices import check_device, device_info
from bench.errors import AudioError, BenchError
from bench.metrics import ItemScore, MetricContext, metric_class, resolve_metrics
from bench.pipeline.align import ALIGN_MODES
from bench.pipeline.delay import SettingDelay, setting_delay
from bench.pipeline.mainguard import check_main_guard, exit_if_bootstrapping
from bench.pipeline.executors import Executor, Failed, Unit, create_executor, import_plugins
from bench.envvars import run_start_notes
from bench.pipeline.provenance import environment, git_state
from bench.filenames import safe_name
from bench.pipeline.rundir import WRITE_ERRNOS, RunDir, RunDirError, write_error
from bench.pipeline.unit import UnitResult, WorkUnit, failed_unit
from bench.rows import KBPS, SET_ITEM, summarize
from bench import resources
from bench.suites import Suite, load_suite, select_items
from bench.suites.items import Item
from bench.suites.selection import Selection, ids_digest

RUNS_DIR = resources.runs_dir()


def default_cache_dir() -> Path:
    """A run's ``cache_dir`` when its config names none: the locations' cache (CLI: ``$BENCH_CACHE``)
    or the per-user cache folder (:func:`bench.resources.cache_dir`)."""
    return resources.cache_dir()


@dataclass
class RunResult:
    path: Path
    rows: pd.DataFrame
    summary: pd.DataFrame
    n_units: int
    n_skipped: int


def split_names(values: list[str] | str | None) -> list[str]:
    """``["opus@6,codec2@3.2", "mp3@8"]`` -> ``["opus@6", "codec2@3.2", "mp3@8"]`` (CLI lists)."""
    if values is None:
        return []
    values = [values] if isinstance(values, str) else values
    return [v.strip() for part in values for v in part.split(",") if v.strip()]


def run_id(suite: Suite, suite_hash: str, codecs: list[str], metrics: list[str], limit: int | None,
           selection: Selection | None = None, options: RunConfig | None = None, align: str = "setting") -> str:
    """Same command -> same directory, which is what makes a re-run resume. A device, batch size or
    downstream model setting other than the default makes other numbers, so it gets its own
    directory; so does an alignment mode other than ``item``: ``item`` adds nothing to the key, so
    a directory whose manifest records no alignment mode (each item aligned by its own lag) keeps
    its name and resumes."""
    picked = limit if selection is None or selection == Selection(limit=limit) else selection.as_dict()
    parts: list[Any] = [suite_hash, codecs, sorted(metrics), picked]
    execution = _execution_key(options or RunConfig())
    if align != "item":
        execution["align"] = align
    if execution:
        parts.append(execution)
    key = json.dumps(parts)
    return f"{safe_name(suite.name)}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


#: run options that change values (not only where or how fast they are made); ``align`` has its own rule
VALUE_OPTIONS = ("device", "batch", "asr_model", "asr_compute_type", "cpu_kernels", "speaker_model")


def _execution_key(options: RunConfig) -> dict[str, Any]:
    """The run options that change values, where they differ from the default."""
    default = RunConfig()
    return {k: getattr(options, k) for k in VALUE_OPTIONS if getattr(options, k) != getattr(default, k)}


def run(codecs: list[str] | str, suite: str, metrics: list[str] | str | None = None,
        config: RunConfig | None = None, **options: Any) -> RunResult:
    """Code ``suite`` with each codec setting and score it with ``metrics`` (None: every default
    metric the suite's fields allow).

    ``config``: every other option (:class:`~bench.config.RunConfig`; None: its defaults, which
    read no environment variable); ``options``: RunConfig fields that replace the config's
    (``run(codecs, suite, limit=24, device="cuda")``). The whole config travels to the workers
    inside each unit and is stored in the run manifest (``config``). The report a person reads
    (RUN/summary.md) is rendered above the pipeline, by :func:`bench.api.run`.
    """
    config = (config or RunConfig()).replace(**options) if options else (config or RunConfig())
    exit_if_bootstrapping()  # a spawned worker re-running an unguarded script: quietly, see mainguard
    if config.executor == "local":
        check_main_guard()  # an unguarded script fails here, before any worker starts
    # an unknown name, an option the executor does not take or its missing package fail before any work
    executor = create_executor(config.executor, jobs=config.jobs, address=config.address)
    # so does a device that is not here (e.g. cuda without CUDA); normalised, e.g. "cuda" -> "cuda:0"
    config = config.replace(device=str(check_device(config.device)))
    if config.align not in ALIGN_MODES:
        raise BenchError(f"--align {config.align}: expected one of {', '.join(ALIGN_MODES)}")
    import_plugins(config.plugins)
    return _run(codecs, suite, metrics, config, executor)


def _run(codecs, suite, metrics, config: RunConfig, executor: Executor) -> RunResult:
    """Validate, select items and metrics, then run locked in the run directory."""
    settings, labels = _settings(codecs, config)
    the_suite, items, selection = _items(suite, config)
    metric_classes = _metric_classes(metrics, the_suite, config)
    metric_names = [cls.name for cls in metric_classes]

    suite_hash = the_suite.content_hash()
    # absolute: workers write into it (tokens, audio, embeddings) from whatever directory they run in
    path = (config.out or RUNS_DIR / run_id(the_suite, suite_hash, labels, metric_names, config.limit, selection,
                                            config, config.align)).absolute()
    rundir = RunDir(path)
    cut = rundir.open_for_append()  # one writer at a time; a torn last line is cut, never appended onto
    try:
        return _run_locked(rundir, cut, the_suite, suite_hash, items, selection, settings, labels, metric_classes,
                           metric_names, config, executor)
    except OSError as exc:
        mine = exc.filename is None or str(exc.filename).startswith(str(path))
        if exc.errno in WRITE_ERRNOS and (mine or exc.errno not in (errno.EACCES, errno.EPERM)):
            raise write_error(path, exc) from exc
        raise
    finally:
        rundir.unlock()


def _settings(codecs, config: RunConfig) -> tuple[list, list[str]]:
    """Parsed codec settings and their labels; unknown names/bitrates and unusable codecs fail here."""
    requests = split_names(codecs)
    if not requests:
        raise BenchError("no codec given (e.g. --codec opus@6,codec2@3.2)")
    settings = [parse_setting(r) for r in requests]
    for s in settings:
        reason = adapter_class(s.card.adapter).availability(s.card, config.checkpoints)
        if reason:
            raise BenchError(f"codec {s.label!r} is unavailable here: {reason}")
    return settings, [s.label for s in settings]


def _items(suite: str, config: RunConfig) -> tuple[Suite, list[Item], Selection | None]:
    """The suite, the items the config selects, and the selection (with ``limit`` folded in)."""
    the_suite = load_suite(suite)
    selection, limit = config.selection, config.limit
    if selection is not None and limit is not None and selection.limit is None:
        selection = Selection(**{**selection.__dict__, "limit": limit})
    items = select_items(the_suite.items, selection if selection is not None else limit)
    if not items:
        raise BenchError(f"suite {the_suite.name!r}: the selection ({selection.describe() if selection else limit}) leaves no items")
    return the_suite, items, selection


def _metric_classes(metrics, the_suite: Suite, config: RunConfig) -> list:
    """The metrics to run; one the suite lacks fields for, or that cannot run here, fails here."""
    metric_classes = resolve_metrics(split_names(metrics) or None, the_suite.fields)
    for cls in metric_classes:
        missing = cls.requires - the_suite.fields
        if missing:
            raise BenchError(f"metric {cls.name!r} needs item field(s) {sorted(missing)} that suite {the_suite.name!r} lacks")
        reason = cls.availability_for(config.model_options)
        if reason:
            raise BenchError(f"metric {cls.name!r} is unavailable here: {reason}")
    return metric_classes


def _run_locked(rundir, cut, the_suite, suite_hash, items, selection, settings, labels, metric_classes,
                metric_names, config: RunConfig, executor: Executor) -> RunResult:
    """Write the manifest, check a resume, make units, run them, finalise and write the outputs."""
    path = rundir.path
    cache_dir = config.cache_dir or default_cache_dir()
    ctx = MetricContext(suite=the_suite.name, suite_hash=suite_hash,
                        cache_dir=cache_dir.absolute() / f"{safe_name(the_suite.name)}-{suite_hash[:12]}", run_dir=path, items=items,
                        suite_entry=the_suite.entry, suite_source=the_suite.source, device=config.device,
                        models=config.model_options)
    ctx.cache_dir.mkdir(parents=True, exist_ok=True)

    previous = rundir.read_manifest()
    _check_same_suite(previous, the_suite, suite_hash, path)
    if previous.get("codecs") and _has_units(rundir):
        settings, labels, metric_classes, metric_names = _extended(previous, settings, metric_classes, the_suite,
                                                                    config, path)
    manifest = _manifest(the_suite, suite_hash, items, config.limit, settings, metric_classes, ctx, previous, config,
                         config.align, cache_dir)
    manifest["options"] = {"timeout": config.timeout, "plugins": list(config.plugins),
                           "allow_untrained": config.allow_untrained}
    # the variables the CLI took its defaults from, and user cards/suites replacing stock ones
    notes, manifest["configuration"] = run_start_notes(dict(config.environment))
    for line in notes:
        print(line, file=sys.stderr)
    _check_same_weights(previous, manifest, path)
    _check_same_execution(previous, manifest, path)
    _check_same_config(previous, config, path)
    _check_same_delays(previous, manifest, path)
    delays = {label: SettingDelay.from_dict(c["delay"]) for label, c in manifest["codecs"].items()}
    changes = resume_changes(previous, manifest) if _has_units(rundir) else []
    if changes and not config.force:
        raise RunDirError(f"{path}: holds results made by other code or options ({'; '.join(changes)}); "
                          "rerun in a new --out directory, or pass --force to resume anyway (each unit's record "
                          "then names the session that made it)")
    manifest["sessions"] = _sessions(previous, manifest, cut, changes)
    rundir.session = len(manifest["sessions"]) - 1
    for name, n in cut.items():
        _warn(f"{path / name}: cut {n} torn last line (a write interrupted by a crash or a full disk); "
              "its unit is redone")
    if changes:
        _warn(f"{path}: resumed with --force over other code or options ({'; '.join(changes)}); "
              f"units from this run are marked session {rundir.session} in items.jsonl")
    if selection is not None:  # recorded so a CI gate can prove it compared the same items
        manifest["suite"].update(selection=selection.as_dict(), subset=selection.describe())
    manifest["suite"]["item_ids_sha256"] = ids_digest(items)
    manifest["executor"] = {"name": config.executor, **executor.info()}
    rundir.write_manifest(manifest)

    have = rundir.metrics_done()
    for name, n in rundir.bad_lines.items():
        if n:
            _warn(f"{path / name}: {n} unreadable line(s) skipped (a fragment a crash left behind); "
                  "their units are redone")
    units = []
    for s in settings:
        work = WorkUnit(the_suite.name, s, metric_names, ctx, the_suite.policy, config, config.save_audio,
                        config.align, delays[s.label])
        weights = (manifest["codecs"][s.label].get("weights") or {}).get("status", "")
        for group in batches(items, config.batch):  # formed over all items, so resuming keeps them
            coded = {it.id: have[(it.id, s.label)] for it in group if KBPS in have.get((it.id, s.label), ())}
            todo = tuple(it for it in group if it.id not in coded)
            if todo:
                units.append(Unit(work, todo))
            # items coded and scored before, lacking metrics the run gained since: those metrics only
            missing: dict[tuple[str, ...], list[Item]] = {}
            for it in group:
                if it.id in coded:
                    lacking = tuple(m for m in metric_names if m not in coded[it.id])
                    if lacking:
                        missing.setdefault(lacking, []).append(it)
            for lacking, its in missing.items():
                units.append(Unit(replace(work, metrics=list(lacking), extend=True, weights=weights), tuple(its)))
    n_todo = sum(len(u.items) for u in units)
    _execute(units, rundir, executor, config.progress)
    manifest["executor"] = {"name": config.executor, **executor.info()}  # now with what it found (Ray's cluster)
    missing = {(it.id, s.label) for s in settings for it in items} - rundir.done_units([KBPS, *metric_names])
    if missing:  # never a summary over fewer items than asked for
        item, label = sorted(missing)[0]
        raise RunDirError(f"{path}: {len(missing)} unit(s) have no complete rows after the run (e.g. {label} on "
                          f"{item}); rerun the same command to redo them")

    rows = rundir.rows()
    rows = rows[rows["label"].isin(labels) & rows["item"].isin({it.id for it in items} | {SET_ITEM})]
    set_rows = _finalize(metric_names, ctx, rows, labels)
    if set_rows:
        rundir.append(set_rows, {"item": SET_ITEM, "label": "*", "error": None})
        rows = pd.concat([rows[rows["item"] != SET_ITEM], pd.DataFrame(set_rows)], ignore_index=True)
    summary = summarize(rows, order=labels)
    manifest["alignment"] = _alignment_counts(rundir, labels, {it.id for it in items})
    manifest["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    _write_outputs(rundir, rows, summary)
    rundir.write_manifest(manifest)  # last: a manifest with ``finished`` means every output is whole
    return RunResult(path, rows, summary, len(settings) * len(items), len(settings) * len(items) - n_todo)


def _check_same_suite(previous: dict[str, Any], suite: Suite, suite_hash: str, path: Path) -> None:
    """A run directory holds one suite: rows of two suites (or of a suite whose items changed) would
    be summarised together. Refused even with --force."""
    before = previous.get("suite") or {}
    if before.get("name") is None or (before.get("name"), before.get("hash")) == (suite.name, suite_hash):
        return
    what = "whose items have changed since" if before.get("name") == suite.name else "not the one this run asks for"
    raise RunDirError(f"{path}: this run directory holds a run of suite {before['name']!r} (content "
                      f"{str(before.get('hash'))[:12]}), {what} ({suite.name!r}, content {suite_hash[:12]}); "
                      "a run directory holds one suite: pass a new --out directory")


def _extended(previous: dict[str, Any], settings: list, metric_classes: list, the_suite: Suite, config: RunConfig,
              path: Path) -> tuple[list, list[str], list, list[str]]:
    """This run's settings and metrics joined to those the directory holds: a run asked for more
    codec settings or metrics extends the directory (its table stays whole: every setting with
    every metric), and only what is new is computed; what it holds is kept and never recomputed."""
    before_labels = list(previous.get("codecs") or {})
    before_metrics = list(previous.get("metrics") or {})
    names = [cls.name for cls in metric_classes]
    old_labels = [lab for lab in before_labels if lab not in {s.label for s in settings}]
    old_metrics = [m for m in before_metrics if m not in names]
    try:
        more_settings = _settings(old_labels, config)[0] if old_labels else []
        more_metrics = _metric_classes(old_metrics, the_suite, config) if old_metrics else []
    except BenchError as exc:
        raise BenchError(f"{path}: extending this run needs every codec setting and metric it holds: {exc}") from exc
    by_label = {s.label: s for s in [*settings, *more_settings]}
    ordered = [by_label[lab] for lab in before_labels] + [s for s in settings if s.label not in before_labels]
    classes = {cls.name: cls for cls in [*metric_classes, *more_metrics]}
    metrics = [classes[m] for m in before_metrics] + [cls for cls in metric_classes if cls.name not in before_metrics]
    new_labels = [s.label for s in settings if s.label not in before_labels]
    new_metrics = [cls.name for cls in metric_classes if cls.name not in before_metrics]
    if new_labels or new_metrics:
        _warn(f"{path}: extending the run ({len(before_labels)} setting(s) x {len(before_metrics)} metric(s) kept) "
              f"with setting(s) {new_labels or 'none'} and metric(s) {new_metrics or 'none'}: only these are "
              "computed" + ("" if not new_metrics or config.save_audio or (path / "audio").is_dir() else
                            "; the codecs run again to score the new metrics (a run made with --save-audio "
                            "keeps the reconstructions that would spare that)"))
    return ordered, [s.label for s in ordered], metrics, [cls.name for cls in metrics]


def _finalize(metric_names: list[str], ctx: MetricContext, rows: pd.DataFrame, labels: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name in metric_names:
        metric = metric_class(name)(ctx)
        for label in labels:
            sub = rows[(rows["metric"] == name) & (rows["label"] == label) & (rows["item"] != SET_ITEM)]
            for r in metric.finalize(ItemScore.from_rows(sub)):
                first = sub.iloc[0] if len(sub) else None
                base = {"suite": ctx.suite, "item": SET_ITEM, "label": label,
                        "codec": first["codec"] if first is not None else label.split("@")[0],
                        "setting": first["setting"] if first is not None else "", "weight": 1.0, "error": None}
                out.append({**base, **r})
    return out


def batches(items: list[Item], size: int) -> list[list[Item]]:
    """The run's items in groups of ``size`` for ``--batch``: sorted by duration (stable, so ties
    keep the run's order), so that a batch pads its items little, then cut into consecutive groups.
    Deterministic: the same items give the same groups, run after run and on resume. ``size`` 1
    keeps the run's order."""
    if size <= 1:
        return [[item] for item in items]
    ordered = sorted(items, key=_sort_seconds)
    return [ordered[i:i + size] for i in range(0, len(ordered), size)]


def _sort_seconds(item: Item) -> float:
    # an unreadable file sorts as 0 s: grouping only needs a place for it, and its unit turns it
    # into failed rows with the reason when it reads the file
    try:
        return item.seconds()
    except AudioError:
        return 0.0


#: the progress bar's label: what it counts
PROGRESS_DESC = "units (item × codec)"
#: shown until the first unit finishes
WARMUP_NOTE = "loading models…"


def _execute(units: list[Unit], rundir: RunDir, executor: Executor, progress: bool) -> None:
    """Hand the units to the executor and append each item's outcome as it arrives (so a stop
    loses little). A unit lost to its worker comes back as a failure: a batch is split and its
    items run again one by one; a single item whose worker crashed is run again in parts (the
    codec round trip alone, then each metric alone), so a crash in one metric's native code
    (PESQ's C code on a very long file, say) fails that metric's row only, with its name. A unit
    that timed out is not split (each part could hang as long again)."""
    from tqdm import tqdm

    # one unit = one item coded and scored with one codec setting, so the total is items x settings
    bar = tqdm(total=sum(len(u.items) for u in units), desc=PROGRESS_DESC, unit="unit",
               disable=not progress or not units, file=sys.stderr)
    # workers load codecs and models (Whisper, GE2E, ViSQOL's JIT) before their first unit finishes:
    # say so instead of sitting silently at 0 %
    bar.set_postfix_str(WARMUP_NOTE)
    warming = True
    parts: dict[tuple, dict[str, list[UnitResult] | Failed]] = {}
    while units:
        again = []
        for unit, outcome in executor.run(units):
            if isinstance(outcome, Failed) and len(unit.items) > 1:
                again.extend(unit.split())
                continue
            if isinstance(outcome, Failed) and not unit.part and outcome.reason.startswith(CRASHED):
                split = _metric_parts(unit)
                parts[unit.key] = {"": outcome}
                again.extend(split)
                continue
            if unit.part:
                got = parts[unit.key]
                got[unit.part] = outcome
                if len(got) < 2 + len(unit.work.metrics_all):
                    continue
                outcome = _assemble(unit, parts.pop(unit.key))
            if isinstance(outcome, Failed):
                outcome = [failed_unit(unit.work, unit.items[0], outcome.reason)]
            for result in outcome:
                rundir.append(*result)
                if warming:
                    bar.set_postfix_str("", refresh=False)
                    warming = False
                bar.update()
        units = again
    bar.close()


CRASHED = "worker crashed"


def _metric_parts(unit: Unit) -> list[Unit]:
    """The codec round trip alone, then one unit per metric, each in its own worker."""
    whole = unit.work
    only = lambda metrics: replace(whole, metrics=metrics, metrics_all=tuple(whole.metrics))  # noqa: E731
    return [Unit(only([]), unit.items, part="code"),
            *(Unit(only([m]), unit.items, part=f"metric:{m}") for m in whole.metrics)]


def _assemble(part: Unit, got: dict[str, list[UnitResult] | Failed]) -> list[UnitResult]:
    """One item's rows from its parts: kbps and the record from the round trip, each metric's row
    from its own part, or a failed row naming the metric whose worker crashed."""
    whole = replace(part.work, metrics=list(part.work.metrics_all), metrics_all=())
    item, first = part.items[0], got[""]
    code = got["code"]
    if isinstance(code, Failed):  # the crash is in reading or coding the item: nothing to save
        return [failed_unit(whole, item, f"{first.reason}; the codec round trip alone crashed too")]
    rows, record = code[0]
    if record is not None and record.get("error"):  # the item failed without a crash (unreadable, codec error): as it is
        return [failed_unit(whole, item, record["error"])]
    rows = [r for r in rows if r["metric"] == KBPS]
    for m in whole.metrics:
        out = got[f"metric:{m}"]
        if isinstance(out, Failed):
            reason = f"{out.reason.replace(CRASHED, f'worker crashed in metric {m}', 1)} (the item's other metrics " \
                     "were scored without it)"
            rows.append(next(r for r in failed_unit(whole, item, reason)[0] if r["metric"] == m))
        else:
            rows.extend(r for r in out[0][0] if r["metric"] == m)
    return [(rows, record)]


def _alignment_counts(rundir: RunDir, labels: list[str], item_ids: set[str]) -> dict[str, dict[str, int]]:
    """Per setting: items aligned and how many of them had their own lag flagged (items.csv lag_flag)."""
    records = rundir.items()
    out = {}
    for label in labels:
        if records.empty or "lag_flag" not in records:
            out[label] = {"n_items": 0, "n_lag_flagged": 0}
            continue
        sub = records[(records["label"] == label) & records["item"].isin(item_ids) & records["lag"].notna()]
        out[label] = {"n_items": int(len(sub)), "n_lag_flagged": int(sub["lag_flag"].fillna(False).astype(bool).sum())}
    return out


def _manifest(suite: Suite, suite_hash: str, items, limit, settings, metric_classes, ctx, previous,
              options: RunConfig, align: str = "setting", cache_dir: Path | None = None) -> dict[str, Any]:
    metrics_info = {}
    for cls in metric_classes:
        metrics_info[cls.name] = cls(ctx).info()
    codecs = {}
    for s in settings:
        codec = create_codec(s, options.codec_options)
        # the setting's one delay, known before any unit starts (card, or measured once here)
        delay = setting_delay(codec, suite.policy.sample_rate, cache_dir)
        codecs[s.label] = {"card": s.card.as_dict(), "spec": codec.spec.as_dict(), "weights": codec.weights_info,
                           "delay": delay.as_dict()}
    manifest = {
        "tool": "codecbench",
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": sys.argv,
        "git": git_state(resources.checkout_root() or Path.cwd()),
        "source_sha256": source_digest(),
        "environment": environment(),
        "suite": {"name": suite.name, "source": suite.source, "hash": suite_hash,
                  "n_items_total": len(suite.items), "n_items": len(items), "limit": limit,
                  "subset": "sha1(id) order" if limit else "all", "policy": suite.policy.__dict__},
        "codecs": codecs,
        "metrics": metrics_info,
        "cache_dir": str(ctx.cache_dir),
        # where the models ran and how many items went through them together
        # ...and how each item's reconstruction was aligned (bench/pipeline/align.py)
        "execution": {**device_info(options.device), "batch": options.batch, "align": align},
        # every option of the run: what resume, re-decoding for listening and remote workers read
        "config": options.as_dict(),
    }
    if previous:
        manifest["resumed_from"] = {k: previous.get(k) for k in ("started", "git", "executor")}
    return manifest


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _has_units(rundir: RunDir) -> bool:
    path = rundir.path / "items.jsonl"
    return path.exists() and path.stat().st_size > 0


#: parts of the package that only read rows (tables, gate, commands): editing them changes no number
NOT_MEASURING = ("cli", "reporting", "listening", "gate.py", "baseline.py", "api.py")


def source_digest() -> str:
    """sha256 over the Python files that make the numbers: a resume must not mix rows from edited
    code that git cannot see (an uncommitted change keeps the same sha)."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for f in sorted(root.rglob("*.py")):
        rel = f.relative_to(root)
        if rel.parts[0] in NOT_MEASURING:
            continue
        h.update(rel.as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def _identity(manifest: dict[str, Any]) -> dict[str, Any]:
    """What a run's numbers depend on besides the items: code, packages, codec cards, metrics, options."""
    env = manifest.get("environment") or {}
    return {"git sha": (manifest.get("git") or {}).get("sha"), "source": manifest.get("source_sha256"),
            "python": env.get("python"), "packages": env.get("packages"),
            "codecs": {k: {"card": {c: v for c, v in (d.get("card") or {}).items() if c != "source"},
                           "spec": d.get("spec")} for k, d in (manifest.get("codecs") or {}).items()},
            "metrics": manifest.get("metrics") or {}, "options": manifest.get("options")}


def resume_changes(previous: dict[str, Any], manifest: dict[str, Any]) -> list[str]:
    """How the code, packages or options of this run differ from those that wrote the directory
    (only what both manifests record: a setting or metric added to a run is not a change). With
    both source digests recorded, a new commit whose measuring code is unchanged (docs, reports,
    the gate) is no change; the sessions list still records both shas. The suite is not among
    them: :func:`_check_same_suite` has refused another suite, or changed items, before this runs
    (even with --force)."""
    if not previous:
        return []
    # through JSON, as the previous one was (tuples become lists)
    before, now = _identity(previous), _identity(json.loads(json.dumps(manifest, default=str)))
    out = []
    keys = ("source", "python") if before["source"] and now["source"] else ("git sha", "python")
    for key in keys:
        if before[key] is not None and before[key] != now[key]:
            out.append(f"{key} {str(before[key])[:12]} -> {str(now[key])[:12]}")
    if before["packages"] is not None and before["packages"] != now["packages"]:
        diff = sorted(k for k in set(before["packages"]) | set(now["packages"] or {})
                      if before["packages"].get(k) != (now["packages"] or {}).get(k))
        out.append("packages " + ", ".join(f"{k} {before['packages'].get(k)} -> {(now['packages'] or {}).get(k)}"
                                           for k in diff))
    for part in ("codecs", "metrics"):
        for name in sorted(set(before[part]) & set(now[part])):
            if before[part][name] != now[part][name]:
                out.append(f"{part[:-1]} {name} changed")
    if before["options"] is not None and before["options"] != now["options"]:
        out.append(f"options {before['options']} -> {now['options']}")
    return out


def _sessions(previous: dict[str, Any], manifest: dict[str, Any], cut: dict[str, int],
              changes: list[str]) -> list[dict[str, Any]]:
    """Every invocation that wrote into the directory, in order; a unit's record names its session."""
    sessions = list(previous.get("sessions") or [])
    if previous and not sessions:  # a manifest without sessions: its own start is the first one
        sessions.append({"started": previous.get("started"), "git": previous.get("git"),
                         "source_sha256": previous.get("source_sha256")})
    sessions.append({"started": manifest["started"], "git": manifest["git"],
                     "source_sha256": manifest["source_sha256"], "pid": os.getpid(),
                     "torn_lines_cut": cut, **({"forced_over": changes} if changes else {})})
    return sessions


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


def _check_same_execution(previous: dict[str, Any], manifest: dict[str, Any], path: Path) -> None:
    """Nor rows made on another device, with another batch size (their last bits differ) or
    another alignment mode (other values)."""
    # a manifest without device or batch: cpu, one item at a time
    before = {"device": "cpu", "batch": 1, **(previous.get("execution") or {})}
    before.setdefault("align", "item")  # a manifest without align: each item was aligned by its own lag
    now = manifest["execution"]
    keys = ("device", "batch", "align")
    if previous.get("codecs") and any(before.get(k) != now[k] for k in keys):
        raise BenchError(f"{path}: this run directory holds results made with "
                         + " ".join(f"--{k} {before.get(k)}" for k in keys) + "; this run asks for "
                         + " ".join(f"--{k} {now[k]}" for k in keys) + "; pass a new --out directory")


def _check_same_delays(previous: dict[str, Any], manifest: dict[str, Any], path: Path) -> None:
    """Nor rows shifted by another setting delay (a changed card or codec build)."""
    keys = ("samples", "sample_rate", "source")
    for label, now in manifest["codecs"].items():
        before = ((previous.get("codecs") or {}).get(label) or {}).get("delay")
        if before and any(before.get(k) != now["delay"][k] for k in keys):
            raise BenchError(f"{path}: this run directory holds {label} results aligned by a delay of "
                             f"{before.get('samples')} samples ({before.get('source')}); this run's is "
                             f"{now['delay']['samples']} ({now['delay']['source']}); pass a new --out directory")


def _check_same_config(previous: dict[str, Any], config: RunConfig, path: Path) -> None:
    """Nor rows made with other downstream models or kernel settings (transcripts, embeddings)."""
    before = previous.get("config")
    if not before or not previous.get("codecs"):
        return
    before = RunConfig.from_dict(before)
    changed = [k for k in VALUE_OPTIONS if getattr(before, k) != getattr(config, k)]
    if changed:
        said = ", ".join(f"{k} {getattr(before, k)!r} (now {getattr(config, k)!r})" for k in changed)
        raise BenchError(f"{path}: this run directory holds results made with {said}; pass a new --out directory")


def _write_outputs(rundir: RunDir, rows: pd.DataFrame, summary: pd.DataFrame) -> None:
    """rows.csv, items.csv and summary.csv (the tables a program reads)."""
    rows.to_csv(rundir.path / "rows.csv", index=False)
    items = rundir.items()
    if not items.empty:
        items.to_csv(rundir.path / "items.csv", index=False)
    summary.to_csv(rundir.path / "summary.csv", index=False)
