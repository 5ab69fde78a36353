"""Reads trained Paddle checkpoints: the `paddle.save(model.state_dict(), "*.pdparams")` pickle.

What paddle 2.x writes (python/paddle/framework/io.py, `_legacy_save` / `_pickle_save`):

- a dict `{structured_name: numpy array}` in the layer's `state_dict()` order, plus the entry
  `"StructuredToParameterName@@"` (structured name → Paddle variable name), which is not a weight;
- paddle 2.1's generic pickler writes a tensor as the tuple `(variable_name, array)` instead of the array;
- with pickle protocol 2 or 3 (paddle 2.0's default was 2), arrays over 2**30 bytes are split into
  `key@@.0`, `key@@.1`, … described by `"UnpackBigParamInfor@@"` (`OriginShape`, `slices`);
- `.pdopt` (optimizer moments, LR scheduler) and `.states` (epoch, best metric) sit beside it and are
  not weights.

The file is unpickled with the project's restricted unpickler: numpy arrays and plain containers only.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelFormatError
from .files import MAX_PDPARAMS_BYTES, element_count, read_bounded
from .safe_pickle import safe_loads

#: More entries than any network here has (the v4 server distillation checkpoints hold a few thousand).
MAX_ENTRIES = 100_000
_MAX_KEY_CHARS = 1_000

NAME_TABLE_KEY = "StructuredToParameterName@@"
SPLIT_INFO_KEY = "UnpackBigParamInfor@@"

#: Files PaddleOCR's trainer writes beside `*.pdparams` that hold no model weights.
TRAINING_STATE_SUFFIXES = {
    ".pdopt": "optimizer state (moments, learning-rate scheduler)",
    ".states": "training state (epoch, best metric)",
}
# Top-level keys of a paddle optimizer state_dict: a renamed `.pdopt` is recognised by them.
_OPTIMIZER_KEYS = ("LR_Scheduler", "master_weights")


def refuse_training_state(path: Path) -> None:
    """Raises ModelFormatError for a `.pdopt` / `.states` file, which holds no weights."""
    what = TRAINING_STATE_SUFFIXES.get(path.suffix)
    if what is not None:
        raise ModelFormatError(
            f"{path}: {path.suffix} files hold {what}, not model weights; ptocr ignores them: "
            f"pass the {path.with_suffix('.pdparams').name} beside it"
        )


def _sniff(data: bytes, path: Path) -> None:
    # paddle.save pickles with protocol 2…4; every such pickle starts with the PROTO opcode.
    if data[:2] == b"PK":
        raise ModelFormatError(f"{path}: a zip archive (a torch.save file?), not a paddle.save .pdparams pickle")
    if len(data) < 2 or data[0] != 0x80 or not 2 <= data[1] <= 5:
        raise ModelFormatError(f"{path}: not a paddle.save .pdparams file (no pickle protocol 2-5 header)")


def _as_array(key: str, value: Any, path: Path) -> np.ndarray:
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
        value = value[1]  # paddle 2.1 writes a tensor as (variable name, array)
    if not isinstance(value, np.ndarray):
        hint = ""
        if key in _OPTIMIZER_KEYS:
            hint = " (this looks like optimizer state, a .pdopt file, which holds no weights)"
        elif isinstance(value, Mapping):
            hint = " (a nested dict: not a plain model state_dict)"
        raise ModelFormatError(f"{path}: entry {key!r} is a {type(value).__name__}, not a tensor{hint}")
    if value.dtype.kind not in "biuf" or value.dtype.fields is not None or value.dtype.subdtype is not None:
        raise ModelFormatError(f"{path}: entry {key!r} has dtype {value.dtype}, not a plain numeric tensor")
    if not value.dtype.isnative:
        value = value.astype(value.dtype.newbyteorder("="))
    return value


def _join_split_arrays(entries: dict[str, Any], info: Any, path: Path) -> dict[str, Any]:
    """Undoes paddle's protocol-2/3 splitting; each joined tensor takes the place of its first slice."""
    if not isinstance(info, Mapping):
        raise ModelFormatError(f"{path}: {SPLIT_INFO_KEY} is a {type(info).__name__}, not a dict")
    first_slice: dict[str, str] = {}
    joined: dict[str, np.ndarray] = {}
    consumed: set[str] = set()
    for key, spec in info.items():
        slices = spec.get("slices") if isinstance(spec, Mapping) else None
        shape = spec.get("OriginShape") if isinstance(spec, Mapping) else None
        if (
            not isinstance(key, str)
            or not isinstance(slices, list | tuple)
            or not slices
            or not isinstance(shape, list | tuple)
            or not all(isinstance(d, int) and d >= 0 for d in shape)
        ):
            raise ModelFormatError(f"{path}: malformed {SPLIT_INFO_KEY} entry for {key!r}")
        parts = []
        for name in slices:
            if not isinstance(name, str) or name not in entries or name in consumed:
                raise ModelFormatError(f"{path}: split tensor {key!r} names a missing slice {name!r}")
            consumed.add(name)
            parts.append(_as_array(name, entries[name], path))
        if len({p.dtype for p in parts}) != 1 or any(p.ndim != 1 for p in parts):
            raise ModelFormatError(f"{path}: the slices of split tensor {key!r} are not 1-D arrays of one dtype")
        if sum(p.size for p in parts) != element_count(shape, f"{path}: split tensor {key!r}"):
            raise ModelFormatError(f"{path}: the slices of split tensor {key!r} do not add up to shape {list(shape)}")
        joined[key] = np.concatenate(parts).reshape(shape)
        first_slice[slices[0]] = key
    out: dict[str, Any] = {}
    for name, value in entries.items():
        if name in first_slice:
            out[first_slice[name]] = joined[first_slice[name]]
        elif name not in consumed:
            out[name] = value
    return out


