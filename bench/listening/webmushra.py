"""webMUSHRA interchange (github.com/audiolabs/webMUSHRA): run a codecbench test on that platform
(or a crowd service hosting it) and bring its ratings back.

Export writes ``DIR/configs/<testId>.yaml`` and the audio it names under
``DIR/configs/resources/audio/<testId>/``; copy ``DIR``'s contents into a webMUSHRA checkout and
open ``index.html?config=<testId>.yaml``. One ``mushra`` page per trial (in random order), the open
reference as the page's ``reference`` (webMUSHRA itself adds it again as the hidden reference,
``rating_stimulus`` = ``reference``), our anchors as ordinary stimuli (``createAnchor35/70: false``:
ours are zero-phase and loudness-matched, the built-in ones are neither). Stimuli are keyed by
their opaque token, not by condition: webMUSHRA sends the config to the browser, so a condition key
would tell raters what they hear (a letter goes before the token: see :func:`stimulus_key`). The
token -> condition map stays in ``test.json``.

Import reads the ``mushra.csv`` that webMUSHRA's ``service/write.php`` appends to
(``session_test_id, <questionnaire fields>, session_uuid, trial_id, rating_stimulus, rating_score,
rating_time, rating_comment``). Each session becomes a rater of kind ``imported``
(``webmushra:<session_uuid>``); ratings go through :class:`~bench.listening.store.RatingStore`,
whose (rater, trial, condition) key makes a re-import replace, never duplicate. The whole file is
checked before anything is written; any bad row is an error naming the file and line.
"""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from bench.errors import BenchError
from bench.listening.store import RatingStore
from bench.listening.testdef import RATINGS_FILE, ListeningTest

#: webMUSHRA's MushraValidator: at most 12 conditions and 12 s per stimulus (in strict mode)
MAX_CONDITIONS, MAX_SECONDS = 12, 12.0
REQUIRED = ("session_test_id", "trial_id", "rating_stimulus", "rating_score")
#: webMUSHRA's own generated anchors, should a config have turned them on
BUILTIN_ANCHORS = {"anchor35": 3500.0, "anchor70": 7000.0}
INSTRUCTIONS = (
    "<p>Each page plays a <b>reference</b> and several versions of it. Rate how close each version "
    "sounds to the reference (basic audio quality) from 0 (bad) to 100 (excellent). One of them is "
    "the reference itself: rate it 100. Listen to all of them before rating; use headphones in a "
    "quiet room.</p>")


class WebMushraError(BenchError):
    """A webMUSHRA export that cannot work, or a results file that does not fit the test."""


def webmushra_test_id(test: ListeningTest) -> str:
    """webMUSHRA's ``testId`` (its results folder name) for this test."""
    return re.sub(r"[^a-z0-9_-]+", "-", test.name.lower()).strip("-") or "codecbench"


def stimulus_key(token: str) -> str:
    """The stimulus key in the config (and ``rating_stimulus`` in the results): the token behind a
    letter, so no token can read as a number to webMUSHRA's YAML parser (``12e345`` would)."""
    return f"c{token}"


def config(test: ListeningTest, audio_prefix: str) -> dict[str, Any]:
    """The webMUSHRA configuration (as a mapping) for ``test``; audio paths start with ``audio_prefix``."""
    def path(rel: str) -> str:
        return f"{audio_prefix}/{Path(rel).name}"

    pages = []
    for t in test.trials:
        pages.append({
            "type": "mushra", "id": t.id, "name": "Rate the basic audio quality",
            "content": "Compare every version with the reference; one of them is the reference itself.",
            "showWaveform": True, "enableLooping": True, "strict": True,
            "reference": path(t.reference), "createAnchor35": False, "createAnchor70": False,
            "randomize": True, "showConditionNames": False,
            "stimuli": {stimulus_key(s.token): path(s.file) for s in t.stimuli if s.condition != "reference"},
        })
    return {
        "testname": test.name, "testId": webmushra_test_id(test), "bufferSize": 2048, "stopOnErrors": True,
        "showButtonPreviousPage": False, "remoteService": "service/write.php",
        "pages": [
            {"type": "generic", "id": "instructions", "name": "Instructions", "content": INSTRUCTIONS},
            {"type": "volume", "id": "volume", "name": "Volume",
             "content": "Set a comfortable volume with this sample, then keep it for the whole test.",
             "stimulus": path(test.trials[0].reference), "defaultVolume": 0.5},
            ["random", *pages],
            {"type": "finish", "name": "Thank you", "content": "Thank you for taking part.",
             "showResults": False, "writeResults": True},
        ],
    }


