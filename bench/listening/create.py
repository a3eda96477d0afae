"""Build a MUSHRA test folder (ITU-R BS.1534-3) from run directories: ``bench listen create``.

Per trial (one item): the open reference, the hidden reference, the 3.5 kHz and 7 kHz low-pass
anchors and one stimulus per codec condition, all cut at the same sample indices of the item,
faded in and out identically, loudness-matched to the reference and written as
``audio/<token>.wav``. The token -> condition map lives only in ``test.json``.

Choices, and why:

* **Items** are chosen seeded and stratified: candidates (items every chosen condition coded
  without error) are split into N equal bins by a quality metric averaged over the conditions
  (ranked, so scale-free; the first of :data:`QUALITY_METRICS` the runs have), and one item is
  drawn per bin, preferring the speaker used least so far. Without a metric every bin is the
  whole pool, so the draw spreads over speakers only. Items at least as long as the excerpt are
  preferred; shorter ones are used whole only when too few long ones exist (and it is said).
* **Excerpt**: the window with the most speech-active 20 ms frames of the reference (a frame is
  active when its energy is within :data:`ACTIVE_DB` dB of the item's loudest frame; earliest
  window on ties), the same indices for every condition, with :data:`FADE_MS` raised-cosine fades.
  Energy relative to the peak needs no model and is exact on the clean speech of a codec test.
* **Anchors** low-pass the *whole* reference item with a zero-phase elliptic filter (``sosfiltfilt``:
  no delay, so they stay sample-aligned; passband ripple <= 0.1 dB up to the cut-off, >= 120 dB
  down from 1.05 x the cut-off) and are cut at the same indices. An anchor whose cut-off is at or
  above the item's Nyquist frequency would equal the reference, so it is left out and recorded.
* **Loudness**: every stimulus is scaled to ``loudness`` LUFS (pyloudnorm, ITU-R BS.1770-4
  integrated loudness), hence matched to its reference; if a gain would push any stimulus' peak
  above -1 dBFS, the whole trial is lowered together (recorded). Each written file is read back
  and measured again; the values are in ``test.json``.
* **Tokens** are drawn from the seed, so the same runs, options and seed give a byte-identical
  folder. Anyone who knows the seed and this procedure can rebuild the token map, so never give
  the seed to raters (for a real test choose a private one).
"""

from __future__ import annotations

import importlib.metadata
import math
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.audio import Audio, AudioPolicy, load_audio, resample
from bench.errors import AudioError, BenchError
from bench.listening.testdef import AUDIO_DIR, RATINGS_FILE, Condition, ListeningTest, Stimulus, Trial
from bench.pipeline.rundir import RunDir, audio_path

#: metrics that rank item quality for the stratified choice, first found wins
QUALITY_METRICS = ("visqol-speech", "pesq-wb", "visqol-audio", "dnsmos", "estoi", "stoi", "pesq-nb", "si-sdr", "snr")
#: BS.1534-3 anchors: condition id -> low-pass cut-off (Hz)
ANCHORS = {"anchor-3.5k": 3500.0, "anchor-7k": 7000.0}
FRAME_MS = 20.0
ACTIVE_DB = 30.0
FADE_MS = 20.0
PEAK_LIMIT_DBFS = -1.0
LOUDNESS_TOLERANCE_LU = 0.5
#: elliptic low-pass: passband ripple and stopband attenuation of one pass (doubled by filtfilt)
LOWPASS_RIPPLE_DB, LOWPASS_STOP_DB, LOWPASS_STOP_RATIO = 0.05, 60.0, 1.05


class ListeningCreateError(BenchError):
    """The runs cannot make the requested test (no such condition, too few items, mixed suites...)."""


