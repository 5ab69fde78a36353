"""Reads the weights of a paddle2onnx export into the same name → array form as the Paddle readers.

paddle2onnx stores every Paddle parameter as a `Constant` node (or an initializer) under its Paddle
name, next to helper constants it makes itself (shapes, scalars of decomposed ops). Parameters are
returned in the order the graph first consumes them, which follows the Paddle program's op order.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import ModelFormatError

# Constants paddle2onnx synthesises: `p2o.helper.constant.N`, `Constant@N`, `fill_constant_N.tmp_0`
# and other temporaries. They are not weights of the network.
_HELPER_NAME = re.compile(r"^(p2o\.|Constant@)|\.tmp_\d+$")
_MAX_ONNX_BYTES = 2 * 1024 * 1024 * 1024


def _is_parameter(name: str, array: np.ndarray) -> bool:
    return array.dtype.kind == "f" and not _HELPER_NAME.search(name)


def read_onnx_weights(path: Path) -> dict[str, np.ndarray]:
    """Parameters of an ONNX file in first-use order. Refuses external data and malformed files."""
    import onnx
    from google.protobuf.message import DecodeError
    from onnx import numpy_helper

    what = str(path)
    if path.stat().st_size > _MAX_ONNX_BYTES:
        raise ModelFormatError(f"{what}: too large for an OCR model")
    try:
        model = onnx.load_model(str(path), load_external_data=False)
    except (DecodeError, RuntimeError, ValueError, OSError) as exc:
        raise ModelFormatError(f"{what}: not an ONNX model ({exc})") from None
    graph = model.graph
    if not graph.node:
        raise ModelFormatError(f"{what}: not an ONNX model (empty graph)")

    def to_array(tensor: onnx.TensorProto) -> np.ndarray:
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            raise ModelFormatError(f"{what}: tensor {tensor.name!r} refers to external data, which is not read")
        try:
            return numpy_helper.to_array(tensor)
        except (ValueError, TypeError) as exc:
            raise ModelFormatError(f"{what}: bad tensor {tensor.name!r} ({exc})") from None

    constants: dict[str, np.ndarray] = {t.name: to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.output:
            value = next((a.t for a in node.attribute if a.name == "value"), None)
            if value is not None:
                constants[node.output[0]] = to_array(value)

    weights: dict[str, np.ndarray] = {}
    for node in graph.node:
        if node.op_type == "Constant":
            continue
        for name in node.input:
            if name in constants and name not in weights and _is_parameter(name, constants[name]):
                weights[name] = constants[name]
    if not weights:
        raise ModelFormatError(f"{what}: the ONNX graph holds no weights")
    return weights
