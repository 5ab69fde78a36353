"""Trust on first use: models whose files have no published sha256 are checked structurally on their first
download, their digests recorded, and from then on verified against that record."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from ptocr.errors import ModelStoreError, WeightsMismatchError
from ptocr.store import MARKER, TRUSTED, ModelStore, TrustOnFirstUseWarning, sha256_file
from ptocr.zoo import PADDLE_FILES, DetPreprocessing, ModelRecord, get_record, paddle_files

from .test_store import FakeFetcher, NoNetwork, write_tar

URL = "https://example.invalid/models/unpinned_det_infer.tar"


def _record() -> ModelRecord:
    files = paddle_files(URL, None, None, None)
    return ModelRecord(
        name="unpinned_det", task="det", architecture="fake", description="a test model", version="t",
        language="en", weights={"paddle": files}, preprocessing=DetPreprocessing(),
    )  # fmt: skip


def _archive(tmp_path: Path, with_info: bool = True, salt: bytes = b"") -> Path:
    names = PADDLE_FILES if with_info else PADDLE_FILES[:2]
    members = {f"unpinned_det_infer/{f}": f"{f} {salt!r} ".encode() * 40 for f in names}
    return write_tar(tmp_path / f"a{len(salt)}{with_info}.tar", members)


class Checks:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.fail = fail

    def __call__(self, record: ModelRecord, folder: Path) -> None:
        self.calls.append(sorted(p.name for p in folder.iterdir()))
        if self.fail:
            raise WeightsMismatchError("tensor #3: the file's 'x' has shape [2] but the module's 'y' needs [3]")


def test_unpinned_files_are_checked_then_trusted(tmp_path: Path) -> None:
    checks = Checks()
    store = ModelStore(tmp_path / "home", FakeFetcher({URL: _archive(tmp_path)}), {"unpinned_det": _record()}, checks)
    with pytest.warns(TrustOnFirstUseWarning, match="publishes no sha256"):
        folder = store.pull("unpinned_det")
    assert checks.calls == [sorted(PADDLE_FILES)]
    trusted = json.loads((folder / TRUSTED).read_text())
    assert {k: v for k, v in trusted.items() if k != "absent"} == {f: sha256_file(folder / f) for f in PADDLE_FILES}
    assert store.is_trusted_on_first_use("unpinned_det")
    # From now on the cache is verified against the record, with no network and no second warning.
    offline = ModelStore(tmp_path / "home", NoNetwork(), {"unpinned_det": _record()}, checks)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert offline.path("unpinned_det") == folder
    assert len(checks.calls) == 1


def test_a_changed_trusted_file_is_not_used(tmp_path: Path) -> None:
    fetcher = FakeFetcher({URL: _archive(tmp_path)})
    store = ModelStore(tmp_path / "home", fetcher, {"unpinned_det": _record()}, Checks())
    with pytest.warns(TrustOnFirstUseWarning):
        folder = store.pull("unpinned_det")
    (folder / MARKER).unlink()
    (folder / "inference.pdiparams").write_bytes(b"tampered")
    assert not store.is_cached("unpinned_det")
    offline = ModelStore(tmp_path / "home", NoNetwork(), {"unpinned_det": _record()}, Checks())
    with pytest.raises(AssertionError, match="the network was used"):
        offline.path("unpinned_det")


def test_an_archive_without_info_file_is_trusted_as_it_is(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "home", FakeFetcher({URL: _archive(tmp_path, with_info=False)}),
                       {"unpinned_det": _record()}, Checks())  # fmt: skip
    with pytest.warns(TrustOnFirstUseWarning):
        folder = store.pull("unpinned_det")
    assert not (folder / PADDLE_FILES[2]).exists()
    assert json.loads((folder / TRUSTED).read_text())["absent"] == [PADDLE_FILES[2]]
    assert store.is_cached("unpinned_det")


def test_files_that_fail_the_structure_check_are_never_cached(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "home", FakeFetcher({URL: _archive(tmp_path)}), {"unpinned_det": _record()},
                       Checks(fail=True))  # fmt: skip
    with pytest.raises(ModelStoreError, match=r"not a working unpinned_det model: tensor #3"):
        store.pull("unpinned_det")
    assert not store.is_cached("unpinned_det")
    assert not (tmp_path / "home" / "models" / "unpinned_det" / "paddle" / TRUSTED).exists()


def test_catalogue_models_without_digests_are_the_unpinned_ones() -> None:
    assert get_record("ch_ppocr_mobile_v2.0_det").weights["paddle"].pinned is False
    assert get_record("ch_PP-OCRv4_server_det").weights["paddle"].pinned is True
    info = get_record("french_mobile_v2.0_rec").weights["paddle"].files[2]
    assert info.sha256 is None and info.optional


def test_unpinned_files_downloaded_by_hand_are_imported_by_name(tmp_path: Path) -> None:
    folder = tmp_path / "unpinned_det_infer"
    folder.mkdir()
    for name in PADDLE_FILES[:2]:
        (folder / name).write_bytes(name.encode() * 30)
    checks = Checks()
    store = ModelStore(tmp_path / "home", NoNetwork(), {"unpinned_det": _record()}, checks)
    with pytest.raises(ModelStoreError, match=r"no known model file"):
        store.import_path(folder)
    with pytest.warns(TrustOnFirstUseWarning):
        assert store.import_path(folder, name="unpinned_det") == [("unpinned_det", "paddle")]
    assert checks.calls == [sorted(PADDLE_FILES[:2])]
    assert store.is_cached("unpinned_det") and store.is_trusted_on_first_use("unpinned_det")
    failing = ModelStore(tmp_path / "other", NoNetwork(), {"unpinned_det": _record()}, Checks(fail=True))
    with pytest.raises(ModelStoreError, match="not a working unpinned_det model"):
        failing.import_path(folder, name="unpinned_det")
    assert not failing.is_cached("unpinned_det")


def test_a_failed_fetch_of_unpinned_files_says_how_to_import_them(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "home", FakeFetcher(), {"unpinned_det": _record()}, Checks())
    with pytest.raises(ModelStoreError, match=r"`ptocr models import PATH --model unpinned_det`"):
        store.pull("unpinned_det")
