"""Rate–quality curves: x = measured kbps, one line per codec family through its settings.

Codec papers compare codecs as curves, not single points: a codec at 6 kbps is only "worse" than
another at 12 kbps if it stays below it at equal rate. Files are deterministic (fixed SVG hash
salt, no dates or software stamps in metadata) so a committed report does not churn on re-render.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.figures import pyplot as _pyplot
from bench.figures import save_figure
from bench.reporting.tables import card_order, display_name
from bench.rows import marked_label

#: rows that are not codecs: the uncoded reference would sit at the PCM rate and flatten the plot
NOT_A_CURVE = {"original"}
#: set-level reference values drawn as a horizontal line on their parent metric's plot
REFERENCE_LINES = {"wer": "wer-original", "cer": "cer-original", "eer": "eer-original"}


def curve_points(summary: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One row per codec setting: family (card name), label, kbps, value and CI bounds if present."""
    if summary.empty:
        return pd.DataFrame(columns=["suite", "family", "label", "kbps", "value", "ci_low", "ci_high"])
    s = summary[~summary["codec"].isin(NOT_A_CURVE)]
    rate = s[s["metric"] == "kbps"].set_index(["suite", "label"])["mean"]
    q = s[s["metric"] == metric].copy()
    q["kbps"] = [rate.get((su, lab)) for su, lab in zip(q["suite"], q["label"])]
    for c in ("ci_low", "ci_high"):
        if c not in q:
            q[c] = float("nan")
    if "weights" in q:  # random-weight numbers never pass for a codec's quality, in a legend either
        q["codec"] = [marked_label(c, w) for c, w in zip(q["codec"], q["weights"])]
    out = q.rename(columns={"codec": "family", "mean": "value"})[
        ["suite", "family", "label", "kbps", "value", "ci_low", "ci_high"]]
    out = out[out["kbps"].notna() & out["value"].notna()]
    return out.sort_values(["suite", "family", "kbps"], kind="stable").reset_index(drop=True)


def plottable_metrics(summary: pd.DataFrame, wanted: list[str] | None = None) -> list[str]:
    have = set(summary["metric"]) if not summary.empty else set()
    derived = set(REFERENCE_LINES.values()) | {"min-dcf-original"}
    cands = wanted if wanted is not None else card_order(sorted(have))  # ranks declared by each metric
    return [m for m in cands if m in have and m not in derived and m != "kbps"
            and not curve_points(summary, m).empty]


def rate_quality_plot(summary: pd.DataFrame, metric: str, out_dir: Path, stem: str | None = None) -> list[Path]:
    """Write ``rq-METRIC.png`` and ``.svg`` into ``out_dir``; one subplot line per (suite, family)."""
    plt = _pyplot()
    pts = curve_points(summary, metric)
    unit = ""
    hib = True
    sub = summary[summary["metric"] == metric]
    if not sub.empty:
        unit, hib = str(sub["unit"].iloc[0] or ""), bool(sub["higher_is_better"].iloc[0])
    suites = list(dict.fromkeys(pts["suite"]))
    with plt.rc_context({"svg.hashsalt": "codecbench", "svg.fonttype": "path", "font.size": 9}):
        fig, ax = plt.subplots(figsize=(5.2, 3.6), dpi=100)
        for suite in suites:
            for family, g in pts[pts["suite"] == suite].groupby("family", sort=False):
                name = family if len(suites) == 1 else f"{family} ({suite})"
                err = None
                if g["ci_low"].notna().all() and g["ci_high"].notna().all():
                    err = [(g["value"] - g["ci_low"]).to_numpy(), (g["ci_high"] - g["value"]).to_numpy()]
                ax.errorbar(g["kbps"], g["value"], yerr=err, marker="o", ms=4, capsize=3, label=name)
        ref = REFERENCE_LINES.get(metric)
        if ref is not None:
            r = summary[(summary["metric"] == ref) & summary["mean"].notna()]
            if not r.empty:
                ax.axhline(float(r["mean"].iloc[0]), color="0.4", ls="--", lw=1, label=display_name(ref))
        ax.set_xscale("log")
        if not pts.empty:  # plain kbps ticks (1, 2, 4, ...) instead of 2x10^0 on the log axis
            from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter

            lo, hi = float(pts["kbps"].min()), float(pts["kbps"].max())
            ticks = [t for t in (0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256) if lo / 1.5 <= t <= hi * 1.5] or [lo, hi]
            ax.xaxis.set_major_locator(FixedLocator(ticks))
            ax.xaxis.set_major_formatter(ScalarFormatter())
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("measured bitrate (kbps, log scale)")
        ax.set_ylabel(f"{display_name(metric)}" + (f" ({unit})" if unit else "") + (" ↑" if hib else " ↓"))
        ax.set_title(f"{display_name(metric)} vs bitrate")
        ax.grid(True, which="both", alpha=0.3)
        if len(ax.get_legend_handles_labels()[0]):
            ax.legend(fontsize=7)
        fig.tight_layout()
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        stem = stem or f"rq-{metric}"
        png, svg = out_dir / f"{stem}.png", out_dir / f"{stem}.svg"
        fig.savefig(png, metadata={"Software": None})
        fig.savefig(svg, metadata={"Date": None, "Creator": None})
        plt.close(fig)
    return [png, svg]


def spectrogram_png(audio, path: Path, title: str = "") -> Path:
    """A small log-magnitude spectrogram (for the listening section); deterministic PNG."""
    import numpy as np

    plt = _pyplot()
    x = np.asarray(audio.samples, dtype=np.float64)
    with plt.rc_context({"font.size": 7}):
        fig, ax = plt.subplots(figsize=(3.0, 1.6), dpi=80)
        nfft = 512 if audio.sample_rate >= 16000 else 256
        if len(x) >= nfft:
            # one fixed dB scale for every spectrogram, so an original and its reconstruction compare
            ax.specgram(x, NFFT=nfft, Fs=audio.sample_rate, noverlap=nfft // 2, cmap="magma", vmin=-130, vmax=-30)
        ax.set_title(title, fontsize=7)
        ax.set_xlabel("s")
        ax.set_ylabel("Hz")
        save_figure(fig, path)
    return path
