"""Reference-side work cached once per suite gives bit-identical scores to the uncached backend.

Real demo clips, each reconstructed by two codecs: the first codec's call computes the reference
features and writes them to the suite cache, the second codec (fresh metric instance, as in
another worker) reads them. Every value must equal the plain backend call exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.audio import load_audio, resample
from bench.metrics.base import MetricContext
from bench.pipeline.align import align
from bench.suites.items import Item

pytest.importorskip("visqol")

DEMO = Path(__file__).resolve().parents[3] / "data" / "speech_demo" / "LibriSpeech"
CLIPS = sorted(DEMO.rglob("*.flac"))[:2]


def _pairs():
    from bench.adapters import create_codec

    out = []
    for path in CLIPS:
        ref = load_audio(path)
        for label in ("opus@6", "codec2@3.2"):
            codec = create_codec(label)
            est = resample(codec.decode(codec.encode(resample(ref, codec.sample_rate))), ref.sample_rate)
            out.append((Item(id=path.stem, path=path), ref, align(ref, est)[0]))
    return out


@pytest.mark.parametrize("name", ["visqol-audio", "visqol-speech"])
def test_visqol_reference_cache_is_bit_identical(tmp_path, name):
    from visqol import VisqolApi

    from bench.metrics import metric_class

    cls = metric_class(name)
    if cls.availability():
        pytest.skip(cls.availability())
    ctx = MetricContext(suite="demo", suite_hash="x", cache_dir=tmp_path)
    plain = VisqolApi()
    if cls.visqol_mode == "audio":
        plain.create(mode="audio", model_path=cls()._model_file(), search_window=cls.search_window)
    else:
        plain.create(mode="speech", use_lattice_model=True, search_window=cls.search_window,
                     lattice_model_path=cls()._model_file())
    for item, ref, est in _pairs():
        r, e = resample(ref, cls.sample_rate), resample(est, cls.sample_rate)
        want = plain.measure_from_arrays(ref_array=r.samples.astype(np.float64),
                                         deg_array=e.samples.astype(np.float64), sample_rate=r.sample_rate)
        got = cls(ctx).score(reference=r, estimate=e, item=item)  # new instance: reads the disk cache
        assert got.extra["vnsim"] == float(want.vnsim)
        # visqol-python's audio mode itself varies by ~1e-14 between repeated calls on the same
        # input in one process (measured; numpy reductions), so exact equality of the final
        # MOS is asserted for speech mode; the cached features are checked bit for bit below.
        tol = 0.0 if cls.visqol_mode == "speech" else 1e-12
        assert abs(got.value - float(want.moslqo)) <= tol
    files = sorted((tmp_path / "visqol").rglob("*.npz"))
    assert len(files) == len(CLIPS)  # one feature file per reference, shared by both codecs
    from visqol.analysis_window import AnalysisWindow
    from visqol.audio_utils import AudioSignal
    from visqol.visqol_manager import OVERLAP

    manager = plain._manager
    for item, ref, _ in _pairs()[::2]:
        r = resample(ref, cls.sample_rate).samples.astype(np.float64)
        with np.load(cls(ctx)._reference_cache_file(item)) as data:
            spec_keys = [k for k in data.files if k.startswith("spec_") and not k.endswith("_bands")]
            assert len(spec_keys) == 1
            fresh = manager.spect_builder.build(AudioSignal(r, cls.sample_rate), AnalysisWindow(cls.sample_rate, OVERLAP))
            assert np.array_equal(data[spec_keys[0]], fresh.data)  # bit for bit
            if cls.visqol_mode == "speech":
                assert any(k.startswith("vad_") for k in data.files)


def test_visqol_reference_cache_ignores_another_items_file(tmp_path):
    """A cache file written for other samples (edited clip, same id) is recomputed, not trusted."""
    from bench.metrics import metric_class

    cls = metric_class("visqol-speech")
    if cls.availability():
        pytest.skip(cls.availability())
    ctx = MetricContext(suite="demo", suite_hash="x", cache_dir=tmp_path)
    (item, ref, est), (_, ref2, est2) = _pairs()[0], _pairs()[2]
    r, e = resample(ref, 16000), resample(est, 16000)
    first = cls(ctx).score(reference=r, estimate=e, item=item)
    r2, e2 = resample(ref2, 16000), resample(est2, 16000)
    other = cls(ctx).score(reference=r2, estimate=e2, item=item)  # same id, other audio
    fresh = cls(MetricContext(suite="demo", suite_hash="y", cache_dir=tmp_path / "b")).score(
        reference=r2, estimate=e2, item=item)
    assert other.value == fresh.value
    assert cls(ctx).score(reference=r, estimate=e, item=item).value == first.value


def test_spectral_shared_stfts_are_bit_identical():
    """stft-distance after mel-distance (reusing the pair's 512/2048 STFTs) equals it computed alone."""
    from bench.metrics import spectral

    item, ref, est = _pairs()[0]
    alone_stft = (spectral._MAGNITUDES.clear(), spectral.stft_distance(ref, est))[1]
    alone_mel = (spectral._MAGNITUDES.clear(), spectral.mel_distance(ref, est))[1]
    spectral._MAGNITUDES.clear()
    assert spectral.mel_distance(ref, est) == alone_mel
    assert spectral.stft_distance(ref, est) == alone_stft  # served from the memo
    assert len(spectral._MAGNITUDES) == 2 * len(spectral.MEL_WINDOWS)  # 512/2048 computed once per side
