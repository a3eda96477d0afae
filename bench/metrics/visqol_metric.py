"""ViSQOL v3 (audio mode at 48 kHz with the SVR mapping; speech mode at 16 kHz with the lattice or
exponential mapping) via ``visqol-python``, a port of Google's C++ that ships Google's model files
byte-identical and reproduces Google's conformance scores (see tests/metrics/test_visqol_metric.py).

Reference and degraded are passed by keyword from keyword-only arguments: DAC's evaluation script
swapped them, and ViSQOL is not symmetric.


Example (synthetic tone at 16 kHz, speech mode with the lattice model):

>>> from bench.metrics.examples import noisy, tone
>>> ref = tone()
>>> round(VisqolSpeech().score(reference=ref, estimate=ref).value, 1)
4.7
>>> round(VisqolSpeech().score(reference=ref, estimate=noisy(ref, 20)).value, 1)
1.2
"""

from __future__ import annotations

import math
import os
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from bench.audio import Audio
from bench.errors import MetricInputError
from bench.metrics import register_metric
from bench.checksums import sha256_file
from bench.metrics._checks import check_pair
from bench.metrics.base import Margin, Metric, Score

#: file names inside the visqol package's ``model/`` folder (Google's defaults)
SVR_MODEL = "libsvm_nu_svr_model.txt"
LATTICE_MODEL = "lattice_tcditugenmeetpackhref_ls2_nl60_lr12_bs2048_learn.005_ep2400_train1_7_raw.tflite"
#: ViSQOL's smallest patch needs about one second (audio: 45 spectrogram frames; speech: VAD patches)
MIN_SECONDS = 1.0


def model_path(name: str) -> str:
    import importlib.util

    found = importlib.util.find_spec("visqol")
    if found is None or found.origin is None:
        return ""
    return os.path.join(os.path.dirname(found.origin), "model", name)


class ReferenceSide:
    """Reference-side ViSQOL work done once per suite item instead of once per codec.

    visqol-python has no API for a precomputed reference, but two of its steps depend on the
    reference alone and are pure functions of their input samples: the gammatone spectrogram of
    the whole reference (``spect_builder.build``; the degraded one and the fine-realignment
    patches depend on the pair) and, in speech mode, the reference's voice activity
    (``VadPatchCreator._get_voice_activity``, a third of speech-mode time). This wraps those two
    methods of the one manager instance: when the input is the current reference (same samples,
    by content hash), the stored result is returned, else the backend computes as usual. Results
    are stored as the exact float64 arrays the backend produced (``.npz`` in the suite cache), so
    scores are bit-identical to an uncached call (tests/metrics/perceptual/test_reference_cache.py).
    Everything else, including the pair-dependent dB floor, still runs in the backend.
    """

    def __init__(self, api) -> None:
        manager = api._manager  # visqol-python 3.8: VisqolApi holds one VisqolManager
        self._builder = manager.spect_builder
        self._build = self._builder.build
        self._builder.build = self._cached_build
        creator = manager.patch_creator
        self._vad = getattr(creator, "_get_voice_activity", None)
        if self._vad is not None:
            creator._get_voice_activity = self._cached_vad
        self._digest = ""
        self._length = -1
        self._store: dict[str, Any] = {}
        self._dirty = False

    @staticmethod
    def _hash(samples: np.ndarray) -> str:
        import hashlib

        return hashlib.sha1(np.ascontiguousarray(samples, dtype=np.float64).tobytes()).hexdigest()

    @contextmanager
    def using(self, reference: np.ndarray, path: Path | None):
        """Score one pair whose reference is ``reference``; load/save its features at ``path``."""
        self._length, self._digest = len(reference), self._hash(reference)
        self._store, self._dirty = {}, False
        if path is not None and path.is_file():
            try:
                with np.load(path, allow_pickle=False) as data:
                    if str(data["digest"]) == self._digest:
                        self._store = {k: data[k] for k in data.files if k != "digest"}
            except (OSError, ValueError, KeyError):
                self._store = {}  # unreadable cache file: recompute and overwrite it
        try:
            yield
            if self._dirty and path is not None:
                from bench.metrics.downstream.cache import _atomic

                _atomic(path, lambda fh: np.savez(fh, digest=np.array(self._digest), **self._store))
        finally:
            self._digest, self._length, self._store = "", -1, {}

    def _cached_build(self, signal, window):
        from visqol.gammatone import Spectrogram

        if not self._digest or len(signal.data) != self._length or self._hash(signal.data) != self._digest:
            return self._build(signal, window)
        key = f"spec_{signal.sample_rate}_{window.size}_{window.overlap!r}".replace(".", "p")
        if key not in self._store:
            spectrogram = self._build(signal, window)
            self._store[key], self._store[key + "_bands"] = spectrogram.data, spectrogram.center_freq_bands
            self._dirty = True
        return Spectrogram(self._store[key].copy(), self._store[key + "_bands"].copy())

    def _cached_vad(self, signal, start_sample: int, total_samples: int, frame_len: int):
        if not self._digest:
            return self._vad(signal, start_sample, total_samples, frame_len)
        # called with the normalised reference only (VadPatchCreator.create_ref_patch_indices)
        key = f"vad_{self._hash(signal.data)[:16]}_{start_sample}_{total_samples}_{frame_len}"
        if key not in self._store:
            self._store[key] = np.asarray(self._vad(signal, start_sample, total_samples, frame_len), dtype=np.float64)
            self._dirty = True
        return self._store[key].tolist()


