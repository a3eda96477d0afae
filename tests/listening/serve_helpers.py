"""Small test folders and a real uvicorn server for the serving tests.

Not a conftest.py (tests/conftest.py is imported by name elsewhere). The folders are built through
the test-definition dataclasses with 1 s generated WAVs at 16 kHz, so they need no runs.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import soundfile as sf

from bench.listening.testdef import AUDIO_DIR, Condition, ListeningTest, Stimulus, Trial

RATE = 16000
CONDITIONS = [Condition("reference", "reference"), Condition("anchor-3.5k", "anchor", lowpass_hz=3500.0),
              Condition("opus@6", "codec", kbps=6.0), Condition("codec2@3.2", "codec", kbps=3.2)]


def _signal(kind: str, rng: np.random.Generator, seconds: float) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    tone = 0.3 * np.sin(2 * np.pi * 440.0 * t) * np.hanning(t.size) ** 0.1
    noise = {"reference": 0.0, "anchor-3.5k": 0.02, "opus@6": 0.05, "codec2@3.2": 0.1}[kind]
    return (tone + noise * rng.standard_normal(t.size)).astype(np.float32)


def make_test_folder(folder: Path, *, n_trials: int = 2, seconds: float = 1.0, seed: int = 11,
                     conditions: list[Condition] = CONDITIONS) -> ListeningTest:
    """A saved MUSHRA test: ``n_trials`` trials, each with every condition, tokens like ``k3f9...``."""
    rng = np.random.default_rng(seed)
    audio = Path(folder) / AUDIO_DIR
    audio.mkdir(parents=True, exist_ok=True)
    trials = []
    for i in range(n_trials):
        tid = f"t{i + 1:02d}"
        ref_tok = f"r{rng.integers(1 << 40):x}"
        sf.write(audio / f"{ref_tok}.wav", _signal("reference", rng, seconds), RATE, subtype="PCM_16")
        stimuli = []
        for c in conditions:
            tok = f"s{rng.integers(1 << 40):x}"
            sf.write(audio / f"{tok}.wav", _signal(c.id, rng, seconds), RATE, subtype="PCM_16")
            stimuli.append(Stimulus(c.id, tok, f"{AUDIO_DIR}/{tok}.wav"))
        trials.append(Trial(tid, item=f"item{i}", suite="synthetic", start=0.0, seconds=seconds,
                            reference=f"{AUDIO_DIR}/{ref_tok}.wav", reference_token=ref_tok, stimuli=stimuli))
    test = ListeningTest(name="serve-test", seed=seed, conditions=list(conditions), trials=trials)
    test.save(Path(folder))
    return test


def free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method: str, url: str, body: dict | bytes | None = None, timeout: float = 10.0) -> tuple[int, dict | bytes]:
    """One request with the standard library; returns (status, JSON or raw bytes)."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw, ctype = resp.status, resp.read(), resp.headers.get("content-type", "")
    except urllib.error.HTTPError as exc:
        status, raw, ctype = exc.code, exc.read(), exc.headers.get("content-type", "")
    return status, (json.loads(raw) if ctype.startswith("application/json") else raw)


def wait_ready(base: str, timeout: float = 20.0, proc=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if http("GET", f"{base}/api/health", timeout=1.0)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{base} not ready after {timeout} s")


@contextlib.contextmanager
def running_server(test_dir: Path):
    """The app on a real uvicorn in a thread, bound to 127.0.0.1 on a free port; yields its base URL."""
    import uvicorn

    from bench.listening.server import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(test_dir), log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base)
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
