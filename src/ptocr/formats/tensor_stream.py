"""Reader for Paddle's combined parameter stream (`inference.pdiparams`, v1.x `params`).

The file is the concatenation, in sorted-name order, of one serialized LoDTensor per persistable
variable: u32 version, u64 LoD level count and each level's bytes, u32 tensor version, i32 length of a
`TensorDesc` protobuf, the protobuf, then the raw little-endian data.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np
from google.protobuf.message import DecodeError

from ..errors import ModelFormatError
from . import paddle_framework_pb2 as pb
from .files import byte_size
from .program import TensorSpec, dtype_from_paddle

_MAX_DESC_BYTES = 1 << 16
_MAX_LOD_LEVELS = 8


class _Cursor:
    def __init__(self, data: memoryview, what: str) -> None:
        self.data = data
        self.pos = 0
        self.what = what

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            raise ModelFormatError(f"{self.what}: truncated at byte {self.pos} (wanted {n} more)")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str) -> int:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]


def _read_one(cursor: _Cursor, spec: TensorSpec) -> np.ndarray:
    where = f"{cursor.what}: tensor {spec.name!r}"
    version = cursor.unpack("<I")
    if version != 0:
        raise ModelFormatError(f"{where}: unknown LoDTensor version {version}")
    lod_levels = cursor.unpack("<Q")
    if lod_levels > _MAX_LOD_LEVELS:
        raise ModelFormatError(f"{where}: implausible LoD level count {lod_levels}")
    for _ in range(lod_levels):
        level_bytes = cursor.unpack("<Q")
        if level_bytes > cursor.remaining():
            raise ModelFormatError(f"{where}: a LoD level of {level_bytes} bytes, more than the file holds")
        cursor.take(level_bytes)
    tensor_version = cursor.unpack("<I")
    if tensor_version != 0:
        raise ModelFormatError(f"{where}: unknown tensor version {tensor_version}")
    desc_size = cursor.unpack("<i")
    if not 0 <= desc_size <= _MAX_DESC_BYTES:
        raise ModelFormatError(f"{where}: implausible descriptor size {desc_size}")
    try:
        desc = pb.VarType.TensorDesc.FromString(bytes(cursor.take(desc_size)))
    except (DecodeError, RuntimeError) as exc:
        raise ModelFormatError(f"{where}: bad tensor descriptor ({exc})") from None
    dtype = dtype_from_paddle(desc.data_type)
    shape = tuple(int(d) for d in desc.dims)
    # Before comparing with the program: the shapes of both may be hostile; sizes are exact Python ints.
    nbytes = byte_size(shape, dtype.itemsize, cursor.remaining(), where)
    if shape != spec.shape or dtype != spec.dtype:
        raise ModelFormatError(
            f"{where}: file holds {dtype}{list(shape)} but the program declares {spec.dtype}{list(spec.shape)}"
        )
    raw = cursor.take(nbytes)
    return np.frombuffer(raw, dtype=dtype.newbyteorder("<")).reshape(shape).astype(dtype, copy=True)


def read_tensor_stream(data: bytes, specs: Sequence[TensorSpec], *, what: str = "params") -> dict[str, np.ndarray]:
    """Reads one tensor per spec, in the given order, checking each against its declared shape/dtype."""
    cursor = _Cursor(memoryview(data), what)
    tensors = {spec.name: _read_one(cursor, spec) for spec in specs}
    if cursor.pos != len(data):
        raise ModelFormatError(f"{what}: {len(data) - cursor.pos} unexpected bytes after the last tensor")
    return tensors
