"""The header every report carries (every layout, every format): how each number was made.

A number without its backend, version, mode and sample rate is how peers ended up disagreeing,
so the header is part of the report, not an appendix. The tables themselves are
:mod:`bench.reporting.layouts`; the writers :mod:`bench.reporting.formats`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from bench.reporting.paths import portable_path
from bench.markdown import md_escape


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


def metrics_table(prov: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for name, info in sorted(prov["metrics"].items()):
        rows.append({"metric": name, "unit": info.get("unit", ""),
                     "better": "higher" if info.get("higher_is_better", True) else "lower",
                     "rate (Hz)": info.get("sample_rate") or "native",
                     "backend": f"{info.get('backend', '')} {info.get('version', '')}".strip(),
                     "mode": info.get("mode", ""), "model": portable_path(info.get("model_file", "") or ""),
                     "model sha256": str(info.get("model_sha256", "") or "")[:12]})
    return pd.DataFrame(rows)


#: the HTML header items every report shares (plain table and card layouts), as :func:`provenance_lines`
PROVENANCE_HTML = """{% if prov.git %}<li>code: git {{ prov.git|join(', ') }}</li>{% endif %}
{% if prov.resampler %}<li>resampler: {{ prov.resampler|join(', ') }}</li>{% endif %}
{% for line in prov.alignment %}<li>alignment: {{ line|e }}</li>{% endfor %}
{% if prov.untrained %}<li class="warn">UNTRAINED weights (not a quality claim): {{ prov.untrained|join(', ') }}</li>{% endif %}
"""
