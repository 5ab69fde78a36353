"""Reader for Paddle's `ProgramDesc` protobuf (`inference.pdmodel`, v1.x `model`).

Only what ptocr needs is kept: the persistable variables (name, shape, dtype), and the op list of the
main block with each op's inputs, outputs and attributes. The op list is what lets weights be mapped
by structure — the order in which ops consume parameters — instead of by names, which differ between
PaddleOCR code generations for the very same network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from google.protobuf.message import DecodeError

from ..errors import ModelFormatError
from . import paddle_framework_pb2 as pb
from .files import MAX_PROGRAM_BYTES

_DTYPES: dict[int, np.dtype] = {
    pb.VarType.BOOL: np.dtype(np.bool_),
    pb.VarType.INT16: np.dtype(np.int16),
    pb.VarType.INT32: np.dtype(np.int32),
    pb.VarType.INT64: np.dtype(np.int64),
    pb.VarType.FP16: np.dtype(np.float16),
    pb.VarType.FP32: np.dtype(np.float32),
    pb.VarType.FP64: np.dtype(np.float64),
    pb.VarType.UINT8: np.dtype(np.uint8),
    pb.VarType.INT8: np.dtype(np.int8),
}

# Within one op, parameters are listed in the order a layer owns them (weight, bias, running mean,
# running variance) so that the consumption order lines up with a torch state dict.
_SLOT_RANK = {"Filter": 0, "W": 0, "Scale": 1, "Bias": 2, "Mean": 3, "Variance": 4, "X": 5, "Y": 6}

# Older exports list a parameter among an op's outputs too (batch_norm writes its running stats back);
# only inputs count as consumption.


def dtype_from_paddle(code: int) -> np.dtype:
    """numpy dtype for a Paddle `VarType.Type` code."""
    try:
        return _DTYPES[code]
    except KeyError:
        raise ModelFormatError(f"unsupported Paddle tensor data type code {code}") from None


@dataclass(frozen=True)
class TensorSpec:
    """A persistable variable of the program: what the parameter file must hold for it."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype


@dataclass(frozen=True)
class PaddleOp:
    type: str
    inputs: dict[str, tuple[str, ...]]
    outputs: dict[str, tuple[str, ...]]
    attrs: dict[str, Any] = field(default_factory=dict)
    #: Names of the attributes that point at a sub-block (control flow: `while`, `conditional_block`, ...).
    block_attrs: tuple[str, ...] = ()


@dataclass(frozen=True)
class PaddleProgram:
    ops: tuple[PaddleOp, ...]
    persistables: dict[str, TensorSpec]
    feed_names: tuple[str, ...]
    fetch_names: tuple[str, ...]
    #: How many blocks the program holds; only the main block (0) is read, more mean control flow.
    block_count: int = 1

    def stored_order(self) -> list[str]:
        """Names in the order `save_combine` wrote them to the parameter file: sorted."""
        return sorted(self.persistables)

    def parameter_use_order(self) -> list[str]:
        """Persistable names in the order the ops first consume them (roles ordered within an op).

        Raises ModelFormatError if a persistable variable is never used: a mapping by structure
        could not place it.
        """
        order: list[str] = []
        seen: set[str] = set()
        for op in self.ops:
            for slot in sorted(op.inputs, key=lambda s: (_SLOT_RANK.get(s, 9), s)):
                for name in op.inputs[slot]:
                    if name in self.persistables and name not in seen:
                        seen.add(name)
                        order.append(name)
        unused = sorted(set(self.persistables) - seen)
        if unused:
            raise ModelFormatError(f"program stores variables no op reads: {', '.join(unused[:5])}")
        return order

    def op_types(self) -> list[str]:
        return [op.type for op in self.ops]


class _NotText(ValueError):
    """A protobuf `string` field that held bytes which are not UTF-8."""


def _text(value: str | bytes) -> str:
    # protobuf hands a proto2 `string` field that is not valid UTF-8 back as bytes; Paddle writes only text.
    if not isinstance(value, str):
        raise _NotText(repr(value[:40]))
    return value


def _texts(values: Any) -> tuple[str, ...]:
    return tuple(_text(v) for v in values)


def _attr_value(attr: pb.OpDesc.Attr) -> Any:
    kind = attr.type
    if kind == pb.INT:
        return attr.i
    if kind == pb.FLOAT:
        return attr.f
    if kind == pb.STRING:
        return _text(attr.s)
    if kind == pb.INTS:
        return tuple(attr.ints)
    if kind == pb.FLOATS:
        return tuple(attr.floats)
    if kind == pb.STRINGS:
        return _texts(attr.strings)
    if kind == pb.BOOLEAN:
        return attr.b
    if kind == pb.BOOLEANS:
        return tuple(attr.bools)
    if kind == pb.LONG:
        return attr.l
    if kind == pb.LONGS:
        return tuple(attr.longs)
    if kind == pb.FLOAT64:
        return attr.float64
    if kind == pb.FLOAT64S:
        return tuple(attr.float64s)
    return None  # blocks, vars, scalars: not needed to read weights


def parse_program(data: bytes, *, what: str = "program") -> PaddleProgram:
    """Parses the bytes of a `.pdmodel` file. Raises ModelFormatError on anything malformed."""
    if len(data) > MAX_PROGRAM_BYTES:
        raise ModelFormatError(f"{what}: {len(data)} bytes is too large for a Paddle program")
    try:
        desc = pb.ProgramDesc.FromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise ModelFormatError(f"{what}: not a Paddle program (protobuf: {exc})") from None
    if not desc.blocks:
        raise ModelFormatError(f"{what}: not a Paddle program (no blocks)")
    try:
        persistables, ops, feeds, fetches = _read_main_block(desc.blocks[0])
    except _NotText as exc:
        raise ModelFormatError(f"{what}: not a Paddle program (a name or string is not UTF-8: {exc})") from None
    if not ops:
        raise ModelFormatError(f"{what}: the program has no operators")
    if not persistables:
        raise ModelFormatError(f"{what}: the program declares no weights")
    return PaddleProgram(tuple(ops), persistables, tuple(feeds), tuple(fetches), len(desc.blocks))


def _read_main_block(
    block: pb.BlockDesc,
) -> tuple[dict[str, TensorSpec], list[PaddleOp], list[str], list[str]]:
    """The persistables, ops (without feed/fetch), feed and fetch names of a block; `_NotText` for a name that
    is not UTF-8."""
    persistables: dict[str, TensorSpec] = {}
    for var in block.vars:
        if not var.persistable or var.type.type != pb.VarType.LOD_TENSOR:
            continue  # feed/fetch holders are persistable but hold no weights
        tensor = var.type.lod_tensor.tensor
        name = _text(var.name)
        persistables[name] = TensorSpec(name, tuple(int(d) for d in tensor.dims), dtype_from_paddle(tensor.data_type))
    ops: list[PaddleOp] = []
    feeds: list[str] = []
    fetches: list[str] = []
    for op in block.ops:
        inputs = {_text(v.parameter): _texts(v.arguments) for v in op.inputs}
        outputs = {_text(v.parameter): _texts(v.arguments) for v in op.outputs}
        op_type = _text(op.type)
        if op_type == "feed":
            feeds.extend(outputs.get("Out", ()))
            continue
        if op_type == "fetch":
            fetches.extend(inputs.get("X", ()))
            continue
        blocks = tuple(_text(a.name) for a in op.attrs if a.type in (pb.BLOCK, pb.BLOCKS))
        ops.append(PaddleOp(op_type, inputs, outputs, {_text(a.name): _attr_value(a) for a in op.attrs}, blocks))
    return persistables, ops, feeds, fetches
