"""Speaker-verification scoring: trial lists, EER, minDCF and a bootstrap-over-speakers CI.

EER and minDCF are read off the ROC (every threshold kept). No maintained library does the EER
read-off and minDCF (sklearn has the ROC only, and too slowly for the bootstrap), so the few lines
are here, tested on hand-computed score sets and against sklearn's roc_curve.
minDCF uses the VoxCeleb (VoxSRC) operating point: P_target = 0.05, C_miss = C_fa = 1,
normalised by min(C_miss * P_target, C_fa * (1 - P_target)).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.errors import ConfigError

P_TARGET, C_MISS, C_FA = 0.05, 1.0, 1.0
TRIAL_SEED = 0
BOOTSTRAP_SEED = 0
BOOTSTRAP_ROUNDS = 1000


@dataclass(frozen=True)
class Trial:
    target: bool  # same speaker
    enroll: str
    test: str


def _rates(scores: Sequence[float], labels: Sequence[bool],
           weights: Sequence[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """False-accept and miss rates at every distinct threshold, from +inf (accept none) down.

    Hand-written rather than sklearn's roc_curve: that costs ~2.4 ms of input checks per call and
    the bootstrap calls it thousands of times per run; this is a sort and two cumulative sums
    (~30 us), and a test checks it against roc_curve point for point. ``weights`` count each
    trial that many times (the bootstrap's resampling multiplicities).
    """
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels, dtype=bool)
    w = np.ones(len(scores)) if weights is None else np.asarray(weights, dtype=float)
    n_target, n_non = float(w[labels].sum()), float(w[~labels].sum())
    if n_target == 0 or n_non == 0:
        raise ValueError(f"need target and non-target trials (have {int(labels.sum())} target, "
                         f"{int((~labels).sum())} non-target)")
    order = np.argsort(-scores, kind="mergesort")
    s, y, w = scores[order], labels[order], w[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # last index of each tied threshold
    tp, fp = np.cumsum(w * y)[last], np.cumsum(w * ~y)[last]
    fpr = np.r_[0.0, fp / n_non]
    fnr = np.r_[1.0, 1.0 - tp / n_target]
    return fpr, fnr


def eer(scores: Sequence[float], labels: Sequence[bool], weights: Sequence[float] | None = None) -> float:
    """Equal error rate (fraction): where miss and false-accept rates cross, linearly interpolated
    between the two ROC points that bracket the crossing."""
    fpr, fnr = _rates(scores, labels, weights)
    diff = fnr - fpr  # starts at 1 (accept nothing), ends at -1 (accept everything)
    i = int(np.argmax(diff <= 0))
    if diff[i] == 0 or i == 0:
        return float(fpr[i])
    # crossing between points i-1 (diff > 0) and i (diff < 0)
    t = diff[i - 1] / (diff[i - 1] - diff[i])
    return float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]))


def min_dcf(scores: Sequence[float], labels: Sequence[bool], p_target: float = P_TARGET,
            c_miss: float = C_MISS, c_fa: float = C_FA) -> float:
    """Minimum normalised detection cost over all thresholds."""
    fpr, fnr = _rates(scores, labels)
    dcf = c_miss * p_target * fnr + c_fa * (1 - p_target) * fpr
    return float(np.min(dcf) / min(c_miss * p_target, c_fa * (1 - p_target)))


def build_trials(speakers: dict[str, str], seed: int = TRIAL_SEED) -> list[Trial]:
    """Balanced trials: every same-speaker pair, plus as many different-speaker pairs drawn with a
    fixed seed from all of them (all of them if there are fewer). ``speakers``: item id -> speaker.
    Deterministic: pairs are enumerated in sorted id order before sampling."""
    ids = sorted(speakers)
    pairs = list(itertools.combinations(ids, 2))
    same = [Trial(True, a, b) for a, b in pairs if speakers[a] == speakers[b]]
    diff = [(a, b) for a, b in pairs if speakers[a] != speakers[b]]
    k = min(len(same), len(diff))
    picked = np.random.default_rng(seed).choice(len(diff), size=k, replace=False) if k else []
    return same + [Trial(False, *diff[i]) for i in sorted(int(j) for j in picked)]


def write_trials(path: Path, trials: Iterable[Trial]) -> None:
    """VoxCeleb1-O format: ``label enroll test`` (1 = same speaker)."""
    path.write_text("".join(f"{int(t.target)} {t.enroll} {t.test}\n" for t in trials))


def read_trials(path: Path) -> list[Trial]:
    if not path.is_file():
        raise ConfigError(f"{path}: trial list not found")
    trials = []
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 3 or parts[0] not in {"0", "1"}:
            raise ConfigError(f"{path}:{lineno}: expected 'label enroll test' with label 0 or 1, got {line!r}")
        trials.append(Trial(parts[0] == "1", parts[1], parts[2]))
    if not trials:
        raise ConfigError(f"{path}: trial list is empty")
    return trials


def bootstrap_eer_ci(scores: Sequence[float], labels: Sequence[bool], groups: Sequence[str],
                     rounds: int = BOOTSTRAP_ROUNDS, seed: int = BOOTSTRAP_SEED, level: float = 0.95) -> tuple[float, float]:
    """Percentile CI of EER, resampling speakers (``groups``: each trial's enroll speaker) with
    replacement: trials of one speaker are correlated, so resampling trials would understate it."""
    scores, labels = np.asarray(scores, float), np.asarray(labels, bool)
    names, group_index = np.unique(np.asarray(groups), return_inverse=True)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(rounds):
        # a speaker drawn k times contributes its trials k times: trial weight = its speaker's count
        counts = np.bincount(rng.integers(0, len(names), size=len(names)), minlength=len(names))
        w = counts[group_index].astype(float)
        if not w[labels].any() or not w[~labels].any():
            continue  # a draw without both trial kinds has no EER
        values.append(eer(scores, labels, w))
    if not values:
        return float("nan"), float("nan")
    alpha = (1 - level) / 2
    return float(np.quantile(values, alpha)), float(np.quantile(values, 1 - alpha))
