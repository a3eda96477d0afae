"""The Python face of codecbench: every CLI command is a call here that returns data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from bench.config import RunConfig
from bench.errors import BenchError
from bench.gate import GateResult
from bench.gate import default_margins  # noqa: F401  (bench gate: the margins file used by default)
from bench.gate import gate as _gate
from bench.pipeline.rundir import atomic_write
from bench.pipeline.runner import RunResult
from bench.pipeline.runner import run as _run
from bench.pipeline.perf import ESC_PAPER
from bench.pipeline.runner import split_names
from bench.reporting.tables import interval_text, summarize  # noqa: F401  (interval_text: cells)
from bench.scoring import score, score_summary  # noqa: F401  (bench score: score existing files)
from bench.stats import Interval, mean_ci, paired_diff_ci  # noqa: F401  (CIs for your own comparisons)
from bench.stats import summary_ci
from bench.suites.selection import Selection

__all__ = ["run", "RunConfig", "score", "score_summary", "report", "report_markdown", "compare", "terminal_width",
           "interval_text", "gate", "listing", "info", "speed", "tokens", "data_check", "data_fetch",
           "split_names", "Selection", "ESC_PAPER", "baseline_create", "baseline_update", "baseline_show",
           "summary_ci", "RunResult", "GateResult"]


def run(codecs: list[str] | str, suite: str, metrics: list[str] | str | None = None,
        config: RunConfig | None = None, **options: Any) -> RunResult:
    """Code a suite with each codec setting and score it; returns rows, summary and the run directory.

    ``codecs``: settings such as ``["opus@6", "lyra@3.2"]`` (or ``"opus@6,lyra@3.2"``); ``suite``: a
    name from datasets.yaml or a manifest file; ``metrics``: names (None: every default metric the
    suite's fields allow). ``config``: every other option, one :class:`~bench.config.RunConfig`
    (device, batch, executor and its address, jobs, weights policy, ASR and speaker models,
    selection, output directory, ...; None: its defaults, which no environment variable changes);
    ``options``: RunConfig fields that replace the config's, e.g.
    ``run("opus@6", "demo", limit=24, device="cuda")``. An unknown option is an error.
    The config is stored in the run manifest (``config``). Writes RUN/summary.md, the plain report
    (:func:`report` with the ``summary`` layout), next to the pipeline's rows and summary.csv.

    From a script, call it under ``if __name__ == "__main__":`` (the default ``local`` executor's
    spawned workers re-run the script; without the guard the call fails at once, see
    :mod:`bench.pipeline.mainguard`) or pass ``executor="inline"``; notebooks need neither.
    """
    result = _run(codecs, suite, metrics, config, **options)
    atomic_write(Path(result.path) / "summary.md", report_markdown(report([result.path])) + "\n")
    return result


#: what ``bench report --out`` writes by default
REPORT_FORMATS = ("md", "csv", "latex", "html")


def report(run_dirs: list[Path], layout: str | Path = "summary", out: Path | None = None, *,
           formats: tuple[str, ...] = REPORT_FORMATS, speed: list[Path] | None = None, worst: int = 3,
           listen: int = 0, listen_metric: str | None = None, bd_method: str = "akima",
           listening: Path | None = None, listening_screening: str = "bs1534"):
    """Merge run directories into a report: the tables of ``layout`` (``summary``: every metric per
    codec setting; ``nemo-card``, ``paper``: a model card's tables, or a layout YAML file), with the
    BD table and rate-quality plots the layout asks for. With ``out``, writes the report folder in
    ``formats`` (md, csv, latex, html: ``card.md``, ``card.csv``, ``card.tex``, ``index.html`` with
    plots/ and listening audio). ``listen`` > 0 re-decodes that many worst items per codec when the
    run kept no audio; ``listening``: a MUSHRA test folder (adds a MUSHRA column). Returns the
    :class:`~bench.reporting.formats.Card` (``.tables`` hold DataFrames; see
    :func:`bench.reporting.card.build_card`)."""
    from bench.pipeline.redecode import ListeningAudio
    from bench.reporting.card import build_card

    return build_card(run_dirs, layout, out, formats=formats, speed=speed, worst=worst, listen=listen,
                      listen_metric=listen_metric, bd_method=bd_method, listening=listening,
                      listening_screening=listening_screening, audio=ListeningAudio(redecode=listen > 0))


def report_markdown(card, width: int | None = None, *, tables_only: bool = False) -> str:
    """A report (from :func:`report`) as markdown; ``width``: narrow its tables to a terminal's
    width (None: every column); ``tables_only``: without the provenance header (``bench run``)."""
    from bench.reporting.formats import markdown, tables_markdown

    return tables_markdown(card, width) if tables_only else markdown(card, width)


#: the width tables printed for a terminal get when stdout is not one and $COLUMNS is unset
FALLBACK_WIDTH = 100


def terminal_width() -> int:
    """$COLUMNS, else the terminal's width, else :data:`FALLBACK_WIDTH` (piped into a file or CI log)."""
    import shutil

    return shutil.get_terminal_size(fallback=(FALLBACK_WIDTH, 24)).columns


def compare(sources, a: str, b: str, *, metrics=None, config: Path | None = None, suite: str | None = None):
    """Paired comparison of setting ``b`` with ``a`` over the same items; see :mod:`bench.compare`.
    Returns a :class:`bench.compare.Comparison` (``.table`` DataFrame, ``.markdown``)."""
    from bench.compare import compare as _compare

    return _compare(sources, a, b, metrics=metrics, config=config, suite=suite)


def gate(baseline: Path, run_dir: Path, config: Path | None = None, strict: bool = False,
         common_only: bool = False) -> GateResult:
    """Paired statistical gate of a run against a baseline; see :mod:`bench.gate`."""
    return _gate(baseline, run_dir, config, strict=strict, common_only=common_only)


def baseline_create(run_dirs: list[Path], out: Path) -> list[Path]:
    """New gate baseline (NAME.csv + NAME.rows.csv.gz + NAME.manifest.json) from run directories."""
    from bench import baseline

    return baseline.write(run_dirs, out, overwrite=False)


def baseline_update(run_dirs: list[Path], out: Path) -> list[Path]:
    from bench import baseline

    return baseline.write(run_dirs, out, overwrite=True)


def baseline_show(path: Path) -> dict:
    from bench import baseline

    return baseline.show(path)


def _weights_problem(cls, card, checkpoints=()) -> str | None:
    """Neural codecs are usable only with weights: say so instead of listing them as ready."""
    from bench.adapters.neural import NeuralCodec, weights_ref

    if not issubclass(cls, NeuralCodec):
        return None
    ref = weights_ref(card, checkpoints)
    if ref.kind == "random":
        env = (card.weights or {}).get("env")
        hint = f"set ${env} or weights.path" if env else "set weights.path"
        return f"no weights here ({hint}; --allow-untrained runs a random model for plumbing only)"
    if ref.kind == "hub" and not _in_hf_cache(ref.location or ""):
        return (f"hub id {ref.location!r} is not in the local Hugging Face cache (download it while online, "
                "or set a local path); --allow-untrained runs a random model for plumbing only")
    return None


def _in_hf_cache(repo_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)


def _also_accepts(card) -> str:
    """Settings a card accepts beyond its sweep points (``supported:``), for ``bench list codecs``."""
    from bench.adapters.base import format_kbps

    extra = [format_kbps(b) for b in card.supported if b not in card.bitrates]
    if card.supported_range is not None:
        extra.append(f"{format_kbps(card.supported_range[0])}-{format_kbps(card.supported_range[1])}")
    return ", ".join(extra) or "-"


def listing(what: str, checkpoints=()) -> pd.DataFrame:
    """Rows of (name, status, details) for codecs, suites or metrics; ``checkpoints``: weight
    overrides by a card's ``weights.env`` name (see :class:`~bench.config.CodecOptions`)."""
    if what == "codecs":
        from bench.adapters import adapter_class, load_cards
        from bench.adapters.base import format_kbps

        rows = []
        for card in load_cards().values():
            try:
                cls = adapter_class(card.adapter)
                reason = cls.availability(card, checkpoints)
                if reason is None:
                    reason = _weights_problem(cls, card, checkpoints)
            except BenchError as exc:
                reason = str(exc)
            rows.append({"codec": card.name, "adapter": card.adapter, "sample_rate": card.sample_rate,
                         "kbps": ", ".join(format_kbps(b) for b in card.bitrates) or "-",
                         "also accepts": _also_accepts(card),
                         "usable": "yes" if reason is None else f"no: {reason}"})
        return pd.DataFrame(rows)
    if what == "suites":
        from bench.suites import load_suite, suite_entries

        rows = []
        for name, entry in suite_entries().items():
            try:
                n = len(load_suite(name).items)
                status = f"yes ({n} items)"
            except BenchError as exc:
                status = f"no: {exc}"
            rows.append({"suite": name, "description": " ".join(str(entry.get("description", "")).split())[:80],
                         "usable": status})
        return pd.DataFrame(rows)
    if what == "metrics":
        from bench.metrics import all_metrics

        rows = []
        for name, cls in all_metrics().items():
            reason = cls.availability()
            rows.append({"metric": name, "unit": cls.unit, "higher_is_better": cls.higher_is_better,
                         "sample_rate": cls.sample_rate or "native", "needs": ",".join(sorted(cls.requires)) or "-",
                         "backend": cls.backend, "default": "yes" if cls.default else "no",
                         "cost_rtf": "-" if cls.cost_rtf is None else f"{cls.cost_rtf:.3g}",
                         "gate_margin": _margin_text(cls.gate_margin),
                         "usable": "yes" if reason is None else f"no: {reason}"})
        return pd.DataFrame(rows)
    raise BenchError(f"bench list: unknown kind {what!r}; choose codecs, suites or metrics")


def _margin_text(margin) -> str:
    """``abs 0.05`` / ``rel 0.01`` / ``-`` (none: the gate config's default applies)."""
    if margin is None:
        return "-"
    parts = [f"abs {margin.abs:g}" if margin.abs is not None else "", f"rel {margin.rel:.3g}" if margin.rel is not None else ""]
    return ", ".join(p for p in parts if p) or "-"


def info(codecs: list[str] | str, allow_untrained: bool = False, checkpoints=()) -> pd.DataFrame:
    """Spec table (``bench info``): one column per codec setting, read off the loaded models."""
    from bench.pipeline.perf import codec_specs
    from bench.reporting.codec_tables import spec_table

    return spec_table(codec_specs(split_names(codecs), allow_untrained=allow_untrained, checkpoints=checkpoints))


def speed(codecs: list[str] | str, devices: list[str] | None = None, seconds: float = 10.0, repeats: int = 3,
          allow_untrained: bool = False, checkpoints=()) -> pd.DataFrame:
    """Encode/decode seconds and RTF per codec setting and device (``bench speed``)."""
    import torch

    from bench.pipeline.perf import speed_table

    devices = list(devices or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]))
    return speed_table(split_names(codecs), devices, seconds, repeats, allow_untrained, checkpoints)


