"""A restricted unpickler for files that come from users (`.pdiparams.info`, `.pdparams`).

`pickle.load` executes whatever callables a file names, so a model file could run code. This reader
resolves only an allow-list of globals: none at all for plain containers, and numpy's array
reconstruction helpers where a format stores arrays. Anything else is refused before it is called.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

import numpy as np

from ..errors import ModelFormatError


def _numpy_reconstruct() -> Any:
    # numpy moved `core` to `_core` in 2.0; pickles written by either generation name one of them.
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]
    return _reconstruct


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BufferedIOBase, allow_numpy: bool) -> None:
        super().__init__(file)
        self._allow_numpy = allow_numpy

    def find_class(self, module: str, name: str) -> Any:
        if self._allow_numpy:
            if (module, name) in (("numpy.core.multiarray", "_reconstruct"),
                                  ("numpy._core.multiarray", "_reconstruct")):
                return _numpy_reconstruct()
            if (module, name) == ("numpy", "ndarray"):
                return np.ndarray
            if (module, name) == ("numpy", "dtype"):
                return np.dtype
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name}")

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("refusing persistent ids")


def safe_loads(data: bytes, *, allow_numpy: bool = False, what: str = "pickle") -> Any:
    """Unpickles `data` admitting only plain containers, strings, numbers (and numpy arrays if asked).

    Raises ModelFormatError for anything else, without calling any foreign code.
    """
    try:
        return _RestrictedUnpickler(io.BytesIO(data), allow_numpy).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            KeyError, MemoryError, OverflowError, UnicodeDecodeError) as exc:
        raise ModelFormatError(f"{what}: not a safe or valid pickle ({exc})") from None
