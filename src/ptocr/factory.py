"""`create_model` / `list_models`: zoo names → networks with their published weights loaded.

Weights flow file → store → formats (name → array) → models.mapping (structure, strict) → module.
"""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import nn

from .errors import UnknownModelError
from .formats import read_weights
from .models import build_architecture, list_architectures, load_by_structure
from .store import ModelStore
from .zoo import ModelRecord, get_record, list_records


def list_models() -> list[str]:
    """Names of the published models ptocr knows (see `ptocr.zoo`), sorted."""
    return list_records()


def _architecture_kwargs(record: ModelRecord) -> dict[str, Any]:
    if record.task == "rec":
        return {"num_classes": record.num_classes}
    if record.task == "cls" and record.labels:
        return {"num_classes": len(record.labels)}
    return {}


def create_model(
    name: str,
    weights: str | os.PathLike[str] | None = None,
    *,
    store: ModelStore | None = None,
) -> nn.Module:
    """A network in eval mode, ready for inference.

    `name` is a zoo model (`list_models()`) or a bare architecture (`ptocr.models.list_architectures()`).
    `weights` is a Paddle inference folder (`inference.pdmodel` + `.pdiparams`), its `.pdmodel`, or an
    `.onnx` export; `None` takes a zoo model's published weights from the model store (fetched and
    verified on first use) and leaves a bare architecture randomly initialised.

    `forward(x)` takes the pre-processed float32 N×3×H×W batch and returns what PaddlePaddle's inference
    program returns: det N×1×H×W probabilities, rec N×T×C softmax probabilities, cls N×2 probabilities.
    """
    record: ModelRecord | None = None
    if name in list_records():
        record = get_record(name)
        architecture, kwargs = record.architecture, _architecture_kwargs(record)
    elif name in list_architectures():
        architecture, kwargs = name, {}
    else:
        get_record(name)  # raises UnknownModelError with close matches
        raise UnknownModelError(f"unknown model {name!r}")
    # Published inference files hold re-parameterised (fused) layers, so the deploy form is built.
    model = build_architecture(architecture, deploy=True, **kwargs)
    if weights is None and record is not None:
        weights = (store or ModelStore()).path(record.name, "paddle")
    if weights is not None:
        weight_set = read_weights(weights)
        load_by_structure(model, weight_set.tensors, torch.zeros(model.example_input_shape))
    return model.eval()
