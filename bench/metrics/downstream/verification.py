"""Speaker-verification scoring: trial lists, EER, minDCF and a bootstrap-over-speakers CI.

EER and minDCF come from scikit-learn's ROC (every threshold kept); only the read-off of the
equal-error point and the detection-cost minimum are written here, since sklearn has neither.
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


def _rates(scores: Sequence[float], labels: Sequence[bool]) -> tuple[np.ndarray, np.ndarray]:
    """False-accept and miss rates at every threshold, from +inf (accept none) down."""
    from sklearn.metrics import roc_curve

    labels = np.asarray(labels, dtype=bool)
    if labels.all() or not labels.any():
        raise ValueError(f"need target and non-target trials (have {int(labels.sum())} target, "
                         f"{int((~labels).sum())} non-target)")
    fpr, tpr, _ = roc_curve(labels.astype(int), np.asarray(scores, dtype=float), drop_intermediate=False)
    return fpr, 1.0 - tpr


def eer(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """Equal error rate (fraction): where miss and false-accept rates cross, linearly interpolated
    between the two ROC points that bracket the crossing."""
    fpr, fnr = _rates(scores, labels)
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
    scores, labels, groups = np.asarray(scores, float), np.asarray(labels, bool), np.asarray(groups)
    names = np.unique(groups)
    index = {g: np.flatnonzero(groups == g) for g in names}
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(rounds):
        take = np.concatenate([index[g] for g in rng.choice(names, size=len(names), replace=True)])
        lab = labels[take]
        if lab.all() or not lab.any():
            continue  # a draw without both trial kinds has no EER
        values.append(eer(scores[take], lab))
    if not values:
        return float("nan"), float("nan")
    alpha = (1 - level) / 2
    return float(np.quantile(values, alpha)), float(np.quantile(values, 1 - alpha))
