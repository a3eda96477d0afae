"""Test-only codec with a known constant delay, plus a per-item jitter on chosen inputs.

Imported through the run's ``plugins`` option (``run(..., plugins=["delay_codec"])``), so the
adapter is registered in the parent and in every worker; a card (``adapter: test-delay``) in a
folder on ``$BENCH_CODECS`` configures it. Card ``options``:

- ``delay``: samples of silence put before the output (the codec's constant delay);
- ``jitter``: ``{input digest: extra samples}``: inputs whose :func:`digest` is listed are delayed
  that much more (a codec whose delay varies per item);
- ``fir``: filter taps applied to the input first (e.g. ``[0.4, 0.6]``: zero delay, yet a
  cross-correlation peak at lag 1, as Lyra showed on one item);
- ``noise``: level of seeded white noise added to the output (so it is not the input itself);
- ``tail``: zeros appended at the end (frame padding).

Deterministic: the same input gives the same output, in any process.
"""

from __future__ import annotations

import hashlib

import numpy as np

from bench.adapters import Codec, Payload, register_adapter
from bench.audio import Audio


def digest(samples: np.ndarray) -> str:
    """Which input this is: the first 12 hex digits of the sha256 of its float32 samples."""
    return hashlib.sha256(np.ascontiguousarray(samples, dtype=np.float32).tobytes()).hexdigest()[:12]


@register_adapter("test-delay")
class DelayCodec(Codec):
    def encode(self, audio: Audio) -> Payload:
        self.check_input(audio)
        x = self.as_float(audio.samples)
        return Payload(data=x.copy(), num_bits=16 * len(x), duration=audio.duration, meta={"digest": digest(x)})

    def decode(self, payload: Payload) -> Audio:
        opts = self.card.options
        x = np.asarray(payload.data, dtype=np.float32)
        if opts.get("fir"):
            x = np.convolve(x, np.asarray(opts["fir"], dtype=np.float32))[: len(x)].astype(np.float32)
        if opts.get("noise"):
            seed = int(payload.meta["digest"], 16)
            x = x + np.float32(opts["noise"]) * np.random.default_rng(seed).standard_normal(len(x)).astype(np.float32)
        lag = int(opts.get("delay", 0)) + int((opts.get("jitter") or {}).get(payload.meta["digest"], 0))
        y = np.concatenate([np.zeros(lag, np.float32), x, np.zeros(int(opts.get("tail", 0)), np.float32)])
        return Audio(y, self.sample_rate)
