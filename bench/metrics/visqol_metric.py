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
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from bench.audio import Audio
from bench.errors import MetricInputError
from bench.metrics import register_metric
from bench.checksums import sha256_file
from bench.metrics._checks import check_pair
from bench.metrics.base import Metric, Score

#: file names inside the visqol package's ``model/`` folder (Google's defaults)
SVR_MODEL = "libsvm_nu_svr_model.txt"
LATTICE_MODEL = "lattice_tcditugenmeetpackhref_ls2_nl60_lr12_bs2048_learn.005_ep2400_train1_7_raw.tflite"
#: ViSQOL's smallest patch needs about one second (audio: 45 spectrogram frames; speech: VAD patches)
MIN_SECONDS = 1.0


def model_path(name: str) -> str:
    import importlib.util

    spec = importlib.util.find_spec("visqol")
    if spec is None or spec.origin is None:
        return ""
    return os.path.join(os.path.dirname(spec.origin), "model", name)


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

    def score(self, *, reference: Audio, estimate: Audio, item=None) -> Score:
        check_pair(self.name, reference=reference, estimate=estimate, min_seconds=MIN_SECONDS,
                   equal_length=False)
        if estimate.duration < MIN_SECONDS:
            raise MetricInputError(f"{self.name}: estimate too short ({estimate.duration:.3f} s; "
                                   f"needs at least {MIN_SECONDS} s)")
        try:
            result = self._api.measure_from_arrays(ref_array=reference.samples.astype(np.float64),
                                                   deg_array=estimate.samples.astype(np.float64),
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
    rank = 10
    sample_rate = 48000
    mode = "audio, svr"


@register_metric
class VisqolSpeech(_Visqol):
    """Speech mode with Google's default (``use_lattice_model=true``) lattice TFLite mapping."""

    name = "visqol-speech"
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
