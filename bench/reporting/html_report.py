"""The HTML report: one self-contained folder (index.html + plots/ + audio/ + spec/) that opens
offline. Jinja2 with autoescaping on, because codec labels and item ids come from user files;
the per-item table sorts with a few lines of inline JS (no CDN, no framework).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from bench.pipeline.rundir import safe_name  # noqa: F401  (re-exported for the report's file names)
from bench.reporting.bdrate import CAVEAT
from bench.reporting.card_view import collapse
from bench.reporting.formats import Card, bd_display, register_format
from bench.reporting.render import PROVENANCE_HTML

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)

_PAGE = _ENV.from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ card.layout.title }}</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5rem;max-width:80rem}
table{border-collapse:collapse;margin:.5rem 0 1.2rem}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
th:first-child,td:first-child{text-align:left}.missing{color:#999;font-style:italic}.failed{color:#a00}
.note{color:#555;font-size:.9em}.warn{color:#a00;font-weight:bold}.plots img{width:32rem;max-width:100%}
th.sort{cursor:pointer}th.sort:after{content:" \\2195";color:#999}.spec{white-space:nowrap}.spec img{width:14rem;display:inline-block}
</style></head><body>
<h1>{{ card.layout.title }}</h1>
{% if card.layout.description %}<p>{{ card.layout.description }}</p>{% endif %}
<ul>
<li>layout: <code>{{ card.layout.source }}</code></li>
{% for run in runs %}<li>run <code>{{ run.name }}</code>: suite <b>{{ run.suite }}</b>, {{ run.n_items }} items ({{ run.subset }}), content hash <code>{{ run.hash }}</code></li>{% endfor %}
""" + PROVENANCE_HTML + """</ul>
<p class="note">Tables hold what was run (mean [95 % CI]); <i>missing</i> = not run for that row; failed = run, but no
item gave a value; - = not applicable. Hover a cell to see the run directory it comes from.</p>
{% for t in tables %}
<h2>{{ t.heading }}</h2>{% if t.note %}<p class="note">{{ t.note }}</p>{% endif %}
<table><thead><tr><th>{{ t.index_name }}</th>{% for c in t.columns %}<th>{{ c }}</th>{% endfor %}</tr></thead><tbody>
{% for row in t.rows %}<tr><td>{{ row.name }}</td>{% for cell in row.cells %}<td class="{{ cell.status }}" title="run: {{ cell.run or 'none' }}">{{ cell.text }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>
{% endfor %}
{% if not_run %}<p class="note" id="not-run"><b>Not run</b> (in the layout, no data in these runs; every cell is in card.csv as missing): {{ not_run|join('; ') }}.</p>{% endif %}
{% if plots %}<h2>Rate–quality curves</h2><div class="plots">{% for p in plots %}<img src="{{ p }}" alt="{{ p }}">{% endfor %}</div>{% endif %}
{% if bd %}<h2>Bitrate saving of B vs A at equal quality (Bjøntegaard delta, {{ bd_method }})</h2>
<p class="note">saving = -BD-rate over the common quality range; BD-quality = B minus A at equal log-bitrate.</p>
<table><thead><tr>{% for c in bd.columns %}<th>{{ c }}</th>{% endfor %}</tr></thead><tbody>
{% for r in bd.rows %}<tr{% if caveat in r[-1] %} class="warn"{% endif %}>{% for v in r %}<td>{{ v }}</td>{% endfor %}</tr>{% endfor %}</tbody></table>
{% if bd.caveats %}<p class="warn">{{ bd.caveats }} of {{ bd.rows|length }} BD values rest on few settings or items ({{ caveat }} rows): indicative only.</p>{% endif %}{% endif %}
{% if listening %}<h2>Listen: worst {{ listen_n }} items per codec by {{ listen_metric }}</h2>
{% for block in listening %}<h3>{{ block.label }}</h3><table><thead><tr><th>item</th><th>{{ listen_metric }}</th><th>original</th><th>reconstruction</th><th>spectrograms (original, reconstruction)</th></tr></thead><tbody>
{% for it in block['items'] %}<tr><td>{{ it.item }}</td><td>{{ it.value }}</td>
<td>{% if it.original %}<audio controls preload="none" src="{{ it.original }}"></audio>{% else %}-{% endif %}</td>
<td>{% if it.recon %}<audio controls preload="none" src="{{ it.recon }}"></audio>{% elif it.error %}<span class="failed">{{ it.error }}</span>{% else %}<span class="note">not saved (bench run --save-audio, or bench report --listen N)</span>{% endif %}</td>
<td class="spec">{% for s in it.spectrograms %}<img src="{{ s }}" alt="spectrogram">{% endfor %}</td></tr>
{% endfor %}</tbody></table>{% endfor %}{% endif %}
{% if items %}<h2>Per item</h2><p class="note">click a column heading to sort</p>
<table id="items" class="sortable"><thead><tr>{% for c in items.columns %}<th class="sort">{{ c }}</th>{% endfor %}</tr></thead><tbody>
{% for r in items.rows %}<tr>{% for v in r %}<td data-v="{{ v.sort }}">{{ v.text }}</td>{% endfor %}</tr>{% endfor %}</tbody></table>{% endif %}
{% if metrics %}<h2>How each metric was computed</h2><table><thead><tr>{% for c in metrics.columns %}<th>{{ c }}</th>{% endfor %}</tr></thead><tbody>
{% for r in metrics.rows %}<tr>{% for v in r %}<td>{{ v }}</td>{% endfor %}</tr>{% endfor %}</tbody></table>{% endif %}
<script>
// Sort a table by the clicked column: numbers numerically (data-v), text alphabetically.
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th.sort").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var dir = th.getAttribute("data-dir") === "asc" ? -1 : 1;
      th.setAttribute("data-dir", dir === 1 ? "asc" : "desc");
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute("data-v"), y = b.cells[col].getAttribute("data-v");
        var nx = parseFloat(x), ny = parseFloat(y);
        if (!isNaN(nx) && !isNaN(ny)) { return dir * (nx - ny); }
        return dir * x.localeCompare(y);
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
document.body.setAttribute("data-ready", "1");
</script>
</body></html>
""")


