import numpy as np
import pytest

from bench.audio import Audio, AudioPolicy, check_audio, load_audio, resample
from bench.errors import AudioError
from helpers.data import write_wav


def test_loads_demo_clip_as_mono_float(demo_clip):
    a = load_audio(demo_clip, AudioPolicy(sample_rate=16000))
    assert a.sample_rate == 16000 and a.samples.dtype == np.float32 and a.samples.ndim == 1
    assert 2.8 < a.duration < 2.9  # manifest says 2.835 s


def test_missing_file_is_named(tmp_path):
    with pytest.raises(AudioError, match=r"nope\.wav: file not found"):
        load_audio(tmp_path / "nope.wav")


def test_empty_file(tmp_path):
    p = tmp_path / "empty.wav"
    p.write_bytes(b"")
    with pytest.raises(AudioError, match="empty.wav: file is empty"):
        load_audio(p)


def test_corrupt_file(tmp_path):
    p = tmp_path / "corrupt.flac"
    p.write_bytes(b"fLaC" + bytes(range(256)) * 4)
    with pytest.raises(AudioError, match="corrupt.flac: cannot decode audio"):
        load_audio(p)


def test_silent_clip(tmp_path):
    p = write_wav(tmp_path / "silent.wav", np.zeros(16000))
    with pytest.raises(AudioError, match="silent.wav: is silent"):
        load_audio(p)


def test_too_short(tmp_path):
    p = write_wav(tmp_path / "short.wav", 0.1 * np.ones(100))
    with pytest.raises(AudioError, match=r"short.wav: too short \(0.006 s"):
        load_audio(p)


def test_clipped(tmp_path):
    x = np.clip(3 * np.sin(np.linspace(0, 200, 16000)), -1, 1)
    p = write_wav(tmp_path / "clipped.wav", x)
    with pytest.raises(AudioError, match="clipped.wav: clipped"):
        load_audio(p)


def test_stereo_rejected_unless_downmix(tmp_path):
    x = 0.1 * np.random.default_rng(0).standard_normal((16000, 2))
    p = write_wav(tmp_path / "stereo.wav", x)
    with pytest.raises(AudioError, match="stereo.wav: has 2 channels"):
        load_audio(p)
    a = load_audio(p, AudioPolicy(downmix=True))
    np.testing.assert_allclose(a.samples, x.mean(axis=1), atol=1e-4)


def test_wrong_rate_rejected_unless_resample(tmp_path):
    x = 0.1 * np.sin(2 * np.pi * 440 * np.arange(22050) / 22050)
    p = write_wav(tmp_path / "r22.wav", x, rate=22050)
    with pytest.raises(AudioError, match="r22.wav: sample rate 22050 Hz, suite expects 16000 Hz"):
        load_audio(p, AudioPolicy(sample_rate=16000))
    a = load_audio(p, AudioPolicy(sample_rate=16000, resample=True))
    assert a.sample_rate == 16000 and abs(len(a) - 16000) <= 1


def test_nan_samples_rejected():
    with pytest.raises(AudioError, match="NaN"):
        check_audio(Audio(np.array([0.1, np.nan] * 1000, np.float32), 16000, "x.wav"))


def test_resample_preserves_a_tone():
    t = np.arange(16000) / 16000
    a = Audio((0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32), 16000)
    b = resample(a, 48000)
    assert b.sample_rate == 48000 and len(b) == 48000
    spectrum = np.abs(np.fft.rfft(b.samples))
    assert abs(np.argmax(spectrum) * 48000 / len(b) - 1000) < 2
