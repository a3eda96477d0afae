"""Speaker-embedding backends for speaker similarity and EER: one interface, local files only.

Choose with the ``model`` argument of :func:`load_speaker` (a run's ``speaker_model`` option; the
CLI's default comes from ``BENCH_SPEAKER_MODEL``):

- unset / ``resemblyzer``: resemblyzer's GE2E encoder (256-dim), whose ``pretrained.pt`` ships
  inside the package (its sha256 is recorded with every run);
- a ``.pt`` file: another GE2E checkpoint in resemblyzer's format;
- a ``.nemo`` file: a NeMo speaker model such as TitaNet-L, when NeMo is installed.

Embeddings are returned L2-normalised, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import importlib.util
import os.path
import warnings
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np

from bench.audio import Audio
from bench.config import DEFAULT_SPEAKER_MODEL
from bench.errors import MetricInputError, UnavailableError
from bench.models import device_key, dist_version, sha256_file

#: the CLI default's variable (read by bench.cli.defaults only)
ENV_VAR = "BENCH_SPEAKER_MODEL"
DEFAULT = DEFAULT_SPEAKER_MODEL
SAMPLE_RATE = 16000
HOW_TO = (f"install the `downstream` extra (resemblyzer==0.1.4 ships its GE2E weights), or set {ENV_VAR} to a "
          f"resemblyzer .pt checkpoint or a local .nemo speaker model (TitaNet)")


class SpeakerBackend(Protocol):
    key: str

    def embed(self, audio: Audio) -> np.ndarray: ...

    def embed_batch(self, audios: Sequence[Audio]) -> list[np.ndarray]:
        """One embedding per input, in order; a batch of one is :meth:`embed`."""
        ...

    def info(self) -> dict[str, Any]: ...


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64).ravel()
    norm = np.linalg.norm(v)
    if not np.isfinite(norm) or norm == 0:
        raise MetricInputError("speaker embedding is zero or not finite")
    return v / norm


class Resemblyzer:
    """GE2E: resemblyzer's own preprocessing (volume normalisation, webrtcvad silence trimming).

    resemblyzer embeds an utterance as the normalised mean of its 1.6 s partial windows, all run
    through the LSTM in one forward pass (``VoiceEncoder.embed_utterance``). :meth:`embed_batch`
    does the same for several utterances with the windows of all of them in one forward pass
    (resemblyzer's own TODO: "independent batched version of this function"): the slicing,
    padding and mel steps are resemblyzer's, per utterance; only the LSTM's batch grows.
    """

    def __init__(self, weights: Path | None = None, device: str = "cpu") -> None:
        if importlib.util.find_spec("resemblyzer") is None:
            raise UnavailableError(f"missing Python package 'resemblyzer': {HOW_TO}")
        with warnings.catch_warnings():  # webrtcvad imports the deprecated pkg_resources
            warnings.simplefilter("ignore")
            from resemblyzer import VoiceEncoder, preprocess_wav
        if weights is None:
            found = importlib.util.find_spec("resemblyzer")
            weights = Path(next(iter(found.submodule_search_locations))) / "pretrained.pt"
        weights = Path(weights)
        if not weights.is_file():
            raise UnavailableError(f"{weights}: speaker model file not found; {HOW_TO}")
        self.encoder = VoiceEncoder(device=device, verbose=False, weights_fpath=weights)
        self._preprocess = preprocess_wav
        self.weights, self.sha256, self.device = weights, sha256_file(weights), device
        self.key = device_key(f"ge2e-{self.sha256[:12]}", device)

    def _wav(self, audio: Audio) -> np.ndarray:
        if audio.sample_rate != SAMPLE_RATE:
            raise ValueError(f"resemblyzer needs {SAMPLE_RATE} Hz audio, got {audio.sample_rate}")
        wav = self._preprocess(np.asarray(audio.samples, dtype=np.float32), source_sr=SAMPLE_RATE)
        if len(wav) < SAMPLE_RATE // 10:
            raise MetricInputError("no speech left after voice-activity trimming (estimate silent?)")
        return wav

    def embed(self, audio: Audio) -> np.ndarray:
        return _unit(self.encoder.embed_utterance(self._wav(audio)))

    def embed_batch(self, audios: Sequence[Audio]) -> list[np.ndarray]:
        if len(audios) < 2:
            return [self.embed(a) for a in audios]
        import torch
        from resemblyzer import audio as rz_audio

        windows = []
        for wav in map(self._wav, audios):  # embed_utterance's steps, per utterance
            wav_slices, mel_slices = self.encoder.compute_partial_slices(len(wav), 1.3, 0.75)
            if wav_slices[-1].stop >= len(wav):
                wav = np.pad(wav, (0, wav_slices[-1].stop - len(wav)), "constant")
            mel = rz_audio.wav_to_mel_spectrogram(wav)
            windows.append(np.array([mel[s] for s in mel_slices]))
        with torch.no_grad():
            partial = self.encoder(torch.from_numpy(np.concatenate(windows)).to(self.encoder.device)).cpu().numpy()
        out, start = [], 0
        for w in windows:
            raw = np.mean(partial[start:start + len(w)], axis=0)
            out.append(_unit(raw / np.linalg.norm(raw, 2)))
            start += len(w)
        return out

    def info(self) -> dict[str, Any]:
        return {"speaker_backend": "resemblyzer", "speaker_backend_version": dist_version("resemblyzer"),
                "speaker_model": "GE2E", "model_file": str(self.weights), "model_sha256": self.sha256}


class NemoSpeaker:
    """A NeMo speaker-verification model (TitaNet) restored from a local .nemo file."""

    def __init__(self, path: Path, device: str = "cpu") -> None:
        path = Path(path)
        if not path.is_file():
            raise UnavailableError(f"{path}: .nemo speaker model file not found; {HOW_TO}")
        if importlib.util.find_spec("nemo") is None:
            raise UnavailableError(f"{path}: NeMo speaker models need `nemo-toolkit[asr]` installed; or unset {ENV_VAR}")
        import torch
        from nemo.collections.asr.models import EncDecSpeakerLabelModel

        self.torch = torch
        self.model = EncDecSpeakerLabelModel.restore_from(str(path), map_location="cpu")
        self.model.eval().to(device)
        self.path, self.sha256, self.device = path, sha256_file(path), device
        self.key = device_key(f"nemo-spk-{self.sha256[:12]}", device)

    def embed(self, audio: Audio) -> np.ndarray:
        if audio.sample_rate != SAMPLE_RATE:
            raise ValueError(f"NeMo speaker models need {SAMPLE_RATE} Hz audio, got {audio.sample_rate}")
        torch = self.torch
        signal = torch.from_numpy(np.asarray(audio.samples, dtype=np.float32))[None].to(self.device)
        with torch.inference_mode():
            _, emb = self.model.forward(input_signal=signal,
                                        input_signal_length=torch.tensor([signal.shape[1]], device=self.device))
        return _unit(emb.squeeze(0).cpu().numpy())

    def embed_batch(self, audios: Sequence[Audio]) -> list[np.ndarray]:
        """One at a time: no TitaNet file here to measure a padded batch against (see docs/performance.md)."""
        return [self.embed(a) for a in audios]

    def info(self) -> dict[str, Any]:
        return {"speaker_backend": "nemo", "speaker_backend_version": dist_version("nemo-toolkit"),
                "speaker_model": self.path.name, "model_file": str(self.path), "model_sha256": self.sha256}


def model_ref(model: str | None = None) -> str:
    """The speaker model a run names: :data:`DEFAULT` or a path (a .pt or a .nemo file)."""
    return model or DEFAULT


def describe(model: str | None = None) -> dict[str, Any]:
    """What :func:`load_speaker` would load (file, sha256), without loading it: for run manifests."""
    ref = model_ref(model)
    if ref == DEFAULT:
        found = importlib.util.find_spec("resemblyzer")
        if found is None:
            raise UnavailableError(f"missing Python package 'resemblyzer': {HOW_TO}")
        path = Path(next(iter(found.submodule_search_locations))) / "pretrained.pt"
    else:
        path = Path(os.path.expanduser(ref))
    if not path.is_file():
        raise UnavailableError(f"speaker model {ref!r} not found; {HOW_TO}")
    nemo = path.suffix == ".nemo"
    return {"speaker_backend": "nemo" if nemo else "resemblyzer",
            "speaker_backend_version": dist_version("nemo-toolkit" if nemo else "resemblyzer"),
            "speaker_model": path.name if nemo else "GE2E", "model_file": str(path), "model_sha256": sha256_file(path)}


def load_speaker(model: str | None = None, device: str = "cpu") -> SpeakerBackend:
    ref = model_ref(model)
    if ref == DEFAULT:
        return Resemblyzer(device=device)
    path = Path(os.path.expanduser(ref))
    if path.suffix == ".nemo":
        return NemoSpeaker(path, device)
    if path.suffix == ".pt":
        return Resemblyzer(path, device)
    raise UnavailableError(f"speaker model {ref!r} not understood (expected {DEFAULT!r}, a .pt or a .nemo file); {HOW_TO}")
