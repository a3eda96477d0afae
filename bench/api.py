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

__all__ = ["run", "report", "gate", "listing", "RunResult", "GateResult", "Report"]


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


def gate(baseline: Path, run_dir: Path, config: Path | None = None) -> GateResult:
    return _gate(baseline, run_dir, config)


def listing(what: str) -> pd.DataFrame:
    """Rows of (name, status, details) for codecs, suites or metrics."""
    if what == "codecs":
        from bench.adapters import adapter_class, load_cards
        from bench.adapters.base import format_kbps

        rows = []
        for card in load_cards().values():
            try:
                reason = adapter_class(card.adapter).availability(card)
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
