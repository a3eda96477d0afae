"""Fisher English (LDC2004S13/LDC2005S13 audio, LDC2004T19/LDC2005T19 transcripts; licensed).

Layout as LDC ships it: ``.../audio/NNN/fe_03_NNNNN.sph`` (2-channel 8 kHz mu-law SPHERE, one
side per channel) and ``.../trans/NNN/fe_03_NNNNN.txt`` with lines ``START END SIDE: text``.

Utterances are time ranges of a conversation side, while an item here is one audio file a codec
processes; lhotse's ``prepare_fisher_english`` yields the same ranges as supervisions over whole
recordings, which does not give us files either. So this loader parses the LDC transcripts and cuts
each utterance once into a cached 16-bit WAV (lossless from mu-law), reused on later loads.
The optional ``conversations:`` list (ids, or a file of ids inside the root) restricts the suite to
an evaluation subset instead of cutting all ~2,000 hours.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import soundfile as sf

from bench import locations
from bench.errors import ConfigError
from bench.resources import cache_dir
from bench.suites.corpora.common import nonempty
from bench.suites.items import Item
from bench.suites.manifests import _unique, register_loader

_LINE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)\s+([AB]):\s*(.*)$")
_SIDES = {"A": 0, "B": 1}


def cache_root(entry: dict[str, Any]) -> Path:
    where = locations.current()
    return Path(where.expand(str(entry.get("cache", cache_dir() / "corpora" / "fisher")))).expanduser()


def read_transcript(path: Path) -> list[tuple[float, float, str, str]]:
    segments = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _LINE.match(line)
        if not m:
            raise ConfigError(f"{path}:{lineno}: expected 'START END A|B: text', got {line!r}")
        start, end, side, text = float(m[1]), float(m[2]), m[3], m[4].strip()
        if end <= start:
            raise ConfigError(f"{path}:{lineno}: segment ends ({end}) before it starts ({start})")
        if text:
            segments.append((start, end, side, text))
    return segments


def _wanted(root: Path, entry: dict[str, Any]) -> set[str] | None:
    conv = entry.get("conversations")
    if conv is None:
        return None
    if isinstance(conv, str):
        listing = root / conv
        if not listing.exists():
            raise ConfigError(f"{listing}: conversation list named by the fisher suite does not exist")
        return {line.strip() for line in listing.read_text().splitlines() if line.strip()}
    return {str(c) for c in conv}


@register_loader("fisher")
def load_fisher(root: Path, entry: dict[str, Any]) -> list[Item]:
    wanted = _wanted(root, entry)
    transcripts = {p.stem: p for p in root.rglob("fe_03_*.txt") if wanted is None or p.stem in wanted}
    nonempty(list(transcripts), root, "Fisher transcripts (trans/NNN/fe_03_NNNNN.txt)")
    audio = {p.stem: p for p in root.rglob("fe_03_*.sph") if p.stem in transcripts}
    out_dir = cache_root(entry)
    items: list[Item] = []
    for conv, trans in sorted(transcripts.items()):
        if conv not in audio:
            raise ConfigError(f"{trans}: no matching audio {conv}.sph under {root} (is the LDC audio release there too?)")
        segments = read_transcript(trans)
        targets = []
        for start, end, side, text in segments:
            uid = f"{conv}-{side}-{round(start * 100):06d}-{round(end * 100):06d}"
            target = out_dir / conv / f"{uid}.wav"
            targets.append((target, start, end, side))
            items.append(Item(id=uid, path=target, speaker=f"{conv}-{side}", text=text, duration=end - start,
                              extra={"conversation": conv, "side": side, "start": start, "end": end,
                                     "source": str(audio[conv])}))
        _cut(audio[conv], [t for t in targets if not t[0].exists()])
    return _unique(items, root)


def _cut(sph: Path, targets: list[tuple[Path, float, float, str]]) -> None:
    """Write each missing utterance once; the conversation is read only if something is missing."""
    if not targets:
        return
    try:
        data, rate = sf.read(str(sph), dtype="float32", always_2d=True)
    except Exception as exc:
        raise ConfigError(f"{sph}: cannot read Fisher SPHERE audio ({exc})") from exc
    for target, start, end, side in targets:
        channel = _SIDES[side]
        if channel >= data.shape[1]:
            raise ConfigError(f"{sph}: transcript names side {side} but the file has {data.shape[1]} channel(s)")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp.wav")
        sf.write(str(tmp), data[int(start * rate):int(end * rate), channel], rate, subtype="PCM_16")
        tmp.replace(target)
