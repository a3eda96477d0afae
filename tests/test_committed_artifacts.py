"""Committed reports are read on other machines and trusted as this code's numbers.

* No absolute path of the machine that made them (``/work``, ``/tmp``, ``/home``, ``/root``) and no
  ``.venv`` path, in any text file under ``reports/`` (gzip files decompressed).
* Every commit an artefact names (``code: git SHA`` in reports, ``"git": {"sha": ...}`` in
  manifests) exists in this history, is an ancestor of HEAD, and was clean (``+dirty`` numbers came
  from code nobody can check out).
* Not stale: at most ``MAX_VALUE_COMMITS`` commits since that commit touch the code and data that
  make the numbers (adapters, metrics, pipeline, suites, cards, demo data, pins). A count of
  value-making commits, not of all commits, so documentation and reporting work do not age the
  baseline; an artefact kept on purpose says ``historical`` in its first lines and is exempt from
  this last check only.

Regenerate all of them with ``make demo-artifacts`` (see the Makefile).
"""

from __future__ import annotations

import gzip
import json
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MAX_VALUE_COMMITS = 10
VALUE_PATHS = ["bench/adapters", "bench/metrics", "bench/pipeline", "bench/suites", "bench/audio.py", "bench/stats.py",
               "bench/scoring.py", "codecs", "datasets.yaml", "data/speech_demo", "third_party", "constraints.txt"]
MACHINE_PATH = re.compile(r"(?<![\w.])/(?:work|tmp|home|root|Users)/[^\s\"'<>,)]*|[\w./-]*\.venv/[^\s\"'<>,)]*")
CODE_LINE = re.compile(r"code: git ((?:[0-9a-f]{7,40}(?:\+dirty)?(?:, )?)+)")
BINARY = {".png", ".wav", ".flac", ".mp3", ".jpg", ".pdf"}


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=60)


def _tracked_reports() -> list[Path]:
    r = _git("ls-files", "-z", "reports")
    if r.returncode != 0:
        pytest.skip(f"not a git checkout ({r.stderr.strip()[:200]}): cannot tell committed files")
    return [REPO / p for p in r.stdout.split("\0") if p]


def _text(path: Path) -> str | None:
    if path.suffix.lower() in BINARY:
        return None
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return data.decode("utf-8", errors="replace")


def _named_commits(path: Path, text: str) -> list[tuple[str, bool]]:
    """(sha, dirty) for every commit the file says it was made from."""
    found = []
    for m in CODE_LINE.finditer(text):
        for part in m.group(1).split(", "):
            found.append((part.removesuffix("+dirty"), part.endswith("+dirty")))
    if path.suffix == ".json":
        def walk(v):
            if isinstance(v, dict):
                g = v.get("git")
                if isinstance(g, dict) and g.get("sha"):
                    found.append((str(g["sha"]), bool(g.get("dirty"))))
                for x in v.values():
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)
        walk(json.loads(text))
    return list(dict.fromkeys(found))


def test_no_machine_paths_in_committed_reports():
    bad = []
    for path in _tracked_reports():
        text = _text(path)
        if text is None:
            continue
        for m in MACHINE_PATH.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            bad.append(f"{path.relative_to(REPO)}:{line}: {m.group(0)[:80]}")
    assert not bad, "absolute machine paths in committed reports:\n" + "\n".join(bad[:30])


def test_the_pattern_catches_what_it_should():
    for leak in ("/work/wt/demo/third_party/lyra_v2", "x /tmp/abc", "/home/u/x.wav", ".venv/bin/bench",
                 "/root/.cache/codecbench/demo-1"):
        assert MACHINE_PATH.search(leak), leak
    for fine in ("third_party/lyra_v2", "resemblyzer:pretrained.pt", "cache:demo-1", "https://www.openslr.org/12",
                 "reports/runs/demo", "kbps/s"):
        assert not MACHINE_PATH.search(fine), fine


def test_named_commits_exist_are_clean_and_recent():
    paths = _tracked_reports()
    if _git("rev-parse", "--is-shallow-repository").stdout.strip() == "true":
        pytest.skip("shallow clone: the history that artefacts name is not here")
    problems = []
    for path in paths:
        text = _text(path)
        if text is None:
            continue
        rel = path.relative_to(REPO)
        historical = "historical" in "\n".join(text.splitlines()[:5]).lower()
        for sha, dirty in _named_commits(path, text):
            full = _git("rev-parse", "--verify", "--quiet", f"{sha}^{{commit}}").stdout.strip()
            if not full:
                problems.append(f"{rel}: names commit {sha}, which is not in this history")
                continue
            if _git("merge-base", "--is-ancestor", full, "HEAD").returncode != 0:
                problems.append(f"{rel}: names commit {sha}, which is not an ancestor of HEAD")
                continue
            if historical:  # kept on purpose and labelled as such: what it names is what it was made from
                continue
            if dirty:
                problems.append(f"{rel}: made from uncommitted changes on top of {sha} (+dirty)")
            n = int(_git("rev-list", "--count", f"{full}..HEAD", "--", *VALUE_PATHS).stdout.strip() or 0)
            if n > MAX_VALUE_COMMITS:
                problems.append(f"{rel}: made at {sha[:10]}; {n} commits since then change value-making code "
                                f"(limit {MAX_VALUE_COMMITS}): regenerate it (make demo-artifacts) or mark it historical")
    assert not problems, "\n".join(problems)
