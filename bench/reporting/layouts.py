"""Card layouts: a YAML file says which tables a report holds; this module fills them from runs.

A model card is several distinct tables (quality per test set, WER on other corpora, speaker
verification, the spec sheet, speed), not one wide table. A layout (``reports/layouts/NAME.yaml``)
names them; :func:`build_card` turns run directories into :class:`CardTable` objects whose values
are pandas DataFrames, with two companion frames of the same shape: ``status`` ("ok", "failed",
"missing", "none") and ``runs`` (the run directory that produced each cell). A column whose suite
or metric was not run is therefore *shown as missing*, never dropped, and every number can be
traced to its run.

Table kinds (``kind:``):

``metrics``  rows = codec settings, one column per ``{title, metric}``; one section per suite in
             ``suites:``; ``other_suites: true`` adds a section for each suite that was run but
             that no table of the layout names (the demo suite shows real numbers this way while
             the LibriSpeech sections stay missing: numbers are never relabelled as another corpus).
             ``present_only: true`` keeps only the columns whose metric is in the runs and leaves
             the table out when none is: a table of optional metrics (DistillMOS, pitch, WARP-Q)
             that appears next to the card's own tables when they were run, never in their place.
``suites``   rows = ``original:`` row (e.g. "Original audio" from ``wer-original``) then codecs,
             one column per ``{title, suite}`` holding ``metric:``; ``other_suites`` adds columns.
``spec``     rows = spec fields (what ``bench info`` shows), columns = codecs, from the run
             manifests' codec spec.
``speed``    rows = codec x device, from ``bench speed --out FILE.csv`` tables (``RUN/speed.csv``
             is picked up; ``bench report --speed FILE`` adds more); missing when never timed.
``summary``  rows = codec settings, one column per metric the runs hold (in card order), one
             section per suite, mean with its 95 % CI: every number of the runs, nothing named in
             advance. The plain report (``bench report RUN``, ``RUN/summary.md``) is the stock
             layout ``summary.yaml`` holding one such table.

``aliases:`` maps a suite named in the layout to the run suites that count as it, first found wins
(``librispeech-test-clean: [librispeech-test-clean, librispeech]``). ``ci: true`` on a table shows
``ci_low``/``ci_high`` when the summaries carry them. ``plots:`` lists the metrics drawn against
kbps (default: every quality metric in the runs) and ``bd_metrics:`` those the BD table compares
at. A column may set ``format: "{:.3f}"``. When several runs hold the same (suite, codec, metric),
the run given last on the command line wins, and its name is what the cell records.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from bench.errors import BenchError
from bench.metrics import metric_meta
from bench.pipeline.rundir import RunDir, read_rows
from bench.reporting.tables import summarize
from bench.rows import card_order, display_name, interval_text, marked_label, set_level_notes, untrained_labels
from bench import resources

KINDS = ("metrics", "suites", "spec", "speed", "summary")

#: spec columns in the order and wording of the model card's spec table (what ``bench info`` shows):
#: (manifest spec field, column title, format, scale); the card gives the sampling rate in kHz
SPEC_FIELDS = [("sample_rate", "Sampling rate (kHz)", "{:g}", 1e-3), ("params_m", "Size (M)", "{:.2f}", 1),
               ("latent_dim", "Latent dim", "{:d}", 1), ("codebook_size", "Codebook size", "{:d}", 1),
               ("num_codebooks", "Num of codebooks", "{:d}", 1), ("frame_rate", "Framerate (fps)", "{:g}", 1),
               ("nominal_kbps", "Bitrate (kbps)", "{:g}", 1)]


@dataclass
class RunData:
    """One run directory as a report sees it: its rows, per-run summary and manifest."""

    name: str
    path: Path
    manifest: dict[str, Any]
    rows: pd.DataFrame
    summary: pd.DataFrame
    items: pd.DataFrame
    speed: pd.DataFrame | None = None


def load_runs(paths: list[Path]) -> list[RunData]:
    out = []
    for p in paths:
        p = Path(p)
        rd = RunDir(p)
        rows = read_rows(p)
        summary = summarize(rows, order=list(dict.fromkeys(rows["label"])))
        summary["run"] = p.name
        speed = pd.read_csv(p / "speed.csv") if (p / "speed.csv").exists() else None
        out.append(RunData(p.name, p, rd.read_manifest(), rows, summary, rd.items(), speed))
    return out


def merged_summary(runs: list[RunData]) -> pd.DataFrame:
    """Per-run summaries stacked; a later run replaces an earlier one's (suite, label, metric) cell."""
    if not runs:
        return pd.DataFrame()
    df = pd.concat([r.summary for r in runs], ignore_index=True)
    return df.drop_duplicates(["suite", "label", "metric"], keep="last").reset_index(drop=True)


