from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from bench.cli.commands import COMMANDS


@COMMANDS.register("run")
def add(app: typer.Typer) -> None:
    @app.command()
    def run(
        codec: list[str] = typer.Option(..., "--codec", "-c", help="codec setting(s): opus@6, comma lists or repeated"),
        suite: str = typer.Option("demo", "--suite", "-s", help="suite name from datasets.yaml, or a manifest .csv/.jsonl"),
        metric: Optional[list[str]] = typer.Option(None, "--metric", "-m", help="metric name(s); default: all that apply"),
        limit: Optional[int] = typer.Option(None, "--limit", help="deterministic subset of N items"),
        out: Optional[Path] = typer.Option(None, "--out", help="run directory (default: reports/runs/SUITE-HASH); "
                                           "an existing run there is resumed or extended with the settings and "
                                           "metrics given (only what is new is computed)"),
        jobs: Optional[int] = typer.Option(None, "--jobs", "-j", help="units at once: worker processes (default: all "
                                           "cores); with --executor ray, the CPUs of the local Ray instance, or "
                                           "with --address the most tasks in flight (default: 2 per cluster CPU)"),
        progress: bool = typer.Option(True, "--progress/--no-progress"),
        subset: Optional[int] = typer.Option(None, "--subset", help="seeded deterministic subset of N items"),
        seed: int = typer.Option(0, "--seed", help="seed for --subset"),
        min_duration: Optional[float] = typer.Option(None, "--min-duration", help="skip items shorter than this (s)"),
        max_duration: Optional[float] = typer.Option(None, "--max-duration", help="skip items longer than this (s)"),
        max_per_speaker: Optional[int] = typer.Option(None, "--max-per-speaker", help="at most N items per speaker"),
        allow_untrained: bool = typer.Option(False, "--allow-untrained",
                                             help="run neural codecs with random-init weights when no trained "
                                                  "weights are found; results are labelled untrained"),
        timeout: Optional[float] = typer.Option(None, "--timeout", help="seconds one item x codec may take before "
                                                "it is recorded as failed (default: 20 x the item's duration + "
                                                "300 s; 0: no limit)"),
        device: Optional[str] = typer.Option(None, "--device", help="device for neural codecs, Whisper and the "
                                             "speaker model (cpu, cuda, cuda:1; default: $BENCH_DEVICE or cpu); "
                                             "recorded in the run manifest"),
        batch: int = typer.Option(1, "--batch", min=1, help="items of one codec setting scored together (GE2E, "
                                  "Whisper) and, on CUDA, coded together (neural codecs: one padded forward "
                                  "pass); 1: one at a time (the item-by-item values); N>1 changes some last bits, see "
                                  "docs/performance.md"),
        executor_name: str = typer.Option("local", "--executor", help="where units run: local (worker processes that "
                                     "survive crashes and hangs), ray (Ray tasks: a local instance, or a cluster "
                                     "with --address; needs the optional 'ray' extra) or inline (this process, for "
                                     "debugging)"),
        address: Optional[str] = typer.Option(None, "--address", help="with --executor ray: the cluster to run on, "
                                              "'auto' (the one `ray start` runs on this machine) or HOST:PORT "
                                              "(default: start a local instance)"),
        plugin: Optional[list[str]] = typer.Option(None, "--plugin", help="Python module to import first (here and "
                                                   "in every worker) that registers extra codecs/metrics/loaders"),
        save_audio: bool = typer.Option(False, "--save-audio", help="keep each decoded, aligned reconstruction as "
                                                                    "RUN/audio/LABEL/ITEM.wav (32-bit float: what "
                                                                    "was scored), for bench report's listening "
                                                                    "section and for metrics added later without "
                                                                    "running the codec again"),
        cache: Optional[Path] = typer.Option(None, "--cache", help="cache folder for work shared by runs of a "
                                             "suite (transcripts, embeddings); default: $BENCH_CACHE or the "
                                             "per-user cache folder"),
        align: str = typer.Option("setting", "--align", help="setting: shift every item of a codec setting by "
                                  "that setting's one delay (its card's, or measured once on fixed demo clips); "
                                  "item: shift each item by its own cross-correlation lag (codecs whose delay "
                                  "varies). Recorded in the manifest and the report header; see docs/metrics.md"),
        force: bool = typer.Option(False, "--force", help="resume a run directory written by other code, "
                                   "packages or options (refused otherwise); each unit's record then names "
                                   "the session that made it (manifest.json 'sessions')"),
        wide: bool = typer.Option(False, "--wide", help="print every metric column (default: what fits the "
                                                        "terminal; RUN/summary.md has all)"),
    ) -> None:
        """Code every item of a suite with each codec setting and score it."""
        from bench import api
        from bench.cli.defaults import default_config

        selection = api.Selection(limit=limit, subset=subset, seed=seed, min_duration=min_duration,
                              max_duration=max_duration, max_per_speaker=max_per_speaker)
        given = {"out": out, "limit": limit, "jobs": jobs, "progress": progress, "timeout": timeout,
                 "selection": None if selection.is_all else selection, "plugins": tuple(plugin or ()),
                 "executor": executor_name, "address": address, "save_audio": save_audio, "batch": batch,
                 "align": align, "force": force}
        if cache is not None:
            given["cache_dir"] = cache
        # flags left at their defaults keep the environment's (bench.cli.defaults); given ones win
        if allow_untrained:
            given["allow_untrained"] = True
        if device is not None:
            given["device"] = device
        result = api.run(codec, suite, metric, config=default_config(**given))
        # the run's report (RUN/summary.md, `bench report RUN`) without its header, narrowed to the terminal
        typer.echo(api.report_markdown(api.report([result.path]), None if wide else api.terminal_width(),
                                       tables_only=True))
        failed = int(result.summary["n_failed"].max()) if not result.summary.empty else 0
        typer.echo(f"\nrun directory: {result.path}  ({result.n_units} units, {result.n_skipped} resumed"
                   f"{f', {failed} failed items: see rows.csv error column' if failed else ''})")
