"""The model card's spec table and speed table, built from loaded codecs (never typed in).

``info_table``: sample rate, parameters, latent dim, codebook size, codebooks, frame rate and
bitrate read off each loaded model, and the codec delay where the adapter states it (measured). ``speed_table``: encode/decode wall time of a 10 s clip
(warm-up, then the median of N runs) and the real-time factor, next to the ESC paper's numbers.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from typing import Any

import numpy as np
import pandas as pd

from bench.audio import Audio, load_audio, resample
from bench.errors import BenchError

#: ESC paper (arXiv 2404.19441), 10 s of 16 kHz speech: encode / decode seconds
ESC_PAPER = {"cpu": (0.78, 0.59), "cuda": (0.10, 0.06)}


def _label(codec) -> str:
    untrained = codec.weights_info.get("status") == "untrained"
    return codec.setting.label + (" (untrained)" if untrained else "")


def _fmt(v: Any, fmt: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return fmt.format(v)


def info_table(codec_specs: list[str], allow_untrained: bool = False) -> pd.DataFrame:
    """One column per codec setting, one row per spec field (the card's layout)."""
    from bench.adapters import create_codec
    from bench.adapters.neural import allow_untrained as _allow

    cols: dict[str, list[str]] = {}
    with _allow(allow_untrained):
        for spec in codec_specs:
            codec = create_codec(spec)
            s = codec.spec
            w = codec.weights_info
            cols[_label(codec)] = [
                _fmt(s.sample_rate, "{:d}"), _fmt(s.params_m, "{:.2f}"), _fmt(s.latent_dim, "{:d}"),
                _fmt(s.codebook_size, "{:d}"), _fmt(s.num_codebooks, "{:d}"), _fmt(s.frame_rate, "{:g}"),
                _fmt(None if s.nominal_kbps is None else float(s.nominal_kbps), "{:g}"),
                _fmt(s.delay_samples, "{:d}"),
                w.get("status") or "n/a (no weights)",
                (w.get("sha256") or "")[:12] or "-",
            ]
    index = ["sample rate (Hz)", "parameters (M)", "latent dim", "codebook size", "codebooks",
             "frame rate (Hz)", "bitrate (kbps)", "delay (samples)", "weights", "weights sha256"]
    return pd.DataFrame(cols, index=index)


def speech_clip(seconds: float = 10.0, rate: int = 16000) -> Audio:
    """``seconds`` of real speech from the demo suite (items joined), at ``rate``."""
    from bench.suites import load_suite

    parts, total = [], 0
    for item in load_suite("demo").items:
        a = resample(load_audio(item.path), rate)
        parts.append(a.samples)
        total += len(a)
        if total >= seconds * rate:
            break
    if total < seconds * rate:
        raise BenchError(f"demo suite holds only {total / rate:.1f} s of audio; need {seconds} s")
    return Audio(np.concatenate(parts)[: int(seconds * rate)].astype(np.float32), rate, "demo speech")


def time_codec(codec, clip: Audio, repeats: int = 3, warmup: int = 1) -> dict[str, float]:
    """Median encode and decode seconds over ``repeats`` after ``warmup`` untimed runs."""
    x = resample(clip, codec.sample_rate)
    sync = _sync_for(codec)
    enc, dec = [], []
    for i in range(warmup + repeats):
        t0 = time.perf_counter()
        payload = codec.encode(x)
        sync()
        t1 = time.perf_counter()
        codec.decode(payload)
        sync()
        t2 = time.perf_counter()
        if i >= warmup:
            enc.append(t1 - t0)
            dec.append(t2 - t1)
    e, d = statistics.median(enc), statistics.median(dec)
    return {"encode_s": e, "decode_s": d, "rtf": (e + d) / clip.duration, "kbps": payload.kbps}


def _sync_for(codec):
    device = getattr(codec, "device", None)
    if device is not None and getattr(device, "type", "cpu") == "cuda":
        import torch

        return torch.cuda.synchronize
    return lambda: None


def speed_table(codec_specs: list[str], devices: list[str], seconds: float = 10.0, repeats: int = 3,
                allow_untrained: bool = False) -> pd.DataFrame:
    import torch

    from bench.adapters import create_codec
    from bench.adapters.neural import allow_untrained as _allow

    clip = speech_clip(seconds)
    rows = []
    with _allow(allow_untrained):
        for device in devices:
            old = os.environ.get("BENCH_DEVICE")
            os.environ["BENCH_DEVICE"] = device
            try:
                for spec in codec_specs:
                    codec = create_codec(spec)
                    r = time_codec(codec, clip, repeats)
                    paper = ESC_PAPER.get(device, (math.nan, math.nan))
                    rows.append({"codec": _label(codec), "device": device,
                                 "threads": torch.get_num_threads() if device == "cpu" else None,
                                 "clip_s": clip.duration, "encode_s": r["encode_s"], "decode_s": r["decode_s"],
                                 "rtf": r["rtf"], "kbps": r["kbps"],
                                 "vs ESC paper encode": r["encode_s"] / paper[0],
                                 "vs ESC paper decode": r["decode_s"] / paper[1]})
            finally:
                if old is None:
                    os.environ.pop("BENCH_DEVICE", None)
                else:
                    os.environ["BENCH_DEVICE"] = old
    return pd.DataFrame(rows)
