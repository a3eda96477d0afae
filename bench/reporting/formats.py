"""Report formats: one decorated writer per format, so a new format is one new function.

A writer takes a :class:`Card` (tables, BD table, plots, provenance) and an output folder and
returns the files it wrote. ``bench report --format md,csv,latex,html`` looks them up here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from bench.reporting.layouts import CardTable, Layout, RunData
from bench.markdown import md_escape, md_table
from bench.registry import Registry

Writer = Callable[["Card", Path], list[Path]]
_FORMATS: Registry[Writer] = Registry("report format")


def register_format(name: str) -> Callable[[Writer], Writer]:
    return _FORMATS.register(name)


def format_names() -> list[str]:
    """Formats registered so far (the built-in html registers when bench.reporting.card is imported)."""
    return _FORMATS.names()


def get_format(name: str) -> Writer:
    return _FORMATS.get(name)


@dataclass
class Card:
    """Everything a report shows; every writer renders the same object."""

    layout: Layout
    tables: list[CardTable]
    runs: list[RunData]
    summary: pd.DataFrame
    provenance: dict[str, Any]
    bd: pd.DataFrame = field(default_factory=pd.DataFrame)
    plots: list[Path] = field(default_factory=list)  # PNG/SVG inside the output folder
    listening: list[dict[str, Any]] = field(default_factory=list)  # filled by the html writer's helpers
    items: pd.DataFrame = field(default_factory=pd.DataFrame)  # per-item wide table
    files: list[Path] = field(default_factory=list)  # everything written (after build_card with out)
    options: dict[str, Any] = field(default_factory=dict)

    def dataframes(self) -> dict[str, pd.DataFrame]:
        """The card's tables as numeric DataFrames, keyed ``TABLE`` or ``TABLE/SECTION``
        (statuses and source runs: ``card.tables[i].status`` / ``.runs``)."""
        return {t.id + (f"/{t.section}" if t.section else ""): t.values for t in self.tables}

    def heading(self, t: CardTable) -> str:
        return t.title + (f" — {t.section}" if t.section else "")


def bd_display(bd: pd.DataFrame) -> pd.DataFrame:
    """The BD table as a person reads it: 'bitrate saving of B vs A at equal METRIC'."""
    if bd.empty:
        return pd.DataFrame(columns=["suite", "at equal", "B", "vs A", "bitrate saving %", "BD-quality", "note"])

    def f(v, fmt):
        return "n/a" if pd.isna(v) else fmt.format(v)

    return pd.DataFrame({"suite": bd["suite"], "at equal": bd["metric"], "B": bd["B"], "vs A": bd["A"],
                         "bitrate saving %": [f(v, "{:+.1f}") for v in bd["bitrate_saving_pct"]],
                         "BD-quality": [f(v, "{:+.3f}") for v in bd["bd_quality"]], "note": bd["note"]})


def _md_table(df: pd.DataFrame) -> str:
    # the index as a column, so its name ("codec") heads it (md_table escapes it like any cell)
    return md_table(df.reset_index(), disable_numparse=True, index=False,
                    colalign=["left"] + ["right"] * (len(df.columns) - 1) + ["left"])


def table_markdown(t: CardTable, width: int | None = None) -> str:
    """One table as markdown. ``width``: leave columns out (``t.drop_order`` first, then from the
    right) until its lines fit that many characters (a terminal), and say which (None: all)."""
    frame = t.text_frame()
    text = _md_table(frame)
    if width is None:
        return text
    order = [t.headers.get(c, c) for c in t.drop_order if c in t.values.columns]
    order += [t.headers.get(c, c) for c in list(reversed(t.values.columns))[:-1] if t.headers.get(c, c) not in order]
    left_out = []
    while max(map(len, text.splitlines())) > width and order:
        col = order.pop(0)
        if col in frame.columns:
            frame = frame.drop(columns=col)
            left_out.append(col)
            text = _md_table(frame)
    if left_out:
        text += (f"\n\n_{len(left_out)} more column(s) in the report files / `--wide`: "
                 f"{md_escape(', '.join(left_out))}_")
    return text


def tables_markdown(card: Card, width: int | None = None) -> str:
    """The card's tables, each under its heading and note (see :func:`table_markdown` for ``width``)."""
    lines = []
    for t in card.tables:
        lines += [f"## {md_escape(card.heading(t))}", ""]
        if t.note:
            lines += [f"_{t.note}_", ""]
        lines += [table_markdown(t, width), ""]
    return "\n".join(lines)


