"""Download public corpus archives (resumable, checksum-verified) and extract them safely.

Hand-written on the standard library (urllib, hashlib, tarfile/zipfile): lhotse's downloaders
skip checksum verification and extract with a plain ``extractall``; we need both guarantees, and
resumption via HTTP Range requests so a 300 MB archive survives a dropped connection.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from bench.errors import BenchError, ConfigError

CHUNK = 1 << 20
Progress = Callable[[int, int | None], None]  # (bytes so far, total or None)


class ChecksumError(BenchError):
    """A downloaded file's digest differs from the published one."""


class UnsafeArchiveError(BenchError):
    """An archive member would land outside the target folder."""


def _digests(archive: dict[str, Any]) -> dict[str, str]:
    return {k: str(archive[k]).lower() for k in ("sha256", "md5") if archive.get(k)}


def verify(path: Path, expected: dict[str, str]) -> None:
    """Compare every published digest; raises naming the file, both values and what to do."""
    if not expected:
        return
    hashes = {name: hashlib.new(name) for name in expected}
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            for h in hashes.values():
                h.update(block)
    for name, h in hashes.items():
        if h.hexdigest() != expected[name]:
            raise ChecksumError(
                f"{path}: {name} {h.hexdigest()} does not match the published {expected[name]} "
                "(corrupt or changed download; it was moved aside as .bad, run fetch again)"
            )


def download(url: str, dest: Path, expected: dict[str, str] | None = None, progress: Progress | None = None,
             timeout: float = 60.0) -> Path:
    """Fetch ``url`` to ``dest``, resuming a previous ``dest.part``; verify; return ``dest``.

    Resumption: a partial file's size is sent as ``Range: bytes=N-``; a 206 reply is appended, a
    200 reply (server ignores ranges) restarts from zero. ``file://`` URLs are read with a seek,
    so tests exercise the same resume logic without a network.
    """
    expected = expected or {}
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        try:
            verify(dest, expected)
        except ChecksumError:
            dest.replace(dest.with_name(dest.name + ".bad"))
            raise
        return dest
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        _copy_local(Path(urllib.request.url2pathname(parsed.path)), part, have, progress)
    elif parsed.scheme in {"http", "https"}:
        _http(url, part, have, progress, timeout)
    else:
        raise ConfigError(f"{url}: unsupported URL scheme {parsed.scheme!r} (http, https or file)")
    try:
        verify(part, expected)
    except ChecksumError:
        part.replace(dest.with_name(dest.name + ".bad"))
        raise
    part.replace(dest)
    return dest


def _copy_local(src: Path, part: Path, have: int, progress: Progress | None) -> None:
    if not src.exists():
        raise ConfigError(f"{src}: source archive not found")
    total = src.stat().st_size
    if have > total:
        have = 0
    with src.open("rb") as fin, part.open("r+b" if have else "wb") as fout:
        fin.seek(have)
        fout.seek(have)
        fout.truncate()
        _pump(fin, fout, have, total, progress)


def _http(url: str, part: Path, have: int, progress: Progress | None, timeout: float) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": "codecbench", **({"Range": f"bytes={have}-"} if have else {})})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # requested range beyond the end: the part is already complete
            return
        raise BenchError(f"{url}: download failed (HTTP {exc.code} {exc.reason})") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise BenchError(f"{url}: download failed ({exc}); partial data kept in {part}, run again to resume") from exc
    with response:
        resumed = response.status == 206 and have > 0
        length = response.headers.get("Content-Length")
        total = (int(length) + (have if resumed else 0)) if length else None
        start = have if resumed else 0
        with part.open("r+b" if resumed else "wb") as fout:
            fout.seek(start)
            fout.truncate()
            try:
                _pump(response, fout, start, total, progress)
            except OSError as exc:
                raise BenchError(f"{url}: connection lost ({exc}); partial data kept in {part}, run again to resume") from exc


def _pump(fin, fout, done: int, total: int | None, progress: Progress | None) -> None:
    for block in iter(lambda: fin.read(CHUNK), b""):
        fout.write(block)
        done += len(block)
        if progress:
            progress(done, total)


def _check_name(name: str, archive: Path) -> PurePosixPath:
    """Refuse absolute paths, drive letters and ``..`` components before anything is written."""
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or (pure.parts and ":" in pure.parts[0]) or ".." in pure.parts:
        raise UnsafeArchiveError(f"{archive}: member {name!r} would be written outside the target folder; refusing to extract")
    return pure


def _inside(target: Path, candidate: Path) -> bool:
    return os.path.commonpath([str(target), str(candidate)]) == str(target)


def safe_extract(archive: Path, target: Path) -> list[str]:
    """Extract a .tar(.gz/.bz2/.xz) or .zip into ``target`` after vetting every member.

    All members are checked first, so a refused archive writes nothing. Links must resolve inside
    the target; device files are refused. Tar extraction additionally uses Python's ``data``
    filter as a second guard.
    """
    target = target.resolve()
    target.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            names = zf.namelist()
            for name in names:
                _check_name(name, archive)
                mode = (zf.getinfo(name).external_attr >> 16) & 0o170000
                if mode == 0o120000:
                    raise UnsafeArchiveError(f"{archive}: member {name!r} is a symbolic link; refusing to extract")
            zf.extractall(target)
        return names
    try:
        tf = tarfile.open(archive)
    except tarfile.TarError as exc:
        raise ConfigError(f"{archive}: not a tar or zip archive ({exc})") from exc
    with tf:
        members = tf.getmembers()
        for m in members:
            pure = _check_name(m.name, archive)
            dest = (target / pure).resolve()
            if not _inside(target, dest):
                raise UnsafeArchiveError(f"{archive}: member {m.name!r} resolves outside the target folder; refusing to extract")
            if m.issym() or m.islnk():
                base = dest.parent if m.issym() else target
                link = PurePosixPath(m.linkname)
                if link.is_absolute() or not _inside(target, (base / link).resolve()):
                    raise UnsafeArchiveError(
                        f"{archive}: link {m.name!r} -> {m.linkname!r} points outside the target folder; refusing to extract")
            elif not (m.isfile() or m.isdir()):
                raise UnsafeArchiveError(f"{archive}: member {m.name!r} is a device or special file; refusing to extract")
        tf.extractall(target, filter="data")
    return [m.name for m in members]


def fetch_suite(suite: str, entry: dict[str, Any], dest: Path, progress: Progress | None = None,
                keep_archives: bool = True) -> list[Path]:
    """Download and extract every archive of a public suite (``entry``: its datasets.yaml entry)
    into ``dest``; refuse licensed ones."""
    source = entry.get("source") or {}
    if not source.get("fetch"):
        reason = source.get("reason") or "no public download is configured"
        how = source.get("how")
        holder = source.get("licence_holder")
        raise BenchError(
            f"suite {suite!r} cannot be fetched automatically: {reason}."
            + (f" To get it: {how}." if how else "") + (f" Licence holder: {holder}." if holder else ""))
    archives = source.get("archives") or []
    if not archives:
        raise ConfigError(f"suite {suite!r}: source.fetch is true but no archives are listed")
    downloads = dest / ".downloads"
    done = []
    for archive in archives:
        url = archive["url"]
        name = PurePosixPath(urllib.parse.urlparse(url).path).name or "archive"
        path = download(url, downloads / name, _digests(archive), progress)
        safe_extract(path, dest)
        done.append(path)
        if not keep_archives:
            path.unlink()
    if not keep_archives and downloads.exists() and not any(downloads.iterdir()):
        shutil.rmtree(downloads)
    return done
