"""Reads Paddle inference models: a program (`ProgramDesc` protobuf) and its persistable tensors.

Three layouts hold the same two things. PaddlePaddle 2.x writes `inference.pdmodel` + `inference.pdiparams`
(+ `.pdiparams.info`); PaddleOCR 1.x exported fluid's `model` + `params` (the same protobuf and the same combined
tensor stream); older fluid saves wrote `__model__` and one file per persistable variable, named after it.

PaddleOCR 1.x's *trained* archives are fluid's `save`: `best_accuracy.pdparams` (a pickle of the parameters by
fluid variable name), `.pdopt` (optimizer state) and `.pdmodel` (the training program, forward ops first). Its
parameters are the inference program's, under the same names, so they are ordered by the training program's
forward pass and placed by structure like an inference model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ModelFormatError
from .files import MAX_INFO_BYTES, MAX_PARAMS_BYTES, MAX_PROGRAM_BYTES, element_count, read_bounded
from .pdparams import read_pdparams
from .program import PaddleProgram, TensorSpec, parse_program
from .safe_pickle import safe_loads
from .tensor_stream import read_tensor_stream

#: A tensor record's headers (versions, LoD levels, the `TensorDesc` protobuf) take less than this.
_RECORD_SLACK_BYTES = 1024**2


def _read_program(path: Path) -> PaddleProgram:
    return parse_program(read_bounded(path, MAX_PROGRAM_BYTES, "Paddle program"), what=str(path))


def read_structured_names(path: Path) -> dict[str, str]:
    """`inference.pdiparams.info`: Paddle variable name → the layer path it had in the Python model."""
    data = read_bounded(path, MAX_INFO_BYTES, "parameter info")
    info = safe_loads(data, what=str(path))
    if not isinstance(info, dict):
        raise ModelFormatError(f"{path}: expected a dict, found {type(info).__name__}")
    names: dict[str, str] = {}
    for key, value in info.items():
        if isinstance(key, str) and isinstance(value, dict) and isinstance(value.get("structured_name"), str):
            names[key] = value["structured_name"]
    return names


def read_paddle_inference(
    program_path: Path, params_path: Path | None
) -> tuple[PaddleProgram, dict[str, np.ndarray]]:
    """The program and its weights, ordered by first use in the program.

    `params_path` is the combined tensor stream; `None` reads one file per persistable variable from the
    program's folder instead (fluid's layout without `params_filename`).
    """
    program, stored = read_paddle_variables(program_path, params_path)
    return program, {name: stored[name] for name in program.parameter_use_order()}


def read_paddle_variables(
    program_path: Path, params_path: Path | None
) -> tuple[PaddleProgram, dict[str, np.ndarray]]:
    """The program and its weights keyed by their Paddle variable names (what the program's ops name), in
    stored (sorted) order. `params_path` as for `read_paddle_inference`."""
    program = _read_program(program_path)
    specs = [program.persistables[name] for name in program.stored_order()]
    if params_path is not None:
        data = read_bounded(params_path, MAX_PARAMS_BYTES, "Paddle parameter")
        stored = read_tensor_stream(data, specs, what=str(params_path))
    else:
        stored = {}
        budget = MAX_PARAMS_BYTES  # the variables together are bounded like one combined file
        for spec in specs:
            path = _variable_file(program_path, spec.name)
            data = read_bounded(path, min(budget, _variable_file_limit(spec, str(path))), "Paddle variable")
            budget -= len(data)
            stored.update(read_tensor_stream(data, [spec], what=str(path)))
    return program, stored


def _variable_file_limit(spec: TensorSpec, what: str) -> int:
    """The most bytes a one-variable file can hold: the declared tensor plus its record's headers."""
    return element_count(spec.shape, f"{what}: tensor {spec.name!r}") * spec.dtype.itemsize + _RECORD_SLACK_BYTES


def _variable_file(program_path: Path, name: str) -> Path:
    """The file fluid saved variable `name` to, beside the program; names that would leave the folder are
    refused."""
    folder = program_path.parent
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise ModelFormatError(f"{folder}: the program names a variable {name!r} that cannot be a file name")
    path = folder / name
    if not path.exists():
        raise ModelFormatError(
            f"{folder}: no parameter file beside {program_path.name} (params, __params__ or .pdiparams), and no "
            f"file for the program's variable {name!r} either (fluid's layout of one file per variable)"
        )
    return path


def read_fluid_checkpoint(params_path: Path, program_path: Path) -> tuple[PaddleProgram, dict[str, np.ndarray]]:
    """The training program of a fluid `save` and its parameters, ordered by first use in the program.

    Every entry of the `.pdparams` pickle (read with the restricted unpickler) must be a persistable variable of
    the program with the declared shape; the program's other persistables (optimizer moments, learning rate,
    in the `.pdopt` file) are not weights and are left out.
    """
    program = _read_program(program_path)
    tensors = read_pdparams(params_path)
    strangers = [name for name in tensors if name not in program.persistables]
    if strangers:
        raise ModelFormatError(
            f"{params_path}: holds {', '.join(strangers[:5])}, which {program_path.name} does not declare: "
            "not the parameters of this program"
        )
    for name, array in tensors.items():
        declared = program.persistables[name].shape
        if tuple(array.shape) != declared:
            raise ModelFormatError(
                f"{params_path}: {name!r} has shape {list(array.shape)}, but {program_path.name} declares "
                f"{list(declared)}"
            )
    order = [name for name in program.parameter_use_order() if name in tensors]
    return program, {name: tensors[name] for name in order}