def markdown(card: Card, width: int | None = None) -> str:
    """The whole report as markdown: header (runs, provenance), tables (narrowed to ``width``
    characters when given), BD table, plots, and how each metric was computed."""
    from bench.reporting.render import metrics_table, provenance_lines

    p = card.provenance
    lines = [f"# {card.layout.title}", ""]
    if card.layout.description:
        lines += [card.layout.description, ""]
    lines.append(f"- layout: `{card.layout.source}`")
    for run in card.runs:
        s = run.manifest.get("suite") or {}
        lines.append(f"- run `{md_escape(run.name)}`: suite **{md_escape(s.get('name'))}**, {s.get('n_items')} items "
                     f"({md_escape(s.get('subset', 'all'))}), content hash `{md_escape(str(s.get('hash', ''))[:12])}`")
    lines += provenance_lines(p)
    lines += ["", "Cells: `missing` = that suite or metric was not run; `failed` = run, but no item gave a "
              "value; `-` = not applicable. The `run` column names the run directory each row's cells come from "
              "(per cell in `card.csv`).", ""]
    lines.append(tables_markdown(card, width))
    if not card.bd.empty:
        method = card.bd["method"].iloc[0]
        lines += ["## Bitrate saving of B vs A at equal quality (Bjøntegaard delta)", "",
                  f"_{method} interpolation over the overlapping range; saving = -BD-rate; BD-quality = B minus A at "
                  "equal log-bitrate in the metric's unit (for WER lower is better)_", "",
                  md_table(bd_display(card.bd), index=False, disable_numparse=True), ""]
    pngs = [pl for pl in card.plots if pl.suffix == ".png"]
    if pngs:
        lines += ["## Rate–quality curves", ""] + [f"![{pl.stem}](plots/{pl.name})" for pl in pngs] + [""]
    mt = metrics_table(p)
    if not mt.empty:
        lines += ["## How each metric was computed", "", md_table(mt, index=False), ""]
    return "\n".join(lines)


@register_format("md")
def write_markdown(card: Card, out: Path) -> list[Path]:
    path = out / "card.md"
    path.write_text(markdown(card) + "\n")
    return [path]


@register_format("csv")
def write_csv(card: Card, out: Path) -> list[Path]:
    """``card.csv``: one line per cell with its status and run; ``bd.csv`` when there is a BD table."""
    path = out / "card.csv"
    frames = [t.long() for t in card.tables]
    pd.concat(frames, ignore_index=True).to_csv(path, index=False)
    files = [path]
    if not card.bd.empty:
        card.bd.to_csv(out / "bd.csv", index=False)
        files.append(out / "bd.csv")
    return files


_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
          "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}", "<": r"\textless{}", ">": r"\textgreater{}",
          "|": r"\textbar{}"}


def _latex_escape(s: str) -> str:
    """One pass over the string, so a replacement's own braces are never escaped again."""
    return "".join(_LATEX.get(ch, ch) for ch in s)


@register_format("latex")
def write_latex(card: Card, out: Path) -> list[Path]:
    """``card.tex``: one ``table`` environment per card table (booktabs), ready to \\input."""
    parts = [f"% {card.layout.title} -- generated by codecbench (bench report --layout {card.layout.name})",
             "% needs \\usepackage{booktabs}"]
    for t in card.tables:
        df = t.text_frame()
        df = df.rename(columns=lambda c: _latex_escape(str(c)), index=lambda r: _latex_escape(str(r)))
        df = df.map(lambda v: _latex_escape(str(v)))
        body = df.to_latex(escape=False, column_format="l" + "r" * len(df.columns))
        parts += ["\\begin{table}[ht]", "\\centering", f"\\caption{{{_latex_escape(card.heading(t))}}}", body,
                  "\\end{table}", ""]
    if not card.bd.empty:
        bd = bd_display(card.bd).map(lambda v: _latex_escape(str(v)))
        bd.columns = [_latex_escape(c) for c in bd.columns]
        parts += ["\\begin{table}[ht]", "\\centering", "\\caption{Bitrate saving of B vs A at equal quality}",
                  bd.to_latex(index=False, escape=False), "\\end{table}", ""]
    path = out / "card.tex"
    path.write_text("\n".join(parts))
    return [path]
