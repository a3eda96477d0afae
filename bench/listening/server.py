"""The MUSHRA web application: the page, its JSON API and the stimuli of one test folder.

The browser only ever sees opaque tokens: the session lists each trial's open reference and its
stimuli by token in the order this rater gets, ratings come back keyed by token, and the server maps
tokens to conditions through ``test.json`` (which it never serves). Audio is looked up the same way,
:meth:`ListeningTest.file_for_token`, so no part of a URL becomes a path.

Each rater's order is drawn once from a seed derived from the test's seed and the rater id, and
stored with the rater (:class:`~bench.listening.store.RatingStore`), so a returning rater, a
restarted server or a reader of the database sees the same order; each rating also records the
slider position its condition had. Validation is pydantic's (strict integers 0–100, no unknown
fields) plus the checks only the test definition can make (known trial, exactly its tokens);
FastAPI's own body limit answers oversized posts with 413. The endpoints are plain functions, so
uvicorn runs them in its thread pool and SQLite serialises the writers.
"""

from __future__ import annotations

import hashlib
import random
import re
from importlib import resources
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from bench.listening.store import RatingStore
from bench.listening.testdef import RATINGS_FILE, ListeningTest, load_test

MAX_BODY_BYTES = 16 * 1024  # a trial of 20 conditions posts well under 1 KiB
RATER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
TOKEN_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
AUDIO_NAME = re.compile(r"^([A-Za-z0-9_-]{1,64})\.wav$")
STATIC = resources.files("bench.listening") / "static"

# No inline script or style, no other origin: a rater's page loads only what this server sends.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

RaterId = Annotated[str, StringConstraints(pattern=RATER_PATTERN)]
Token = Annotated[str, StringConstraints(pattern=TOKEN_PATTERN)]
Score = Annotated[int, Field(strict=True, ge=0, le=100)]


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    rater: RaterId


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    rater: RaterId
    trial: Annotated[str, StringConstraints(max_length=128)]
    scores: Annotated[dict[Token, Score], Field(max_length=256)]


def rater_seed(test_seed: int, rater: str) -> int:
    """A 32-bit seed from the test's seed and the rater id (stable across Python versions and runs)."""
    digest = hashlib.sha256(f"{test_seed}\0{rater}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def draw_order(test: ListeningTest, seed: int) -> dict:
    """This rater's trial order and, per trial, the order of its conditions on the sliders."""
    rng = random.Random(seed)
    trials = [t.id for t in test.trials]
    rng.shuffle(trials)
    conditions = {}
    for tid in trials:
        conds = list(test.trial(tid).conditions)
        rng.shuffle(conds)
        conditions[tid] = conds
    return {"trials": trials, "conditions": conditions}


def _order_matches(test: ListeningTest, order: dict) -> bool:
    try:
        return (sorted(order["trials"]) == sorted(t.id for t in test.trials)
                and all(sorted(order["conditions"][t.id]) == sorted(t.conditions) for t in test.trials))
    except (KeyError, TypeError):
        return False


def create_app(test_dir: Path, *, max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    """The application serving one test folder; ratings go to ``test_dir/ratings.sqlite``."""
    test = load_test(Path(test_dir))
    root = Path(test_dir).resolve()
    store = RatingStore(Path(test_dir) / RATINGS_FILE)
    app = FastAPI(title=f"codecbench listening test {test.name}", docs_url=None, redoc_url=None,
                  openapi_url=None, max_body_size=max_body_bytes)
    app.state.test, app.state.store = test, store

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        if request.url.path.startswith("/api/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    def order_of(rater: str) -> dict:
        record = store.rater(rater)
        if record is None:
            raise HTTPException(404, f"unknown rater {rater!r}: open a session first")
        order = record["info"].get("order")
        if not _order_matches(test, order):
            raise HTTPException(409, f"rater {rater!r} started a different version of this test "
                                     "(trials or conditions changed); use a new rater id")
        return order

    @app.get("/api/health")
    def health() -> dict:
        return {"ok": True, "test": test.name}

    @app.post("/api/session")
    def session(body: SessionIn, request: Request) -> dict:
        """Register the rater (once) and return its trials, in its order, with what it already rated."""
        if store.rater(body.rater) is None:
            seed = rater_seed(test.seed, body.rater)
            store.add_rater(body.rater, kind="human", seed=seed,
                            info={"order": draw_order(test, seed),
                                  "user_agent": request.headers.get("user-agent", "")[:300]})
        order = order_of(body.rater)
        mine = store.rater_scores(body.rater)
        trials = []
        for tid in order["trials"]:
            t = test.trial(tid)
            token = {s.condition: s.token for s in t.stimuli}
            scores = mine.get(tid, {})
            trials.append({"id": tid, "reference": t.reference_token,
                           "stimuli": [token[c] for c in order["conditions"][tid]],
                           "done": bool(scores), "scores": {token[c]: v for c, v in scores.items() if c in token}})
        done = sum(t["done"] for t in trials)
        return {"test": test.name, "rater": body.rater, "total": len(trials), "done": done, "trials": trials}

    @app.post("/api/rating")
    def rating(body: RatingIn) -> dict:
        """Store one trial's scores (all its stimuli, one transaction); a resubmission replaces."""
        order = order_of(body.rater)
        try:
            trial = test.trial(body.trial)
        except KeyError:
            raise HTTPException(404, f"unknown trial {body.trial!r}") from None
        expected = {s.token for s in trial.stimuli}
        if set(body.scores) != expected:
            unknown, missing = sorted(set(body.scores) - expected), len(expected - set(body.scores))
            raise HTTPException(422, f"trial {trial.id!r} needs a score for each of its {len(expected)} stimuli"
                                     + (f"; unknown: {', '.join(unknown)}" if unknown else "")
                                     + (f"; {missing} missing" if missing else ""))
        scores = {trial.stimulus(tok).condition: v for tok, v in body.scores.items()}
        positions = {c: i for i, c in enumerate(order["conditions"][trial.id])}
        store.submit(body.rater, trial.id, scores, positions)
        done = len(store.done_trials(body.rater))
        return {"ok": True, "trial": trial.id, "done": done, "total": len(test.trials)}

    @app.get("/audio/{name}")
    def audio(name: str) -> FileResponse:
        """One stimulus, by token; anything but a known token is 404."""
        m = AUDIO_NAME.match(name)
        if not m:
            raise HTTPException(404, "not found")
        try:
            path = test.file_for_token(m.group(1)).resolve()
        except KeyError:
            raise HTTPException(404, "not found") from None
        if not path.is_relative_to(root) or not path.is_file():  # a test.json pointing outside its folder
            raise HTTPException(404, "not found")
        return FileResponse(path, media_type="audio/wav", headers={"Cache-Control": "private, max-age=3600"})

    @app.get("/")
    def page() -> Response:
        return Response((STATIC / "index.html").read_bytes(), media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    return app
