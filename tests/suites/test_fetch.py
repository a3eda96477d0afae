"""Downloading and extracting corpora, without a network: local archives over file:// and a
Range-capable HTTP server on 127.0.0.1 that the test runs itself."""

from __future__ import annotations

import hashlib
import io
import tarfile
import threading
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bench.errors import BenchError
from bench.suites import suite_entries
from bench.suites.fetch import ChecksumError, UnsafeArchiveError, download, fetch_suite, safe_extract


def _tar(path: Path, members: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tf.addfile(info)
    return path


def _corpus_tar(tmp_path: Path) -> Path:
    payload = {"LibriSpeech/test-clean/1/2/1-2.trans.txt": b"1-2-0000 HELLO\n",
               "LibriSpeech/test-clean/1/2/1-2-0000.flac": bytes(range(256)) * 4000}
    return _tar(tmp_path / "test-clean.tar.gz", payload)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class _RangeHandler(SimpleHTTPRequestHandler):
    """Serves files honouring ``Range: bytes=N-`` (the stdlib handler ignores ranges)."""

    requests_seen: list[str | None] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        path = Path(self.translate_path(self.path))
        data = path.read_bytes()
        rng = self.headers.get("Range")
        type(self).requests_seen.append(rng)
        start = int(rng.split("=")[1].rstrip("-")) if rng else 0
        self.send_response(206 if rng else 200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    _RangeHandler.requests_seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_RangeHandler, directory=str(served)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_file_url_download_resumes_and_verifies(tmp_path):
    archive = _corpus_tar(tmp_path)
    dest = tmp_path / "dl" / archive.name
    dest.parent.mkdir()
    whole = archive.read_bytes()
    (dest.parent / (archive.name + ".part")).write_bytes(whole[: len(whole) // 3])
    seen = []
    download(archive.as_uri(), dest, {"sha256": _sha(archive)}, progress=lambda done, total: seen.append(done))
    assert dest.read_bytes() == whole
    assert seen[0] > len(whole) // 3 - 1 and seen[-1] == len(whole)  # started from the partial file
    assert not (dest.parent / (archive.name + ".part")).exists()


def test_http_download_resumes_with_range(tmp_path, server):
    served, base = server
    archive = _corpus_tar(served)
    dest = tmp_path / "dl" / archive.name
    dest.parent.mkdir()
    whole = archive.read_bytes()
    (dest.parent / (archive.name + ".part")).write_bytes(whole[:1000])
    download(f"{base}/{archive.name}", dest, {"sha256": _sha(archive)}, timeout=10)
    assert dest.read_bytes() == whole
    assert _RangeHandler.requests_seen == ["bytes=1000-"]


def test_checksum_mismatch_is_refused_and_set_aside(tmp_path):
    archive = _corpus_tar(tmp_path)
    dest = tmp_path / "dl" / archive.name
    with pytest.raises(ChecksumError, match="does not match the published"):
        download(archive.as_uri(), dest, {"md5": "0" * 32})
    assert not dest.exists() and (dest.parent / (archive.name + ".bad")).exists()


def test_fetch_suite_extracts_corpus_layout(tmp_path):
    archive = _corpus_tar(tmp_path)
    entry = {"source": {"fetch": True, "archives": [{"url": archive.as_uri(), "sha256": _sha(archive)}]}}
    fetch_suite("librispeech-test-clean", entry, tmp_path / "data")
    assert (tmp_path / "data" / "LibriSpeech" / "test-clean" / "1" / "2" / "1-2.trans.txt").read_text() == "1-2-0000 HELLO\n"


@pytest.mark.parametrize("suite", ["fisher", "spgispeech", "voxceleb1-o", "mcv11-en"])
def test_licensed_or_gated_corpora_are_refused_with_reason(tmp_path, suite):
    entry = suite_entries()[suite]
    with pytest.raises(BenchError, match="cannot be fetched automatically") as exc:
        fetch_suite(suite, entry, tmp_path)
    assert entry["source"]["reason"] in str(exc.value)
    assert not any(tmp_path.iterdir())


def test_public_librispeech_entries_carry_checksums():
    for name in ("librispeech-test-clean", "librispeech-test-other", "librispeech-dev-clean", "librispeech-dev-other"):
        (archive,) = suite_entries()[name]["source"]["archives"]
        assert len(archive["sha256"]) == 64 and archive["url"].startswith("https://www.openslr.org/resources/12/")


@pytest.mark.parametrize("bad", ["../evil.txt", "ok/../../evil.txt", "/tmp/evil-abs.txt"])
def test_traversal_member_is_refused_before_anything_is_written(tmp_path, bad):
    archive = _tar(tmp_path / "bad.tar.gz", {"LibriSpeech/a.txt": b"fine", bad: b"pwned"})
    target = tmp_path / "target"
    with pytest.raises(UnsafeArchiveError, match="outside the target folder"):
        safe_extract(archive, target)
    assert not (tmp_path / "evil.txt").exists() and not any(target.rglob("*.txt"))


def test_escaping_symlink_is_refused(tmp_path):
    archive = _tar(tmp_path / "link.tar.gz", {"a.txt": b"x"}, links={"data/link": "../../outside"})
    with pytest.raises(UnsafeArchiveError, match="points outside"):
        safe_extract(archive, tmp_path / "target")


def test_zip_traversal_is_refused(tmp_path):
    path = tmp_path / "bad.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("wav/id1/v/00001.wav", b"RIFF")
        zf.writestr("../evil.txt", b"pwned")
    with pytest.raises(UnsafeArchiveError):
        safe_extract(path, tmp_path / "target")
    assert not (tmp_path / "evil.txt").exists()
