"""Load and faults against a real server: 20 raters at once, kill -9 mid-session, restart, resume."""

from __future__ import annotations

import pytest

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.listening.store import RatingStore
from bench.listening.testdef import RATINGS_FILE
from serve_helpers import free_port, http, make_test_folder, running_server, wait_ready

REPO = Path(__file__).resolve().parents[2]
RATERS = 20
TIMEOUT = 30.0  # seconds per request; the whole load test takes ~2 s on 2 cores


def _score(rater: int, trial: str, pos: int, attempt: int) -> int:
    return (rater * 7 + int(trial[1:]) * 13 + pos * 29 + attempt * 31) % 101


def test_twenty_concurrent_raters_lose_nothing(tmp_path):
    test = make_test_folder(tmp_path, n_trials=3)
    start = threading.Barrier(RATERS, timeout=TIMEOUT)

    def rater(i: int, base: str) -> dict[tuple[str, str, str], int]:
        name = f"sim{i:02d}"
        start.wait()  # every rater registers and posts at the same time
        status, session = http("POST", f"{base}/api/session", {"rater": name}, timeout=TIMEOUT)
        assert status == 200, session
        expected = {}
        for attempt in (0, 1):  # every trial twice: the second submission must replace the first
            for t in session["trials"]:
                scores = {tok: _score(i, t["id"], p, attempt) for p, tok in enumerate(t["stimuli"])}
                status, body = http("POST", f"{base}/api/rating", {"rater": name, "trial": t["id"], "scores": scores},
                                    timeout=TIMEOUT)
                assert status == 200, body
                trial = test.trial(t["id"])
                expected.update({(name, t["id"], trial.stimulus(tok).condition): v for tok, v in scores.items()})
        return expected

    with running_server(tmp_path) as base, ThreadPoolExecutor(max_workers=RATERS) as pool:
        futures = [pool.submit(rater, i, base) for i in range(RATERS)]
        expected = {}
        for f in futures:
            expected.update(f.result(timeout=120))
    rows = RatingStore(tmp_path / RATINGS_FILE).ratings()
    assert len(expected) == RATERS * 3 * 4
    assert len(rows) == len(expected)  # nothing lost, nothing duplicated
    assert {(r.rater, r.trial, r.condition): r.score for r in rows.itertuples()} == expected
    assert rows["position"].notna().all()


def _serve(folder: Path, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    with open(log, "ab") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "bench", "listen", "serve", str(folder), "--port", str(port)],
                                cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT)
    try:
        wait_ready(f"http://127.0.0.1:{port}", timeout=30, proc=proc)
    except BaseException:
        proc.kill()
        raise RuntimeError(log.read_text()) from None
    return proc


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.workers
def test_kill_9_mid_session_then_restart_loses_nothing_and_the_rater_resumes(tmp_path):
    folder = tmp_path / "test"
    test = make_test_folder(folder, n_trials=2)
    port, log = free_port(), tmp_path / "server.log"
    base = f"http://127.0.0.1:{port}"
    proc = _serve(folder, port, log)
    acked: dict[tuple[str, str], dict[str, int]] = {}  # (rater, trial) -> token scores, answered 200
    stop = threading.Event()

    def background_raters() -> None:
        """Other raters posting as fast as they can while the server is killed."""
        n = 0
        while not stop.is_set() and n < 500:
            name = f"bg{n:03d}"
            n += 1
            try:
                _, s = http("POST", f"{base}/api/session", {"rater": name}, timeout=5)
                for t in s["trials"]:
                    scores = {tok: (n + p) % 101 for p, tok in enumerate(t["stimuli"])}
                    status, _ = http("POST", f"{base}/api/rating", {"rater": name, "trial": t["id"], "scores": scores},
                                     timeout=5)
                    if status == 200:
                        acked[(name, t["id"])] = scores
            except (OSError, ValueError, TypeError, KeyError):
                return  # the server is gone

    try:
        status, session = http("POST", f"{base}/api/session", {"rater": "ann"})
        assert status == 200 and session["done"] == 0
        first, second = session["trials"]
        scores1 = {tok: 11 * p + 3 for p, tok in enumerate(first["stimuli"])}
        assert http("POST", f"{base}/api/rating", {"rater": "ann", "trial": first["id"], "scores": scores1})[0] == 200

        worker = threading.Thread(target=background_raters)
        worker.start()
        deadline = time.monotonic() + 10
        while len(acked) < 6 and time.monotonic() < deadline and worker.is_alive():
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)  # mid-session for ann, mid-request for the others
        proc.wait(timeout=10)
        stop.set()
        worker.join(timeout=30)
        assert proc.returncode == -signal.SIGKILL and len(acked) >= 6

        proc = _serve(folder, port, log)
        status, resumed = http("POST", f"{base}/api/session", {"rater": "ann"})
        assert status == 200 and resumed["done"] == 1
        assert [t["id"] for t in resumed["trials"]] == [first["id"], second["id"]]  # same order after restart
        assert resumed["trials"][0]["done"] and resumed["trials"][0]["scores"] == scores1
        assert resumed["trials"][0]["stimuli"] == first["stimuli"] and not resumed["trials"][1]["done"]
        scores2 = {tok: 100 - 9 * p for p, tok in enumerate(second["stimuli"])}
        assert http("POST", f"{base}/api/rating", {"rater": "ann", "trial": second["id"], "scores": scores2})[0] == 200
    finally:
        stop.set()
        _stop(proc)

    rows = RatingStore(folder / RATINGS_FILE).ratings()
    got = {(r.rater, r.trial, r.condition): r.score for r in rows.itertuples()}
    for (name, tid), scores in [*acked.items(), (("ann", first["id"]), scores1), (("ann", second["id"]), scores2)]:
        trial = test.trial(tid)
        for tok, v in scores.items():
            assert got[(name, tid, trial.stimulus(tok).condition)] == v, (name, tid)
    # A trial is stored whole or not at all, even the one a request was writing when the server died.
    per_trial = rows.groupby(["rater", "trial"]).size()
    assert (per_trial == len(test.conditions)).all()


