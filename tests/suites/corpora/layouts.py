"""Miniature corpora written in each corpus's real release layout, read by the real loaders.

(A module, not conftest.py: the repository's tests import the top-level conftest by name.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf


def tone(seconds: float, rate: int, freq: float = 220.0, seed: int = 0) -> np.ndarray:
    """Speech-like enough for validation: not silent, not clipped."""
    t = np.arange(int(seconds * rate)) / rate
    noise = np.random.default_rng(seed).normal(0, 0.01, t.size)
    return (0.2 * np.sin(2 * np.pi * freq * t) + noise).astype(np.float32)


def write_mp3(path: Path, samples: np.ndarray, rate: int) -> None:
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libmp3lame", rate=rate)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(samples[None, :], format="flt", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def make_librispeech(base: Path, part: str = "test-clean") -> Path:
    """base/LibriSpeech/PART/SPK/CHAP/SPK-CHAP-UTT.flac + SPK-CHAP.trans.txt (as the tarball)."""
    root = base / "LibriSpeech" / part
    for spk, chap, n in (("1089", "134686", 3), ("121", "127105", 2)):
        d = root / spk / chap
        d.mkdir(parents=True)
        lines = []
        for i in range(n):
            uid = f"{spk}-{chap}-{i:04d}"
            sf.write(d / f"{uid}.flac", tone(0.5 + 0.25 * i, 16000, 200 + 40 * i, seed=i), 16000)
            lines.append(f"{uid} HE HOPED THERE WOULD BE STEW FOR DINNER {i}")
        (d / f"{spk}-{chap}.trans.txt").write_text("\n".join(lines) + "\n")
    return root


def make_voxceleb(base: Path) -> Path:
    """base/VoxCeleb1/wav/idNNNNN/VIDEO/NNNNN.wav + veri_test2.txt."""
    root = base / "VoxCeleb1"
    files = ["id10270/x6uYqmx31kE/00001.wav", "id10270/8jEAjG6SegY/00008.wav", "id10271/1gtz-CUIygI/00001.wav"]
    for i, rel in enumerate(files):
        p = root / "wav" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        sf.write(p, tone(0.6, 16000, 150 + 50 * i, seed=i), 16000, subtype="PCM_16")
    (root / "veri_test2.txt").write_text(
        f"1 {files[0]} {files[1]}\n0 {files[0]} {files[2]}\n0 {files[1]} {files[2]}\n")
    return root


def make_commonvoice(base: Path) -> Path:
    """base/cv-corpus-11.0-2022-09-21/en/test.tsv + clips/*.mp3 (48 kHz, as released)."""
    root = base / "cv-corpus-11.0-2022-09-21" / "en"
    header = "client_id\tpath\tsentence\tup_votes\tdown_votes\tage\tgender\taccents\tlocale\tsegment"
    rows = [("c1" * 8, "common_voice_en_1001.mp3", 'He said "hello there.'),
            ("c2" * 8, "common_voice_en_1002.mp3", "The quick brown fox.")]
    lines = [header]
    for i, (client, name, sentence) in enumerate(rows):
        write_mp3(root / "clips" / name, tone(1.0, 48000, 300 + 100 * i, seed=i), 48000)
        lines.append(f"{client}\t{name}\t{sentence}\t2\t0\ttwenties\tmale\t\ten\t")
    (root / "test.tsv").write_text("\n".join(lines) + "\n")
    return root


def make_voxpopuli(base: Path) -> Path:
    """base/voxpopuli/transcribed_data/en/asr_test.tsv + YEAR/SESSION-N.ogg (get_asr_data output)."""
    root = base / "voxpopuli" / "transcribed_data" / "en"
    header = "id\traw_text\tnormalized_text\tspeaker_id\tsplit\tgender\tis_gold_transcript\taccent"
    ids = ["20180612-0900-PLENARY-15-en_20180612-18:21:06_3", "20190114-0900-PLENARY-7-en_20190114-19:40:12_1"]
    lines = [header]
    for i, uid in enumerate(ids):
        p = root / uid[:4] / f"{uid}.ogg"
        p.parent.mkdir(parents=True, exist_ok=True)
        sf.write(p, tone(0.8, 16000, 250 + 30 * i, seed=i), 16000, format="OGG", subtype="VORBIS")
        lines.append(f"{uid}\tMr President, Colleagues {i}.\tmr president colleagues {i}\t{4000 + i}\ttest\tmale\tTrue\tNone")
    (root / "asr_test.tsv").write_text("\n".join(lines) + "\n")
    return root


def make_spgispeech(base: Path) -> Path:
    """base/spgispeech/val.csv + spgispeech/val/CALL/N.wav."""
    root = base / "spgispeech"
    rows = ["wav_filename|wav_filesize|transcript"]
    for i, rel in enumerate(["4ad9a1b6c34f2e0d/1.wav", "4ad9a1b6c34f2e0d/2.wav", "07a785e9237c389c/1.wav"]):
        p = root / "spgispeech" / "val" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        sf.write(p, tone(0.7, 16000, 180 + 20 * i, seed=i), 16000, subtype="PCM_16")
        rows.append(f"{rel}|{p.stat().st_size}|Revenue grew 5% in Q{i + 1}, driven by SaaS.")
    (root / "val.csv").write_text("\n".join(rows) + "\n")
    return root


def make_fisher(base: Path) -> Path:
    """base/fisher/LDC2004S13/fe_03_p1_sph1/audio/000/fe_03_00001.sph (2-ch 8 kHz mu-law)
    + LDC2004T19/fe_03_p1_tran/data/trans/000/fe_03_00001.txt."""
    root = base / "fisher"
    sph = root / "LDC2004S13" / "fe_03_p1_sph1" / "audio" / "000" / "fe_03_00001.sph"
    sph.parent.mkdir(parents=True)
    rate = 8000
    a = tone(4.0, rate, 300, seed=1)
    b = tone(4.0, rate, 1000, seed=2)
    a[2 * rate:] *= 0.05  # side A speaks in the first half, side B in the second
    b[: 2 * rate] *= 0.05
    sf.write(sph, np.stack([a, b], axis=1), rate, format="NIST", subtype="ULAW")
    trans = root / "LDC2004T19" / "fe_03_p1_tran" / "data" / "trans" / "000" / "fe_03_00001.txt"
    trans.parent.mkdir(parents=True)
    trans.write_text("# fe_03_00001.sph\n# Transcribed at the LDC\n\n"
                     "0.25 1.75 A: and i'm joe\n\n2.10 3.80 B: hi joe this is mary\n\n3.85 3.95 A: \n")
    return root
