"""Readers that turn model files into `WeightSet`s: parameter names → numpy arrays.

Nothing here knows about torch modules: `ptocr.models.mapping` places inference weights onto a module by
structure, `ptocr.models.checkpoint` places trained checkpoints by key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from ..errors import ModelFormatError
from .onnx_reader import read_onnx_weights
from .paddle import read_fluid_checkpoint, read_paddle_inference, read_paddle_variables, read_structured_names
from .paddlex_config import PADDLEX_CONFIG, PaddleXConfig, parse_paddlex_config, read_paddlex_config
from .pdparams import TRAINING_STATE_SUFFIXES, read_pdparams, refuse_training_state
from .pir import PirProgram, parse_pir_program, read_pir_inference
from .program import PaddleOp, PaddleProgram, TensorSpec, parse_program
from .quantisation import QuantisedWeight, split_quantisation
from .safe_pickle import safe_loads
from .safetensors_file import read_safetensors
from .tensor_stream import read_tensor_stream

#: "paddle-inference" and "onnx" are keyed by use order (placed by structure); "paddle-checkpoint" by
#: Paddle state-dict key (placed by `ptocr.models.checkpoint`'s rules); "safetensors" by torch key.
WeightFormat = Literal["paddle-inference", "onnx", "paddle-checkpoint", "safetensors"]

#: (program, combined parameters) file names: PaddlePaddle 2.x's, then fluid's (PaddleOCR 1.x: `model` +
#: `params`). A fluid program without a combined file (`__model__` or `model`) has one file per variable.
_COMBINED_LAYOUTS = (
    ("inference.pdmodel", "inference.pdiparams"),
    ("model.pdmodel", "model.pdiparams"),
    ("model", "params"),
    ("__model__", "__params__"),
)
_SEPARATE_PROGRAMS = ("__model__", "model")
#: PaddlePaddle 3's (PaddleOCR 3.x, PaddleX): a PIR program as JSON beside the same parameter stream, with
#: PaddleX's `inference.yml`.
_PIR_LAYOUT = ("inference.json", "inference.pdiparams")
_PADDLE_FILE_NAMES = frozenset(name for layout in (*_COMBINED_LAYOUTS, _PIR_LAYOUT) for name in layout)
#: Checkpoints PaddleOCR's trainer and its published `*_train.tar` archives hold, in the order looked for.
CHECKPOINT_NAMES = ("best_accuracy.pdparams", "student.pdparams", "model.pdparams")


@dataclass(frozen=True)
class WeightSet:
    """Weights read from a file. Inference formats list them in the order the network uses them (their
    names are not reliable); checkpoints and safetensors files in file order, keyed by state-dict key."""

    tensors: dict[str, np.ndarray]
    format: WeightFormat
    source: str
    program: PaddleProgram | None = None
    structured_names: dict[str, str] = field(default_factory=dict)
    #: The safetensors header metadata (`ptocr.convert` records the architecture there).
    metadata: Mapping[str, str] = field(default_factory=dict)
    #: A quantised Paddle program's quantisation, by weight name (its scales are not among `tensors`).
    quantisation: Mapping[str, QuantisedWeight] = field(default_factory=dict)
    #: PaddleX's `inference.yml` beside a PaddlePaddle 3 program, if there is one.
    config: PaddleXConfig | None = None

    def __len__(self) -> int:
        return len(self.tensors)


def _is_file_entry(path: Path) -> bool:
    """Whether `path` exists and is no folder. A FIFO or a device named like a model file counts, so that the
    bounded reader refuses it by name rather than the layout looking absent."""
    return path.exists() and not path.is_dir()


def _model_folder(path: Path) -> Path:
    """The folder a model is in: `path` itself, or the folder of a Paddle program or parameter file."""
    in_folder = path.suffix in (".pdmodel", ".pdiparams") or path.name in _PADDLE_FILE_NAMES
    in_folder = in_folder or path.name == PADDLEX_CONFIG
    return path.parent if _is_file_entry(path) and in_folder else path


def _paddle_folder_files(folder: Path) -> tuple[Path, Path | None] | None:
    """The program and combined parameter file of a Paddle inference folder (no parameter file: fluid's one
    file per variable), or None if it is no folder or holds no Paddle program."""
    if not folder.is_dir():
        return None
    for program_name, params_name in _COMBINED_LAYOUTS:
        program, params = folder / program_name, folder / params_name
        if _is_file_entry(program) and _is_file_entry(params):
            return program, params
    for program_name in _SEPARATE_PROGRAMS:
        if _is_file_entry(folder / program_name):
            return folder / program_name, None
    return None


def find_paddle_program(path: str | os.PathLike[str]) -> tuple[Path, Path | None]:
    """The program file and combined parameter file (None: fluid's one file per variable) of a Paddle
    inference model given as its folder or as one of its files, in every layout `read_weights` accepts."""
    path = Path(path)
    if not path.exists():
        raise ModelFormatError(f"{path}: no such file or folder")
    folder = _model_folder(path)
    files = _paddle_folder_files(folder)
    if files is None:
        pir = " (this is a PaddlePaddle 3 PIR program, inference.json: only its weights are read)"
        raise ModelFormatError(
            f"{path}: not a Paddle program: expected a folder with inference.pdmodel + inference.pdiparams, "
            "PaddleOCR 1.x's model + params, or __model__ (+ __params__ or one file per variable)"
            + (pir if _pir_program(path, folder) is not None else "")
        )
    return files


def _pir_program(path: Path, folder: Path) -> Path | None:
    """The PaddlePaddle 3 program `path` names: a `.json` file itself, or `inference.json` in `folder` when
    the folder holds no older program."""
    if path.suffix == ".json" and _is_file_entry(path):
        return path
    program = folder / _PIR_LAYOUT[0]
    return program if folder.is_dir() and _is_file_entry(program) else None


def _read_pir(program: Path, source: str) -> WeightSet:
    """A PaddlePaddle 3 model: the program, `<name>.pdiparams` beside it and PaddleX's `inference.yml` if
    there is one."""
    params = program.with_suffix(".pdiparams")
    if not _is_file_entry(params):
        raise ModelFormatError(f"{program}: no {params.name} beside it (PaddlePaddle 3 keeps the weights there)")
    _, tensors = read_pir_inference(program, params)
    config_path = program.with_name(PADDLEX_CONFIG)
    config = read_paddlex_config(config_path) if _is_file_entry(config_path) else None
    return WeightSet(tensors, "paddle-inference", source, config=config)


def _folder_checkpoint(folder: Path) -> Path | None:
    """The one trained checkpoint of a folder that holds no inference files, if there is one."""
    found = [folder / name for name in CHECKPOINT_NAMES if _is_file_entry(folder / name)]
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise ModelFormatError(f"{folder}: holds several checkpoints ({names}): pass the one to load")
    return found[0] if found else None


def read_weights(path: str | os.PathLike[str]) -> WeightSet:
    """Reads model weights from any of the files ptocr knows.

    - a Paddle inference folder (`inference.pdmodel` + `.pdiparams` [+ `.info`]) or its `.pdmodel`; PaddleOCR
      1.x's fluid folders too (`model` + `params`, or `__model__` + one file per variable);
    - a PaddlePaddle 3 inference folder (`inference.json` + `.pdiparams` [+ PaddleX's `inference.yml`,
      `WeightSet.config`]) or its `.json`;
    - an `.onnx` file;
    - a trained checkpoint `*.pdparams`, or a folder without inference files that holds exactly one of
      `best_accuracy.pdparams`, `student.pdparams`, `model.pdparams`; with a `.pdmodel` of the same name beside
      it, it is a fluid `save` (PaddleOCR 1.x's trained archives), placed by that program's structure;
    - a `.safetensors` file written by `ptocr.convert`.

    `.pdopt` / `.states` files are refused: they hold optimizer and training state, not weights.
    """
    path = Path(path)
    if not path.exists():
        raise ModelFormatError(f"{path}: no such file or folder")
    if _is_file_entry(path):
        refuse_training_state(path)
        if path.suffix == ".onnx":
            return WeightSet(read_onnx_weights(path), "onnx", str(path))
        if path.suffix == ".pdparams":
            return _read_checkpoint(path)
        if path.suffix == ".safetensors":
            tensors, metadata = read_safetensors(path)
            return WeightSet(tensors, "safetensors", str(path), metadata=metadata)
        if path.suffix == ".json":
            return _read_pir(path, str(path))
    folder = _model_folder(path)
    files = _paddle_folder_files(folder)
    pir = _pir_program(path, folder) if files is None else None
    if pir is not None:
        return _read_pir(pir, str(folder))
    if files is None:
        checkpoint = _folder_checkpoint(folder) if path.is_dir() else None
        if checkpoint is not None:
            return _read_checkpoint(checkpoint)
        state_files = (
            sorted(p.name for p in folder.iterdir() if p.suffix in TRAINING_STATE_SUFFIXES) if folder.is_dir() else []
        )
        hint = f" ({', '.join(state_files)} hold training state, not weights)" if state_files else ""
        raise ModelFormatError(
            f"{path}: not a model: expected a folder with inference.pdmodel + inference.pdiparams (or PaddleOCR "
            f"1.x's model + params, or PaddlePaddle 3's inference.json + inference.pdiparams), an .onnx, .pdparams "
            f"or .safetensors file{hint}"
        )
    program_path, params_path = files
    program, tensors = read_paddle_inference(program_path, params_path)
    info = params_path.with_name(params_path.name + ".info") if params_path is not None else None
    names = read_structured_names(info) if info is not None and _is_file_entry(info) else {}
    return _structural_weights(program, tensors, str(folder), names)


def _structural_weights(
    program: PaddleProgram, tensors: dict[str, np.ndarray], source: str, names: dict[str, str] | None = None
) -> WeightSet:
    try:
        weights, quantisation = split_quantisation(program, tensors)
    except ModelFormatError as exc:
        raise ModelFormatError(f"{source}: {exc}") from None
    return WeightSet(weights, "paddle-inference", source, program, names or {}, quantisation=quantisation)


def _read_checkpoint(path: Path) -> WeightSet:
    """A trained `.pdparams`: paddle 2.x's state dict by key, or, with fluid's `.pdmodel` beside it (PaddleOCR
    1.x's trained archives), fluid parameters placed by the training program's structure."""
    program_path = path.with_suffix(".pdmodel")
    if _is_file_entry(program_path):
        program, tensors = read_fluid_checkpoint(path, program_path)
        return _structural_weights(program, tensors, str(path))
    return WeightSet(read_pdparams(path), "paddle-checkpoint", str(path))


__all__ = [
    "CHECKPOINT_NAMES",
    "PaddleOp",
    "PaddleProgram",
    "PaddleXConfig",
    "PirProgram",
    "QuantisedWeight",
    "TensorSpec",
    "WeightSet",
    "find_paddle_program",
    "parse_paddlex_config",
    "parse_pir_program",
    "parse_program",
    "read_onnx_weights",
    "read_paddle_inference",
    "read_paddle_variables",
    "read_paddlex_config",
    "read_pdparams",
    "read_pir_inference",
    "read_safetensors",
    "read_structured_names",
    "read_tensor_stream",
    "read_weights",
    "safe_loads",
]
