"""One command, the whole card: layout tables, BD table, rate–quality plots, listening material,
written in every requested format into one folder."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.errors import BenchError
from bench.reporting.bdrate import bd_table
from bench.reporting import html_report  # noqa: F401  (registers the "html" format)
from bench.reporting.card_view import extra_metric_tables
from bench.reporting.formats import Card, get_format
from bench.reporting.layouts import shown_label, build_tables, load_layout, load_runs, merged_summary
from bench.reporting.listen import AudioSource, item_table, listening_blocks
from bench.reporting.plots import plottable_metrics, rate_quality_plot
from bench.reporting.render import provenance


def _listen_metric(summary: pd.DataFrame, wanted: str | None) -> tuple[str | None, bool]:
    have = list(dict.fromkeys(summary["metric"])) if not summary.empty else []
    if wanted is not None:
        if wanted not in have:
            raise BenchError(f"--listen-metric {wanted!r}: not in these runs (have: {', '.join(have)})")
        m = wanted
    else:
        m = next((c for c in ("visqol-speech", "pesq-wb", "visqol-audio", "si-sdr", "wer") if c in have), None)
        if m is None:
            return None, True
    hib = bool(summary.loc[summary["metric"] == m, "higher_is_better"].iloc[0])
    return m, hib


def build_card(run_dirs: list[Path], layout: str | Path = "nemo-card", out: Path | None = None, *,
               formats=("md", "csv", "latex", "html"), speed: list[Path] | None = None, worst: int = 3,
               listen: int = 0, listen_metric: str | None = None, bd_method: str = "akima",
               listening: Path | None = None, listening_screening: str = "bs1534",
               audio: AudioSource | None = None) -> Card:
    """Fill ``layout`` from ``run_dirs``; with ``out``, write the folder (plots/, audio/, spec/).

    ``worst``: items shown per codec in the listening section; ``listen`` > 0 shows that many (the
    caller's ``audio`` source re-decodes them when the run did not save audio, ``bench run
    --save-audio``). ``audio``: where the listening section's files come from (see
    :data:`~bench.reporting.listen.AudioSource`; :func:`bench.api.report` passes the pipeline's).
    ``listening``: a MUSHRA test folder; adds a MUSHRA column and a rate–MUSHRA curve
    (:mod:`bench.reporting.mushra`).
    """
    lay = load_layout(layout)
    runs = load_runs([Path(d) for d in run_dirs])
    speed_frames = []
    for p in speed or []:
        p = Path(p)
        if not p.exists():
            raise BenchError(f"--speed {p}: no such file (write one with `bench speed --out {p}`)")
        speed_frames.append((p.name, pd.read_csv(p)))
    summary = merged_summary(runs)
    tables = build_tables(lay, runs, speed_frames) + extra_metric_tables(lay, summary)
    card = Card(layout=lay, tables=tables, runs=runs, summary=summary,
                provenance=provenance([r.manifest for r in runs]),
                bd=bd_table(summary, [m for m in lay.bd_metrics if m in set(summary["metric"])], bd_method),
                items=item_table(runs))
    mushra = None
    if listening is not None:
        from bench.reporting.mushra import add_mushra

        mushra = add_mushra(card, listening, listening_screening)
    if out is None:
        return card
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for m in plottable_metrics(summary, lay.plots):
        card.plots += rate_quality_plot(summary, m, out / "plots")
    if mushra is not None:
        from bench.reporting.mushra import rate_mushra_plot

        card.plots += rate_mushra_plot(summary, mushra, out / "plots")
    metric, hib = _listen_metric(summary, listen_metric)
    n = listen if listen > 0 else worst
    if metric is not None and n > 0:
        card.listening = listening_blocks(runs, card.items, metric, n, hib, out, audio)
        for block in card.listening:  # random-weight audio is labelled where it is played, too
            block["label"] = shown_label(summary, block["label"])
    card.options.update(worst=n, listen_metric=metric or "")
    files: list[Path] = []
    for name in formats:
        files += get_format(name)(card, out)
    card.files = files + card.plots
    return card
