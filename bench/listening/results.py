"""The results of a test folder, end to end: ratings -> screening -> tables -> agreement -> files;
and a simulated panel written into a test folder with its power plan. ``bench.api`` calls these."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bench.errors import BenchError
from bench.listening import agreement as ag
from bench.listening import output, simulate
from bench.listening.analysis import Results, analyse
from bench.listening.testdef import RATINGS_FILE, ListeningTest, load_test
from bench.stats import ROUNDS, SEED

RATER_KINDS = ("all", "human", "simulated")


@dataclass
class ResultsReport:
    results: Results
    agreement: pd.DataFrame | None
    agreement_note: str
    markdown: str
    files: list[Path] = field(default_factory=list)


def load_ratings(test: ListeningTest, raters: str = "all") -> tuple[pd.DataFrame, dict[str, str]]:
    """The test's ratings (optionally only human or only simulated raters) and each rater's kind."""
    from bench.listening.store import RatingStore

    if raters not in RATER_KINDS:
        raise BenchError(f"--raters {raters!r}: choose one of {', '.join(RATER_KINDS)}")
    assert test.path is not None
    db = test.path / RATINGS_FILE
    if not db.is_file():
        raise BenchError(f"{db}: no ratings yet (serve the test with `bench listen serve`, or fill it with "
                         "`bench listen simulate`)")
    store = RatingStore(db)
    known = store.raters()
    kinds = dict(zip(known["rater"], known["kind"]))
    df = store.ratings()
    if raters == "human":
        df = df[df["rater"].map(kinds).fillna("human") != "simulated"]
    elif raters == "simulated":
        df = df[df["rater"].map(kinds) == "simulated"]
    if df.empty:
        raise BenchError(f"{db}: no ratings from {raters} raters")
    return df.reset_index(drop=True), kinds


def results(test_dir: Path, *, screening: str = "bs1534", out: Path | None = None, raters: str = "all",
            runs: list[Path] | None = None, agreement: bool = True, seed: int = SEED,
            rounds: int = ROUNDS) -> ResultsReport:
    test = load_test(Path(test_dir))
    df, kinds = load_ratings(test, raters)
    res = analyse(test, df, screening=screening, seed=seed, rounds=rounds, kinds=kinds)
    agree, note = None, ""
    if agreement:
        paths = ag.run_dirs(test, runs)
        if paths:
            agree = ag.agreement(res, ag.objective_rows(paths), seed=seed, rounds=rounds)
            if agree.empty:
                note = "the runs hold no per-item metric rows for the codec conditions of this test"
        else:
            note = "the test names no runs (provenance 'runs'); pass --runs RUN... to compare with objective metrics"
    else:
        note = "not computed (--no-agreement)"
    rep = ResultsReport(res, agree, note, output.markdown(res, agree, note))
    if out is not None:
        rep.files = output.write(res, Path(out), agree, note)
    return rep


@dataclass
class SimulationReport:
    test: ListeningTest
    panel: simulate.Panel
    n_raters: int
    written: int
    results: Results
    plan: simulate.Plan

    def text(self) -> str:
        p, pl = self.panel, self.plan
        trials = len(self.test.trials)
        where = (f"{self.written} ratings written to {self.test.path / RATINGS_FILE} (kind 'simulated')"
                 if self.written else "nothing written (dry run)")
        lines = [f"simulated {self.n_raters} raters ({p.careless} careless) x {trials} trials, seed "
                 f"{self.results.options['seed']}: {where}",
                 "true means: " + ", ".join(f"{k}={v:g}" for k, v in p.means.items()),
                 f"rater bias SD {p.rater_sd:g}, noise SD {p.noise_sd:g}, reference SD {p.reference_sd:g}, "
                 f"item x condition SD {p.item_sd:g}",
                 f"screening {self.results.screening.rule}: removed {len(self.results.screening.removed)} "
                 f"({', '.join(self.results.screening.removed) or 'none'})",
                 "",
                 f"smallest difference between two conditions detected with {pl.n_raters} raters "
                 f"(the {'kept ones of the ' if pl.n_raters != self.n_raters else ''}panel) "
                 f"(paired t-test, 5 % two-sided, 80 % power): {pl.mdd:.1f} MUSHRA points for one pair chosen in "
                 f"advance, {pl.mdd_holm:.1f} with Holm over all {pl.n_pairs} pairs (first step, 5 %/{pl.n_pairs})",
                 f"  from the noncentral t with the simulated panel's SD of per-rater paired differences, "
                 f"{pl.sd_diff:.2f} (screened raters, codec pairs pooled, {trials} trials per rater)",
                 "", "raters -> smallest detectable difference (one pair / Holm over all pairs):"]
        lines += [f"  {int(r.raters):3d}: {r.mdd:5.1f} / {r.mdd_holm:5.1f}" for r in pl.table.itertuples()]
        lines += ["", f"power with {pl.n_raters} raters (one pair / Holm over all pairs):"]
        lines += [f"  difference {r.difference:4.0f}: {r.power:.2f} / {r.power_holm:.2f}" for r in
                  pl.power_table.itertuples()]
        return "\n".join(lines)


def simulate_panel(test_dir: Path, n_raters: int, *, seed: int = 0, means: str | None = None,
                   careless: int = 0, rater_sd: float = 6.0, noise_sd: float = 8.0, reference_sd: float = 2.0,
                   item_sd: float = 0.0, force: bool = False, write: bool = True,
                   screening: str = "bs1534") -> SimulationReport:
    test = load_test(Path(test_dir))
    panel = simulate.Panel(simulate.parse_means(means, test), rater_sd=rater_sd, noise_sd=noise_sd,
                           reference_sd=reference_sd, item_sd=item_sd, careless=careless)
    df, raters = simulate.simulate_ratings(test, n_raters, panel, seed)
    written = simulate.write_panel(test, df, raters, panel, seed, force=force) if write else 0
    if not any(c.kind == "reference" for c in test.conditions):
        screening = "none"
    res = analyse(test, df, screening=screening, seed=seed, rounds=0,
                  kinds={r["rater"]: "simulated" for r in raters})
    kinds = {c.id: c.kind for c in test.conditions}
    pl = simulate.plan(simulate.pooled_pair_sd(res.pairs, kinds), len(res.screening.kept), len(res.pairs))
    return SimulationReport(test, panel, n_raters, written, res, pl)