@dataclass
class CardTable:
    """One table of a card. ``values`` holds numbers (or text for spec cells), ``status`` and
    ``runs`` have the same shape and say what each cell is and where it came from."""

    id: str
    title: str
    values: pd.DataFrame
    status: pd.DataFrame
    runs: pd.DataFrame
    section: str = ""
    note: str = ""
    ci_low: pd.DataFrame | None = None
    ci_high: pd.DataFrame | None = None
    formats: dict[str, str] = field(default_factory=dict)  # column or row -> format spec
    #: column -> the heading a person reads, where it differs from the key (a metric's name in
    #: ``values`` and ``card.csv``, "ViSQOL speech (MOS) ↑" on the page)
    headers: dict[str, str] = field(default_factory=dict)
    #: (row, column) cells marked "†": a set-level value over too few trials (the note says why)
    marks: set[tuple[str, str]] = field(default_factory=set)
    #: columns a narrow rendering (a terminal) leaves out first; default: from the right
    drop_order: list[str] = field(default_factory=list)

    def cell_text(self, row: Any, col: Any, with_ci: bool = True) -> str:
        status = self.status.at[row, col]
        if status == "missing":
            return "missing"
        if status == "none":
            return "-"
        v = self.values.at[row, col]
        if status == "failed" or v is None or (isinstance(v, float) and math.isnan(v)):
            return "failed"
        if isinstance(v, str):
            return v
        fmt = self.formats.get(col) or self.formats.get(row) or "{:.2f}"
        mark = "†" if (row, col) in self.marks else ""
        if fmt.endswith("d}"):
            return fmt.format(int(v)) + mark
        lo = hi = math.nan
        if with_ci and self.ci_low is not None and self.ci_high is not None:
            lo, hi = self.ci_low.at[row, col], self.ci_high.at[row, col]
        spec = re.fullmatch(r"\{:([^{}]*)\}", fmt)
        if spec is None:  # a format with text around the number: no interval shorthand
            text = fmt.format(v)
            return text + (f" [{fmt.format(lo)}, {fmt.format(hi)}]" if pd.notna(lo) and pd.notna(hi) else "") + mark
        return interval_text(v, lo, hi, spec.group(1)) + mark

    def text_frame(self, with_ci: bool = True) -> pd.DataFrame:
        """The table as a person reads it (strings, headings), plus a 'run' column naming the source runs."""
        shown = pd.DataFrame({self.headers.get(c, c): [self.cell_text(r, c, with_ci) for r in self.values.index]
                              for c in self.values.columns}, index=self.values.index)
        shown["run"] = [", ".join(sorted({str(x) for x in self.runs.loc[r] if x})) or "-" for r in self.values.index]
        shown.index.name = self.values.index.name
        return shown

    def long(self) -> pd.DataFrame:
        """One line per cell: table, section, row, column, value, (CI,) status and run (the CSV form)."""
        recs = []
        for r in self.values.index:
            for c in self.values.columns:
                v = self.values.at[r, c]
                rec = {"table": self.id, "section": self.section, "row": r, "column": c,
                       "value": v, "status": self.status.at[r, c], "run": self.runs.at[r, c] or ""}
                if self.ci_low is not None and self.ci_high is not None:
                    rec.update(ci_low=self.ci_low.at[r, c], ci_high=self.ci_high.at[r, c])
                recs.append(rec)
        return pd.DataFrame(recs)


