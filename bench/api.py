"""The Python face of codecbench: every CLI command is a call here that returns data."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bench.errors import BenchError
from bench.gate import GateResult
from bench.gate import gate as _gate
from bench.pipeline.rundir import RunDir
from bench.pipeline.runner import RunResult
from bench.pipeline.runner import run as _run
from bench.reporting.render import render_html, render_markdown
from bench.reporting.tables import summarize
from bench.scoring import score  # noqa: F401  (bench score: score existing files)

__all__ = ["run", "report", "card", "gate", "listing", "RunResult", "GateResult", "Report"]


def run(codecs, suite, metrics=None, **kwargs) -> RunResult:
    """Code a suite with each codec setting and score it; see :func:`bench.pipeline.runner.run`."""
    return _run(codecs, suite, metrics, **kwargs)


@dataclass
class Report:
    summary: pd.DataFrame
    files: list[Path] = field(default_factory=list)
    manifests: list[dict] = field(default_factory=list)

    @property
    def markdown(self) -> str:
        return render_markdown(self.summary, self.manifests)


def report(run_dirs: list[Path], out: Path | None = None) -> Report:
    frames, manifests = [], []
    for d in run_dirs:
        manifests.append(RunDir(Path(d)).read_manifest())
        rows = RunDir(Path(d)).rows()
        if rows.empty:
            raise BenchError(f"{d}: no rows (not a run directory, or the run produced nothing)")
        frames.append(rows)
    rows = pd.concat(frames, ignore_index=True).drop_duplicates(["suite", "item", "label", "metric"], keep="last")
    summary = summarize(rows, order=list(dict.fromkeys(rows["label"])))
    rep = Report(summary, manifests=manifests)
    if out:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        md, csv, html = out.with_suffix(".md"), out.with_suffix(".csv"), out.with_suffix(".html")
        md.write_text(render_markdown(summary, manifests) + "\n")
        summary.to_csv(csv, index=False)
        html.write_text(render_html(summary, manifests))
        rep.files = [md, csv, html]
    return rep


def card(run_dirs: list[Path], layout: str | Path = "nemo-card", out: Path | None = None, *,
         formats: tuple[str, ...] = ("md", "csv", "latex", "html"), speed: list[Path] | None = None,
         worst: int = 3, listen: int = 0, listen_metric: str | None = None, bd_method: str = "akima"):
    """Card-layout report (tables as DataFrames, BD table, rate-quality plots, HTML with audio);
    see :func:`bench.reporting.card.build_card`. Returns the :class:`~bench.reporting.formats.Card`."""
    from bench.reporting.card import build_card

    return build_card(run_dirs, layout, out, formats=formats, speed=speed, worst=worst, listen=listen,
                      listen_metric=listen_metric, bd_method=bd_method)


def gate(baseline: Path, run_dir: Path, config: Path | None = None) -> GateResult:
    return _gate(baseline, run_dir, config)


def _weights_problem(cls, card) -> str | None:
    """Neural codecs are usable only with weights: say so instead of listing them as ready."""
    from bench.adapters.neural import NeuralCodec, weights_ref

    if not issubclass(cls, NeuralCodec):
        return None
    ref = weights_ref(card)
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


def listing(what: str) -> pd.DataFrame:
    """Rows of (name, status, details) for codecs, suites or metrics."""
    if what == "codecs":
        from bench.adapters import adapter_class, load_cards
        from bench.adapters.base import format_kbps

        rows = []
        for card in load_cards().values():
            try:
                cls = adapter_class(card.adapter)
                reason = cls.availability(card)
                if reason is None:
                    reason = _weights_problem(cls, card)
            except BenchError as exc:
                reason = str(exc)
            rows.append({"codec": card.name, "adapter": card.adapter, "sample_rate": card.sample_rate,
                         "kbps": ", ".join(format_kbps(b) for b in card.bitrates) or "-",
                         "usable": "yes" if reason is None else f"no: {reason}"})
        return pd.DataFrame(rows)
    if what == "suites":
        from bench.suites import load_suite, suite_specs

        rows = []
        for name, spec in suite_specs().items():
            try:
                n = len(load_suite(name).items)
                status = f"yes ({n} items)"
            except BenchError as exc:
                status = f"no: {exc}"
            rows.append({"suite": name, "description": " ".join(str(spec.get("description", "")).split())[:80],
                         "usable": status})
        return pd.DataFrame(rows)
    if what == "metrics":
        from bench.metrics import all_metrics

        rows = []
        for name, cls in all_metrics().items():
            reason = cls.availability()
            rows.append({"metric": name, "unit": cls.unit, "higher_is_better": cls.higher_is_better,
                         "sample_rate": cls.sample_rate or "native", "needs": ",".join(sorted(cls.requires)) or "-",
                         "backend": cls.backend, "usable": "yes" if reason is None else f"no: {reason}"})
        return pd.DataFrame(rows)
    raise BenchError(f"bench list: unknown kind {what!r}; choose codecs, suites or metrics")
