"""Inference settings of the PP-OCR pipeline, with PaddleOCR 2.x's PP-OCRv4 defaults (one exception: the angle
classifier is called with 24 crops at a time, not 6, which gives the same decisions faster; see ClsSettings).

Every value here changes numbers somewhere, so the dataclasses are frozen and validated up front: a typo
should fail when the settings are built, not as an odd shape deep inside a batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

LimitType = Literal["max", "min", "resize_long"]
ScoreMode = Literal["fast", "slow"]

_LIMIT_TYPES: tuple[str, ...] = ("max", "min", "resize_long")
_SCORE_MODES: tuple[str, ...] = ("fast", "slow")


def _require_int(owner: str, name: str, value: object, minimum: int) -> None:
    # bool is an int subclass; `True` as a batch size is a bug, not a 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{owner}.{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{owner}.{name} must be >= {minimum}, got {value}")


def _require_unit_interval(owner: str, name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{owner}.{name} must be a number in [0, 1], got {value!r}")


def _require_bool(owner: str, name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{owner}.{name} must be True or False, got {value!r}")


def _as_image_shape(owner: str, value: object) -> tuple[int, int, int]:
    """Checks a (channels, height, width) triple; the crops are BGR, so channels must be 3."""
    try:
        shape = tuple(value)  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(f"{owner}.image_shape must be (3, height, width), got {value!r}") from None
    if len(shape) != 3 or any(isinstance(v, bool) or not isinstance(v, int) for v in shape):
        raise ValueError(f"{owner}.image_shape must be three ints (3, height, width), got {value!r}")
    channels, height, width = shape
    if channels != 3:
        raise ValueError(f"{owner}.image_shape must have 3 channels (BGR crops), got {channels}")
    if height < 1 or width < 1:
        raise ValueError(f"{owner}.image_shape height and width must be >= 1, got {height}x{width}")
    return channels, height, width


def _as_triple(owner: str, name: str, value: object, positive: bool) -> tuple[float, float, float]:
    try:
        triple = tuple(float(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ValueError(f"{owner}.{name} must be three numbers, got {value!r}") from None
    if len(triple) != 3 or not all(math.isfinite(v) for v in triple):
        raise ValueError(f"{owner}.{name} must be three finite numbers, got {value!r}")
    if positive and min(triple) <= 0.0:
        raise ValueError(f"{owner}.{name} must be three numbers > 0, got {value!r}")
    return triple[0], triple[1], triple[2]


@dataclass(frozen=True)
class DetSettings:
    """Text detection (DB) settings: PaddleOCR's DetResizeForTest, NormalizeImage and DBPostProcess.

    mean/std are applied to the B, G, R channels in this order: PaddleOCR never swaps the image to RGB.
    """

    limit_side_len: int = 960
    limit_type: LimitType = "max"
    thresh: float = 0.3
    box_thresh: float = 0.6
    unclip_ratio: float = 1.5
    max_candidates: int = 1000
    use_dilation: bool = False
    score_mode: ScoreMode = "fast"
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)

    def __post_init__(self) -> None:
        owner = type(self).__name__
        _require_int(owner, "limit_side_len", self.limit_side_len, 1)
        if self.limit_type not in _LIMIT_TYPES:
            raise ValueError(f"{owner}.limit_type must be one of {_LIMIT_TYPES}, got {self.limit_type!r}")
        _require_unit_interval(owner, "thresh", self.thresh)
        _require_unit_interval(owner, "box_thresh", self.box_thresh)
        ratio = self.unclip_ratio
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0.0 < ratio < math.inf:
            raise ValueError(f"{owner}.unclip_ratio must be a finite number > 0, got {ratio!r}")
        _require_int(owner, "max_candidates", self.max_candidates, 1)
        _require_bool(owner, "use_dilation", self.use_dilation)
        if self.score_mode not in _SCORE_MODES:
            raise ValueError(f"{owner}.score_mode must be one of {_SCORE_MODES}, got {self.score_mode!r}")
        # Lists are accepted for convenience and stored as tuples so the settings stay hashable.
        object.__setattr__(self, "mean", _as_triple(owner, "mean", self.mean, positive=False))
        object.__setattr__(self, "std", _as_triple(owner, "std", self.std, positive=True))


@dataclass(frozen=True)
class ClsSettings:
    """Text-angle classifier settings (PaddleOCR predict_cls.py)."""

    image_shape: tuple[int, int, int] = (3, 48, 192)
    # PaddleOCR's cls_batch_num is 6. The input has a fixed width, so a crop's decision does not depend on
    # which crops share its call: calls of 24 give the same decisions, and on 2 CPU threads the small network
    # took 1.6–2.2 ms a crop in them against 3.2–4.0 ms in calls of 6 (more again at 48).
    batch_size: int = 24
    thresh: float = 0.9
    labels: tuple[str, ...] = ("0", "180")

    def __post_init__(self) -> None:
        owner = type(self).__name__
        object.__setattr__(self, "image_shape", _as_image_shape(owner, self.image_shape))
        _require_int(owner, "batch_size", self.batch_size, 1)
        _require_unit_interval(owner, "thresh", self.thresh)
        if isinstance(self.labels, str):
            raise ValueError(f"{owner}.labels must be a sequence of strings, not one string")
        labels = tuple(self.labels)
        if len(labels) < 2 or not all(isinstance(label, str) and label for label in labels):
            raise ValueError(f"{owner}.labels must be at least two non-empty strings, got {self.labels!r}")
        if len(set(labels)) != len(labels):
            raise ValueError(f"{owner}.labels must be unique, got {self.labels!r}")
        object.__setattr__(self, "labels", labels)


@dataclass(frozen=True)
class RecSettings:
    """Text recognition settings (PaddleOCR predict_rec.py, SVTR_LCNet / CRNN style CTC models).

    image_shape's width is only the minimum batch width: a batch is widened to its widest crop.
    """

    image_shape: tuple[int, int, int] = (3, 48, 320)
    batch_size: int = 6

    def __post_init__(self) -> None:
        owner = type(self).__name__
        object.__setattr__(self, "image_shape", _as_image_shape(owner, self.image_shape))
        _require_int(owner, "batch_size", self.batch_size, 1)


@dataclass(frozen=True)
class OCRSettings:
    """The whole pipeline: detection, optional angle classification, recognition, score filter.

    A line is kept when its recognition score is >= drop_score (PaddleOCR's TextSystem rule).
    """

    det: DetSettings = field(default_factory=DetSettings)
    cls: ClsSettings = field(default_factory=ClsSettings)
    rec: RecSettings = field(default_factory=RecSettings)
    use_angle_cls: bool = True
    drop_score: float = 0.5

    def __post_init__(self) -> None:
        owner = type(self).__name__
        for name, kind in (("det", DetSettings), ("cls", ClsSettings), ("rec", RecSettings)):
            if not isinstance(getattr(self, name), kind):
                raise ValueError(f"{owner}.{name} must be a {kind.__name__}, got {getattr(self, name)!r}")
        _require_bool(owner, "use_angle_cls", self.use_angle_cls)
        _require_unit_interval(owner, "drop_score", self.drop_score)
