"""Reports people publish: the card table plus a header saying how every number was made.

A number without its backend, version, mode and sample rate is how peers ended up disagreeing,
so the header is part of the report, not an appendix.
"""

from __future__ import annotations

from typing import Any

import jinja2
import markupsafe
import pandas as pd

from bench.reporting.paths import portable_path
from bench.reporting.tables import summary_markdown, wide_table
from bench.markdown import md_escape, md_table


def provenance(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    """Merge run manifests into what a report header shows."""
    suites, shas, metrics, resamplers = {}, set(), {}, set()
    untrained = set()
    alignment: dict[str, dict[str, Any]] = {}
    for m in manifests:
        s = m.get("suite", {})
        if s:
            suites[s.get("name")] = {"items": s.get("n_items"), "hash": str(s.get("hash", ""))[:12],
                                     "subset": s.get("subset", "all")}
        git = m.get("git") or {}
        if git.get("sha"):
            shas.add(git["sha"][:10] + ("+dirty" if git.get("dirty") else ""))
        for name, info in (m.get("metrics") or {}).items():
            metrics[name] = info
        res = (m.get("environment") or {}).get("resampler")
        if res:
            resamplers.add(f"{res.get('backend')} {res.get('version')} ({res.get('quality')})")
        for label, codec in (m.get("codecs") or {}).items():
            if (codec.get("weights") or {}).get("trained") is False:
                untrained.add(label)
            alignment[label] = _alignment(m, label, codec)
    return {"suites": suites, "git": sorted(shas), "metrics": metrics, "resampler": sorted(resamplers),
            "untrained": sorted(untrained), "alignment": alignment_lines(alignment)}


def _alignment(manifest: dict[str, Any], label: str, codec: dict[str, Any]) -> dict[str, Any]:
    mode = (manifest.get("execution") or {}).get("align", "item")  # before --align: each item by its own lag
    delay = codec.get("delay") or {}
    counts = (manifest.get("alignment") or {}).get(label) or {}
    return {"mode": mode, "samples": delay.get("samples"), "rate": delay.get("sample_rate"),
            "source": delay.get("source"), "flagged": counts.get("n_lag_flagged"), "n": counts.get("n_items")}


def alignment_lines(alignment: dict[str, dict[str, Any]]) -> list[str]:
    """One line per alignment mode: how each setting's reconstructions were shifted before scoring,
    and how many items' own lag was flagged (off the setting's delay by more than 1 ms)."""
    lines = []
    rates = {a["rate"] for a in alignment.values() if a["rate"]}
    for mode, title in (("setting", "one shift per codec setting, its delay"),
                        ("item", "each item shifted by its own cross-correlation lag (--align item); setting delay")):
        parts = []
        for label, a in sorted(alignment.items()):
            if a["mode"] != mode:
                continue
            if a["samples"] is None:
                parts.append(f"{label} (not recorded)")
                continue
            rate = "" if len(rates) == 1 else f" at {a['rate']} Hz"
            flagged = f", {a['flagged']}/{a['n']} items flagged" if a["n"] else ""
            parts.append(f"{label} {a['samples']}{rate} ({a['source']}{flagged})")
        if parts:
            unit = f" in samples at {next(iter(rates))} Hz" if len(rates) == 1 else " in samples"
            lines.append(f"{title}{unit}: " + "; ".join(parts))
    return lines



def provenance_lines(prov: dict[str, Any]) -> list[str]:
    """The markdown header lines every report shares (plain table and card layouts): code, resampler,
    alignment, untrained weights; each report adds its own lines naming runs and suites."""
    lines = []
    if prov["git"]:
        lines.append(f"- code: git {', '.join(prov['git'])}")
    if prov["resampler"]:
        lines.append(f"- resampler: {', '.join(prov['resampler'])}")
    lines += [f"- alignment: {md_escape(line)}" for line in prov.get("alignment", [])]
    if prov["untrained"]:
        lines.append(f"- **UNTRAINED weights** (not a quality claim): {md_escape(', '.join(prov['untrained']))}")
    return lines


def _metrics_table(prov: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for name, info in sorted(prov["metrics"].items()):
        rows.append({"metric": name, "unit": info.get("unit", ""),
                     "better": "higher" if info.get("higher_is_better", True) else "lower",
                     "rate (Hz)": info.get("sample_rate") or "native",
                     "backend": f"{info.get('backend', '')} {info.get('version', '')}".strip(),
                     "mode": info.get("mode", ""), "model": portable_path(info.get("model_file", "") or ""),
                     "model sha256": str(info.get("model_sha256", "") or "")[:12]})
    return pd.DataFrame(rows)


def render_markdown(summary: pd.DataFrame, manifests: list[dict[str, Any]], width: int | None = None) -> str:
    """The report; ``width``: a terminal's width, to which the table is narrowed (see
    :func:`bench.reporting.tables.summary_markdown`)."""
    prov = provenance(manifests)
    lines = ["# codecbench report", ""]
    for name, s in prov["suites"].items():
        lines.append(f"- suite **{md_escape(name)}**: {s['items']} items ({md_escape(s['subset'])}), "
                     f"content hash `{md_escape(s['hash'])}`")
    lines += provenance_lines(prov)
    lines += ["", summary_markdown(summary, width=width), "",
              "Cells are mean ± half the 95 % bootstrap confidence interval where it is symmetric at the shown "
              "precision, else mean [low, high] (over items; corpus WER/CER over utterances, EER over speakers); "
              "`summary.csv` has the exact bounds (`ci_low`, `ci_high`).", ""]
    mt = _metrics_table(prov)
    if not mt.empty:
        lines += ["## How each metric was computed", "", md_table(mt, index=False), ""]
    return "\n".join(lines)


#: the HTML header items every report shares (plain table and card layouts), as :func:`provenance_lines`
PROVENANCE_HTML = """{% if prov.git %}<li>code: git {{ prov.git|join(', ') }}</li>{% endif %}
{% if prov.resampler %}<li>resampler: {{ prov.resampler|join(', ') }}</li>{% endif %}
{% for line in prov.alignment %}<li>alignment: {{ line|e }}</li>{% endfor %}
{% if prov.untrained %}<li class="warn">UNTRAINED weights (not a quality claim): {{ prov.untrained|join(', ') }}</li>{% endif %}
"""

_HTML = jinja2.Template("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>codecbench report</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}th:first-child,td:first-child{text-align:left}
.warn{color:#a00;font-weight:bold}</style></head><body>
<h1>codecbench report</h1><ul>
{% for name, s in prov.suites.items() %}<li>suite <b>{{ name }}</b>: {{ s['items'] }} items ({{ s['subset'] }}), content hash <code>{{ s['hash'] }}</code></li>{% endfor %}
""" + PROVENANCE_HTML + """</ul>{{ table }}
{% if metrics %}<h2>How each metric was computed</h2>{{ metrics }}{% endif %}
</body></html>
""", autoescape=True)


def render_html(summary: pd.DataFrame, manifests: list[dict[str, Any]]) -> str:
    prov = provenance(manifests)
    table = wide_table(summary).to_html(float_format=lambda v: f"{v:.3f}", border=0, na_rep="n/a")
    mt = _metrics_table(prov)
    # to_html escapes the cells itself (escape=True); autoescape covers everything else in the template
    metrics = markupsafe.Markup(mt.to_html(index=False, border=0)) if not mt.empty else ""
    return _HTML.render(prov=prov, table=markupsafe.Markup(table), metrics=metrics)
