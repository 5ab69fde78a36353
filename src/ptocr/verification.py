"""Structural check of downloaded model files that have no published sha256 (see `ptocr.store`).

The files must parse, hold the tensors their program declares, and map strictly (every tensor, every shape)
onto the architecture of the model they are said to be; a recogniser's head must fit its dictionary.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .errors import WeightsMismatchError
from .formats import read_weights
from .models import build_architecture, load_by_structure
from .zoo import ModelRecord


def check_model_files(record: ModelRecord, folder: Path) -> None:
    """Raises a PtocrError unless the Paddle inference files in ``folder`` are a working ``record`` model."""
    weights = read_weights(folder)
    kwargs: dict[str, int] = {}
    if record.task == "rec" and record.num_classes is not None:
        width = int(next(reversed(weights.tensors.values())).shape[-1])  # the CTC head's bias, used last
        if not record.accepts_head_width(width):
            raise WeightsMismatchError(
                f"{record.name}: the files' head has {width} classes, the dictionary gives {record.num_classes}"
            )
        kwargs["num_classes"] = width
    elif record.task == "cls" and record.labels:
        kwargs["num_classes"] = len(record.labels)
    model = build_architecture(record.architecture, deploy=True, **kwargs)
    load_by_structure(model, weights.tensors, torch.zeros(model.example_input_shape))
