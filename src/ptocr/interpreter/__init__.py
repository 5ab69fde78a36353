"""A Paddle program interpreter: any inference program of the supported op set, run by torch.

`load_program(path)` reads a Paddle inference model (2.x `inference.pdmodel` + `.pdiparams`, PaddleOCR 1.x
`model` + `params`, or fluid's `__model__` + one file per variable) and returns a `torch.fx.GraphModule`
that runs its main block op by op: forward takes the feeds (in the program's feed order) and returns the
fetches (one tensor, or a tuple; a fetched LoD tensor as `LoDTensor(values, lod)`). It is what the tests use
to cross-check every native ptocr module against the very program it was loaded from, and it runs Paddle
models outside ptocr's zoo. Programs it cannot run faithfully are refused with `UnsupportedProgramError`
(a `ModelFormatError`) that names the reason.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import torch
from torch import fx

from ..formats import PaddleProgram, find_paddle_program, read_paddle_variables
from .graph import build_graph_module
from .kernels import LoDTensor
from .ops import LOWERINGS


def supported_op_types() -> list[str]:
    """The Paddle op types the interpreter runs (feed and fetch are handled by the program reader)."""
    return sorted(LOWERINGS)


def build_program(
    program: PaddleProgram, tensors: Mapping[str, np.ndarray], *, device: torch.device | str | None = None
) -> fx.GraphModule:
    """The interpreter for a parsed program and its persistables keyed by Paddle variable name."""
    module = build_graph_module(program, tensors, LOWERINGS)
    return module.to(device) if device is not None else module


def load_program(path: str | os.PathLike[str], *, device: torch.device | str | None = None) -> fx.GraphModule:
    """Loads a Paddle inference model (its folder or one of its files) as a runnable torch module."""
    program, tensors = read_paddle_variables(*find_paddle_program(path))
    return build_program(program, tensors, device=device)


__all__ = ["LoDTensor", "build_program", "load_program", "supported_op_types"]
