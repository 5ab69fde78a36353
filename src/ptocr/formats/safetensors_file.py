"""Reads `.safetensors` files written by `ptocr.convert`: torch state-dict keys → arrays, plus metadata.

safetensors holds raw little-endian tensors behind a JSON header and runs no code. The file is read here, not
by the `safetensors` package, so that it passes through the same bounded reading as every other model file and
every check is ptocr's own: the header length, every entry's dtype, shape and byte range (which must tile the
data exactly, as the format requires), before numpy sees a byte.

Layout: u64 little-endian header length N, N bytes of JSON `{name: {"dtype", "shape", "data_offsets": [begin,
end]}, "__metadata__": {str: str}}`, then the data; offsets count from the end of the header.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelFormatError
from .files import MAX_SAFETENSORS_BYTES, MAX_SAFETENSORS_HEADER_BYTES, byte_size, read_bounded

#: safetensors dtype names numpy holds exactly (bfloat16 and the float8 types have no numpy dtype).
_DTYPES = {
    "BOOL": np.dtype(np.bool_),
    "U8": np.dtype(np.uint8),
    "I8": np.dtype(np.int8),
    "U16": np.dtype("<u2"),
    "I16": np.dtype("<i2"),
    "U32": np.dtype("<u4"),
    "I32": np.dtype("<i4"),
    "U64": np.dtype("<u8"),
    "I64": np.dtype("<i8"),
    "F16": np.dtype("<f2"),
    "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"),
}
_METADATA_KEY = "__metadata__"


def read_safetensors(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """`({key: array}, metadata)` of a safetensors file."""
    data = read_bounded(path, MAX_SAFETENSORS_BYTES, "safetensors")
    return safetensors_from_bytes(data, what=str(Path(path)))


def _invalid(what: str, why: str) -> ModelFormatError:
    return ModelFormatError(f"{what}: not a valid safetensors file ({why})")


def _parse_header(data: bytes, what: str) -> tuple[dict[str, Any], int]:
    if len(data) < 8:
        raise _invalid(what, f"{len(data)} bytes, shorter than the header length field")
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len > MAX_SAFETENSORS_HEADER_BYTES or header_len > len(data) - 8:
        raise _invalid(what, f"a header of {header_len} bytes in a file of {len(data)}")
    try:
        header = json.loads(data[8 : 8 + header_len].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _invalid(what, f"the header is not JSON: {exc}") from None
    if not isinstance(header, dict):
        raise _invalid(what, "the header is not a JSON object")
    return header, 8 + header_len


def safetensors_from_bytes(data: bytes, *, what: str = "safetensors") -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """`read_safetensors` for the bytes of a file; `what` names it in errors."""
    header, start = _parse_header(data, what)
    metadata = header.pop(_METADATA_KEY, None) or {}
    strings = isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())
    if not strings:
        raise _invalid(what, "__metadata__ is not a map of strings to strings")
    body = len(data) - start
    ranges: list[tuple[int, int, str]] = []
    for name, entry in header.items():
        where = f"{what}: tensor {name!r}"
        if not isinstance(entry, dict):
            raise _invalid(what, f"the entry of {name!r} is not an object")
        dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if not isinstance(dtype, str) or dtype not in _DTYPES:
            raise _invalid(what, f"tensor {name!r} has dtype {dtype!r}, not one of {', '.join(_DTYPES)}")
        if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) for d in shape):
            raise _invalid(what, f"tensor {name!r} has no list of integer dimensions")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
            or not 0 <= offsets[0] <= offsets[1] <= body
        ):
            raise _invalid(what, f"tensor {name!r} has data offsets {offsets!r} outside the file's {body} data bytes")
        if byte_size(shape, _DTYPES[dtype].itemsize, body, where) != offsets[1] - offsets[0]:
            raise _invalid(what, f"tensor {name!r}: shape {shape} does not fit its {offsets[1] - offsets[0]} bytes")
        ranges.append((offsets[0], offsets[1], name))
    # The format requires the tensors to tile the data: no gaps, no overlaps, nothing after the last.
    position = 0
    for begin, end, name in sorted(ranges):
        if begin != position:
            raise _invalid(what, f"tensor {name!r} starts at data byte {begin}, expected {position}")
        position = end
    if position != body:
        raise _invalid(what, f"{body - position} data bytes belong to no tensor")
    tensors: dict[str, np.ndarray] = {}
    for name, entry in header.items():
        dtype = _DTYPES[entry["dtype"]]
        begin, end = entry["data_offsets"]
        array = np.frombuffer(data, dtype=dtype, count=(end - begin) // dtype.itemsize, offset=start + begin)
        tensors[name] = array.reshape(entry["shape"]).astype(dtype.newbyteorder("="), copy=True)
    if not tensors:
        raise ModelFormatError(f"{what}: holds no tensors")
    return tensors, metadata
