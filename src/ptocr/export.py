"""``ptocr export``: a zoo model's network as an ONNX or TorchScript file with dynamic input sizes.

The exported function is the module `create_model` builds, before `fuse_for_inference`: fusion computes the
same function but rewrites 1×1 convolutions into calls of oneDNN's CPU kernels, which neither exporter can
express, and both ONNX runtimes and TorchScript's optimiser fold batch norms into convolutions themselves.
The input is the pre-processed float32 batch `forward` takes (N×3×H×W, see `ptocr.create_model`); the output
is what it returns. Pre- and post-processing (resize, DB boxes, CTC decoding) are not part of the file.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Literal

import torch

from .errors import ExportError
from .factory import create_model
from .store import ModelStore
from .zoo import DetPreprocessing, LinePreprocessing, ModelRecord, get_record

ExportFormat = Literal["onnx", "torchscript"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("onnx", "torchscript")
#: Opset 17 is the oldest with LayerNormalization as one op (the SVTR recognisers' norms), and is read by every
#: onnxruntime since 1.11.
DEFAULT_OPSET = 17
INPUT_NAME = "x"  # as in PaddleOCR's own paddle2onnx exports
OUTPUT_NAME = "probabilities"


def example_input(record: ModelRecord) -> torch.Tensor:
    """A batch of the shape the model's pipeline feeds it, small enough to trace quickly."""
    if isinstance(record.preprocessing, LinePreprocessing):
        _, height, width = record.preprocessing.image_shape
        return torch.rand(1, 3, height, width)
    if isinstance(record.preprocessing, DetPreprocessing):
        return torch.rand(1, 3, 320, 320)
    raise ExportError(f"{record.name} has no known input layout to export with")


def dynamic_axes(record: ModelRecord) -> dict[str, dict[int, str]]:
    """Which input/output axes vary: batch for every model; height and width of a detector's image (and map);
    the width of a text line (and a recogniser's step count)."""
    if record.task == "det":
        return {INPUT_NAME: {0: "batch", 2: "height", 3: "width"}, OUTPUT_NAME: {0: "batch", 2: "height", 3: "width"}}
    if record.task == "rec":
        return {INPUT_NAME: {0: "batch", 3: "width"}, OUTPUT_NAME: {0: "batch", 1: "steps"}}
    return {INPUT_NAME: {0: "batch", 3: "width"}, OUTPUT_NAME: {0: "batch"}}


def _description(record: ModelRecord, fmt: ExportFormat) -> dict[str, str]:
    """What a user of the file needs to feed it and read it, stored in it (ONNX metadata / TorchScript extra
    file)."""
    meta = {"ptocr.model": record.name, "ptocr.task": record.task, "ptocr.format": fmt}
    if isinstance(record.preprocessing, LinePreprocessing):
        meta["ptocr.input_height"] = str(record.preprocessing.image_shape[1])
    if record.dictionary is not None:
        meta["ptocr.dictionary"] = record.dictionary
    return meta


def export_model(
    name: str,
    output: str | os.PathLike[str],
    format: ExportFormat = "onnx",
    *,
    weights: str | os.PathLike[str] | None = None,
    opset: int = DEFAULT_OPSET,
    store: ModelStore | None = None,
) -> Path:
    """Write zoo model ``name``'s network (its published weights, or ``weights`` as `create_model` reads
    them) to ``output`` as ONNX (opset ``opset``, TorchScript-based exporter) or TorchScript (traced). The
    batch axis, a detector's height and width and a line model's width are dynamic. The path written.
    """
    if format not in EXPORT_FORMATS:
        raise ExportError(f"unknown export format {format!r}; formats are {', '.join(EXPORT_FORMATS)}")
    record = get_record(name)
    net = create_model(name, weights, store=store).eval()
    example = example_input(record)
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = _description(record, format)
    # Tracing warns at every shape comparison in the forward passes (e.g. "is this map 1×1?"). For inputs of
    # the model's own layout each such branch goes the same way at every size, which the parity tests check.
    # torch 2.9+ also calls TorchScript and the TorchScript-based ONNX exporter deprecated: they are what
    # exports these networks with dynamic sizes without extra packages (the torch.export-based exporter needs
    # onnxscript), so they are used on purpose, and the README says so.
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            if format == "onnx":
                _export_onnx(net, example, path, record, opset, meta)
            else:
                traced = torch.jit.trace(net, example, check_trace=False)
                torch.jit.save(traced, str(path), _extra_files={"ptocr.json": json.dumps(meta)})
        except (RuntimeError, torch.onnx.errors.OnnxExporterError, ValueError) as exc:
            raise ExportError(f"{name}: the {format} exporter failed: {exc}") from exc
    return path


def _export_onnx(
    net: torch.nn.Module, example: torch.Tensor, path: Path, record: ModelRecord, opset: int, meta: dict[str, str]
) -> None:
    import onnx

    torch.onnx.export(
        net, (example,), str(path), dynamo=False, opset_version=opset, input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME], dynamic_axes=dynamic_axes(record), do_constant_folding=True,
    )  # fmt: skip
    model = onnx.load(str(path))
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def read_torchscript_description(path: str | os.PathLike[str]) -> dict[str, str]:
    """The description `export_model` stored in a TorchScript file (model, task, input height, dictionary)."""
    extra = {"ptocr.json": ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.load: see export_model
        torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    return json.loads(extra["ptocr.json"]) if extra["ptocr.json"] else {}
