"""A restricted unpickler for files that come from users (`.pdiparams.info`, `.pdparams`).

`pickle.load` executes whatever callables a file names, so a model file could run code. This reader
resolves only an allow-list of globals, each replaced by a checked stand-in where the real callable would
accept more than the formats need:

- always: `_codecs.encode`, restricted to latin-1 text → bytes (how Python 3 writes `bytes` under
  pickle protocol 2, which paddle 2.0 used by default);
- with `allow_numpy`: numpy's array reconstruction (`_reconstruct` only as numpy itself calls it, and
  `dtype` only for plain bool/int/float types), plus the two container callables `paddle.save` emits
  outside a plain state dict (`tuple` for its `(name, array)` tensor form, `collections.OrderedDict`).

Anything else is refused before it is called.
"""

from __future__ import annotations

import collections
import io
import pickle
import re
import struct
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from ..errors import ModelFormatError
from .files import element_count

#: numpy type strings of plain numeric arrays (bool, signed/unsigned int, float): object, string, void
#: (structured) and complex types are never needed for weights and are refused.
_NUMERIC_DTYPE = re.compile(r"[biuf][1248]")


def _numpy_reconstruct() -> Callable[..., Any]:
    # numpy moved `core` to `_core` in 2.0; pickles written by either generation name one of them.
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]
    return _reconstruct


def _checked_reconstruct(subtype: Any, shape: Any, typecode: Any) -> np.ndarray:
    """numpy's `ndarray.__reduce__` always writes `_reconstruct(ndarray, (0,), b'b')` and then sets the real
    shape, dtype and bytes with `__setstate__` (which checks the byte count). Any other call could allocate
    an arbitrary amount of memory or build a subclass, so it is refused."""
    if subtype is not np.ndarray or tuple(shape) != (0,) or typecode not in (b"b", "b"):
        raise pickle.UnpicklingError("refusing an unusual numpy array reconstruction")
    return _numpy_reconstruct()(np.ndarray, (0,), b"b")


def _checked_dtype(spec: Any, align: Any = False, copy: Any = True) -> np.dtype:
    del align, copy
    if not isinstance(spec, str) or not _NUMERIC_DTYPE.fullmatch(spec):
        raise pickle.UnpicklingError(f"refusing numpy dtype {spec!r}: only plain numeric arrays are accepted")
    # Always a private copy: the pickle's BUILD step then sets its byte order with `__setstate__`, which
    # must never reach numpy's shared built-in dtype objects.
    return np.dtype(spec, copy=True)


def _latin1_encode(text: Any, encoding: Any = "utf-8") -> bytes:
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("refusing _codecs.encode other than the latin-1 form of pickled bytes")
    return text.encode("latin1")


_ALWAYS: dict[tuple[str, str], Callable[..., Any]] = {("_codecs", "encode"): _latin1_encode}
_NUMPY: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _checked_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _checked_reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _checked_dtype,
    # A protocol-2 pickle names Python 2's module; the C unpickler hands `find_class` the raw name.
    ("builtins", "tuple"): tuple,
    ("__builtin__", "tuple"): tuple,
    ("collections", "OrderedDict"): collections.OrderedDict,
}


# The pure-Python unpickler, not the C one: the C unpickler's memo is an array sized by the largest index a
# pickle names (one LONG_BINPUT of 10**9 allocates and clears gigabytes: found by fuzzing), and it allocates a
# bytes object of the declared length before reading it; the Python one keeps its memo in a dict and reads
# what is there. paddle's pickles hold few, large objects, so its speed does not matter.
class _RestrictedUnpickler(pickle._Unpickler):  # type: ignore[name-defined]
    def __init__(self, file: io.BufferedIOBase, allow_numpy: bool, encoding: str) -> None:
        super().__init__(file, encoding=encoding)
        self._allow_numpy = allow_numpy

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALWAYS:
            return _ALWAYS[module, name]
        if self._allow_numpy and (module, name) in _NUMPY:
            return _NUMPY[module, name]
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name}")

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("refusing persistent ids")

    def _checked_build(self) -> None:
        """BUILD (`obj.__setstate__(state)`) only for what numpy's own pickles build, with the state numpy
        writes: numpy's `__setstate__` trusts it (a malformed dtype state made it fail with a SystemError,
        found by fuzzing)."""
        state = self.stack[-1]
        target = self.stack[-2] if len(self.stack) > 1 else None
        if isinstance(target, np.dtype):
            _check_dtype_state(state)
        elif isinstance(target, np.ndarray):
            _check_array_state(state)
        else:
            raise pickle.UnpicklingError(f"refusing to set the state of a {type(target).__name__}")
        pickle._Unpickler.dispatch[pickle.BUILD[0]](self)  # type: ignore[attr-defined]

    dispatch: ClassVar[dict[int, Callable[..., None]]] = {
        **pickle._Unpickler.dispatch,  # type: ignore[attr-defined]
        pickle.BUILD[0]: _checked_build,
    }


def _check_dtype_state(state: Any) -> None:
    # What numpy ≥ 1.7 writes for a plain numeric dtype: (3, byte order, None, None, None, -1, -1, 0).
    if not (
        isinstance(state, tuple)
        and len(state) == 8
        and state[0] == 3
        and state[1] in ("<", ">", "|", "=")
        and state[2:5] == (None, None, None)
        and state[5:] == (-1, -1, 0)
    ):
        raise pickle.UnpicklingError(f"refusing an unusual numpy dtype state {str(state)[:80]}")


def _check_array_state(state: Any) -> None:
    # (version 1, shape, dtype, Fortran order, raw bytes of exactly shape × itemsize).
    if not (isinstance(state, tuple) and len(state) == 5 and state[0] == 1):
        raise pickle.UnpicklingError("refusing an unusual numpy array state")
    _version, shape, dtype, fortran, raw = state
    if not (
        isinstance(shape, tuple)
        and all(type(d) is int for d in shape)
        and isinstance(dtype, np.dtype)
        and type(fortran) is bool
        and isinstance(raw, bytes)
    ):
        raise pickle.UnpicklingError("refusing an unusual numpy array state")
    try:
        count = element_count(shape, "array")
    except ModelFormatError as exc:
        raise pickle.UnpicklingError(str(exc)) from None
    if count * dtype.itemsize != len(raw):
        raise pickle.UnpicklingError(f"array of shape {list(shape)} with {len(raw)} bytes of data")


def safe_loads(data: bytes, *, allow_numpy: bool = False, what: str = "pickle", encoding: str = "ASCII") -> Any:
    """Unpickles `data` admitting only plain containers, strings, numbers (and numpy arrays if asked).

    `encoding` decodes Python 2 `str` objects (paddle reads its files with "latin1"). Raises
    ModelFormatError for anything else, without calling any foreign code.
    """
    try:
        return _RestrictedUnpickler(io.BytesIO(data), allow_numpy, encoding).load()
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        AttributeError,
        IndexError,
        KeyError,
        MemoryError,
        OverflowError,
        RecursionError,
        UnicodeDecodeError,
        struct.error,  # the pure-Python unpickler's reading of a truncated size field
    ) as exc:
        raise ModelFormatError(f"{what}: not a safe or valid pickle ({exc})") from None