@dataclass(frozen=True)
class CreateOptions:
    codecs: tuple[str, ...] | None = None  # None: every codec label of the runs except "original"
    items: int = 8
    excerpt: float = 5.0  # seconds
    seed: int = 0
    anchors: bool = True
    loudness: float = -23.0  # LUFS every stimulus is matched to
    redecode: bool = True  # re-decode items whose audio the run did not save
    name: str | None = None

    def __post_init__(self) -> None:
        if self.items < 1:
            raise ListeningCreateError(f"--items must be at least 1, got {self.items}")
        if not (0.5 <= self.excerpt <= 60):
            raise ListeningCreateError(f"--excerpt must be between 0.5 and 60 s, got {self.excerpt}")
        if not (-70 < self.loudness < 0):
            raise ListeningCreateError(f"--loudness must be a LUFS value between -70 and 0, got {self.loudness}")


@dataclass
class _Run:
    path: Path
    manifest: dict[str, Any]
    records: Any  # items.jsonl as a DataFrame
    rows: Any  # rows.jsonl as a DataFrame


@dataclass
class _Source:
    """Where one codec condition's audio comes from."""

    label: str
    run: _Run
    errors: dict[str, str] = field(default_factory=dict)  # item -> reason it failed in the run
    done: set[str] = field(default_factory=set)  # items the run coded without error


# ---------------------------------------------------------------- runs and conditions

def _load_runs(paths: list[Path]) -> list[_Run]:
    if not paths:
        raise ListeningCreateError("give at least one run directory (made by `bench run`, ideally with --save-audio)")
    runs = []
    for p in paths:
        p = Path(p)
        rd = RunDir(p)
        if not (p / "manifest.json").is_file() or not (p / "items.jsonl").is_file():
            raise ListeningCreateError(f"{p}: not a run directory (no manifest.json/items.jsonl; make one with `bench run`)")
        runs.append(_Run(p, rd.read_manifest(), rd.items(), rd.rows()))
    return runs


def _sources(runs: list[_Run], codecs: tuple[str, ...] | None) -> list[_Source]:
    """One source per chosen label; a label in several runs comes from the last run given."""
    by_label: dict[str, _Run] = {}
    for run in runs:
        for label in (run.manifest.get("codecs") or {}):
            by_label[label] = run
    wanted = list(codecs) if codecs else [lab for lab in by_label if lab != "original"]
    missing = [lab for lab in wanted if lab not in by_label]
    if missing:
        raise ListeningCreateError(f"condition(s) {', '.join(missing)} not in the runs "
                                   f"({', '.join(str(r.path) for r in runs)}); they have: {', '.join(by_label) or 'none'}")
    if not wanted:
        raise ListeningCreateError("the runs have no codec conditions (only 'original'); pass --codec")
    reserved = {"reference", *ANCHORS}
    if reserved & set(wanted):
        raise ListeningCreateError(f"codec labels may not be named {', '.join(sorted(reserved & set(wanted)))}")
    out = []
    for label in dict.fromkeys(wanted):
        run = by_label[label]
        src = _Source(label, run)
        rec = run.records
        if not rec.empty:
            for _, r in rec[rec["label"] == label].iterrows():
                err = r.get("error")
                if isinstance(err, str) and err:
                    src.errors[str(r["item"])] = err
                else:
                    src.done.add(str(r["item"]))
        src.done -= set(src.errors)
        out.append(src)
    return out


def _suite_of(sources: list[_Source]):
    """The one suite every chosen condition was run on, as found here, checked against the runs' hash."""
    from bench.suites import load_suite

    seen = {}
    for s in sources:
        suite = s.run.manifest.get("suite") or {}
        seen[(suite.get("name"), suite.get("hash"))] = (suite, s.run.path)
    if len(seen) != 1:
        listing = "; ".join(f"{p}: suite {k[0]!r} hash {str(k[1])[:12]}" for k, (_, p) in seen.items())
        raise ListeningCreateError(f"the chosen conditions come from different suites ({listing}); "
                                   "a trial compares one item, so make the test from runs of one suite")
    (name, digest), (recorded, run_path) = next(iter(seen.items()))
    errors = []
    for ref in (name, recorded.get("source")):
        if not ref:
            continue
        try:
            suite = load_suite(ref)
        except BenchError as exc:
            errors.append(str(exc))
            continue
        if digest and suite.content_hash() != digest:
            raise ListeningCreateError(f"{run_path}: suite {name!r} here differs from the one the run used (hash "
                                       f"{suite.content_hash()[:12]} vs {digest[:12]}); the originals would not "
                                       "match the reconstructions")
        return suite
    raise ListeningCreateError(f"{run_path}: suite {name!r} is not available here ({'; '.join(errors) or 'no name'})")


