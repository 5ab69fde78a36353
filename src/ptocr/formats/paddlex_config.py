"""PaddleX's `inference.yml`, the file beside a PaddlePaddle 3 inference model: how to feed it and read it out.

Only a few settings are read, each checked for its type: the model name (`Global.model_name`), the
post-processing (`PostProcess`: its name; a recogniser's dictionary `character_dict`, the characters after the
CTC blank without the space class; a detector's DB thresholds; an angle classifier's `Topk.label_list`) and a
recogniser's input shape (`RecResizeImg.image_shape` among `PreProcess.transform_ops`). The YAML is parsed with
PyYAML's safe loader, after a bounded read and a check of its nesting depth: PyYAML builds nested collections
recursively, and its C extension crashes the interpreter (a segmentation fault, no exception) on a document
nested some thousands deep.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from ..errors import ModelFormatError
from .files import MAX_PADDLEX_CONFIG_BYTES, read_bounded

#: The name PaddleX gives the file, beside `inference.json` and `inference.pdiparams`.
PADDLEX_CONFIG = "inference.yml"

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser when PyYAML has it; both are safe
#: PaddleX's files nest 7 deep.
_MAX_DEPTH = 32
_OPENING = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSING = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


@dataclass(frozen=True)
class PaddleXConfig:
    """The settings of one `inference.yml`; None where the file does not say."""

    model_name: str | None = None
    postprocess: str | None = None
    character_dict: tuple[str, ...] | None = None
    det_thresh: float | None = None
    det_box_thresh: float | None = None
    det_unclip_ratio: float | None = None
    det_max_candidates: int | None = None
    rec_image_shape: tuple[int, int, int] | None = None
    labels: tuple[str, ...] | None = None


class _Fields:
    def __init__(self, what: str) -> None:
        self.what = what

    def fail(self, where: str, message: str) -> ModelFormatError:
        return ModelFormatError(f"{self.what}: {where}: {message}")

    def mapping(self, parent: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
        value = parent.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(f"{where}{key}", f"expected a mapping, found {type(value).__name__}")
        return value

    def text(self, parent: Mapping[str, Any], key: str, where: str) -> str | None:
        value = parent.get(key)
        if value is not None and not isinstance(value, str):
            raise self.fail(f"{where}{key}", f"expected text, found {type(value).__name__}")
        return value

    def number(self, parent: Mapping[str, Any], key: str, where: str) -> float | None:
        value = parent.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(f"{where}{key}", f"expected a number, found {value!r}")
        return float(value)

    def integer(self, parent: Mapping[str, Any], key: str, where: str) -> int | None:
        value = parent.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise self.fail(f"{where}{key}", f"expected an integer, found {value!r}")
        return value

    def texts(self, parent: Mapping[str, Any], key: str, where: str) -> tuple[str, ...] | None:
        value = parent.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            raise self.fail(f"{where}{key}", f"expected a list, found {type(value).__name__}")
        for index, entry in enumerate(value):
            if not isinstance(entry, str):
                raise self.fail(f"{where}{key}", f"entry {index} is {entry!r}, not text")
        return tuple(value)


def _rec_image_shape(fields: _Fields, preprocess: Mapping[str, Any]) -> tuple[int, int, int] | None:
    ops = preprocess.get("transform_ops")
    if ops is None:
        return None
    if not isinstance(ops, list):
        raise fields.fail("PreProcess.transform_ops", f"expected a list, found {type(ops).__name__}")
    for op in ops:
        if not isinstance(op, dict) or not isinstance(op.get("RecResizeImg"), dict):
            continue
        shape = op["RecResizeImg"].get("image_shape")
        if not (isinstance(shape, list) and len(shape) == 3 and all(type(d) is int and 0 < d < 1 << 16 for d in shape)):
            where = "PreProcess.transform_ops.RecResizeImg.image_shape"
            raise fields.fail(where, f"expected [C, H, W], found {shape!r}")
        return (shape[0], shape[1], shape[2])
    return None


def _check_depth(text: str, what: str) -> None:
    """Refuses a document nested deeper than `_MAX_DEPTH`, reading its parse events, which PyYAML produces
    without recursion, and stopping at the first collection too deep."""
    depth = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, _OPENING):
            depth += 1
            if depth > _MAX_DEPTH:
                raise ModelFormatError(f"{what}: not a PaddleX inference.yml (nested more than {_MAX_DEPTH} deep)")
        elif isinstance(event, _CLOSING):
            depth -= 1


def parse_paddlex_config(data: bytes, *, what: str = PADDLEX_CONFIG) -> PaddleXConfig:
    """Reads the settings of an `inference.yml` given as bytes. Raises ModelFormatError on malformed YAML or a
    setting of the wrong type."""
    if len(data) > MAX_PADDLEX_CONFIG_BYTES:
        raise ModelFormatError(f"{what}: {len(data)} bytes is too large for a PaddleX inference.yml")
    try:
        text = data.decode("utf-8")
        _check_depth(text, what)
        document = yaml.load(text, Loader=_LOADER)
    except (yaml.YAMLError, ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise ModelFormatError(f"{what}: not a PaddleX inference.yml ({type(exc).__name__}: {exc})") from None
    if not isinstance(document, dict):
        raise ModelFormatError(f"{what}: not a PaddleX inference.yml (expected a mapping at the top)")
    fields = _Fields(what)
    post = fields.mapping(document, "PostProcess", "")
    return PaddleXConfig(
        model_name=fields.text(fields.mapping(document, "Global", ""), "model_name", "Global."),
        postprocess=fields.text(post, "name", "PostProcess."),
        character_dict=fields.texts(post, "character_dict", "PostProcess."),
        det_thresh=fields.number(post, "thresh", "PostProcess."),
        det_box_thresh=fields.number(post, "box_thresh", "PostProcess."),
        det_unclip_ratio=fields.number(post, "unclip_ratio", "PostProcess."),
        det_max_candidates=fields.integer(post, "max_candidates", "PostProcess."),
        rec_image_shape=_rec_image_shape(fields, fields.mapping(document, "PreProcess", "")),
        labels=fields.texts(fields.mapping(post, "Topk", "PostProcess."), "label_list", "PostProcess.Topk."),
    )


def read_paddlex_config(path: str | os.PathLike[str]) -> PaddleXConfig:
    """The settings of the `inference.yml` at `path` (read with a size limit)."""
    return parse_paddlex_config(read_bounded(path, MAX_PADDLEX_CONFIG_BYTES, "PaddleX config"), what=str(path))