def test_serve_refuses_a_folder_without_a_test(tmp_path):
    r = subprocess.run([sys.executable, "-m", "bench", "listen", "serve", str(tmp_path), "--port", "0"], cwd=REPO,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "test.json" in r.stderr and "Traceback" not in r.stderr


def test_serve_warns_loudly_on_a_non_loopback_host(tmp_path, monkeypatch):
    """The command passes the host through; a public one gets a warning (uvicorn stubbed: nothing binds)."""
    import uvicorn
    from typer.testing import CliRunner

    from bench.cli import app

    make_test_folder(tmp_path, n_trials=1)
    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    res = CliRunner().invoke(app, ["listen", "serve", str(tmp_path), "--host", "0.0.0.0", "--port", "8123"])
    assert res.exit_code == 0, res.output
    assert "WARNING" in res.output and "0.0.0.0" in res.output
    assert calls[-1]["host"] == "0.0.0.0" and calls[-1]["port"] == 8123
    res = CliRunner().invoke(app, ["listen", "serve", str(tmp_path)])
    assert res.exit_code == 0 and "WARNING" not in res.output
    assert calls[-1]["host"] == "127.0.0.1" and calls[-1]["port"] == 8000



RAW_PATHS = ["/audio/../test.json", "/audio/..%2Ftest.json", "/audio/%2e%2e/test.json",
             "/audio/%2E%2E%2Fratings.sqlite", "/audio/..%5Ctest.json", "/audio/%2Fetc%2Fpasswd",
             "/static/../test.json", "/static/%2e%2e/%2e%2e/test.json", "/../test.json", "/audio/....//test.json",
             "//etc/passwd", "/audio/%252e%252e%252ftest.json"]


def _raw(port: int, request: bytes) -> bytes:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    return reply


def test_raw_traversal_and_oversized_requests_on_a_real_server(tmp_path):
    """Requests sent byte for byte (no client normalises the dots away or sets a length) to uvicorn."""
    make_test_folder(tmp_path, n_trials=1)
    with running_server(tmp_path) as base:
        port = int(base.rsplit(":", 1)[1])
        for path in RAW_PATHS:
            reply = _raw(port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
            status = int(reply.split(b" ", 2)[1])
            assert 400 <= status < 500, (path, reply[:200])
            assert b"codecbench-listening" not in reply and b"SQLite format" not in reply and b"root:" not in reply
        # A chunked body has no Content-Length to refuse up front: the limit counts what arrives.
        chunk = b'"' + b"x" * 8190 + b'"'
        body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(4)) + b"0\r\n\r\n"
        reply = _raw(port, b"POST /api/rating HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                           b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + body)
        assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert RatingStore(tmp_path / RATINGS_FILE).ratings().empty
