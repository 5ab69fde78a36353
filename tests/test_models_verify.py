"""`ptocr models verify`: every cached file re-hashed against its published or first-use sha256."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from ptocr import cli, cli_tools
from ptocr.store import MARKER, ModelStore, TrustOnFirstUseWarning, sha256_file

from .test_store import FakeFetcher, build_wheel, make_records
from .test_store_tofu import URL, Checks, _archive, _record


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ModelStore:
    wheel = build_wheel(tmp_path / "src")
    records: dict[str, Any] = make_records(sha256_file(wheel)) | {"unpinned_det": _record()}
    fetcher = FakeFetcher({URL: _archive(tmp_path)}, wheels={("fake-pkg", "1.0"): wheel})
    store = ModelStore(tmp_path / "home", fetcher, records, Checks())
    monkeypatch.setattr(cli_tools, "ModelStore", lambda: store)
    return store


def test_verify_reports_every_file_and_fails_on_a_changed_one(capsys, store: ModelStore) -> None:
    assert run(capsys, "models", "verify") == (0, "", f"no cached model files to verify under {store.home}\n")
    store.pull("fake_det", "paddle")
    store.pull("fake_det", "onnx")
    with pytest.warns(TrustOnFirstUseWarning):
        tofu = store.pull("unpinned_det")
    code, out, err = run(capsys, "models", "verify")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "ok         fake_det/paddle/inference.pdmodel",
        "ok         fake_det/paddle/inference.pdiparams",
        "ok         fake_det/paddle/inference.pdiparams.info",
        "ok         fake_det/onnx/model.onnx",
        "ok         unpinned_det/paddle/inference.pdmodel",
        "ok         unpinned_det/paddle/inference.pdiparams",
        "ok         unpinned_det/paddle/inference.pdiparams.info",
    ]
    # A change that keeps size and mtime fools the marker the store normally trusts; verify re-hashes anyway.
    params = tofu / "inference.pdiparams"
    stat = params.stat()
    original = params.read_bytes()
    params.write_bytes(bytes([original[0] ^ 1]) + original[1:])
    os.utime(params, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert json.loads((tofu / MARKER).read_text())["inference.pdiparams"]["size"] == stat.st_size
    (store.home / "models/fake_det/onnx/model.onnx").unlink()
    code, out, err = run(capsys, "models", "verify", "unpinned_det", "fake_det")
    lines = out.splitlines()
    assert code == 1 and err == "ptocr: error: 2 of 7 cached files failed verification\n"
    expected_digest = json.loads((tofu / ".trusted.json").read_text())["inference.pdiparams"]
    assert lines[1] == (
        f"MISMATCH   unpinned_det/paddle/inference.pdiparams (expected {expected_digest}, "
        f"got {sha256_file(params)})"
    )
    assert lines[6] == "missing    fake_det/onnx/model.onnx"
    assert [line.split()[0] for line in lines] == ["ok", "MISMATCH", "ok", "ok", "ok", "ok", "missing"]


def test_verify_names_unknown_models(capsys, store: ModelStore) -> None:
    assert run(capsys, "models", "verify", "nope") == (1, "", "ptocr: error: unknown model 'nope'\n")