def export(test: ListeningTest, out: Path, *, force: bool = False) -> Path:
    """Write ``out/configs/<testId>.yaml`` and its audio; returns the config's path."""
    assert test.path is not None, "export a saved or loaded test"
    for t in test.trials:
        n = sum(s.condition != "reference" for s in t.stimuli)
        if n > MAX_CONDITIONS:
            raise WebMushraError(f"{test.path}: trial {t.id} has {n} conditions besides the hidden reference; "
                                 f"webMUSHRA allows {MAX_CONDITIONS}")
        if t.seconds > MAX_SECONDS:
            raise WebMushraError(f"{test.path}: trial {t.id} lasts {t.seconds:g} s; webMUSHRA allows {MAX_SECONDS:g} s "
                                 "(make the test with a shorter --excerpt)")
    tid = webmushra_test_id(test)
    out = Path(out)
    target = out / "configs" / f"{tid}.yaml"
    audio_dir = out / "configs" / "resources" / "audio" / tid
    if (target.exists() or audio_dir.exists()) and not force:
        raise WebMushraError(f"{target}: already exported; pass --force to replace it")
    if audio_dir.exists():
        shutil.rmtree(audio_dir)
    audio_dir.mkdir(parents=True)
    prefix = f"configs/resources/audio/{tid}"
    for t in test.trials:
        for rel in [t.reference, *(s.file for s in t.stimuli if s.condition != "reference")]:
            shutil.copyfile(test.path / rel, audio_dir / Path(rel).name)
    target.write_text(f"# webMUSHRA configuration exported by codecbench from {test.path.name}/test.json.\n"
                      f"# Open index.html?config={tid}.yaml; import results/{tid}/mushra.csv with\n"
                      f"# `bench listen import TEST mushra.csv`.\n"
                      + yaml.safe_dump(config(test, prefix), sort_keys=False, allow_unicode=True, width=100))
    return target


def _condition_map(test: ListeningTest) -> dict[str, dict[str, str]]:
    """Per trial: what a ``rating_stimulus`` may say -> our condition id."""
    out: dict[str, dict[str, str]] = {}
    anchors = {c.lowpass_hz: c.id for c in test.conditions if c.kind == "anchor"}
    for t in test.trials:
        conds = set(t.conditions)
        m = {stimulus_key(s.token): s.condition for s in t.stimuli}
        m.update({c: c for c in conds})  # a config keyed by condition id works too
        for name, hz in BUILTIN_ANCHORS.items():
            if anchors.get(hz) in conds:
                m[name] = anchors[hz]
        m["reference"] = "reference"
        out[t.id] = m
    return out


def _score(text: str) -> int | None:
    try:
        value = float(text)
    except ValueError:
        return None
    if not value.is_integer() or not 0 <= value <= 100:
        return None
    return int(value)


