"""Readers that turn model files into `WeightSet`s: Paddle parameter names → numpy arrays.

Nothing here knows about torch modules; `ptocr.models.mapping` places a WeightSet onto a module.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from ..errors import ModelFormatError
from .onnx_reader import read_onnx_weights
from .paddle import read_paddle_inference, read_structured_names
from .program import PaddleOp, PaddleProgram, TensorSpec, parse_program
from .safe_pickle import safe_loads
from .tensor_stream import read_tensor_stream

WeightFormat = Literal["paddle-inference", "onnx"]

_PROGRAM_NAMES = ("inference.pdmodel", "model.pdmodel")


@dataclass(frozen=True)
class WeightSet:
    """Weights read from a file, in the order the network uses them (its structure, not its names)."""

    tensors: dict[str, np.ndarray]
    format: WeightFormat
    source: str
    program: PaddleProgram | None = None
    structured_names: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.tensors)


def _paddle_folder_files(folder: Path) -> tuple[Path, Path] | None:
    for program_name in _PROGRAM_NAMES:
        program = folder / program_name
        params = program.with_suffix(".pdiparams")
        if program.is_file() and params.is_file():
            return program, params
    return None


def read_weights(path: str | os.PathLike[str]) -> WeightSet:
    """Reads a Paddle inference folder (or its `.pdmodel`), or an `.onnx` file."""
    path = Path(path)
    if not path.exists():
        raise ModelFormatError(f"{path}: no such file or folder")
    if path.is_file() and path.suffix == ".onnx":
        return WeightSet(read_onnx_weights(path), "onnx", str(path))
    folder = path.parent if path.is_file() and path.suffix in (".pdmodel", ".pdiparams") else path
    files = _paddle_folder_files(folder) if folder.is_dir() else None
    if files is None:
        if path.suffix == ".pdparams":
            raise ModelFormatError(f"{path}: trained checkpoints (.pdparams) are not supported yet")
        raise ModelFormatError(
            f"{path}: not a model: expected a folder with inference.pdmodel + inference.pdiparams, or an .onnx file"
        )
    program_path, params_path = files
    program, tensors = read_paddle_inference(program_path, params_path)
    info = params_path.with_name(params_path.name + ".info")
    names = read_structured_names(info) if info.is_file() else {}
    return WeightSet(tensors, "paddle-inference", str(folder), program, names)


__all__ = [
    "PaddleOp",
    "PaddleProgram",
    "TensorSpec",
    "WeightSet",
    "parse_program",
    "read_onnx_weights",
    "read_paddle_inference",
    "read_structured_names",
    "read_tensor_stream",
    "read_weights",
    "safe_loads",
]
