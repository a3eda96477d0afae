"""What one codec run costs, per metric, next to each backend called directly on the same pairs.

    .venv/bin/python benchmarks/pipeline_speed.py [--codec opus@6] [--limit 0] [--jobs 2] [--metric NAME ...]

All in one process tree and one invocation, so ratios are comparable even on a loaded machine:

1. suite warm-up: the `original` row over the items (transcripts, speaker embeddings, ViSQOL
   reference features and identity scores of the originals: once per suite, not per codec);
2. first run of ``--codec`` with the suite cache warm: wall time and real-time factor
   (audio seconds / wall seconds), and each metric's seconds summed from the rows' ``seconds``;
3. the same command again (a cached re-run: every unit is on disk) as a % of step 2;
4. the floor: in this process, one thread (as a runner worker), each backend called directly on
   the same aligned pairs at its rate (torchmetrics, pesq, pystoi, visqol-python's VisqolApi
   without codecbench's reference cache, faster-whisper through WhisperCT2.transcribe,
   resemblyzer's embed, the spectral distances), plus the codec's encode+decode. Metrics that
   share a model call (wer/cer: one decode; eer/spk-sim: one embedding) are one group.

ratio = codecbench seconds / floor seconds for that group (the pipeline's cost per metric above the
bare backend: resampling, checks, caches); below 1 where a suite cache saves backend work. The
run's wall time is compared with floor / jobs (a perfect split of the serial floor over the
workers). The suite cache lives in a temporary folder unless --cache is given, so nothing from
earlier runs makes the numbers look better.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

#: metrics whose backend call is shared (one decode / one embedding per pair)
GROUPS = {"wer": "asr", "cer": "asr", "eer": "speaker", "spk-sim": "speaker"}


def _floor_scorers(names: list[str]):
    """name -> callable(ref, est) calling the backend directly (ref/est already at the metric rate)."""
    import numpy as np

    out = {}
    for name in names:
        group = GROUPS.get(name)
        if group and any(GROUPS.get(n) == group for n in out):
            continue  # shared call already timed
        if name == "si-sdr":
            from torchmetrics.functional.audio import scale_invariant_signal_distortion_ratio as f

            out[name] = lambda r, e, f=f: f(_t(e), _t(r), zero_mean=True)
        elif name == "snr":
            from torchmetrics.functional.audio import signal_noise_ratio as f

            out[name] = lambda r, e, f=f: f(_t(e), _t(r), zero_mean=False)
        elif name in ("pesq-wb", "pesq-nb"):
            import pesq

            mode = name[-2:]
            out[name] = lambda r, e, mode=mode: pesq.pesq(fs=r.sample_rate, ref=r.samples, deg=e.samples, mode=mode)
        elif name in ("stoi", "estoi"):
            from pystoi import stoi

            out[name] = lambda r, e, x=(name == "estoi"): stoi(r.samples.astype(np.float64), e.samples.astype(np.float64),
                                                              r.sample_rate, extended=x)
        elif name.startswith("visqol"):
            from visqol import VisqolApi

            from bench.metrics import metric_class

            cls = metric_class(name)
            api = VisqolApi()
            if cls.visqol_mode == "audio":
                api.create(mode="audio", model_path=cls()._model_file(), search_window=cls.search_window)
            else:
                api.create(mode="speech", use_lattice_model=cls.lattice, search_window=cls.search_window,
                           lattice_model_path=cls()._model_file() if cls.lattice else None)
            out[name] = lambda r, e, api=api: api.measure_from_arrays(
                ref_array=r.samples.astype(np.float64), deg_array=e.samples.astype(np.float64), sample_rate=r.sample_rate)
        elif name in ("mel-distance", "stft-distance"):
            from bench.metrics import spectral

            f = spectral.mel_distance if name == "mel-distance" else spectral.stft_distance
            out[name] = lambda r, e, f=f: (spectral._MAGNITUDES.clear(), f(r, e))
        elif group == "asr":
            from bench.metrics.downstream.text import word_errors
            from bench.models import asr

            model = asr.load_asr()
            out[name] = lambda r, e, m=model, item=None: word_errors("reference text", m.transcribe(e))
        elif group == "speaker":
            from bench.models import speaker

            model = speaker.load_speaker()
            out[name] = lambda r, e, m=model: m.embed(e)
        elif name == "dnsmos":
            from bench.metrics import metric_class

            metric = metric_class(name)()
            out[name] = lambda r, e, m=metric: m.score(reference=r, estimate=e)
        else:
            print(f"(no direct floor for {name}: skipped)", file=sys.stderr)
    return out


def _t(audio):
    import numpy as np
    import torch

    return torch.from_numpy(audio.samples.astype(np.float64))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--suite", default="demo")
    p.add_argument("--codec", default="opus@6")
    p.add_argument("--limit", type=int, default=0, help="clips (default 0 = whole suite)")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--metric", action="append", help="metric name(s); default: every default metric")
    p.add_argument("--cache", type=Path, help="suite cache folder (default: a new temporary one)")
    p.add_argument("--no-floor", action="store_true", help="skip step 4")
    p.add_argument("--keep", action="store_true", help="keep the temporary run directories and cache")
    args = p.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="pipeline_speed-"))
    try:
        return _bench(args, tmp)
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)


def _bench(args, tmp: Path) -> int:
    import bench  # noqa: F401  (sets NUMBA_CACHE_DIR before any backend imports numba)
    import pandas as pd

    from bench.metrics import resolve_metrics
    from bench.pipeline import runner
    from bench.suites import load_suite, select_items

    suite = load_suite(args.suite)
    items = select_items(suite.items, args.limit or None)
    names = [c.name for c in resolve_metrics(args.metric, suite.fields)]
    limit = args.limit or None
    common = dict(limit=limit, jobs=args.jobs, progress=False, cache_dir=Path(args.cache or tmp / "cache"))

    print(f"suite {suite.name}: {len(items)} clips; codec {args.codec}; {args.jobs} workers; "
          f"metrics: {', '.join(names)}; load average {os.getloadavg()[0]:.1f} at start")
    t0 = time.perf_counter()
    runner.run(["original"], args.suite, names, out=tmp / "warm", **common)
    warm_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    first = runner.run([args.codec], args.suite, names, out=tmp / "run", **common)
    first_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    runner.run([args.codec], args.suite, names, out=tmp / "run", **common)
    again_s = time.perf_counter() - t0
    rows = first.rows[first.rows["item"] != "*"]
    its = pd.read_csv(first.path / "items.csv")
    audio_s = float(its["duration"].sum())
    per_metric = rows.groupby("metric")["seconds"].sum()

    print(f"\nsuite warm-up (`original` row, once per suite): {warm_s:.1f} s")
    print(f"first run, suite cache warm: {first_s:.1f} s wall for {audio_s:.1f} s of audio = "
          f"{audio_s / first_s:.2f}x real time")
    print(f"cached re-run: {again_s:.2f} s = {100 * again_s / first_s:.1f} % of the first run")
    print(f"load average {os.getloadavg()[0]:.1f} after the runs")
    if args.no_floor:
        return 0

    # ---- the floor: backends called directly on the same pairs, one thread, this process
    import torch

    from bench.adapters import create_codec
    from bench.audio import load_audio, resample
    from bench.metrics import metric_class
    from bench.pipeline.align import align

    torch.set_num_threads(1)
    os.environ["OMP_NUM_THREADS"] = "1"
    codec = create_codec(args.codec)
    scorers = _floor_scorers(names)
    rates = {n: metric_class(n).sample_rate for n in scorers}
    floor = dict.fromkeys(scorers, 0.0)
    codec_s = 0.0
    for n, f in scorers.items():  # first call (model load, JIT) outside the timing, as warm workers
        item = items[0]
        ref = load_audio(item.path, suite.policy)
        r = resample(ref, rates[n]) if rates[n] else ref
        f(r, r)
    for item in items:
        ref = load_audio(item.path, suite.policy)
        t = time.perf_counter()
        dec = codec.decode(codec.encode(resample(ref, codec.sample_rate)))
        codec_s += time.perf_counter() - t
        est, _ = align(ref, resample(dec, ref.sample_rate))
        for n, f in scorers.items():
            r, e = (resample(ref, rates[n]), resample(est, rates[n])) if rates[n] else (ref, est)
            t = time.perf_counter()
            try:
                f(r, e)
            except Exception:  # a failing pair costs what it costs; the run records it as a row
                pass
            floor[n] += time.perf_counter() - t

    print("\n| metric | codecbench s (rows) | floor s (backend direct) | ratio |\n|---|---:|---:|---:|")
    bench_total = 0.0
    for n, fs in floor.items():
        members = [m for m in names if m == n or (GROUPS.get(n) and GROUPS.get(m) == GROUPS.get(n))]
        cs = float(per_metric.reindex(members).fillna(0).sum())
        bench_total += cs
        print(f"| {'+'.join(members)} | {cs:.1f} | {fs:.1f} | {cs / fs if fs else float('nan'):.2f} |")
    enc = float((its["encode_s"] + its["decode_s"]).sum())
    print(f"| codec encode+decode | {enc:.1f} | {codec_s:.1f} | {enc / codec_s if codec_s else float('nan'):.2f} |")
    floor_total = sum(floor.values()) + codec_s
    print(f"| **all** | {bench_total + enc:.1f} | {floor_total:.1f} | {(bench_total + enc) / floor_total:.2f} |")
    print(f"\nrun wall {first_s:.1f} s vs floor / {args.jobs} workers {floor_total / args.jobs:.1f} s: "
          f"ratio {first_s / (floor_total / args.jobs):.2f} (the run's wall also holds loading audio, "
          "alignment, writing rows and set-level finalize)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
