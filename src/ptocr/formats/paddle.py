"""Reads a Paddle inference model folder (`inference.pdmodel` + `inference.pdiparams` [+ `.info`])."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ModelFormatError
from .program import PaddleProgram, parse_program
from .safe_pickle import safe_loads
from .tensor_stream import read_tensor_stream

_MAX_INFO_BYTES = 16 * 1024 * 1024


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ModelFormatError(f"{path}: cannot read ({exc.strerror or exc})") from None


def read_structured_names(path: Path) -> dict[str, str]:
    """`inference.pdiparams.info`: Paddle variable name → the layer path it had in the Python model."""
    data = _read_bytes(path)
    if len(data) > _MAX_INFO_BYTES:
        raise ModelFormatError(f"{path}: too large for a parameter info file")
    info = safe_loads(data, what=str(path))
    if not isinstance(info, dict):
        raise ModelFormatError(f"{path}: expected a dict, found {type(info).__name__}")
    names: dict[str, str] = {}
    for key, value in info.items():
        if isinstance(key, str) and isinstance(value, dict) and isinstance(value.get("structured_name"), str):
            names[key] = value["structured_name"]
    return names


def read_paddle_inference(program_path: Path, params_path: Path) -> tuple[PaddleProgram, dict[str, np.ndarray]]:
    """The program and its weights, ordered by first use in the program."""
    program = parse_program(_read_bytes(program_path), what=str(program_path))
    stored = read_tensor_stream(
        _read_bytes(params_path),
        [program.persistables[name] for name in program.stored_order()],
        what=str(params_path),
    )
    return program, {name: stored[name] for name in program.parameter_use_order()}
