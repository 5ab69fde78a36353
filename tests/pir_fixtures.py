"""Writes PaddlePaddle 3 inference folders (`inference.json` + `inference.pdiparams` + `inference.yml`) for tests.

The program is the PIR translation of a `.pdmodel` fixture, in the JSON layout PaddlePaddle's serialiser writes
(paddle/fluid/pir/serialize_deserialize: schema.h keys, ir_serialize.cc layout, compact `"p"` parameter ops,
dialect codes "0" builtin / "1" pd_op): each fluid op becomes the pd_op whose operands follow the PIR
signature (batch_norm_ takes x, mean, variance, scale, bias; list inputs go through a `builtin.combine`).
Parameters are renamed (PaddleX names differ from fluid's) so that their sorted order, the order of the
parameter file, is neither the fluid file's nor the use order; their ops come first, in yet another order.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ptocr.formats import paddle_framework_pb2 as pb
from ptocr.formats import parse_program, read_paddle_variables

_PIR_DTYPES = {
    pb.VarType.FP32: "0.t_f32", pb.VarType.FP64: "0.t_f64", pb.VarType.FP16: "0.t_f16",
    pb.VarType.INT64: "0.t_i64", pb.VarType.INT32: "0.t_i32", pb.VarType.BOOL: "0.t_bool",
    pb.VarType.UINT8: "0.t_ui8", pb.VarType.INT8: "0.t_i8",
}  # fmt: skip
_NUMPY_CODES = {np.dtype(np.float32): pb.VarType.FP32, np.dtype(np.float64): pb.VarType.FP64}

#: fluid op → (pd_op name, fluid input slots in the order of the PIR op's operands).
_TRANSLATION = {
    "conv2d": ("conv2d", ("Input", "Filter")),
    "depthwise_conv2d": ("depthwise_conv2d", ("Input", "Filter")),
    "conv2d_transpose": ("conv2d_transpose", ("Input", "Filter")),
    "batch_norm": ("batch_norm_", ("X", "Mean", "Variance", "Scale", "Bias")),
    "layer_norm": ("layer_norm", ("X", "Scale", "Bias")),
    "matmul_v2": ("matmul", ("X", "Y")),
    "elementwise_add": ("add", ("X", "Y")),
    "elementwise_mul": ("multiply", ("X", "Y")),
    "reshape2": ("reshape", ("X", "Shape")),
    "rnn": ("rnn", ("Input", "PreState", "WeightList", "SequenceLength")),
}
_LIST_SLOTS = ("PreState", "WeightList")


def dense_type(dims: Iterable[int], element: str = "0.t_f32") -> dict[str, Any]:
    return {"#": "0.t_dtensor", "D": [{"#": element}, [int(d) for d in dims], "NCHW", [], 0]}


def parameter_op(name: str, value_id: int, dims: Iterable[int], element: str = "0.t_f32") -> dict[str, Any]:
    """A `builtin.parameter` as PaddlePaddle writes it: [is_distributed, is_parameter, need_clip, name], and the
    result flags [persistable, stop_gradient, trainable] of a trainable save."""
    return {"#": "p", "A": [0, 1, 1, name], "O": {"%": value_id, "TT": dense_type(dims, element)}, "OA": [1, 0, 1]}


def _attribute(name: str, value: object) -> dict[str, Any] | None:
    if isinstance(value, bool):
        return {"N": name, "AT": {"#": "0.a_bool", "D": value}}
    if isinstance(value, int):
        return {"N": name, "AT": {"#": "0.a_i32", "D": value}}
    if isinstance(value, float):
        return {"N": name, "AT": {"#": "0.a_f32", "D": value}}
    if isinstance(value, str):
        return {"N": name, "AT": {"#": "0.a_str", "D": value}}
    if isinstance(value, tuple) and value and all(type(v) is int for v in value):
        return {"N": name, "AT": {"#": "0.a_array", "D": [{"#": "0.a_i32", "D": v} for v in value]}}
    return None


def tensor_record(array: np.ndarray) -> bytes:
    """One tensor of a `.pdiparams` stream (see ptocr.formats.tensor_stream)."""
    desc = pb.VarType.TensorDesc(data_type=_NUMPY_CODES[array.dtype], dims=list(array.shape)).SerializeToString()
    data = array.astype(array.dtype.newbyteorder("<")).tobytes()
    return struct.pack("<IQ", 0, 0) + struct.pack("<Ii", 0, len(desc)) + desc + data


def tensor_stream(tensors: Mapping[str, np.ndarray]) -> bytes:
    """The parameter file of `tensors`: sorted by name, as `save_vars_pir` writes it."""
    return b"".join(tensor_record(tensors[name]) for name in sorted(tensors))


class _Writer:
    def __init__(self, var_types: Mapping[str, tuple[list[int], str]]) -> None:
        self.var_types = var_types
        self.ids: dict[str, int] = {}
        self.next_id = 1
        self.ops: list[dict[str, Any]] = []

    def value(self, var: str | None = None) -> dict[str, Any]:
        dims, element = self.var_types.get(var or "", ([-1], "0.t_f32"))
        value = {"%": self.next_id, "TT": dense_type(dims, element)}
        if var is not None:
            self.ids[var] = self.next_id
        self.next_id += 1
        return value

    def operand(self, var: str) -> dict[str, int]:
        return {"%": self.ids[var]}

    def combine(self, names: Iterable[str]) -> dict[str, int]:
        names = list(names)
        result = {"%": self.next_id, "TT": {"#": "0.t_vec", "D": [dense_type(*self.var_types[n]) for n in names]}}
        self.next_id += 1
        self.ops.append({"#": "0.combine", "I": [self.operand(n) for n in names], "O": [result], "A": []})
        return {"%": result["%"]}


def fluid_to_pir(
    folder: Path, rename: Callable[[list[str]], dict[str, str]] | None = None
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The PIR program (as a JSON document) and the renamed parameters of the `.pdmodel` fixture in `folder`.

    `rename` maps the parameters' names, given in use order, to new names; by default the k-th of n used
    becomes `param_{n-1-k}`, so that the parameter file's (sorted) order is the reverse of the use order.
    """
    program_path, params_path = folder / "inference.pdmodel", folder / "inference.pdiparams"
    program = parse_program(program_path.read_bytes())
    _, tensors = read_paddle_variables(program_path, params_path)
    used = program.parameter_use_order()
    names = (rename or _reverse_names)(used)
    desc = pb.ProgramDesc.FromString(program_path.read_bytes())
    var_types = {
        v.name: ([int(d) for d in v.type.lod_tensor.tensor.dims], _PIR_DTYPES[v.type.lod_tensor.tensor.data_type])
        for v in desc.blocks[0].vars
        if v.type.type == pb.VarType.LOD_TENSOR
    }
    writer = _Writer(var_types)
    params: dict[str, np.ndarray] = {}
    for old in sorted(program.persistables, key=lambda n: names[n], reverse=True):
        new = names[old]
        writer.ids[old] = writer.next_id
        writer.ops.append(parameter_op(new, writer.next_id, *var_types[old]))
        writer.next_id += 1
        params[new] = tensors[old]
    for feed in program.feed_names:
        attrs = [_attribute("name", feed), {"N": "dtype", "AT": {"#": "1.a_dtype", "D": "float32"}}]
        writer.ops.append({"#": "1.data", "I": [], "O": [writer.value(feed)], "A": attrs})
    for op in program.ops:
        pir_name, slots = _TRANSLATION.get(op.type, (op.type, tuple(sorted(op.inputs))))
        operands = []
        for slot in slots:
            args = op.inputs.get(slot, ())
            if slot in _LIST_SLOTS:
                operands.append(writer.combine(args))
            elif args:
                operands.extend(writer.operand(a) for a in args)
            elif slot in ("SequenceLength", "Shape"):
                operands.append({"%": 0})  # an absent optional operand
        results = []
        for slot in sorted(op.outputs):
            for out in op.outputs[slot]:
                # In-place outputs (batch_norm's MeanOut) are new values in PIR; the parameter keeps its id.
                results.append(writer.value(None if out in program.persistables else out))
        attrs = [a for a in (_attribute(k, v) for k, v in sorted(op.attrs.items())) if a is not None]
        writer.ops.append({"#": f"1.{pir_name}", "I": operands, "O": results, "A": attrs})
    for col, fetch in enumerate(program.fetch_names):
        attrs = [_attribute("name", fetch), _attribute("col", col)]
        writer.ops.append({"#": "1.fetch", "I": [writer.operand(fetch)], "O": [writer.value()], "A": attrs})
    document = {
        "base_code": {"magic": "pir", "trainable": True, "version": 1},
        "program": {"regions": [{"#": "region_0", "blocks": [{"#": "block_0", "args": [], "ops": writer.ops}]}]},
    }
    return document, params


def _reverse_names(used: list[str]) -> dict[str, str]:
    return {old: f"param_{len(used) - 1 - k:04d}" for k, old in enumerate(used)}


def write_pir_folder(
    out: Path, document: Mapping[str, Any], params: Mapping[str, np.ndarray], config: bytes | None = None
) -> Path:
    """`inference.json`, `inference.pdiparams` (sorted by name) and, if given, `inference.yml` in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "inference.json").write_text(json.dumps(document, separators=(",", ":")), encoding="utf-8")
    (out / "inference.pdiparams").write_bytes(tensor_stream(params))
    if config is not None:
        (out / "inference.yml").write_bytes(config)
    return out


def pir_copy(fluid_folder: Path, out: Path) -> Path:
    """A PaddlePaddle 3 folder holding the model of the `.pdmodel` fixture `fluid_folder` (with its
    `inference.yml`, if it has one)."""
    document, params = fluid_to_pir(fluid_folder)
    config = fluid_folder / "inference.yml"
    return write_pir_folder(out, document, params, config.read_bytes() if config.exists() else None)
