"""Reads `.safetensors` files written by `ptocr.convert`: torch state-dict keys → arrays, plus metadata.

safetensors holds raw little-endian tensors behind a JSON header and runs no code; the reader still bounds
the file size and turns every failure into a ModelFormatError naming the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ModelFormatError

#: Far above any PP-OCR model (the largest, v4 server rec, is ~100 MB in float32).
MAX_SAFETENSORS_BYTES = 4 * 1024**3


def read_safetensors(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """`({key: array}, metadata)` of a safetensors file."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ModelFormatError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if size > MAX_SAFETENSORS_BYTES:
        raise ModelFormatError(f"{path}: {size} bytes is larger than any PP-OCR model (limit {MAX_SAFETENSORS_BYTES})")
    try:
        from safetensors import SafetensorError, safe_open
    except ImportError:  # pragma: no cover - a declared dependency
        raise ModelFormatError(f"{path}: reading .safetensors files needs the 'safetensors' package") from None
    try:
        with safe_open(str(path), framework="numpy") as handle:
            metadata = dict(handle.metadata() or {})
            tensors = {key: np.array(handle.get_tensor(key)) for key in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError, TypeError) as exc:
        raise ModelFormatError(f"{path}: not a valid safetensors file ({exc})") from None
    if not tensors:
        raise ModelFormatError(f"{path}: holds no tensors")
    return tensors, metadata