# ---------------------------------------------------------------- item choice

def _quality(sources: list[_Source], candidates: list[str]) -> tuple[str | None, dict[str, float]]:
    """Per item, the mean over conditions of its rank (0..1) under the first quality metric all have."""
    import pandas as pd

    frames = [s.run.rows[(s.run.rows["label"] == s.label)].assign(_cond=s.label) for s in sources
              if not s.run.rows.empty]
    if not frames:
        return None, {}
    rows = pd.concat(frames, ignore_index=True)
    rows = rows[rows["item"].isin(candidates) & rows["value"].notna()]
    for metric in QUALITY_METRICS:
        m = rows[rows["metric"] == metric]
        wide = m.pivot_table(index="item", columns="_cond", values="value", aggfunc="last")
        if len(wide.columns) != len(sources) or wide.isna().any().any() or set(wide.index) != set(candidates):
            continue
        ranks = wide.rank(pct=True).mean(axis=1)
        return metric, {str(k): float(v) for k, v in ranks.items()}
    return None, {}


def choose_items(candidates: list[str], n: int, seed: int, speakers: dict[str, str],
                 quality: dict[str, float]) -> list[str]:
    """``n`` items, one per quality bin (or from the whole pool without quality), least-used speaker first.

    Deterministic for a seed: candidates are sorted by (quality, id) before binning and every
    random draw comes from one seeded generator.
    """
    rng = np.random.default_rng(seed)
    order = sorted(candidates, key=lambda i: (quality.get(i, 0.0), i)) if quality else sorted(candidates)
    n = min(n, len(order))
    bins = [list(b) for b in np.array_split(np.array(order, dtype=object), n)] if quality else [order] * n
    chosen: list[str] = []
    used: Counter[str] = Counter()
    for b in bins:
        avail = [i for i in b if i not in chosen] or [i for i in order if i not in chosen]
        least = min(used[speakers.get(i, i)] for i in avail)
        pool = sorted(i for i in avail if used[speakers.get(i, i)] == least)
        pick = pool[int(rng.integers(len(pool)))]
        chosen.append(pick)
        used[speakers.get(pick, pick)] += 1
    return chosen


# ---------------------------------------------------------------- signal steps

