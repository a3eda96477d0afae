"""Lyra v2 speed per TFLite kernel set, in one run: why the card uses the reference kernels.

    .venv/bin/python benchmarks/lyra_speed.py [--kbps 6] [--seconds 10] [--repeats 3]

For each op resolver (BUILTIN_REF = the card's choice, optimized built-ins without XNNPACK, and
XNNPACK = Google's default), encode + decode ``--seconds`` of demo speech on one thread and print
the real-time factor, the ratio to the reference kernels, and whether the quantizer indices equal
the reference kernels' (they do not: float paths differ, and residual quantization turns last-bit
differences into other indices, which is why only the dispatch-free reference kernels are used).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main(argv: list[str] | None = None) -> int:
    from bench.adapters import parse_setting
    from bench.adapters.lyra import RESOLVERS, Lyra
    from bench.pipeline.perf import speech_clip, time_codec

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kbps", default="6")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)

    setting = parse_setting(f"lyra@{args.kbps}")
    clip = speech_clip(args.seconds)
    rows, ref_tokens, ref_rtf = [], None, None
    for resolver in [r for r in RESOLVERS if r != "AUTO"]:  # AUTO is BUILTIN (XNNPACK) in ai-edge-litert
        card = dataclasses.replace(setting.card, options={**setting.card.options, "op_resolver": resolver})
        codec = Lyra(dataclasses.replace(setting, card=card))
        r = time_codec(codec, clip, args.repeats)
        tokens = codec.encode(clip).tokens
        if ref_tokens is None:
            ref_tokens, ref_rtf = tokens, r["rtf"]
        same = (tokens == ref_tokens).mean() * 100
        rows.append((resolver, r["encode_s"], r["decode_s"], r["rtf"], ref_rtf / r["rtf"], same))
    print(f"lyra@{args.kbps}, {clip.duration:.0f} s of demo speech, 1 thread, median of {args.repeats}")
    print(f"{'op resolver':36s} {'encode_s':>9s} {'decode_s':>9s} {'rtf':>7s} {'x faster':>9s} {'same idx %':>10s}")
    for name, e, d, rtf, speedup, same in rows:
        print(f"{name:36s} {e:9.3f} {d:9.3f} {rtf:7.3f} {speedup:9.2f} {same:10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
