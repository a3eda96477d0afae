"""A real run directory shared by the listening-test builder's tests: ``bench run`` with Opus and
Codec 2 on 6 short demo items, with --save-audio, made once per test session (~10 s)."""

from __future__ import annotations

from pathlib import Path

_CACHE: dict[str, Path] = {}
CODECS = ["opus@6", "codec2@3.2"]


def demo_run(tmp_path_factory, save_audio: bool = True, codecs: tuple[str, ...] = tuple(CODECS)) -> Path:
    key = f"{save_audio}-{','.join(codecs)}"
    if key not in _CACHE:
        from bench.api import run

        out = tmp_path_factory.mktemp("listen-runs") / ("saved" if save_audio else "plain")
        run(list(codecs), "demo", ["snr"], out=out, limit=6, jobs=1, progress=False, save_audio=save_audio,
            executor="inline")
        _CACHE[key] = out
    return _CACHE[key]
