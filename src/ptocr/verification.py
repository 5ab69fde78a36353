"""Structural check of downloaded model files that have no published sha256 (see `ptocr.store`).

The files must parse, hold the tensors their program declares, and map strictly (every tensor, every shape)
onto the architecture of the model they are said to be; a recogniser's head must fit its dictionary.
"""

from __future__ import annotations

from pathlib import Path

from .factory import architecture_kwargs, load_weight_set
from .formats import read_weights
from .zoo import ModelRecord


def check_model_files(record: ModelRecord, folder: Path) -> None:
    """Raises a PtocrError unless the Paddle inference files in ``folder`` are a working ``record`` model."""
    load_weight_set(record.architecture, architecture_kwargs(record), record, read_weights(folder))