def read_pdparams(path: str | Path) -> dict[str, np.ndarray]:
    """`{paddle state_dict key: array}` of a `.pdparams` file, in file order.

    Raises ModelFormatError (naming the file) for anything that is not a paddle.save state dict of numeric
    tensors, including `.pdopt` / `.states` files and pickles that name any callable beyond numpy's array
    reconstruction.
    """
    path = Path(path)
    refuse_training_state(path)
    # PP-OCR checkpoints are under 1 GB even with a distillation teacher and training-only heads.
    data = read_bounded(path, MAX_PDPARAMS_BYTES, "paddle checkpoint (.pdparams)")
    _sniff(data, path)
    # paddle.load unpickles with encoding="latin1" so that Python 2 era byte strings decode.
    loaded = safe_loads(data, allow_numpy=True, what=str(path), encoding="latin1")
    del data
    if not isinstance(loaded, dict):
        raise ModelFormatError(f"{path}: holds a {type(loaded).__name__}, not a state dict")
    if len(loaded) > MAX_ENTRIES:
        raise ModelFormatError(f"{path}: {len(loaded)} entries is more than any PP-OCR model has")
    entries = dict(loaded)
    name_table = entries.pop(NAME_TABLE_KEY, {})
    if not isinstance(name_table, Mapping):
        raise ModelFormatError(f"{path}: {NAME_TABLE_KEY} is a {type(name_table).__name__}, not a dict")
    if SPLIT_INFO_KEY in entries:
        entries = _join_split_arrays(entries, entries.pop(SPLIT_INFO_KEY), path)
    tensors: dict[str, np.ndarray] = {}
    for key, value in entries.items():
        if not isinstance(key, str) or not key or len(key) > _MAX_KEY_CHARS:
            raise ModelFormatError(f"{path}: a state dict key is not a (reasonable) string: {str(key)[:80]!r}")
        tensors[key] = _as_array(key, value, path)
    if not tensors:
        raise ModelFormatError(f"{path}: the state dict holds no tensors")
    return tensors
