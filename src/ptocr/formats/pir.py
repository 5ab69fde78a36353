"""Reader for PaddlePaddle 3's PIR programs (`inference.json`: PaddleOCR 3.x and PaddleX inference models).

PaddlePaddle 3 saves an inference program as JSON instead of the `ProgramDesc` protobuf; the weights stay in
`inference.pdiparams`, the tensor stream PaddlePaddle 2.x writes (`tensor_stream`). What ptocr needs from the
program is what it needs from a `.pdmodel`: every parameter's name, dtype and shape, and the order in which
the ops first consume them, so that the weights can be placed by structure.

The layout, as PaddlePaddle writes and reads it (PaddlePaddle/Paddle, paddle/fluid/pir/serialize_deserialize/:
`include/schema.h` names the keys, `src/interface.cc` writes `base_code`, `src/ir_serialize.cc` the program,
`src/schema.cc` the dialect codes; PaddlePaddle/docs, docs/guides/paddle_v3_features/pir_save_load.md is the
design note)::

    {"base_code": {"magic": "pir", "version": N, "trainable": bool},
     "program": {"regions": [{"#": "region_0", "blocks": [{"#": "block_0", "args": [..], "ops": [op, ..]}]}]}}

    op         {"#": "<dialect>.<name>", "I": [{"%": id}, ..], "O": [{"%": id, "TT": type}, ..],
                "A": [{"N": name, "AT": attribute}, ..], "OA": [..], "regions": [..]}
    parameter  {"#": "p", "A": [is_distributed, is_parameter, need_clip, name], "O": {"%": id, "TT": type},
                "OA": [persistable, stop_gradient, trainable]}          (`builtin.parameter`, written compactly)
    type       {"#": "0.t_dtensor", "D": [{"#": "0.t_f32"}, dims, layout, lod, offset]}

Dialects are abbreviated "0" builtin, "1" pd_op, "2" cf, "3" custom_op, "4" dist_op. Values are numbered from 1
in program order, 0 stands for an absent optional operand, block arguments have negative numbers ("#").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelFormatError
from .files import MAX_PARAMS_BYTES, MAX_PIR_PROGRAM_BYTES, element_count, read_bounded
from .program import TensorSpec
from .tensor_stream import read_tensor_stream

_MAGIC = "pir"
#: The serialisation versions this reader knows: 0 is a development build's, 1 to 4 the releases' (one per
#: file in serialize_deserialize/patch/). Their patches change attributes of a few ops (pooling, interpolation,
#: activations), never parameters, operand lists or tensor types, which is all that is read here.
KNOWN_VERSIONS = range(5)
_PARAMETER_OP = "p"
_DIALECTS = {"0": "builtin", "1": "pd_op", "2": "cf", "3": "custom_op", "4": "dist_op"}
_DENSE_TENSOR = "0.t_dtensor"
_DTYPES: dict[str, np.dtype] = {
    "0.t_bool": np.dtype(np.bool_),
    "0.t_i8": np.dtype(np.int8),
    "0.t_ui8": np.dtype(np.uint8),
    "0.t_i16": np.dtype(np.int16),
    "0.t_i32": np.dtype(np.int32),
    "0.t_i64": np.dtype(np.int64),
    "0.t_f16": np.dtype(np.float16),
    "0.t_f32": np.dtype(np.float32),
    "0.t_f64": np.dtype(np.float64),
}
# Within one op, a layer's tensors are to be listed in the order the layer owns them (weight, bias, running
# mean, running variance), as for `.pdmodel` programs. PIR operands follow the op's signature instead, and
# batch_norm's is (x, mean, variance, scale, bias): these index tuples put its operands in ownership order.
_BATCH_NORM_ORDER = (0, 3, 4, 1, 2)
_OPERAND_ORDER = {
    name: _BATCH_NORM_ORDER
    for name in ("pd_op.batch_norm", "pd_op.batch_norm_", "pd_op.sync_batch_norm", "pd_op.sync_batch_norm_")
}
#: Control flow nests regions inside ops; no OCR model nests deeply, a hostile file might.
_MAX_REGION_DEPTH = 32


@dataclass(frozen=True)
class PirProgram:
    """What a PIR program says about its weights."""

    #: Every parameter the program declares, in program order.
    parameters: Mapping[str, TensorSpec]
    #: The parameters `inference.pdiparams` holds, in its order (see `stored_order`).
    stored: tuple[str, ...]
    #: The parameters the ops read, in the order they are first read.
    use_order: tuple[str, ...]
    #: Every op's full name (`pd_op.conv2d`, ...), in program order, nested regions in place.
    op_names: tuple[str, ...]
    version: int

    def parameter_use_order(self) -> list[str]:
        return list(self.use_order)


def stored_order(persistable: list[str]) -> tuple[str, ...]:
    """The order of the parameters in `inference.pdiparams`: sorted by name.

    `paddle.jit.save` under PIR ends in `save_inference_model_pir` (python/paddle/static/pir_io.py), which hands
    the program's persistable parameters to `save_vars_pir`; with one parameter file, that writes them
    `for name in sorted(save_var_map.keys())`, the same rule as fluid's `save_combine`.
    """
    return tuple(sorted(persistable))


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _full_name(compressed: str) -> str:
    # Unknown prefixes are dialect names written out, which PaddlePaddle does for dialects without a code.
    dialect, dot, rest = compressed.partition(".")
    return f"{_DIALECTS[dialect]}.{rest}" if dot and dialect in _DIALECTS else compressed


class _Reader:
    """Walks the program once, checking every structure it relies on."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.defined: set[int] = set()
        self.parameter_of: dict[int, str] = {}
        self.parameters: dict[str, TensorSpec] = {}
        self.persistable: dict[str, bool] = {}
        self.used: dict[str, None] = {}  # insertion-ordered set
        self.op_names: list[str] = []

    def fail(self, message: str) -> ModelFormatError:
        return ModelFormatError(f"{self.what}: {message}")

    def field(self, obj: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
        value = obj.get(key)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise self.fail(f"{where}: expected {key!r} to hold a {_kind_name(kind)}, found {_json_kind(value)}")
        return value

    def define(self, value_id: object, where: str) -> int:
        if not _is_int(value_id):
            raise self.fail(f"{where}: a value id is {_json_kind(value_id)}, not an integer")
        if value_id in self.defined:
            raise self.fail(f"{where}: value %{value_id} is defined twice")
        self.defined.add(value_id)
        return value_id

    def region(self, region: object, depth: int, where: str) -> None:
        if depth > _MAX_REGION_DEPTH:
            raise self.fail(f"{where}: regions nested more than {_MAX_REGION_DEPTH} deep")
        if not isinstance(region, dict):
            raise self.fail(f"{where}: a region is {_json_kind(region)}, not an object")
        for index, block in enumerate(self.field(region, "blocks", list, where)):
            self.block(block, depth, f"{where}, block {index}")

    def block(self, block: object, depth: int, where: str) -> None:
        if not isinstance(block, dict):
            raise self.fail(f"{where}: a block is {_json_kind(block)}, not an object")
        arguments = list(self.field(block, "args", list, where))
        if "kwargs" in block:
            arguments += self.field(block, "kwargs", list, where)
        for argument in arguments:
            if not isinstance(argument, dict):
                raise self.fail(f"{where}: a block argument is {_json_kind(argument)}, not an object")
            self.define(argument.get("#"), f"{where}, block argument")
        for index, op in enumerate(self.field(block, "ops", list, where)):
            if not isinstance(op, dict):
                raise self.fail(f"{where}, op {index}: {_json_kind(op)}, not an object")
            self.op(op, depth, f"{where}, op {index}")

    def op(self, op: dict[str, Any], depth: int, where: str) -> None:
        name = self.field(op, "#", str, where)
        if name == _PARAMETER_OP:
            self.parameter(op, where)
            return
        full_name = _full_name(name)
        where = f"{where} ({full_name})"
        self.op_names.append(full_name)
        operands = self.field(op, "I", list, where)
        ids = []
        for operand in operands:
            if not isinstance(operand, dict) or not _is_int(operand.get("%")):
                raise self.fail(f"{where}: an operand is {_json_kind(operand)}, not {{'%': value id}}")
            value_id = operand["%"]
            if value_id != 0 and value_id not in self.defined:
                raise self.fail(f"{where}: reads value %{value_id}, which no earlier op defines")
            ids.append(value_id)
        order = _OPERAND_ORDER.get(full_name)
        if order is not None and len(ids) == len(order):
            ids = [ids[i] for i in order]
        for value_id in ids:
            parameter = self.parameter_of.get(value_id)
            if parameter is not None:
                self.used.setdefault(parameter)
        for result in self.field(op, "O", list, where):
            if not isinstance(result, dict):
                raise self.fail(f"{where}: a result is {_json_kind(result)}, not an object")
            if result.get("%") != 0:  # 0: a result PaddlePaddle left empty
                self.define(result.get("%"), where)
        regions = self.field(op, "regions", list, where) if op.get("regions") is not None else []
        for index, region in enumerate(regions):
            self.region(region, depth + 1, f"{where}, region {index}")

    def parameter(self, op: dict[str, Any], where: str) -> None:
        attributes = self.field(op, "A", list, f"{where} (a parameter)")
        if len(attributes) < 4 or not isinstance(attributes[3], str) or not attributes[3]:
            raise self.fail(f"{where}: a parameter without a name (expected 'A': [.., .., .., name])")
        name = attributes[3]
        where = f"{where} (parameter {name!r})"
        if name in self.parameters:
            raise self.fail(f"{where}: declared twice")
        result = self.field(op, "O", dict, where)
        value_id = self.define(result.get("%"), where)
        if value_id <= 0:
            raise self.fail(f"{where}: value id %{value_id} is not a positive integer")
        self.parameters[name] = self.tensor_spec(name, result.get("TT"), where)
        self.parameter_of[value_id] = name
        flags = op.get("OA")
        # Only a trainable save writes the flags; then a parameter that is not persistable is not saved.
        self.persistable[name] = not (isinstance(flags, list) and flags and flags[0] in (0, False))

    def tensor_spec(self, name: str, type_json: object, where: str) -> TensorSpec:
        kind = type_json.get("#") if isinstance(type_json, dict) else None
        if kind != _DENSE_TENSOR:
            raise self.fail(f"{where}: type {kind!r} is not a dense tensor ({_DENSE_TENSOR!r})")
        data = self.field(type_json, "D", list, where)  # type: ignore[arg-type]
        if len(data) < 2 or not isinstance(data[0], dict) or not isinstance(data[1], list):
            raise self.fail(f"{where}: a dense tensor type is [element type, dims, ...], found {data[:2]!r}")
        element = data[0].get("#")
        if not isinstance(element, str) or element not in _DTYPES:
            raise self.fail(f"{where}: unsupported element type {element!r}")
        dims = data[1]
        if not all(_is_int(d) for d in dims):
            raise self.fail(f"{where}: dims {dims[:8]!r} are not all integers")
        element_count(dims, f"{self.what}: parameter {name!r}")  # negative or absurd dims
        return TensorSpec(name, tuple(dims), _DTYPES[element])


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "string", list: "list", dict: "object", int: "integer", bool: "boolean"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _json_kind(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    return {str: "a string", list: "a list", dict: "an object", int: "an integer", float: "a number"}.get(
        type(value), type(value).__name__
    )


def parse_pir_program(data: bytes, *, what: str = "program") -> PirProgram:
    """Parses the bytes of an `inference.json`. Raises ModelFormatError on anything malformed."""
    if len(data) > MAX_PIR_PROGRAM_BYTES:
        raise ModelFormatError(f"{what}: {len(data)} bytes is too large for a PaddlePaddle 3 program")
    try:
        document = json.loads(data)
    except RecursionError:
        raise ModelFormatError(f"{what}: not a PaddlePaddle 3 program (JSON nested too deeply)") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ModelFormatError(f"{what}: not a PaddlePaddle 3 program (JSON: {exc})") from None
    base = document.get("base_code") if isinstance(document, dict) else None
    if not isinstance(base, dict) or base.get("magic") != _MAGIC:
        raise ModelFormatError(f"{what}: not a PaddlePaddle 3 program (no base_code with magic {_MAGIC!r})")
    version = base.get("version")
    if not _is_int(version) or version not in KNOWN_VERSIONS:
        raise ModelFormatError(
            f"{what}: PIR format version {version!r} is not one ptocr reads "
            f"({KNOWN_VERSIONS.start}–{KNOWN_VERSIONS.stop - 1}); a newer PaddlePaddle wrote it?"
        )
    reader = _Reader(what)
    program = document.get("program")
    if not isinstance(program, dict):
        raise reader.fail("no 'program' object")
    regions = reader.field(program, "regions", list, "program")
    if len(regions) != 1:
        raise reader.fail(f"the program has {len(regions)} top-level regions; PaddlePaddle writes one")
    reader.region(regions[0], 0, "region 0")
    return _summary(reader, version)


def _summary(reader: _Reader, version: int) -> PirProgram:
    if not reader.parameters:
        raise reader.fail("the program declares no parameters")
    if not reader.op_names:
        raise reader.fail("the program has no operators")
    quantisation = sorted({n for n in reader.op_names if "quantize" in n})
    if quantisation:
        raise reader.fail(f"quantised PIR programs ({', '.join(quantisation)}) are not supported")
    unstored = [name for name in reader.used if not reader.persistable[name]]
    if unstored:
        raise reader.fail(f"the ops read parameters that are not saved (not persistable): {', '.join(unstored[:5])}")
    # Parameters no op reads are left out: pruning for inference (`pir_prune_with_input` in pir_io.py) keeps
    # every `builtin.parameter` op, so a pruned branch's parameters may remain, saved but idle.
    return PirProgram(
        parameters=dict(reader.parameters),
        stored=stored_order([name for name, kept in reader.persistable.items() if kept]),
        use_order=tuple(reader.used),
        op_names=tuple(reader.op_names),
        version=version,
    )


def read_pir_program(path: Path) -> PirProgram:
    return parse_pir_program(read_bounded(path, MAX_PIR_PROGRAM_BYTES, "PaddlePaddle 3 program"), what=str(path))


def read_pir_inference(program_path: Path, params_path: Path) -> tuple[PirProgram, dict[str, np.ndarray]]:
    """The program and the weights its ops read, in the order they first read them."""
    program = read_pir_program(program_path)
    data = read_bounded(params_path, MAX_PARAMS_BYTES, "Paddle parameter")
    specs = [program.parameters[name] for name in program.stored]
    try:
        stored = read_tensor_stream(data, specs, what=str(params_path))
    except ModelFormatError as exc:
        raise ModelFormatError(
            f"{exc} ({params_path.name} must hold the {len(specs)} parameters {program_path.name} declares, "
            "sorted by name: is it this program's parameter file?)"
        ) from None
    return program, {name: stored[name] for name in program.use_order}