def import_results(test: ListeningTest, results: Path, *, store: RatingStore | None = None) -> dict[str, int]:
    """Read webMUSHRA's ``mushra.csv`` into the test's rating store; returns counts.

    Validates every row first (known trial and condition, integer score 0-100, the test's testId,
    each (session, trial) complete and rated once), then writes one transaction per trial.
    """
    assert test.path is not None, "import into a saved or loaded test"
    results = Path(results)
    if not results.is_file():
        raise WebMushraError(f"{results}: file not found")
    expected_id = webmushra_test_id(test)
    cmap = _condition_map(test)
    trials = {t.id: t for t in test.trials}
    sessions: dict[str, dict[str, Any]] = {}
    ratings: dict[tuple[str, str], dict[str, tuple[int, int]]] = defaultdict(dict)
    with results.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise WebMushraError(f"{results}:1: empty file, expected webMUSHRA's mushra.csv header") from None
        except csv.Error as exc:
            raise WebMushraError(f"{results}:1: not a CSV file ({exc})") from None
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise WebMushraError(f"{results}:1: not a webMUSHRA mushra.csv: missing column(s) {', '.join(missing)} "
                                 f"(found {', '.join(header) or 'none'})")
        col = {name: header.index(name) for name in header}
        tail = {"session_uuid", "trial_id", "rating_stimulus", "rating_score", "rating_time", "rating_comment"}
        questionnaire = [h for h in header[1:] if h not in tail]
        try:
            for row in reader:
                line = reader.line_num
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    raise WebMushraError(f"{results}:{line}: {len(row)} fields, the header has {len(header)}")
                get = lambda name: row[col[name]].strip()  # noqa: E731
                if get("session_test_id") != expected_id:
                    raise WebMushraError(f"{results}:{line}: session_test_id {get('session_test_id')!r} is not this "
                                         f"test's testId {expected_id!r} ({test.path / 'test.json'})")
                answers = {q: row[col[q]] for q in questionnaire}
                if "session_uuid" in col and get("session_uuid"):
                    session = get("session_uuid")
                elif questionnaire:
                    session = "q-" + hashlib.sha256(repr(sorted(answers.items())).encode()).hexdigest()[:16]
                else:
                    raise WebMushraError(f"{results}:{line}: no session_uuid (not every webMUSHRA version writes "
                                         "one) and no questionnaire fields: the raters cannot be told apart")
                trial = get("trial_id")
                if trial not in trials:
                    raise WebMushraError(f"{results}:{line}: unknown trial {trial!r}; this test has "
                                         f"{', '.join(trials)}")
                stim = get("rating_stimulus")
                cond = cmap[trial].get(stim)
                if cond is None:
                    raise WebMushraError(f"{results}:{line}: trial {trial} has no stimulus {stim!r} (unknown condition)")
                score = _score(get("rating_score"))
                if score is None:
                    raise WebMushraError(f"{results}:{line}: rating_score {get('rating_score')!r} is not an integer "
                                         "0-100")
                key = (session, trial)
                if cond in ratings[key]:
                    raise WebMushraError(f"{results}:{line}: session {session} rated {cond!r} of trial {trial} twice "
                                         f"(first at line {ratings[key][cond][1]})")
                ratings[key][cond] = (score, line)
                info = sessions.setdefault(session, {"answers": answers, "page_ms": {}, "comments": {}})
                if "rating_time" in col and get("rating_time"):
                    info["page_ms"][trial] = get("rating_time")
                if "rating_comment" in col and get("rating_comment"):
                    info["comments"][f"{trial}/{cond}"] = get("rating_comment")
        except csv.Error as exc:
            raise WebMushraError(f"{results}:{reader.line_num}: malformed CSV ({exc})") from None
    for (session, trial), got in ratings.items():
        want = set(trials[trial].conditions)
        if set(got) != want:
            first = min(line for _, line in got.values())
            raise WebMushraError(f"{results}:{first}: session {session} trial {trial} rates "
                                 f"{len(got)} of {len(want)} conditions (missing: "
                                 f"{', '.join(sorted(want - set(got)))})")
    store = store or RatingStore(test.path / RATINGS_FILE)
    for session, info in sessions.items():
        store.add_rater(f"webmushra:{session}", kind="imported",
                        info={"source": "webMUSHRA", "file": results.name, "testId": expected_id, **info})
    for (session, trial), got in sorted(ratings.items()):
        store.submit(f"webmushra:{session}", trial, {c: s for c, (s, _) in got.items()})
    return {"sessions": len(sessions), "trials": len(ratings), "ratings": sum(len(g) for g in ratings.values())}
