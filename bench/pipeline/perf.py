"""Codec speed: encode/decode wall time and real-time factor (``bench speed``).

Benchmarking lives with the pipeline, not in reporting: it runs codecs. The table puts the
measured seconds for a 10 s clip (after a warm-up, the median of N runs) next to the ESC paper's
numbers; different hardware, so compare with care.
"""

from __future__ import annotations

import math
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.audio import Audio, load_audio, resample
from bench.errors import BenchError

#: ESC paper (arXiv 2404.19441), 10 s of 16 kHz speech: encode / decode seconds
ESC_PAPER = {"cpu": (0.78, 0.59), "cuda": (0.10, 0.06)}


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


def codec_specs(requests: list[str], allow_untrained: bool = False, checkpoints=(),
                cache_dir: Path | None = None) -> list[tuple[str, Any, dict, Any]]:
    """``bench info``: (column label, spec, weights info, setting delay) of each codec setting, read
    off the loaded model (:func:`bench.reporting.codec_tables.spec_table` lays them out); measured
    delays are cached under ``cache_dir`` (None: reports/cache)."""
    from bench.adapters import CodecOptions, create_codec
    from bench.pipeline.delay import setting_delay
    from bench.pipeline.runner import default_cache_dir

    options = CodecOptions(allow_untrained=allow_untrained, checkpoints=checkpoints)
    codecs = [create_codec(request, options) for request in requests]
    where = cache_dir or default_cache_dir()
    return [(c.table_label, c.spec, c.weights_info, setting_delay(c, None, where)) for c in codecs]


def speed_table(requests: list[str], devices: list[str], seconds: float = 10.0, repeats: int = 3,
                allow_untrained: bool = False, checkpoints=()) -> pd.DataFrame:
    import torch

    from bench.adapters import CodecOptions, create_codec

    from bench.devices import check_device

    for device in devices:
        check_device(device)  # e.g. cuda where torch has none: fails before any timing, with the reason
    clip = speech_clip(seconds)
    rows = []
    for device in devices:
        for request in requests:
            codec = create_codec(request, CodecOptions(allow_untrained=allow_untrained, device=device,
                                                    checkpoints=checkpoints))
            r = time_codec(codec, clip, repeats)
            paper = ESC_PAPER.get(device, (math.nan, math.nan))
            rows.append({"codec": codec.table_label, "device": device,
                         "threads": torch.get_num_threads() if device == "cpu" else None,
                         "clip_s": clip.duration, "encode_s": r["encode_s"], "decode_s": r["decode_s"],
                         "rtf": r["rtf"], "kbps": r["kbps"],
                         "vs ESC paper encode": r["encode_s"] / paper[0],
                         "vs ESC paper decode": r["decode_s"] / paper[1]})
    return pd.DataFrame(rows)