class _Visqol(Metric):
    unit = "MOS-LQO"
    higher_is_better = True
    backend = "visqol-python"
    #: "audio" or "speech"
    visqol_mode: ClassVar[str] = "audio"
    #: speech mode only: True lattice (Google's default), False exponential fit
    lattice: ClassVar[bool] = False
    model_name: ClassVar[str] = SVR_MODEL
    search_window: ClassVar[int] = 60  # Google's CommandLineArgsHelper default, used by conformance
    #: ViSQOL aligns globally and patch-wise itself, so `bench score` may hand it unequal lengths
    #: as Google's own tests do (their short-duration conformance pairs differ by seconds).
    handles_unequal_lengths: ClassVar[bool] = True
    #: exponential speech mapping only: False scales so identity gives 5.0 (Google's default)
    unscaled: ClassVar[bool] = False
    #: absolute path overriding the packaged model file (e.g. Google's alternative SVR test model)
    model_override: ClassVar[str] = ""

    @cached_property
    def _api(self):
        from visqol import VisqolApi

        api = VisqolApi()
        if self.visqol_mode == "audio":
            api.create(mode="audio", model_path=self._model_file(), search_window=self.search_window)
        else:
            api.create(mode="speech", use_lattice_model=self.lattice, search_window=self.search_window,
                       lattice_model_path=self._model_file() if self.lattice else None,
                       use_unscaled_speech=self.unscaled)
        self._reference_side = ReferenceSide(api)
        return api

    def _model_file(self) -> str:
        return self.model_override or (model_path(self.model_name) if self.model_name else "")

    @classmethod
    def availability(cls) -> str | None:
        reason = super().availability()
        if reason:
            return reason
        if cls.lattice:
            import importlib.util

            if importlib.util.find_spec("ai_edge_litert") is None:
                return "missing Python package 'ai-edge-litert' (install visqol-python[lattice])"
        if cls.model_name and not os.path.isfile(model_path(cls.model_name)):
            return f"model file {cls.model_name} missing from the visqol package"
        return None

    def info(self) -> dict[str, Any]:
        out = super().info()
        path = self._model_file()
        if path:
            out["model_file"] = os.path.basename(path)
            out["model_sha256"] = sha256_file(path) if os.path.isfile(path) else "missing"
        out["search_window"] = self.search_window
        return out

    def _reference_cache_file(self, item) -> Path | None:
        """Where this item's reference-side features live in the suite cache (None: memory only)."""
        if self.context is None or item is None:
            return None
        from bench.filenames import safe_name

        return (self.context.cache_dir / "visqol" / f"{self.name}-{self.backend_version()}"
                / f"{safe_name(item.id)}.npz")

    def score(self, *, reference: Audio, estimate: Audio, item=None) -> Score:
        check_pair(self.name, reference=reference, estimate=estimate, min_seconds=MIN_SECONDS,
                   equal_length=False)
        if estimate.duration < MIN_SECONDS:
            raise MetricInputError(f"{self.name}: estimate too short ({estimate.duration:.3f} s; "
                                   f"needs at least {MIN_SECONDS} s)")
        ref = reference.samples.astype(np.float64)
        api = self._api
        try:
            with self._reference_side.using(ref, self._reference_cache_file(item)):
                result = api.measure_from_arrays(ref_array=ref, deg_array=estimate.samples.astype(np.float64),
                                                 sample_rate=reference.sample_rate)
        except (ValueError, IndexError) as exc:  # the backend's way of saying "too short / no patches"
            raise MetricInputError(f"{self.name}: cannot score this pair ({type(exc).__name__}: {exc})") from exc
        mos = float(result.moslqo)
        if not math.isfinite(mos):
            raise MetricInputError(f"{self.name}: backend returned {mos} (estimate without energy?)")
        return Score(mos, extra={"vnsim": float(result.vnsim)})


@register_metric
class VisqolAudio(_Visqol):
    """Audio mode: 32 gammatone bands up to 15 kHz, SVR mapping, defined at 48 kHz."""

    name = "visqol-audio"
    gate_margin = Margin(abs=0.01)  # MOS-LQO

    cost_rtf = 0.17  # CPU s per audio s, measured (docs/performance.md)
    rank = 10
    sample_rate = 48000
    mode = "audio, svr"


@register_metric
class VisqolSpeech(_Visqol):
    """Speech mode with Google's default (``use_lattice_model=true``) lattice TFLite mapping."""

    name = "visqol-speech"
    gate_margin = Margin(abs=0.01)

    cost_rtf = 0.11  # CPU s per audio s, measured (docs/performance.md)
    rank = 11
    sample_rate = 16000
    mode = "speech, lattice"
    visqol_mode = "speech"
    lattice = True
    model_name = LATTICE_MODEL


@register_metric
class VisqolSpeechExp(_Visqol):
    """Speech mode with the older exponential fit, scaled so identity is 5.0 (``use_lattice_model=false``).

    Kept because older papers report it; not in the default set so tables do not double count.
    """

    name = "visqol-speech-exp"
    rank = 12
    sample_rate = 16000
    mode = "speech, exponential (scaled)"
    visqol_mode = "speech"
    lattice = False
    model_name = ""
    default = False
