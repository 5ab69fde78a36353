"""`convert`: any model file ptocr reads → one `.safetensors` file of the inference (deploy) network.

The output holds the deploy module's state dict under torch keys (BatchNorm step counters left out) and
records in its metadata what is needed to load it back strictly with
`ptocr.create_model(name, weights="model.safetensors")`: the architecture and its builder arguments, the
zoo record when the model is a known one, the ptocr version and where the weights came from.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ModelFormatError, UnknownModelError
from .factory import META_ARCHITECTURE, META_KWARGS, load_weight_set, resolve_model_name
from .formats import read_weights
from .zoo import ModelRecord, list_records

META_VERSION = "ptocr.version"
META_MODEL = "ptocr.model"
META_RECORD = "ptocr.record"
META_SOURCE = "ptocr.source"
META_SOURCE_FORMAT = "ptocr.source_format"
META_SUBMODEL = "ptocr.submodel"

_NAME_SUFFIXES = ("_infer", "_train")


def _jsonable(value: Any) -> Any:
    """`dataclasses.asdict` for the zoo records, which also hold read-only mappings and tuples."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def record_json(record: ModelRecord) -> str:
    """A zoo record as JSON (all its fields, sources and digests included)."""
    return json.dumps(_jsonable(record), sort_keys=True, ensure_ascii=False)


def _guess_model_name(src: Path) -> str:
    # PaddleOCR's archives unpack to `<model>_infer/` and `<model>_train/`; the zoo names their model.
    candidates = [src.name, src.stem] if src.is_dir() else [src.parent.name, src.stem]
    for candidate in candidates:
        for suffix in _NAME_SUFFIXES:
            candidate = candidate.removesuffix(suffix)
        if candidate in list_records():
            return candidate
    raise UnknownModelError(
        f"{src}: cannot tell which model this is from its name: pass model_name= (a zoo model or architecture)"
    )


def _destination(dst: Path, model_name: str) -> Path:
    if dst.is_dir():
        return dst / f"{model_name}.safetensors"
    if dst.suffix != ".safetensors":
        raise ModelFormatError(f"{dst}: the output must be a .safetensors file or an existing folder")
    if not dst.parent.is_dir():
        raise ModelFormatError(f"{dst}: folder {dst.parent} does not exist")
    return dst


def convert(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    model_name: str | None = None,
    submodel: str | None = None,
) -> Path:
    """Converts a model to a `.safetensors` file of its inference network; returns the file written.

    Args:
        src: a Paddle inference folder (or its `inference.pdmodel`), an `.onnx` export, a trained checkpoint
            `*.pdparams` (or a `*_train/` folder holding one of best_accuracy/student/model.pdparams).
        dst: the `.safetensors` file to write (replaced if it exists), or an existing folder, which gets
            `<model_name>.safetensors`.
        model_name: a zoo model (`ptocr.list_models()`) or an architecture name; by default the zoo model
            named by `src` (`ch_PP-OCRv4_det_infer/` → `ch_PP-OCRv4_det`).
        submodel: which sub-model of a distillation checkpoint to take (default `Student`, the one
            PaddleOCR exports for inference).

    The file loads back with `ptocr.create_model(model_name, weights=<file>)`, strictly and with the
    architecture checked against its metadata. Raises ModelFormatError / WeightsMismatchError /
    UnknownModelError (all `ptocr.errors.PtocrError`) when the source cannot be read or does not fit.
    """
    src = Path(src)
    if src.suffix == ".safetensors":
        raise ModelFormatError(f"{src}: already a .safetensors file")
    name = model_name if model_name is not None else _guess_model_name(src)
    architecture, kwargs, record = resolve_model_name(name)
    target = _destination(Path(dst), name)
    weight_set = read_weights(src)
    if weight_set.quantisation or (record is not None and record.pruned):
        kind = "quantised" if weight_set.quantisation else "pruned"
        raise ModelFormatError(
            f"{src}: a {kind} (slim) model cannot be converted: its safetensors file would hold the architecture's "
            "tensors only; load the Paddle files themselves with ptocr.create_model"
        )
    model, kwargs = load_weight_set(architecture, kwargs, record, weight_set, submodel=submodel)

    from . import __version__

    metadata = {
        "format": "pt",  # the safetensors convention for torch state dicts
        META_VERSION: __version__,
        META_ARCHITECTURE: architecture,
        META_KWARGS: json.dumps(kwargs, sort_keys=True),
        META_MODEL: record.name if record is not None else "",
        META_SOURCE: Path(weight_set.source).name,
        META_SOURCE_FORMAT: weight_set.format,
    }
    if record is not None:
        metadata[META_RECORD] = record_json(record)
    if submodel is not None:
        metadata[META_SUBMODEL] = submodel
    state = {
        key: tensor.detach().contiguous()
        for key, tensor in model.state_dict().items()
        if not key.endswith("num_batches_tracked")
    }
    _save_atomically(state, metadata, target)
    return target


def _save_atomically(state: dict[str, Any], metadata: dict[str, str], target: Path) -> None:
    from safetensors.torch import save_file

    # Written beside the target and renamed, so an interrupted run never leaves a truncated file there.
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    try:
        save_file(state, temporary, metadata=metadata)
        os.replace(temporary, target)
    except OSError as exc:
        raise ModelFormatError(f"{target}: cannot write ({exc.strerror or exc})") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
