"""`ptocr export`: the default system's networks as ONNX (run by onnxruntime) and TorchScript files that compute
what the torch modules compute, at input sizes other than the one traced."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import ptocr
from ptocr import cli
from ptocr.errors import ExportError
from ptocr.export import export_model, read_torchscript_description

ort = pytest.importorskip("onnxruntime", reason="onnxruntime (the test extra) runs the exported ONNX files")
onnx = pytest.importorskip("onnx")

# Two sizes per model, neither the traced example's: batch, height and width all change for the detector.
SIZES = {
    "ch_PP-OCRv4_det": [(1, 3, 96, 160), (2, 3, 224, 64)],
    "ch_PP-OCRv4_rec": [(1, 3, 48, 160), (3, 3, 48, 480)],
    "ch_ppocr_mobile_v2.0_cls": [(1, 3, 48, 192), (4, 3, 48, 192)],
}


def _reference(name: str, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    generator = torch.Generator().manual_seed(sum(shape))
    batch = torch.rand(*shape, generator=generator) * 2 - 1
    with torch.inference_mode():
        return batch.numpy(), ptocr.create_model(name)(batch).numpy()


@pytest.mark.parametrize("name", list(SIZES))
def test_onnx_export_matches_the_module_at_two_sizes(name: str, tmp_path: Path, capsys) -> None:
    path = tmp_path / f"{name}.onnx"
    assert cli.main(["export", name, "--format", "onnx", "-o", str(path)]) == 0
    assert capsys.readouterr() == (f"{path}\n", "")
    model = onnx.load(str(path))
    assert {p.key: p.value for p in model.metadata_props}["ptocr.model"] == name
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["x"]
    for shape in SIZES[name]:
        batch, expected = _reference(name, shape)
        (got,) = session.run(None, {"x": batch})
        assert got.shape == expected.shape
        assert np.abs(got - expected).max() <= 1e-4, shape


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")
def test_torchscript_export_matches_the_module(tmp_path: Path) -> None:
    name = "ch_PP-OCRv4_rec"
    path = export_model(name, tmp_path / "rec.pt", "torchscript")
    scripted = torch.jit.load(str(path))
    for shape in SIZES[name]:
        batch, expected = _reference(name, shape)
        with torch.inference_mode():
            got = scripted(torch.from_numpy(batch)).numpy()
        assert got.shape == expected.shape and np.abs(got - expected).max() <= 1e-5
    assert read_torchscript_description(path) == {
        "ptocr.model": name, "ptocr.task": "rec", "ptocr.format": "torchscript", "ptocr.input_height": "48",
        "ptocr.dictionary": "ppocr_keys_v1.txt",
    }  # fmt: skip


def test_export_errors(tmp_path: Path, capsys) -> None:
    with pytest.raises(ExportError, match="unknown export format 'tflite'"):
        export_model("ch_PP-OCRv4_det", tmp_path / "x", "tflite")  # type: ignore[arg-type]
    assert cli.main(["export", "nope", "-o", str(tmp_path / "x.onnx")]) == 1
    assert capsys.readouterr().err.startswith("ptocr: error: ")
    assert cli.main(["export", "ch_PP-OCRv4_det", "--format", "tflite", "-o", "x"]) == 2
