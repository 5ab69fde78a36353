"""`create_model` / `list_models`: zoo names → networks with their published weights loaded.

Weights flow file → store → formats (name → array) → models (placed strictly) → module. Inference files
(Paddle, ONNX) are placed by structure (`models.mapping`), trained checkpoints by key with explicit rules
(`models.checkpoint`), and `ptocr.convert`'s safetensors files by torch key.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from typing import Any

import numpy as np
import torch
from torch import nn

from .errors import ModelFormatError, UnknownModelError, WeightsMismatchError
from .formats import QuantisedWeight, WeightSet, read_weights
from .models import adopt_source_widths, build_architecture, list_architectures, load_by_structure
from .models.checkpoint import load_checkpoint_state, load_trained_checkpoint
from .models.quantisation import LayerQuantisation, quantise_layers
from .pipeline.ctc import CTCDecoder
from .store import ModelStore
from .zoo import ModelRecord, get_record, list_records

#: safetensors metadata keys written by `ptocr.convert` and checked on loading.
META_ARCHITECTURE = "ptocr.architecture"
META_KWARGS = "ptocr.architecture_kwargs"


def list_models(*, task: str | None = None, lang: str | None = None, version: str | None = None) -> list[str]:
    """Names of the published models ptocr knows (see `ptocr.zoo`), sorted.

    `task` ("det", "rec", "cls"), `lang` (PaddleOCR's language code, e.g. "ch", "en", "latin", "ml") and
    `version` ("PP-OCR", "PP-OCRv2", "PP-OCRv3", "PP-OCRv4") filter the list.
    """
    return list_records(task=task, lang=lang, version=version)


def architecture_kwargs(record: ModelRecord) -> dict[str, Any]:
    """The builder arguments a zoo model needs beyond its architecture name (its class count)."""
    if record.task == "rec":
        return {"num_classes": record.num_classes}
    if record.task == "cls" and record.labels:
        return {"num_classes": len(record.labels)}
    return {}


def resolve_model_name(name: str) -> tuple[str, dict[str, Any], ModelRecord | None]:
    """`(architecture, builder kwargs, zoo record or None)` of a zoo model or bare architecture name."""
    if name in list_records():
        record = get_record(name)
        return record.architecture, architecture_kwargs(record), record
    if name in list_architectures():
        return name, {}, None
    get_record(name)  # raises UnknownModelError with close matches
    raise UnknownModelError(f"unknown model {name!r}")


def _safetensors_architecture(
    weight_set: WeightSet, architecture: str, kwargs: dict[str, Any], record: ModelRecord | None
) -> dict[str, Any]:
    """Checks a converted file was made for `architecture`; the builder kwargs to use."""
    stored = weight_set.metadata.get(META_ARCHITECTURE)
    if stored is None:
        raise ModelFormatError(
            f"{weight_set.source}: no {META_ARCHITECTURE} in its metadata: not written by ptocr.convert"
        )
    if stored != architecture:
        raise WeightsMismatchError(
            f"{weight_set.source}: holds weights of architecture {stored!r}, not {architecture!r}"
        )
    try:
        stored_kwargs = json.loads(weight_set.metadata.get(META_KWARGS, "{}"))
    except json.JSONDecodeError:
        stored_kwargs = None
    if not isinstance(stored_kwargs, dict):
        raise ModelFormatError(f"{weight_set.source}: malformed {META_KWARGS} metadata")
    if record is None:
        return stored_kwargs  # a bare architecture name: the file says how it was configured
    if stored_kwargs != kwargs:
        raise WeightsMismatchError(
            f"{weight_set.source}: was converted with {stored_kwargs}, but {record.name} needs {kwargs}"
        )
    return kwargs


def _fit_recogniser_head(record: ModelRecord, kwargs: dict[str, Any], weight_set: WeightSet) -> dict[str, Any]:
    """The builder kwargs for the class count the inference files hold, if the record's dictionary fits it.

    A CTC head's bias is the last tensor an inference program uses, so its length is the class count. A
    mismatch means the files are of another recogniser (or another dictionary): say so with both counts.
    """
    width = int(np.prod(next(reversed(weight_set.tensors.values())).shape))
    if not record.accepts_head_width(width):
        space = " + space" if record.use_space_char else ""
        raise WeightsMismatchError(
            f"{weight_set.source}: the recognition head has {width} classes, but {record.name}'s dictionary "
            f"{record.dictionary} gives {record.num_classes} (blank + characters{space}): "
            "these are weights of another recogniser"
        )
    return {**kwargs, "num_classes": width}


def _check_config_dictionary(record: ModelRecord, weight_set: WeightSet) -> None:
    """PaddleX's `inference.yml` beside a PaddlePaddle 3 recogniser lists the characters its head was trained
    for: they must be the record's dictionary, or the files are of another recogniser."""
    config = weight_set.config
    if config is None or config.character_dict is None or record.task != "rec" or record.dictionary is None:
        return
    with resources.as_file(resources.files("ptocr.dicts") / record.dictionary) as path:
        bundled = CTCDecoder.from_dictionary_file(path, use_space_char=False).characters
    given = config.character_dict
    if given == bundled:
        return
    pairs = zip(given, bundled, strict=False)
    first = next((i for i, (a, b) in enumerate(pairs) if a != b), min(len(given), len(bundled)))
    found = repr(given[first]) if first < len(given) else "nothing"
    wanted = repr(bundled[first]) if first < len(bundled) else "nothing"
    raise WeightsMismatchError(
        f"{weight_set.source}: its inference.yml lists {len(given)} characters, {record.name}'s dictionary "
        f"{record.dictionary} {len(bundled)}; entry {first} is {found} instead of {wanted}: "
        "these are files of another recogniser"
    )


def _layer_quantisation(quantised: QuantisedWeight) -> LayerQuantisation:
    return LayerQuantisation(
        quantised.input_scale, quantised.weight_scales, quantised.input_bits, quantised.weight_bits
    )


def load_weight_set(
    architecture: str,
    kwargs: dict[str, Any],
    record: ModelRecord | None,
    weight_set: WeightSet,
    *,
    submodel: str | None = None,
) -> tuple[nn.Module, dict[str, Any]]:
    """The deploy module of `architecture` holding `weight_set`, and the builder kwargs it was built with."""
    if record is not None:
        _check_config_dictionary(record, weight_set)
    if record is not None and record.task == "rec" and weight_set.format in ("paddle-inference", "onnx"):
        kwargs = _fit_recogniser_head(record, kwargs, weight_set)
    if submodel is not None and weight_set.format != "paddle-checkpoint":
        raise ModelFormatError(
            f"{weight_set.source}: submodel= applies to distillation checkpoints (.pdparams), not {weight_set.format}"
        )
    if weight_set.format == "paddle-checkpoint":
        model, _report = load_trained_checkpoint(
            architecture, weight_set.tensors, submodel=submodel, source=weight_set.source, **kwargs
        )
        return model.eval(), kwargs
    if weight_set.format == "safetensors":
        kwargs = _safetensors_architecture(weight_set, architecture, kwargs, record)
        model = build_architecture(architecture, deploy=True, **kwargs)
        load_checkpoint_state(model, weight_set.tensors, source=weight_set.source)
        return model.eval(), kwargs
    # Published inference files hold re-parameterised (fused) layers, so the deploy form is built.
    model = build_architecture(architecture, deploy=True, **kwargs)
    example = torch.zeros(model.example_input_shape)
    if record is not None and record.pruned:
        adopt_source_widths(model, weight_set.tensors, example)
    placed = load_by_structure(model, weight_set.tensors, example)
    if weight_set.quantisation:
        quantise_layers(model, {placed[name]: _layer_quantisation(q) for name, q in weight_set.quantisation.items()})
    return model.eval(), kwargs


def create_model(
    name: str,
    weights: str | os.PathLike[str] | None = None,
    *,
    submodel: str | None = None,
    store: ModelStore | None = None,
) -> nn.Module:
    """A network in eval mode, ready for inference.

    `name` is a zoo model (`list_models()`) or a bare architecture (`ptocr.models.list_architectures()`).
    `weights` is any of:

    - a Paddle inference folder (`inference.pdmodel` + `.pdiparams`) or its `.pdmodel`, or an `.onnx` export;
    - a PaddlePaddle 3 inference folder (`inference.json` + `.pdiparams` + `inference.yml`) or its `.json`; a
      recogniser's `inference.yml` dictionary must be the zoo model's;
    - a trained checkpoint `*.pdparams`, or a folder without inference files holding exactly one of
      `best_accuracy.pdparams` / `student.pdparams` / `model.pdparams`; of a distillation checkpoint the
      `Student` sub-model is loaded (PaddleOCR's inference model) unless `submodel` names another;
    - a `.safetensors` file written by `ptocr.convert` for the same architecture;
    - `None`: a zoo model's published weights from the model store (fetched and verified on first use):
      its Paddle inference files, or its ONNX export where only that can be had (same weights, same
      numerics); a bare architecture stays randomly initialised.

    Loading is strict: a file for another architecture raises WeightsMismatchError naming the first
    tensor that differs. `forward(x)` takes the pre-processed float32 N×3×H×W batch and returns what
    PaddlePaddle's inference program returns: det N×1×H×W probabilities, rec N×T×C softmax probabilities,
    cls N×2 probabilities.
    """
    architecture, kwargs, record = resolve_model_name(name)
    if weights is None and record is not None:
        weights = (store or ModelStore()).path_any(record.name)
    if weights is None:
        if submodel is not None:
            raise ModelFormatError("submodel= applies to distillation checkpoints (.pdparams); no weights were given")
        return build_architecture(architecture, deploy=True, **kwargs).eval()
    model, _kwargs = load_weight_set(architecture, kwargs, record, read_weights(weights), submodel=submodel)
    return model
