"""ViSQOL agrees with the scores Google's C++ tests assert.

Always: the repo's subset (tests/data/visqol) through the same path as `bench score --native-rate`.
When ../shared is present: every row of Google's expected.csv. Results are cached by the sha256 of
both files plus the settings, so a row present in both sets is computed once (the files are
byte-identical, which a test checks).
"""

from __future__ import annotations

import csv
import hashlib
import os
from functools import lru_cache
from pathlib import Path

import pytest

from bench.audio import load_audio
from bench.metrics.visqol_metric import LATTICE_MODEL, SVR_MODEL, VisqolAudio, VisqolSpeech, VisqolSpeechExp, model_path
from bench.scoring import SCORE_POLICY, score_pair

pytest.importorskip("visqol")  # the `metrics` extra

REPO = Path(__file__).resolve().parents[3]
SUBSET = REPO / "tests" / "data" / "visqol"
#: Google's full conformance set: $BENCH_SHARED_VISQOL, else ../shared next to the checkout
_CANDIDATES = [os.environ.get("BENCH_SHARED_VISQOL", ""), REPO.parent / "shared" / "data" / "visqol",
               "/work/shared/data/visqol"]
SHARED = next((Path(c) for c in _CANDIDATES if c and (Path(c) / "expected.csv").is_file()), REPO.parent / "shared")

#: Google's model files (sha256 of the copies in google/visqol @ 38d0b016)
GOOGLE_SHA256 = {
    SVR_MODEL: "1e8246ed33bf36dc5c859351f7110f2cd31f98661989715c0fcf974ec48d3e2e",
    LATTICE_MODEL: "4bd031d6c95594ae2cd1d471aa6611bff26b3bbf816528431ff1741bcd798dc6",
}
#: Tolerances asked of codecbench (Google's own is 1e-4 for their C++).
TOL_AUDIO, TOL_SPEECH = 1e-3, 5e-3
#: Rows where visqol-python 3.8.0 is measurably further from the C++ than TOL_AUDIO, with the
#: measured gap; the test pins the looser bound so a regression still shows.
KNOWN_DEVIATIONS = {
    "kCA01_01AsAudio": 5e-3,  # speech file in audio mode: python 1.76898 vs C++ 1.76584 (3.1e-3)
    # music reference vs speech degraded, lattice: python 1.49154 vs C++ 1.49821 (6.7e-3); the
    # backend's own file API gives the same 1.49154, so the gap is visqol-python's, not ours.
    "kConformanceDifferentAudiosLattice": 1e-2,
}


def _rows(root: Path) -> list[dict[str, str]]:
    with open(root / "expected.csv", newline="") as f:
        return list(csv.DictReader(f))


def _metric_for(row: dict[str, str]):
    if row["mode"] == "audio":
        cls = VisqolAudio
        if "cpp_model" in row["model_file"]:  # Google's alternative SVR, only in multithreading_test
            class _AltModel(VisqolAudio):
                model_override = str(SHARED / row["model_file"])
            cls = _AltModel
        return cls(), TOL_AUDIO
    if row["mapping"] == "lattice":
        return VisqolSpeech(), TOL_SPEECH
    if row["use_unscaled_speech_mos_mapping"] == "true":
        class _Unscaled(VisqolSpeechExp):
            unscaled = True
        return _Unscaled(), TOL_SPEECH
    return VisqolSpeechExp(), TOL_SPEECH


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@lru_cache(maxsize=None)
def _score(ref_sha: str, deg_sha: str, ref: Path, deg: Path, mode: str, mapping: str, unscaled: str, model: str) -> float:
    metric, _ = _metric_for({"mode": mode, "mapping": mapping, "use_unscaled_speech_mos_mapping": unscaled,
                             "model_file": model})
    reference, estimate = load_audio(ref, SCORE_POLICY), load_audio(deg, SCORE_POLICY)
    (row,) = score_pair(reference, estimate, [metric], native_rate=True)
    assert row["error"] is None, row["error"]
    assert row["sample_rate"] == 48000  # scored at the files' own rate, as Google does
    return row["value"]


def _check(root: Path, row: dict[str, str]) -> None:
    ref, deg = root / row["reference"], root / row["degraded"]
    _, tol = _metric_for(row)
    tol = KNOWN_DEVIATIONS.get(row["constant_name"], tol)
    got = _score(_sha(ref), _sha(deg), ref, deg, row["mode"], row["mapping"],
                 row["use_unscaled_speech_mos_mapping"], row["model_file"])
    assert abs(got - float(row["expected_mos"])) <= tol, (row["constant_name"], got, row["expected_mos"])


@pytest.mark.parametrize("row", _rows(SUBSET), ids=lambda r: r["constant_name"])
def test_repo_subset_matches_google(row):
    _check(SUBSET, row)


SHARED_ROWS = _rows(SHARED) if (SHARED / "expected.csv").is_file() else []


@pytest.mark.skipif(not SHARED_ROWS, reason=f"shared ViSQOL conformance data not found at {SHARED}")
@pytest.mark.slow
@pytest.mark.parametrize("row", SHARED_ROWS, ids=lambda r: r["constant_name"])
def test_every_shared_row_matches_google(row):
    _check(SHARED, row)


@pytest.mark.skipif(not SHARED_ROWS, reason=f"shared ViSQOL conformance data not found at {SHARED}")
def test_subset_is_byte_identical_to_shared():
    for path in sorted(SUBSET.rglob("*.wav")):
        assert _sha(path) == _sha(SHARED / path.relative_to(SUBSET)), path


@pytest.mark.parametrize("name", sorted(GOOGLE_SHA256))
def test_packaged_models_are_googles(name):
    assert _sha(Path(model_path(name))) == GOOGLE_SHA256[name]


def test_info_records_model_and_mode():
    audio, speech, exp = VisqolAudio().info(), VisqolSpeech().info(), VisqolSpeechExp().info()
    assert (audio["model_file"], audio["model_sha256"]) == (SVR_MODEL, GOOGLE_SHA256[SVR_MODEL])
    assert (speech["model_file"], speech["model_sha256"]) == (LATTICE_MODEL, GOOGLE_SHA256[LATTICE_MODEL])
    assert (audio["sample_rate"], speech["sample_rate"]) == (48000, 16000)
    assert "lattice" in speech["mode"] and "exponential" in exp["mode"] and "svr" in audio["mode"]


def test_same_value_as_backend_file_api():
    """codecbench's loading/downmix/scoring path adds nothing: equal to visqol's own file reader."""
    from visqol import VisqolApi

    ref, deg = SUBSET / "testdata/clean_speech/CA01_01.wav", SUBSET / "testdata/clean_speech/transcoded_CA01_01.wav"
    api = VisqolApi()
    api.create(mode="speech", use_lattice_model=True)
    direct = api.measure(str(ref), str(deg)).moslqo
    assert _score(_sha(ref), _sha(deg), ref, deg, "speech", "lattice", "false", "") == direct
