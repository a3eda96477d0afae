"""Simulated listening panels: check the analysis pipeline and plan how many raters a test needs.

A simulated rater scores every condition of every trial as

    score = clip(round(mean[condition] + bias[rater] + item_effect[item, condition] + noise), 0, 100)

with ``bias ~ N(0, rater_sd)`` (some listeners are harsher), ``noise ~ N(0, noise_sd)`` and an
optional item x condition interaction ``~ N(0, item_sd)`` (a codec that fails on some items). The
hidden reference is what listeners recognise: ``mean + N(0, reference_sd)`` with no bias. Careless
raters score every slider uniformly at random, which the screening rules are meant to catch.
The ``means`` are the true values before rounding and clipping; near 0 or 100 the clipping pulls
the observed mean inward, so checks of interval coverage use means away from the ends.

Power: the smallest difference a paired t-test (5 % two-sided, 80 % power) finds between two
conditions with N raters, from the noncentral t distribution and the SD of per-rater paired
differences measured on the simulated panel (screened, codec pairs pooled); ``min_detectable``
takes that SD, so a real pilot panel's SD can be used the same way.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize
from scipy import stats as st

from bench.errors import BenchError
from bench.listening.testdef import RATINGS_FILE, ListeningTest

#: default true means (before clipping): codecs spread evenly over this range by nominal rate
CODEC_RANGE = (35.0, 85.0)
REFERENCE_MEAN = 100.0
#: the low anchor (lowest cut-off) and any wider anchors
ANCHOR_MEANS = (20.0, 45.0)


@dataclass(frozen=True)
class Panel:
    """How simulated raters score: true means per condition and the spreads around them."""

    means: dict[str, float]
    rater_sd: float = 6.0
    noise_sd: float = 8.0
    reference_sd: float = 2.0
    item_sd: float = 0.0
    careless: int = 0

    def info(self) -> dict:
        return asdict(self)


def default_means(test: ListeningTest) -> dict[str, float]:
    """Reference 100, the low anchor 20 and wider anchors 45, codecs spread 35..85 by nominal rate."""
    out: dict[str, float] = {}
    anchors = sorted((c for c in test.conditions if c.kind == "anchor"),
                     key=lambda c: (c.lowpass_hz if c.lowpass_hz is not None else math.inf, c.id))
    for k, c in enumerate(anchors):
        out[c.id] = ANCHOR_MEANS[0] if k == 0 else ANCHOR_MEANS[1]
    codecs = sorted((c for c in test.conditions if c.kind == "codec"),
                    key=lambda c: (c.kbps if c.kbps is not None else math.inf, c.id))
    lo, hi = CODEC_RANGE
    for k, c in enumerate(codecs):
        out[c.id] = lo + (hi - lo) * (k / (len(codecs) - 1) if len(codecs) > 1 else 0.5)
    for c in test.conditions:
        if c.kind == "reference":
            out[c.id] = REFERENCE_MEAN
    return {c.id: out[c.id] for c in test.conditions}


def parse_means(text: str | None, test: ListeningTest) -> dict[str, float]:
    """``codec=score,...`` over the defaults; unknown conditions and scores outside 0..100 are errors."""
    means = default_means(test)
    if not text:
        return means
    for part in text.split(","):
        if not part.strip():
            continue
        name, sep, value = part.rpartition("=")
        name = name.strip()
        if not sep or not name:
            raise BenchError(f"--means {part.strip()!r}: write CONDITION=SCORE (e.g. opus@6=40)")
        if name not in means:
            raise BenchError(f"--means: unknown condition {name!r}; this test has {', '.join(means)}")
        try:
            v = float(value)
        except ValueError:
            raise BenchError(f"--means {part.strip()!r}: {value.strip()!r} is not a number") from None
        if not 0.0 <= v <= 100.0:
            raise BenchError(f"--means {part.strip()!r}: a MUSHRA mean lies in 0..100")
        means[name] = v
    return means


def rater_names(n: int, seed: int) -> list[str]:
    return [f"sim{seed}-{k:03d}" for k in range(1, n + 1)]


def simulate_ratings(test: ListeningTest, n_raters: int, panel: Panel, seed: int = 0) -> tuple[pd.DataFrame, list[dict]]:
    """The ratings a simulated panel gives (rater, trial, condition, score, position) and one record
    per rater (name, bias, careless); the last ``panel.careless`` raters are the careless ones."""
    if n_raters < 1:
        raise BenchError("--raters: at least one rater")
    if not 0 <= panel.careless <= n_raters:
        raise BenchError(f"--careless {panel.careless}: between 0 and the number of raters ({n_raters})")
    missing = sorted({c.id for c in test.conditions} - set(panel.means))
    if missing:
        raise BenchError(f"simulated panel: no mean for {', '.join(missing)}")
    rng = np.random.default_rng(seed)
    kinds = {c.id: c.kind for c in test.conditions}
    items = sorted({t.item for t in test.trials})
    conds = [c.id for c in test.conditions]
    item_fx = rng.normal(0.0, panel.item_sd, size=(len(items), len(conds))) if panel.item_sd > 0 else \
        np.zeros((len(items), len(conds)))
    item_ix = {it: k for k, it in enumerate(items)}
    cond_ix = {c: k for k, c in enumerate(conds)}
    names = rater_names(n_raters, seed)
    recs, raters = [], []
    for k, name in enumerate(names):
        careless = k >= n_raters - panel.careless
        bias = 0.0 if careless else float(rng.normal(0.0, panel.rater_sd))
        raters.append({"rater": name, "bias": bias, "careless": careless})
        for t in test.trials:
            cs = t.conditions
            order = rng.permutation(len(cs))
            if careless:
                scores = rng.integers(0, 101, size=len(cs)).astype(float)
            else:
                noise = rng.normal(0.0, 1.0, size=len(cs))
                scores = np.array([
                    panel.means[c] + noise[j] * panel.reference_sd if kinds[c] == "reference" else
                    panel.means[c] + bias + item_fx[item_ix[t.item], cond_ix[c]] + noise[j] * panel.noise_sd
                    for j, c in enumerate(cs)])
            scores = np.clip(np.rint(scores), 0, 100).astype(int)
            for j, c in enumerate(cs):
                recs.append((name, t.id, c, int(scores[j]), int(order[j])))
    df = pd.DataFrame(recs, columns=["rater", "trial", "condition", "score", "position"])
    return df, raters


def write_panel(test: ListeningTest, ratings: pd.DataFrame, raters: list[dict], panel: Panel, seed: int,
                *, force: bool = False) -> int:
    """Store a simulated panel as raters of kind ``simulated``; refuses a test with human raters
    unless ``force`` (simulated scores must not mix silently with listeners' ones)."""
    from bench.listening.store import RatingStore

    if test.path is None:
        raise BenchError(f"test {test.name!r}: not saved to a folder")
    store = RatingStore(test.path / RATINGS_FILE)
    existing = store.raters()
    humans = existing[existing["kind"] != "simulated"]
    if len(humans) and not force:
        raise BenchError(f"{test.path / RATINGS_FILE}: holds {len(humans)} non-simulated rater(s); simulated ratings "
                         "would mix with theirs (pass --force to add them anyway; `bench listen results --raters "
                         "human` leaves them out)")
    info = {"rater": None, **panel.info(), "seed": seed}
    for r in raters:
        store.add_rater(r["rater"], kind="simulated", seed=seed,
                        info={**info, "rater": r["rater"], "bias": r["bias"], "careless": r["careless"]})
    for (rater, trial), g in ratings.groupby(["rater", "trial"], sort=True):
        store.submit(rater, trial, dict(zip(g["condition"], g["score"].astype(int).tolist())),
                     dict(zip(g["condition"], g["position"].astype(int).tolist())))
    return len(ratings)


# ------------------------------------------------------------------------------------------- power


def power(delta: float, sd_diff: float, n_raters: int, alpha: float = 0.05) -> float:
    """Power of the two-sided paired t-test over ``n_raters`` per-rater differences of SD ``sd_diff``
    when the true difference is ``delta`` (noncentral t)."""
    if n_raters < 2 or not sd_diff > 0:
        return math.nan
    df = n_raters - 1
    crit = st.t.ppf(1 - alpha / 2, df)
    nc = abs(delta) / (sd_diff / math.sqrt(n_raters))
    far = float(st.nct.cdf(-crit, df, nc))  # rejecting on the wrong side; NaN deep in the tail where it is 0
    return float(st.nct.sf(crit, df, nc)) + (far if math.isfinite(far) else 0.0)


def min_detectable(sd_diff: float, n_raters: int, alpha: float = 0.05, target: float = 0.8) -> float:
    """Smallest true difference the paired t-test detects with probability ``target``."""
    if n_raters < 2 or not sd_diff > 0:
        return math.nan
    # power is ~1 once the noncentrality is 6 past the critical value (and nct is NaN far beyond)
    hi = (st.t.ppf(1 - alpha / 2, n_raters - 1) + 6.0) * sd_diff / math.sqrt(n_raters)
    return float(optimize.brentq(lambda d: power(d, sd_diff, n_raters, alpha) - target, 0.0, hi, xtol=1e-6))


def pooled_pair_sd(pairs: pd.DataFrame, kinds: dict[str, str]) -> float:
    """SD of per-rater paired differences, pooled (root mean variance) over codec-vs-codec pairs,
    or over all pairs when the test has fewer than two codecs."""
    codec = pairs[(pairs["a"].map(kinds) == "codec") & (pairs["b"].map(kinds) == "codec")]
    use = codec if len(codec) else pairs
    v = use["sd_rater_diffs"].dropna().to_numpy() ** 2
    return float(math.sqrt(v.mean())) if len(v) else math.nan


@dataclass
class Plan:
    n_raters: int
    sd_diff: float
    n_pairs: int
    mdd: float  # one pair decided in advance, 5 % two-sided, 80 % power
    mdd_holm: float  # every pair with Holm: the first step tests at 5 % / n_pairs (the strictest)
    table: pd.DataFrame = field(default_factory=pd.DataFrame)  # raters -> mdd, mdd_holm
    power_table: pd.DataFrame = field(default_factory=pd.DataFrame)  # difference -> power at n_raters


def plan(sd_diff: float, n_raters: int, n_pairs: int, alpha: float = 0.05) -> Plan:
    ns = sorted({n_raters, 5, 10, 15, 20, 30, 40, 60})
    holm_alpha = alpha / max(n_pairs, 1)
    table = pd.DataFrame({"raters": ns, "mdd": [min_detectable(sd_diff, n, alpha) for n in ns],
                          "mdd_holm": [min_detectable(sd_diff, n, holm_alpha) for n in ns]})
    deltas = [2.0, 5.0, 10.0, 15.0, 20.0]
    pt = pd.DataFrame({"difference": deltas, "power": [power(d, sd_diff, n_raters, alpha) for d in deltas],
                       "power_holm": [power(d, sd_diff, n_raters, holm_alpha) for d in deltas]})
    return Plan(n_raters, sd_diff, n_pairs, min_detectable(sd_diff, n_raters, alpha),
                min_detectable(sd_diff, n_raters, holm_alpha), table, pt)
