"""Readers: Paddle program, tensor stream, restricted unpickling, ONNX — good files and hostile ones."""

from __future__ import annotations

import os
import pickle
import struct

import numpy as np
import pytest

from ptocr.errors import ModelFormatError
from ptocr.formats import (
    TensorSpec,
    parse_program,
    read_structured_names,
    read_tensor_stream,
    read_weights,
    safe_loads,
)
from ptocr.formats import paddle_framework_pb2 as pb

from .paths import shared_path


def _tensor_record(array: np.ndarray) -> bytes:
    desc = pb.VarType.TensorDesc(data_type=pb.VarType.FP32, dims=list(array.shape)).SerializeToString()
    return (
        struct.pack("<IQ", 0, 0)
        + struct.pack("<Ii", 0, len(desc))
        + desc
        + array.astype("<f4").tobytes()
    )


def test_tensor_stream_roundtrip_and_shape_check() -> None:
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.ones(4, dtype=np.float32)
    data = _tensor_record(a) + _tensor_record(b)
    specs = [TensorSpec("a", (2, 3), np.dtype(np.float32)), TensorSpec("b", (4,), np.dtype(np.float32))]
    out = read_tensor_stream(data, specs)
    np.testing.assert_array_equal(out["a"], a)
    np.testing.assert_array_equal(out["b"], b)
    with pytest.raises(ModelFormatError, match="declares"):
        read_tensor_stream(data, [TensorSpec("a", (3, 2), np.dtype(np.float32)), specs[1]])
    with pytest.raises(ModelFormatError, match="truncated"):
        read_tensor_stream(data[:-3], specs)
    with pytest.raises(ModelFormatError, match="unexpected bytes"):
        read_tensor_stream(data + b"\0", specs)


def test_program_garbage_is_refused() -> None:
    for junk in (b"", b"\xff\xfe garbage", os.urandom(512)):
        with pytest.raises(ModelFormatError):
            parse_program(junk)


class _Evil:
    """Unpickling this with plain `pickle.loads` would run a shell command creating `marker`."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_restricted_unpickler_refuses_code_without_running_it(tmp_path) -> None:
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"x": _Evil(str(marker))})
    with pytest.raises(ModelFormatError, match="refusing to load global"):
        safe_loads(payload)
    with pytest.raises(ModelFormatError, match="refusing"):
        safe_loads(payload, allow_numpy=True)
    assert not marker.exists()


def test_restricted_unpickler_admits_plain_data_and_arrays_only_when_asked() -> None:
    plain = {"a": [1, 2.5, "s", None, True], "b": (b"x",)}
    assert safe_loads(pickle.dumps(plain)) == plain
    arrays = {"w": np.arange(3, dtype=np.float32)}
    with pytest.raises(ModelFormatError):
        safe_loads(pickle.dumps(arrays))
    out = safe_loads(pickle.dumps(arrays), allow_numpy=True)
    np.testing.assert_array_equal(out["w"], arrays["w"])
    with pytest.raises(ModelFormatError):
        safe_loads(b"\x80\x04not a pickle")


def test_info_file_with_malicious_pickle(tmp_path) -> None:
    path = tmp_path / "inference.pdiparams.info"
    marker = tmp_path / "pwned"
    path.write_bytes(pickle.dumps(_Evil(str(marker))))
    with pytest.raises(ModelFormatError):
        read_structured_names(path)
    assert not marker.exists()


@pytest.mark.parametrize("model", ["ch_PP-OCRv4_det", "ch_PP-OCRv4_rec", "ch_ppocr_mobile_v2.0_cls"])
def test_fixture_inference_folder_reads_in_use_order(model: str) -> None:
    folder = shared_path("zoo", model)
    weights = read_weights(folder)
    assert weights.program is not None
    assert len(weights) == len(weights.program.persistables)
    assert list(weights.tensors) == weights.program.parameter_use_order()
    for name, array in weights.tensors.items():
        assert array.shape == weights.program.persistables[name].shape
    assert weights.structured_names  # the .info file was read


def test_truncated_params_file_is_a_clear_error(tmp_path) -> None:
    folder = shared_path("zoo", "ch_ppocr_mobile_v2.0_cls")
    (tmp_path / "inference.pdmodel").write_bytes((folder / "inference.pdmodel").read_bytes())
    (tmp_path / "inference.pdiparams").write_bytes((folder / "inference.pdiparams").read_bytes()[:-100])
    with pytest.raises(ModelFormatError, match="truncated"):
        read_weights(tmp_path)


def test_not_a_model(tmp_path) -> None:
    with pytest.raises(ModelFormatError, match="no such"):
        read_weights(tmp_path / "missing")
    with pytest.raises(ModelFormatError, match="not a model"):
        read_weights(tmp_path)
    bad = tmp_path / "x.onnx"
    bad.write_bytes(b"\x08\x07garbage" * 10)
    with pytest.raises(ModelFormatError):
        read_weights(bad)
