"""The model card's spec table, built from loaded codecs (never typed in).

``spec_table``: sample rate, parameters, latent dim, codebook size, codebooks, frame rate and
bitrate read off each loaded model, and the setting's delay: the one shift a run applies to every
item of the setting (its card's, or measured on fixed demo clips; :mod:`bench.pipeline.delay`).
(Timing codecs is benchmarking, not reporting: see :mod:`bench.pipeline.perf`.)
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd


def _fmt(v: Any, fmt: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return fmt.format(v)


def spec_table(codecs: list[tuple[str, Any, dict[str, Any], Any]]) -> pd.DataFrame:
    """One column per codec setting, one row per spec field (the card's layout), from (column
    label, :class:`~bench.adapters.base.CodecSpec`, weights info, setting delay) of each loaded
    codec (:func:`bench.pipeline.perf.codec_specs` loads them: reporting never builds codecs)."""
    cols: dict[str, list[str]] = {}
    for label, s, w, d in codecs:
        source = (f"measured ({len(d.clip_lags)} clips, {d.sample_rate / 1000:g} kHz)"
                  if d.source == "measured" else d.source)
        cols[label] = [
            _fmt(s.sample_rate, "{:d}"), _fmt(s.params_m, "{:.2f}"), _fmt(s.latent_dim, "{:d}"),
            _fmt(s.codebook_size, "{:d}"), _fmt(s.num_codebooks, "{:d}"), _fmt(s.frame_rate, "{:g}"),
            _fmt(None if s.nominal_kbps is None else float(s.nominal_kbps), "{:g}"),
            f"{d.ms:g}", source,
            w.get("status") or "n/a (no weights)",
            (w.get("sha256") or "")[:12] or "-",
        ]
    index = ["sample rate (Hz)", "parameters (M)", "latent dim", "codebook size", "codebooks",
             "frame rate (Hz)", "bitrate (kbps)", "delay (ms)", "delay source", "weights", "weights sha256"]
    return pd.DataFrame(cols, index=index)