def tokens(run_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Token statistics of a run (``bench tokens``): (summary, per-codebook)."""
    from bench.pipeline.tokens import token_stats

    return token_stats(run_dir)


def data_check(suite: str | None = None) -> list:
    """Where each suite's data is looked for and whether it is there (``bench data check``)."""
    from bench.suites.check import check

    return check(suite)


def data_fetch(suite: str, dest: Path | None = None, progress=None, keep_archives: bool = True) -> list[Path]:
    """Download and extract a public suite into ``dest`` (default ``$BENCH_DATA``)."""
    from bench import locations
    from bench.errors import UnknownNameError
    from bench.suites import resolve_alias, suite_entries
    from bench.suites.fetch import fetch_suite

    entries = suite_entries()
    if suite not in entries:
        raise UnknownNameError("suite", suite, entries)
    entry, _ = resolve_alias(suite, entries)
    target = dest or locations.current().data
    if target is None:
        raise BenchError("no destination: pass --dest DIR or set BENCH_DATA to the folder that holds your corpora")
    return fetch_suite(suite, entry, Path(target).expanduser(), progress=progress, keep_archives=keep_archives)


def listen_app(test: Path):
    """The MUSHRA web application of a test folder (``bench listen serve`` runs it on uvicorn); ratings go
    to ``test/ratings.sqlite``. See :mod:`bench.listening.server`."""
    from bench.listening.server import create_app

    return create_app(test)


def listen_results(test: Path, *, screening: str = "bs1534", out: Path | None = None, raters: str = "all",
                   runs: list[Path] | None = None, agreement: bool = True, seed: int | None = None):
    """MUSHRA results of a test folder: screening, condition means, paired differences, agreement with
    the runs' metrics; see :mod:`bench.listening.analysis`. Returns a ``ResultsReport``."""
    from bench.listening.results import results
    from bench.stats import SEED

    return results(test, screening=screening, out=out, raters=raters, runs=runs, agreement=agreement,
                   seed=SEED if seed is None else seed)


def listen_simulate(test: Path, raters: int, *, seed: int = 0, means: str | None = None, careless: int = 0,
                    force: bool = False, **spread):
    """Fill a test folder with a simulated panel and plan its power; see :mod:`bench.listening.simulate`."""
    from bench.listening.results import simulate_panel

    return simulate_panel(test, raters, seed=seed, means=means, careless=careless, force=force, **spread)


def listen_create(runs: list[Path], out: Path, *, codecs: tuple[str, ...] | None = None, items: int = 8,
                  excerpt: float = 5.0, seed: int = 0, anchors: bool = True, loudness: float = -23.0,
                  redecode: bool = True, name: str | None = None, force: bool = False, log=None):
    """Build a MUSHRA test folder from runs; see :mod:`bench.listening.create`. Returns the ``ListeningTest``."""
    from bench.listening.create import CreateOptions, create_test

    opts = CreateOptions(codecs=codecs, items=items, excerpt=excerpt, seed=seed, anchors=anchors, loudness=loudness,
                         redecode=redecode, name=name)
    return create_test(runs, out, opts, force=force, log=log)


def listen_export_webmushra(test: Path, out: Path, *, force: bool = False) -> tuple[Path, str]:
    """Write a test folder as a webMUSHRA config plus audio; returns (config path, testId).
    See :mod:`bench.listening.webmushra`."""
    from bench.listening.testdef import load_test
    from bench.listening.webmushra import export, webmushra_test_id

    t = load_test(test)
    return export(t, out, force=force), webmushra_test_id(t)


def listen_import_webmushra(test: Path, results: Path) -> dict[str, int]:
    """Import webMUSHRA's mushra.csv into a test folder's ratings; returns counts (sessions, trials, ratings)."""
    from bench.listening.testdef import load_test
    from bench.listening.webmushra import import_results

    return import_results(load_test(test), results)
