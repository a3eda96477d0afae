"""The serving API in-process (Starlette's TestClient): sessions, orders, validation, audio lookup."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from bench.cli.listen_commands.serve import is_loopback
from bench.listening.server import create_app, draw_order, rater_seed
from bench.listening.store import RatingStore
from bench.listening.testdef import RATINGS_FILE, load_test
from serve_helpers import make_test_folder


@pytest.fixture
def folder(tmp_path):
    make_test_folder(tmp_path, n_trials=3)
    return tmp_path


@pytest.fixture
def client(folder):
    with TestClient(create_app(folder)) as c:
        yield c


@pytest.fixture(scope="module")
def read_only_client(tmp_path_factory):
    """One app for the tests that only read (the traversal URLs): the folder is built once."""
    folder = tmp_path_factory.mktemp("ro")
    make_test_folder(folder, n_trials=1)
    with TestClient(create_app(folder)) as c:
        yield c


def _session(client, rater):
    r = client.post("/api/session", json={"rater": rater})
    assert r.status_code == 200, r.text
    return r.json()


def _snapshot(folder):
    s = RatingStore(folder / RATINGS_FILE)
    return s.ratings().to_dict("records"), s.raters()[["rater", "seed", "info"]].to_dict("records")


def test_session_shows_tokens_only_in_a_seeded_recorded_order(client, folder):
    test = load_test(folder)
    a = _session(client, "alice")
    assert a["total"] == 3 and a["done"] == 0
    values = {v for t in a["trials"] for v in [t["id"], t["reference"], *t["stimuli"]]}
    for c in test.conditions:  # nothing the page gets names a condition
        assert not any(c.id in v for v in values), c.id
    # The order is f(test seed, rater), stored with the rater, and reproduced on every visit.
    seed = rater_seed(test.seed, "alice")
    order = draw_order(test, seed)
    assert [t["id"] for t in a["trials"]] == order["trials"]
    for t in a["trials"]:
        trial = test.trial(t["id"])
        assert [trial.stimulus(tok).condition for tok in t["stimuli"]] == order["conditions"][t["id"]]
    stored = RatingStore(folder / RATINGS_FILE).rater("alice")
    assert stored["seed"] == seed and stored["info"]["order"] == order
    assert _session(client, "alice") == a
    # Raters get different orders (20 raters, 3 trials x 4 conditions: all equal is ~impossible).
    orders = {json.dumps([t["stimuli"] for t in _session(client, f"r{i}")["trials"]]) for i in range(20)}
    assert len(orders) > 15


def test_rating_round_trip_positions_and_resubmission_replaces(client, folder):
    test = load_test(folder)
    s = _session(client, "bob")
    t = s["trials"][0]
    scores = {tok: 10 * i for i, tok in enumerate(t["stimuli"])}
    r = client.post("/api/rating", json={"rater": "bob", "trial": t["id"], "scores": scores})
    assert r.status_code == 200 and r.json()["done"] == 1
    rows = RatingStore(folder / RATINGS_FILE).ratings()
    trial = test.trial(t["id"])
    assert {(x.condition, x.score, x.position) for x in rows.itertuples()} == {
        (trial.stimulus(tok).condition, 10 * i, i) for i, tok in enumerate(t["stimuli"])}
    # A resubmission replaces: same row count, new scores; the session restores them.
    scores2 = {tok: 100 - 10 * i for i, tok in enumerate(t["stimuli"])}
    assert client.post("/api/rating", json={"rater": "bob", "trial": t["id"], "scores": scores2}).status_code == 200
    rows = RatingStore(folder / RATINGS_FILE).ratings()
    assert len(rows) == len(scores) and sorted(rows["score"]) == sorted(scores2.values())
    again = _session(client, "bob")
    assert again["done"] == 1 and again["trials"][0]["done"] and again["trials"][0]["scores"] == scores2
    assert not again["trials"][1]["done"] and again["trials"][1]["scores"] == {}


def _malformed(session):
    """(name, body or raw bytes) of posts that must each be refused with a 4xx."""
    t, other = session["trials"][0], session["trials"][1]
    good = {tok: 50 for tok in t["stimuli"]}
    first = t["stimuli"][0]
    post = lambda **kw: {"rater": "carol", "trial": t["id"], "scores": good, **kw}  # noqa: E731
    return [
        ("score 101", post(scores={**good, first: 101})),
        ("score -1", post(scores={**good, first: -1})),
        ("score 'abc'", post(scores={**good, first: "abc"})),
        ("score '50' (string)", post(scores={**good, first: "50"})),
        ("score 5.5", post(scores={**good, first: 5.5})),
        ("score true", post(scores={**good, first: True})),
        ("score null", post(scores={**good, first: None})),
        ("unknown trial", post(trial="t99")),
        ("unknown condition token", post(scores={**good, "zzz": 50})),
        ("a condition missing", post(scores={k: v for k, v in good.items() if k != first})),
        ("another trial's tokens", post(scores={tok: 50 for tok in other["stimuli"]})),
        ("reference token as a condition", post(scores={**{k: v for k, v in good.items() if k != first},
                                                        t["reference"]: 50})),
        ("unknown rater", post(rater="mallory")),
        ("bad rater id", post(rater="../x")),
        ("extra field", post(condition="opus@6")),
        ("scores not an object", post(scores=[50, 50])),
        ("missing scores", {"rater": "carol", "trial": t["id"]}),
        ("not JSON", b"rater=carol&score=50"),
        ("oversized body", post(scores={**good, **{f"pad{i}": 50 for i in range(2000)}})),
        ("oversized raw body", b"{" + b" " * 100_000 + b"}"),
    ]


def test_every_malformed_post_is_refused_and_changes_nothing(client, folder):
    s = _session(client, "carol")
    t = s["trials"][0]
    ok = client.post("/api/rating", json={"rater": "carol", "trial": t["id"], "scores": {k: 7 for k in t["stimuli"]}})
    assert ok.status_code == 200
    before = _snapshot(folder)
    for name, body in _malformed(s):
        if isinstance(body, bytes):
            r = client.post("/api/rating", content=body, headers={"content-type": "application/json"})
        else:
            r = client.post("/api/rating", json=body)
        assert 400 <= r.status_code < 500, (name, r.status_code, r.text)
        if "oversized" in name:
            assert r.status_code == 413, name
        assert _snapshot(folder) == before, name


def test_bad_session_requests_are_refused(client, folder):
    for body in ({"rater": ""}, {"rater": "a" * 65}, {"rater": "a/b"}, {"rater": 5}, {}, {"rater": "x", "y": 1}):
        assert client.post("/api/session", json=body).status_code == 422, body
    assert RatingStore(folder / RATINGS_FILE).raters().empty


@pytest.mark.parametrize("url", [
    "/audio/../test.json", "/audio/..%2Ftest.json", "/audio/%2e%2e%2ftest.json", "/audio/..%252Ftest.json",
    "/audio/%2Fetc%2Fpasswd", "/audio//etc/passwd", "/audio/..\\test.json", "/audio/test.json",
    "/audio/ratings.sqlite", "/audio/audio%2Fx.wav", "/audio/nosuchtoken.wav", "/audio/.wav",
    "/static/../test.json", "/static/..%2Ftest.json", "/static/%2e%2e/%2e%2e/test.json", "/test.json",
    "/ratings.sqlite", "/audio/%00.wav",
])
def test_path_traversal_and_unknown_files_are_404(read_only_client, url):
    r = read_only_client.get(url)
    assert 400 <= r.status_code < 500, (url, r.status_code)
    assert b"codecbench-listening" not in r.content and b"SQLite" not in r.content


def test_audio_is_served_by_token_only(client, folder):
    test = load_test(folder)
    trial = test.trials[0]
    for tok in [trial.reference_token, *(s.token for s in trial.stimuli)]:
        r = client.get(f"/audio/{tok}.wav")
        assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
        assert r.content == test.file_for_token(tok).read_bytes()
    # A file in the folder whose name is not a token is not reachable, even with a valid-looking name.
    (folder / "audio" / "secret.wav").write_bytes(b"RIFF")
    assert client.get("/audio/secret.wav").status_code == 404


def test_a_definition_pointing_outside_its_folder_is_not_served(tmp_path):
    folder = tmp_path / "t"
    test = make_test_folder(folder, n_trials=1)
    (tmp_path / "outside.wav").write_bytes(b"RIFF....WAVE")
    data = json.loads((folder / "test.json").read_text())
    data["trials"][0]["stimuli"][0]["file"] = "../outside.wav"
    (folder / "test.json").write_text(json.dumps(data))
    with TestClient(create_app(folder)) as c:
        assert c.get(f"/audio/{test.trials[0].stimuli[0].token}.wav").status_code == 404


def test_page_and_headers(client):
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "<script src=\"/static/mushra.js\"" in r.text and "http" not in r.text.lower().replace("http-equiv", "")
    for asset in ("/static/mushra.js", "/static/mushra.css"):
        assert client.get(asset).status_code == 200
    assert client.get("/docs").status_code == 404 and client.get("/openapi.json").status_code == 404
    assert client.post("/api/session", json={"rater": "x"}).headers["cache-control"] == "no-store"


def test_loopback_detection():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1") and is_loopback("127.0.0.2")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.org")


def test_a_changed_test_definition_is_refused_for_raters_who_started_the_old_one(tmp_path):
    make_test_folder(tmp_path, n_trials=2)
    with TestClient(create_app(tmp_path)) as c:
        _session(c, "early")
    make_test_folder(tmp_path, n_trials=3, seed=12)  # rebuilt in place: other trials and tokens
    with TestClient(create_app(tmp_path)) as c:
        r = c.post("/api/session", json={"rater": "early"})
        assert r.status_code == 409 and "new rater id" in r.json()["detail"]
        assert _session(c, "late")["total"] == 3