@dataclass
class Layout:
    name: str
    title: str
    tables: list[dict[str, Any]]
    aliases: dict[str, list[str]] = field(default_factory=dict)
    description: str = ""
    plots: list[str] | None = None  # metrics to plot against kbps (None: every quality metric)
    bd_metrics: list[str] = field(default_factory=lambda: ["visqol-speech", "pesq-wb", "wer"])
    source: str = ""

    def suites_named(self) -> set[str]:
        named: set[str] = set()
        for t in self.tables:
            for s in t.get("suites", []) or []:
                named.update(self.aliases.get(s, [s]))
            for c in t.get("columns", []) or []:
                if "suite" in c:
                    named.update(self.aliases.get(c["suite"], [c["suite"]]))
        return named


def layout_names() -> list[str]:
    return sorted({p.stem for d in resources.layout_dirs() for p in d.glob("*.yaml")})


def _layout_file(name: str) -> Path:
    """The last layout folder (user folders come after the stock one) that has NAME.yaml."""
    found = [d / f"{name}.yaml" for d in resources.layout_dirs() if (d / f"{name}.yaml").is_file()]
    return found[-1] if found else resources.layout_dirs()[0] / f"{name}.yaml"


def load_layout(name_or_path: str | Path) -> Layout:
    """A layout by name (``reports/layouts/NAME.yaml``) or by file path; errors name the file."""
    p = Path(name_or_path)
    if not p.suffix:
        p = _layout_file(str(name_or_path))
    if not p.exists():
        raise BenchError(f"layout {str(name_or_path)!r}: no file {p} (shipped layouts: {', '.join(layout_names())})")
    try:
        doc = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as exc:
        raise BenchError(f"{p}: not valid YAML ({exc})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("tables"), list) or not doc["tables"]:
        raise BenchError(f"{p}: a layout needs a non-empty 'tables:' list")
    for i, t in enumerate(doc["tables"]):
        kind = t.get("kind") if isinstance(t, dict) else None
        if kind not in KINDS:
            raise BenchError(f"{p}: table {i + 1} has kind {kind!r}; choose one of {', '.join(KINDS)}")
        if kind in ("metrics", "suites") and not t.get("columns"):
            raise BenchError(f"{p}: table {t.get('id', i + 1)!r} ({kind}) needs 'columns:'")
        if kind == "metrics" and any("metric" not in c for c in t["columns"]):
            raise BenchError(f"{p}: table {t.get('id', i + 1)!r}: every column needs 'metric:'")
        if kind == "suites" and (not t.get("metric") or any("suite" not in c for c in t["columns"])):
            raise BenchError(f"{p}: table {t.get('id', i + 1)!r}: needs 'metric:' and a 'suite:' per column")
    aliases = {k: list(v) if isinstance(v, list) else [v] for k, v in (doc.get("aliases") or {}).items()}
    return Layout(name=doc.get("name", p.stem), title=doc.get("title", p.stem), tables=doc["tables"],
                  aliases=aliases, description=str(doc.get("description", "")).strip(), plots=doc.get("plots"),
                  bd_metrics=doc.get("bd_metrics", ["visqol-speech", "pesq-wb", "wer"]), source=p.name)


# --------------------------------------------------------------------------------------------- build


def _labels(summary: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(summary["label"])) if not summary.empty else []


def shown_label(summary: pd.DataFrame, label: str) -> str:
    """The label a person reads: 'enc@6 (untrained)' for random-weight codecs (bench.rows.marked_label)."""
    return marked_label(label, "untrained" if label in untrained_labels(summary) else None)


def _resolve_suite(layout: Layout, suite: str, present: set[str]) -> str | None:
    for s in layout.aliases.get(suite, [suite]):
        if s in present:
            return s
    return None


def _frames(index: list[str], columns: list[str], with_ci: bool):
    values = pd.DataFrame(math.nan, index=index, columns=columns, dtype=object)
    status = pd.DataFrame("missing", index=index, columns=columns)
    runs = pd.DataFrame("", index=index, columns=columns)
    ci = (pd.DataFrame(math.nan, index=index, columns=columns), pd.DataFrame(math.nan, index=index, columns=columns)) \
        if with_ci else (None, None)
    return values, status, runs, ci


def _fill(cell: pd.Series | None, r: str, c: str, values, status, runs, ci) -> None:
    """Copy one summary row into a cell: ok, failed (row exists, no value) or left missing."""
    if cell is None:
        return
    v = cell["mean"]
    values.at[r, c] = float(v) if pd.notna(v) else math.nan
    status.at[r, c] = "ok" if pd.notna(v) else "failed"
    runs.at[r, c] = cell.get("run", "")
    if ci[0] is not None and "ci_low" in cell and "ci_high" in cell:
        ci[0].at[r, c], ci[1].at[r, c] = cell["ci_low"], cell["ci_high"]


def _lookup(summary: pd.DataFrame, suite: str | None, label: str | None, metric: str) -> pd.Series | None:
    if suite is None or summary.empty:
        return None
    m = (summary["suite"] == suite) & (summary["metric"] == metric)
    if label is not None:
        m &= summary["label"] == label
    sub = summary[m]
    if label is None:  # set-level metric (e.g. wer-original): the same for every codec; take a value
        ok = sub[sub["mean"].notna()]
        sub = ok if len(ok) else sub
    return None if sub.empty else sub.iloc[-1]


def _precision(metric: str) -> str:
    """How a card cell prints this metric: the metric's own record says (Metric.precision)."""
    return metric_meta(metric).precision


def _metrics_tables(spec: dict, layout: Layout, summary: pd.DataFrame, present: set[str],
                    others: list[str]) -> list[CardTable]:
    cols = spec["columns"]
    if spec.get("present_only"):
        run_metrics = set(summary["metric"]) if not summary.empty else set()
        cols = [c for c in cols if c["metric"] in run_metrics]
        if not cols:
            return []
    titles = [c["title"] if "title" in c else c["metric"] for c in cols]
    sections = [(s, _resolve_suite(layout, s, present)) for s in spec.get("suites", []) or []]
    if spec.get("other_suites"):
        sections += [(s, s) for s in others]
    if not sections:  # no suites named: every suite that was run
        sections = [(s, s) for s in sorted(present)] or [("(no runs)", None)]
    tables = []
    for shown_suite, suite in sections:
        labels = _labels(summary)
        index = [shown_label(summary, lab) for lab in labels]
        values, status, runs, ci = _frames(index, titles, bool(spec.get("ci")))
        for lab, r in zip(labels, index):
            for c, title in zip(cols, titles):
                _fill(_lookup(summary, suite, lab, c["metric"]), r, title, values, status, runs, ci)
        values.index.name = "codec"
        note = "" if suite else f"suite {shown_suite!r} was not run (every cell missing)"
        if suite and suite != shown_suite:
            note = f"{shown_suite} = run suite {suite!r} (alias in the layout)"
        tables.append(CardTable(spec.get("id", "table"), spec.get("title", ""), values, status, runs,
                                section=shown_suite, note=note, ci_low=ci[0], ci_high=ci[1],
                                formats={t: c.get("format", _precision(c["metric"])) for c, t in zip(cols, titles)}))
    return tables


def _suites_table(spec: dict, layout: Layout, summary: pd.DataFrame, present: set[str],
                  others: list[str]) -> CardTable:
    metric = spec["metric"]
    cols = [(c.get("title", c["suite"]), _resolve_suite(layout, c["suite"], present)) for c in spec["columns"]]
    if spec.get("other_suites"):
        cols += [(s, s) for s in others]
    titles = [t for t, _ in cols]
    orig = spec.get("original")
    # with an "Original audio" row, the uncoded 'original' pseudo-codec would repeat it
    labels = [lab for lab in _labels(summary) if not (orig and lab == "original")]
    index = ([orig.get("title", "Original audio")] if orig else []) + [shown_label(summary, lab) for lab in labels]
    values, status, runs, ci = _frames(index, titles, bool(spec.get("ci")))
    for title, suite in cols:
        if orig:
            _fill(_lookup(summary, suite, None, orig["metric"]), index[0], title, values, status, runs, ci)
        for lab, r in zip(labels, index[1 if orig else 0:]):
            _fill(_lookup(summary, suite, lab, metric), r, title, values, status, runs, ci)
    values.index.name = "codec"
    missing = [t for t, s in cols if s is None]
    note = f"metric {metric}; not run: {', '.join(missing)}" if missing else f"metric {metric}"
    return CardTable(spec.get("id", "table"), spec.get("title", ""), values, status, runs, note=note,
                     ci_low=ci[0], ci_high=ci[1], formats={t: spec.get("format", _precision(metric)) for t in titles})


def _spec_table(spec: dict, runs_data: list[RunData], summary: pd.DataFrame) -> CardTable:
    """Rows = codec settings, columns = spec fields, as on the card; from the run manifests."""
    codecs: dict[str, tuple[dict, str]] = {}
    for run in runs_data:
        for label, info in (run.manifest.get("codecs") or {}).items():
            codecs[label] = (info, run.name)
    known = _labels(summary)
    labels = [lab for lab in known if lab in codecs] + [lab for lab in codecs if lab not in known]
    wanted = spec.get("fields") or [f[0] for f in SPEC_FIELDS]
    fields = [f for f in SPEC_FIELDS if f[0] in wanted]
    titles = [t for _, t, _, _ in fields]
    index = [shown_label(summary, lab) if not summary.empty else lab for lab in labels]
    values, status, runs, _ = _frames(index, titles, False)
    for lab, row in zip(labels, index):
        info, run = codecs[lab]
        s = info.get("spec") or {}
        for f, title, _, scale in fields:
            if f not in s:
                continue  # an older manifest without the field: missing
            runs.at[row, title] = run
            if s[f] is None:
                status.at[row, title] = "none"  # e.g. Opus has no codebook: not applicable
            else:
                values.at[row, title] = s[f] * scale if scale != 1 else s[f]
                status.at[row, title] = "ok"
    values.index.name = "codec"
    return CardTable(spec.get("id", "spec"), spec.get("title", ""), values, status, runs,
                     note="from each run manifest's codec spec (what `bench info` shows); '-' = not applicable",
                     formats={t: fmt for _, t, fmt, _ in fields})


#: the metrics a narrow (terminal) summary keeps longest; the files always hold every column
TERMINAL_METRICS = ("kbps", "visqol-speech", "pesq-wb", "stoi", "wer", "eer")


def _heading(metric: str) -> str:
    """'ViSQOL speech (MOS) ↑': the display name, unit and direction from the metric's record."""
    meta = metric_meta(metric)
    arrow = "↑" if meta.higher_is_better else "↓"
    shown = display_name(metric)
    return f"{shown} ({meta.unit}) {arrow}" if meta.unit and meta.unit != shown else f"{shown} {arrow}"


def summary_tables(summary: pd.DataFrame, spec: dict | None = None) -> list[CardTable]:
    """Every metric of the runs, per codec setting, one section per suite (the plain report).

    Item counts are a column only where they differ between rows (else the note says them once);
    set-level values over too few trials are marked † and the note says what each was computed over.
    ``spec``: the layout's table entry (id, title).
    """
    spec = spec or {"id": "summary", "title": "Summary"}
    if summary.empty:
        values, status, runs, ci = _frames(["(no runs)"], ["kbps"], True)
        return [CardTable(spec.get("id", "summary"), spec.get("title", ""), values, status, runs, note="no rows",
                          ci_low=ci[0], ci_high=ci[1])]
    tables = []
    for suite in sorted(dict.fromkeys(summary["suite"]), key=str):
        s = summary[summary["suite"] == suite]
        metrics = card_order(list(dict.fromkeys(s["metric"])))
        labels = _labels(s)
        index = [shown_label(summary, lab) for lab in labels]
        values, status, runs, ci = _frames(index, ["items", *metrics, "failed"], True)
        for lab, r in zip(labels, index):
            for m in metrics:
                _fill(_lookup(summary, suite, lab, m), r, m, values, status, runs, ci)
            mine = s[s["label"] == lab]
            for col, counts in (("items", mine["n"]), ("failed", mine["n_failed"])):
                values.at[r, col], status.at[r, col] = int(counts.max()), "ok"
        notes, marked = set_level_notes(s)
        counts = values[["items", "failed"]].astype(int)
        if counts["items"].nunique() == 1 and (counts["failed"] == 0).all():
            notes.insert(0, f"{int(counts['items'].iloc[0])} items per row, none failed")
            values, status, runs = (f.drop(columns=["items", "failed"]) for f in (values, status, runs))
            ci = tuple(f.drop(columns=["items", "failed"]) for f in ci)
        values.index.name = "codec"
        derived = [m for m in reversed(metrics) if metric_meta(m).parent]
        other = [m for m in reversed(metrics) if m not in derived and m not in TERMINAL_METRICS]
        tables.append(CardTable(
            spec.get("id", "summary"), spec.get("title", ""), values, status, runs, section=str(suite),
            note="; ".join(notes), ci_low=ci[0], ci_high=ci[1],
            formats={"items": "{:d}", "failed": "{:d}", **{m: _precision(m) for m in metrics}},
            headers={m: _heading(m) for m in metrics},
            marks={(shown_label(summary, lab), m) for su, lab, m in marked},
            # derived companions first (WER original is the same for every codec), then the metrics a
            # terminal reader needs least, then the rest from the right; kbps stays
            drop_order=["failed", "items", *derived, *other,
                        *(m for m in reversed(metrics) if m in TERMINAL_METRICS and m != "kbps")]))
    return tables


SPEED_COLUMNS = [("encode_s", "Encode (s)", "{:.3f}"), ("decode_s", "Decode (s)", "{:.3f}"),
                 ("rtf", "RTF", "{:.4f}"), ("kbps", "kbps", "{:.2f}")]


def _speed_table(spec: dict, runs_data: list[RunData], summary: pd.DataFrame,
                 speed: list[tuple[str, pd.DataFrame]]) -> CardTable:
    frames = [(r.name, r.speed) for r in runs_data if r.speed is not None] + list(speed)
    titles = [t for _, t, _ in SPEED_COLUMNS]
    recs: dict[str, tuple[pd.Series, str]] = {}
    for source, df in frames:
        for _, row in df.iterrows():
            recs[f"{row['codec']} ({row.get('device', 'cpu')})"] = (row, source)
    index = list(recs) or [shown_label(summary, lab) for lab in _labels(summary) if lab != "original"]
    values, status, runs, _ = _frames(index, titles, False)
    for key, (row, source) in recs.items():
        for f, title, _ in SPEED_COLUMNS:
            if f in row and pd.notna(row[f]):
                values.at[key, title], status.at[key, title], runs.at[key, title] = float(row[f]), "ok", source
    values.index.name = "codec (device)"
    note = ("encode/decode seconds of a 10 s clip, median after warm-up (`bench speed --out FILE.csv`)" if recs else
            "no timings: run `bench speed --codec ... --out RUN/speed.csv` (or pass `bench report --speed FILE`)")
    return CardTable(spec.get("id", "speed"), spec.get("title", ""), values, status, runs, note=note,
                     formats={t: fmt for _, t, fmt in SPEED_COLUMNS})


def build_tables(layout: Layout, runs_data: list[RunData],
                 speed: list[tuple[str, pd.DataFrame]] | None = None) -> list[CardTable]:
    """Every table of ``layout`` filled from ``runs_data`` (missing cells marked, sources recorded)."""
    summary = merged_summary(runs_data)
    present = set(summary["suite"]) if not summary.empty else set()
    others = sorted(present - layout.suites_named())
    out: list[CardTable] = []
    for spec in layout.tables:
        kind = spec["kind"]
        if kind == "metrics":
            out += _metrics_tables(spec, layout, summary, present, others)
        elif kind == "suites":
            out.append(_suites_table(spec, layout, summary, present, others))
        elif kind == "spec":
            out.append(_spec_table(spec, runs_data, summary))
        elif kind == "summary":
            out += summary_tables(summary, spec)
        else:
            out.append(_speed_table(spec, runs_data, summary, speed or []))
    return out