def _table_ctx(card: Card) -> tuple[list[dict[str, Any]], list[str]]:
    """Tables with what was run (all-missing sections and columns left out), and the "not run" list."""
    shown, not_run = collapse(card.tables)
    out = []
    for t, cols in shown:
        rows = []
        for r in t.values.index:
            rows.append({"name": r, "cells": [{"text": t.cell_text(r, c), "status": t.status.at[r, c],
                                               "run": t.runs.at[r, c]} for c in cols]})
        out.append({"heading": card.heading(t), "note": t.note, "index_name": t.values.index.name or "",
                    "columns": [t.headers.get(c, c) for c in cols], "rows": rows})
    return out, not_run


def _items_ctx(items: pd.DataFrame) -> dict[str, Any] | None:
    if items.empty:
        return None
    rows = []
    for rec in items.itertuples(index=False):
        cells = []
        for v in rec:
            if isinstance(v, float):
                cells.append({"text": "n/a" if pd.isna(v) else f"{v:.3f}", "sort": "" if pd.isna(v) else repr(v)})
            else:
                cells.append({"text": str(v), "sort": str(v)})
        rows.append(cells)
    return {"columns": list(items.columns), "rows": rows}


def render_html(card: Card) -> str:
    from bench.reporting.render import metrics_table

    runs = []
    for run in card.runs:
        s = run.manifest.get("suite") or {}
        runs.append({"name": run.name, "suite": s.get("name"), "n_items": s.get("n_items"),
                     "subset": s.get("subset", "all"), "hash": str(s.get("hash", ""))[:12]})
    bd = None
    if not card.bd.empty:
        shown = bd_display(card.bd)
        bd = {"columns": list(shown.columns), "rows": shown.astype(str).values.tolist(),
              "caveats": int(shown["note"].astype(str).str.contains(CAVEAT).sum())}
    mt = metrics_table(card.provenance)
    metrics = {"columns": list(mt.columns), "rows": mt.astype(str).values.tolist()} if not mt.empty else None
    plots = [f"plots/{p.name}" for p in card.plots if p.suffix == ".svg"]
    tables, not_run = _table_ctx(card)
    return _PAGE.render(card=card, runs=runs, prov=card.provenance, tables=tables, not_run=not_run, plots=plots, bd=bd,
                        caveat=CAVEAT,
                        bd_method=card.bd["method"].iloc[0] if not card.bd.empty else "",
                        listening=card.listening, listen_n=card.options.get("worst", 0),
                        listen_metric=card.options.get("listen_metric", ""), items=_items_ctx(card.items),
                        metrics=metrics)


@register_format("html")
def write_html(card: Card, out: Path) -> list[Path]:
    path = out / "index.html"
    path.write_text(render_html(card))
    return [path]