def speech_window(samples: np.ndarray, rate: int, seconds: float) -> tuple[int, int, float]:
    """(start, stop, active fraction) of the window with the most speech-active frames."""
    n = int(round(seconds * rate))
    frame = max(1, int(round(FRAME_MS / 1000 * rate)))
    hop = max(1, frame // 2)
    if len(samples) < frame:
        return 0, len(samples), 0.0
    frames = np.lib.stride_tricks.sliding_window_view(samples.astype(np.float64), frame)[::hop]
    energy = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)
    active = energy >= energy.max() - ACTIVE_DB
    if n >= len(samples):
        return 0, len(samples), float(active.mean())
    per_window = max(1, (n - frame) // hop + 1)  # whole frames inside a window
    csum = np.concatenate([[0], np.cumsum(active)])
    starts = list(range(0, len(samples) - n + 1, hop))
    if starts[-1] != len(samples) - n:
        starts.append(len(samples) - n)
    best, best_start = -1, 0
    for s in starts:
        first = -(-s // hop)  # first frame starting at or after s
        last = min(len(active), first + per_window)
        count = int(csum[last] - csum[first])
        if count > best:
            best, best_start = count, s
    return best_start, best_start + n, best / per_window


def fade(samples: np.ndarray, rate: int, ms: float = FADE_MS) -> np.ndarray:
    """Raised-cosine fade-in and fade-out of ``ms`` each (shorter for very short excerpts)."""
    k = min(int(round(ms / 1000 * rate)), len(samples) // 2)
    out = samples.astype(np.float64).copy()
    if k > 0:
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(k) + 0.5) / k)
        out[:k] *= ramp
        out[len(out) - k:] *= ramp[::-1]
    return out


def lowpass(samples: np.ndarray, rate: int, cutoff: float) -> tuple[np.ndarray, int]:
    """Zero-phase elliptic low-pass (sosfiltfilt); returns (filtered, order of one pass)."""
    from scipy import signal

    stop = LOWPASS_STOP_RATIO * cutoff
    if stop >= rate / 2:
        raise ValueError(f"cut-off {cutoff:g} Hz needs a rate above {2 * stop:g} Hz, item is at {rate} Hz")
    order, _ = signal.ellipord(cutoff, stop, LOWPASS_RIPPLE_DB, LOWPASS_STOP_DB, fs=rate)
    sos = signal.ellip(order, LOWPASS_RIPPLE_DB, LOWPASS_STOP_DB, cutoff, output="sos", fs=rate)
    return signal.sosfiltfilt(sos, samples.astype(np.float64)), int(order)


def loudness(samples: np.ndarray, rate: int) -> float:
    """Integrated loudness (LUFS, ITU-R BS.1770-4, pyloudnorm); -inf for silence."""
    import pyloudnorm

    return float(pyloudnorm.Meter(rate).integrated_loudness(samples.astype(np.float64)))


# ---------------------------------------------------------------- the builder

def _reconstruction(src: _Source, item, reference: Audio, redecode: bool) -> tuple[Audio, str]:
    """(aligned reconstruction at the reference's rate, where it came from)."""
    saved = audio_path(src.run.path, src.label, item.id)
    if saved.exists():
        est, origin = load_audio(saved), "saved"
    elif redecode:
        from bench.pipeline.unit import reconstruct

        # with the run's own alignment (its mode and the setting's delay), as it was scored
        _, est = reconstruct(src.label, item, AudioPolicy(**_policy_dict(src)), manifest=src.run.manifest)
        origin = "re-decoded"  # the float samples --save-audio would have kept
    else:
        raise BenchError(f"{saved}: not saved by the run (run with --save-audio, or allow re-decoding)")
    if est.sample_rate != reference.sample_rate:
        est = resample(est, reference.sample_rate)
    if len(est) != len(reference):
        raise BenchError(f"{saved if origin == 'saved' else src.label}: {len(est)} samples, the reference has "
                         f"{len(reference)}; not the aligned reconstruction of this item")
    return est, origin


def _policy_dict(src: _Source) -> dict[str, Any]:
    pol = (src.run.manifest.get("suite") or {}).get("policy") or {}
    return {k: v for k, v in pol.items() if k in AudioPolicy.__dataclass_fields__}


def _token(rng: np.random.Generator, used: set[str]) -> str:
    while True:
        tok = rng.bytes(8).hex()
        if tok not in used:
            used.add(tok)
            return tok


def _rel(path: Path, base: Path) -> str:
    try:
        return os.path.relpath(Path(path).resolve(), Path(base).resolve())
    except ValueError:  # another drive (Windows)
        return str(Path(path).resolve())


def _version() -> str:
    try:
        return importlib.metadata.version("codecbench")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _prepare_out(out: Path, force: bool) -> None:
    if out.exists() and (out / RATINGS_FILE).exists():
        raise ListeningCreateError(f"{out}: holds ratings ({RATINGS_FILE}); refusing to overwrite a test people "
                                   "have rated: choose another --out")
    if out.exists() and any(out.iterdir()) and not force:
        raise ListeningCreateError(f"{out}: exists and is not empty; choose another --out or pass --force")


def _candidates(sources: list[_Source], items: dict[str, Any], suite_name: str) -> tuple[list[str], list[dict]]:
    """Items every chosen condition coded without error, and the others with their reasons."""
    candidates, skipped = [], []
    for item_id in sorted(set.union(*(s.done | set(s.errors) for s in sources))):
        reasons = [f"{s.label}: {s.errors[item_id]}" for s in sources if item_id in s.errors]
        reasons += [f"{s.label}: not in run {s.run.path}" for s in sources
                    if item_id not in s.done and item_id not in s.errors]
        if item_id not in items:
            reasons.append(f"not in suite {suite_name!r} as found here")
        if reasons:
            skipped.append({"item": item_id, "reason": "; ".join(reasons)})
        else:
            candidates.append(item_id)
    return candidates, skipped


_Loaded = tuple[Audio, dict[str, Audio], dict[str, str]]  # reference, reconstructions, where each came from


def _long_enough(item, excerpt: float) -> bool:
    # an unreadable original is not long enough: it is left out of the long items (the shorter
    # pool still holds it, and loading it then says why it cannot be used)
    try:
        return item.seconds() >= excerpt
    except AudioError:
        return False


def _choose_and_load(pool, items, suite, sources, options, quality, skipped, say) -> tuple[list[str], dict[str, _Loaded]]:
    """Choose the items and read their audio; an item that cannot be read is skipped, said, and
    the choice is made again without it (deterministic: the same pool gives the same choice)."""
    speakers = {i: items[i].speaker or i for i in pool}
    loaded: dict[str, _Loaded] = {}
    excluded: set[str] = set()
    while True:
        remaining = [i for i in pool if i not in excluded]
        if len(remaining) < options.items:
            raise ListeningCreateError(f"only {len(remaining)} items could be read ({len(excluded)} failed, see "
                                       "above); lower --items")
        chosen = choose_items(remaining, options.items, options.seed, speakers, quality)
        for item_id in (i for i in chosen if i not in loaded):
            item = items[item_id]
            try:
                reference = load_audio(item.path, suite.policy)
                got = {s.label: _reconstruction(s, item, reference, options.redecode) for s in sources}
            except Exception as exc:  # noqa: BLE001 - one unreadable item is skipped, said and replaced
                say(f"skipped item {item_id}: {exc}")
                skipped.append({"item": item_id, "reason": str(exc)})
                excluded.add(item_id)
                continue
            loaded[item_id] = (reference, {k: v[0] for k, v in got.items()}, {k: v[1] for k, v in got.items()})
        if all(i in loaded for i in chosen):
            return chosen, loaded


def _write_trial(tid: str, item_id: str, suite_name: str, loaded: _Loaded, options: CreateOptions,
                 rng: np.random.Generator, used_tokens: set[str], folder: Path, anchor_rec: dict[str, Any],
                 say) -> tuple[Trial, dict[str, Any], dict[str, Any]]:
    """Cut, filter, match and write one trial's files; returns (trial, loudness record, excerpt record)."""
    reference, recons, origin = loaded
    rate = reference.sample_rate
    start, stop, active = speech_window(reference.samples, rate, options.excerpt)
    signals: dict[str, np.ndarray] = {"reference": reference.samples}
    for aid in (ANCHORS if options.anchors else {}):
        try:
            signals[aid], order = lowpass(reference.samples, rate, ANCHORS[aid])
            anchor_rec.setdefault(aid, {"cutoff_hz": ANCHORS[aid], "order_per_pass": order})
        except ValueError as exc:
            anchor_rec.setdefault(f"{aid}:skipped", {})[tid] = str(exc)
            say(f"trial {tid}: {aid} left out ({exc})")
    signals.update({label: est.samples for label, est in recons.items()})
    cut = {c: fade(x[start:stop], rate) for c, x in signals.items()}
    measured = {c: loudness(x, rate) for c, x in cut.items()}
    # a silent stimulus has no loudness to match: it keeps the reference's gain and is flagged below
    gains = {c: options.loudness - (v if math.isfinite(v) else measured["reference"]) for c, v in measured.items()}
    peak = max(float(np.max(np.abs(x))) * 10 ** (gains[c] / 20) for c, x in cut.items())
    offset = min(0.0, PEAK_LIMIT_DBFS - 20 * math.log10(peak)) if peak > 0 else 0.0
    if offset < 0:
        say(f"trial {tid}: lowered by {-offset:.2f} dB so no stimulus exceeds {PEAK_LIMIT_DBFS:g} dBFS")
    conds = list(signals)
    open_token = _token(rng, used_tokens)
    tokens = {c: _token(rng, used_tokens) for c in conds}
    _write_pcm16(folder / f"{open_token}.wav", cut["reference"] * 10 ** ((gains["reference"] + offset) / 20), rate)
    stim_rec: dict[str, Any] = {}
    for c in conds:
        path = folder / f"{tokens[c]}.wav"
        _write_pcm16(path, cut[c] * 10 ** ((gains[c] + offset) / 20), rate)
        back = load_audio(path).samples
        stim_rec[c] = {"measured_lufs": _r(measured[c]), "gain_db": _r(gains[c] + offset),
                       "lufs": _r(loudness(back, rate)),
                       "peak_dbfs": _r(20 * math.log10(max(float(np.max(np.abs(back))), 1e-12))),
                       "source": origin.get(c, "reference" if c == "reference" else "anchor")}
    ref_lufs = stim_rec["reference"]["lufs"]
    for c, r in stim_rec.items():
        r["matched"] = bool(r["lufs"] is not None and ref_lufs is not None
                            and abs(r["lufs"] - ref_lufs) <= LOUDNESS_TOLERANCE_LU)
        if not r["matched"]:
            say(f"trial {tid}: {c} not loudness-matched (measured {r['measured_lufs']} LUFS)")
    trial = Trial(id=tid, item=item_id, suite=suite_name, start=start / rate, seconds=(stop - start) / rate,
                  reference=f"{AUDIO_DIR}/{open_token}.wav", reference_token=open_token,
                  stimuli=[Stimulus(c, tokens[c], f"{AUDIO_DIR}/{tokens[c]}.wav") for c in conds])
    return (trial, {"item": item_id, "trial_offset_db": _r(offset), "stimuli": stim_rec},
            {"start_sample": start, "stop_sample": stop, "sample_rate": rate, "active_fraction": round(active, 4)})


def create_test(runs: list[Path], out: Path, options: CreateOptions = CreateOptions(), *, force: bool = False,
                log=None) -> ListeningTest:
    """Build the test folder ``out`` from ``runs``; returns the saved :class:`ListeningTest`.

    The folder is written under a temporary name and renamed at the end, so a failure leaves no
    half-made test.
    """
    say = log or (lambda _msg: None)
    out = Path(out)
    _prepare_out(out, force)
    loaded_runs = _load_runs([Path(p) for p in runs])
    sources = _sources(loaded_runs, options.codecs)
    suite = _suite_of(sources)
    items = {it.id: it for it in suite.items}

    candidates, skipped = _candidates(sources, items, suite.name)
    for s in skipped:
        say(f"skipped item {s['item']}: {s['reason']}")
    long_enough = [i for i in candidates if _long_enough(items[i], options.excerpt)]
    pool = long_enough if len(long_enough) >= options.items else candidates
    if len(pool) > len(long_enough):
        say(f"only {len(long_enough)} items are at least {options.excerpt:g} s long; shorter items are used whole")
    if len(pool) < options.items:
        raise ListeningCreateError(f"{len(pool)} usable items in the runs ({len(skipped)} skipped), "
                                   f"{options.items} asked: lower --items or run more items")
    metric, quality = _quality(sources, pool)
    chosen, loaded = _choose_and_load(pool, items, suite, sources, options, quality, skipped, say)

    rng = np.random.default_rng(options.seed)
    order = [chosen[i] for i in rng.permutation(len(chosen))]  # trial ids say nothing about quality bins
    used_tokens: set[str] = set()
    trials, loud_rec, excerpt_rec, anchor_rec = [], {}, {}, {}
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{out.name}.tmp-"))
    try:
        (tmp / AUDIO_DIR).mkdir()
        for k, item_id in enumerate(order, start=1):
            tid = f"t{k:02d}"
            trial, loud_rec[tid], excerpt_rec[tid] = _write_trial(tid, item_id, suite.name, loaded[item_id], options,
                                                                  rng, used_tokens, tmp / AUDIO_DIR, anchor_rec, say)
            trials.append(trial)
        conditions = [Condition("reference", "reference", label="hidden reference")]
        conditions += [Condition(a, "anchor", label=f"anchor: {hz / 1000:g} kHz low-pass", lowpass_hz=hz)
                       for a, hz in ANCHORS.items() if a in anchor_rec]
        for s in sources:
            spec = ((s.run.manifest.get("codecs") or {}).get(s.label) or {}).get("spec") or {}
            conditions.append(Condition(s.label, "codec", label=s.label, kbps=spec.get("nominal_kbps"),
                                        run=_rel(s.run.path, out.resolve())))
        test = ListeningTest(name=options.name or out.name, seed=options.seed, conditions=conditions, trials=trials,
                             provenance=_provenance(loaded_runs, sources, suite, options, out, metric, pool,
                                                    candidates, skipped, order, loud_rec, excerpt_rec, anchor_rec))
        test.save(tmp)
        if out.exists():
            _prepare_out(out, force)
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    test.path = out
    return test


def _r(v: float) -> float | None:
    return round(float(v), 3) if v is not None and math.isfinite(v) else None


def _write_pcm16(path: Path, x: np.ndarray, rate: int) -> None:
    import soundfile as sf

    sf.write(str(path), np.clip(x, -1.0, 32767 / 32768), rate, subtype="PCM_16")


def _provenance(runs, sources, suite, options, out, metric, pool, candidates, skipped, order, loud, excerpts,
                anchors) -> dict[str, Any]:
    from bench.pipeline.provenance import git_state
    from bench.suites import REPO_ROOT

    used = {id(s.run) for s in sources}
    return {
        "tool": "bench listen create",
        "codecbench": _version(),
        "git": git_state(REPO_ROOT),
        "seed_note": "the seed fixes item choice, trial order and file tokens: never give it to raters",
        "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(options).items()},
        "runs": [_rel(r.path, out.resolve()) for r in runs if id(r) in used],  # relative to the test folder
        "run_details": [{"path": _rel(r.path, out.resolve()), "name": r.path.name,
                         "git_sha": (r.manifest.get("git") or {}).get("sha"),
                         "suite": {k: (r.manifest.get("suite") or {}).get(k) for k in ("name", "hash")},
                         "labels": [s.label for s in sources if s.run is r]} for r in runs if id(r) in used],
        "suite": {"name": suite.name, "hash": suite.content_hash()},
        "selection": {"method": "seeded; quality bins (mean rank over conditions) x least-used speaker"
                                if metric else "seeded; least-used speaker first (no quality metric in the runs)",
                      "quality_metric": metric, "candidates": len(candidates), "pool": len(pool),
                      "min_seconds": options.excerpt if len(pool) < len(candidates) else None,
                      "chosen": list(order), "skipped": skipped},
        "excerpt": {"method": f"most speech-active window: {FRAME_MS:g} ms frames, active within {ACTIVE_DB:g} dB "
                              f"of the item's loudest frame; {FADE_MS:g} ms raised-cosine fades",
                    "trials": excerpts},
        "anchors": {"filter": f"elliptic low-pass, zero-phase (scipy sosfiltfilt), ripple {LOWPASS_RIPPLE_DB:g} dB, "
                              f"stop {LOWPASS_STOP_DB:g} dB from {LOWPASS_STOP_RATIO:g} x cut-off per pass",
                    **anchors},
        "loudness": {"meter": f"pyloudnorm {importlib.metadata.version('pyloudnorm')} (ITU-R BS.1770-4)",
                     "target_lufs": options.loudness, "tolerance_lu": LOUDNESS_TOLERANCE_LU,
                     "peak_limit_dbfs": PEAK_LIMIT_DBFS, "trials": loud},
        "audio": "WAV, 16-bit PCM, mono, at the item's sample rate",
    }
