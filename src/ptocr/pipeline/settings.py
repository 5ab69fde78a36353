"""Inference settings of the PP-OCR pipeline, with PaddleOCR 2.x's PP-OCRv4 defaults (one exception: the angle
classifier is called with 24 crops at a time, not 6, which gives the same decisions faster; see ClsSettings).

PaddleOCR 1.x's pipeline differs from 2.x in small numeric rules; each difference is a setting here, and
:func:`generation_settings` gives the values each generation ran with (`PADDLEOCR_1_1`, `PADDLEOCR_1_0`).

Every value here changes numbers somewhere, so the dataclasses are frozen and validated up front: a typo
should fail when the settings are built, not as an odd shape deep inside a batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

LimitType = Literal["max", "min", "resize_long"]
ScoreMode = Literal["fast", "slow"]
ResizeRounding = Literal["round", "floor", "floor_minus_one"]
BoxScaling = Literal["direct", "via_ratio"]
CornerOrder = Literal["sum_diff", "x_sort"]
ReadingOrder = Literal["insertion", "single_pass"]
CTCScore = Literal["collapsed", "non_blank_steps"]

_LIMIT_TYPES: tuple[str, ...] = ("max", "min", "resize_long")
_SCORE_MODES: tuple[str, ...] = ("fast", "slow")
_RESIZE_ROUNDINGS: tuple[str, ...] = ("round", "floor", "floor_minus_one")
_BOX_SCALINGS: tuple[str, ...] = ("direct", "via_ratio")
_CORNER_ORDERS: tuple[str, ...] = ("sum_diff", "x_sort")
_READING_ORDERS: tuple[str, ...] = ("insertion", "single_pass")
_CTC_SCORES: tuple[str, ...] = ("collapsed", "non_blank_steps")


def _require_int(owner: str, name: str, value: object, minimum: int) -> None:
    # bool is an int subclass; `True` as a batch size is a bug, not a 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{owner}.{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{owner}.{name} must be >= {minimum}, got {value}")


def _require_choice(owner: str, name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{owner}.{name} must be one of {choices}, got {value!r}")


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

    The last six fields are the rules where PaddleOCR 1.x differs from 2.x (defaults: 2.x):

    - ``resize_rounding``: how each resized side becomes a multiple of 32 after ``int(side · ratio)``.
      "round": ``max(round(n / 32) · 32, 32)`` (2.x DetResizeForTest). "floor": n if a multiple of 32, else 32 if
      n < 64, else ``(n // 32) · 32`` (1.1's DBProcessTest.resize_image_type0). "floor_minus_one": as "floor" but
      ``(n // 32 − 1) · 32`` for n ≥ 64 (1.0's, paddleocr 0.0.x).
    - ``pad_tiny_images``: 2.x zero-pads an image whose height + width < 64 to at least 32×32 before resizing;
      1.x stretches it.
    - ``box_scaling``: "direct" (2.x): map corners are scaled straight to source pixels and rounded. "via_ratio"
      (1.x): corners are rounded in map pixels (int16), then divided by the resize ratio and truncated.
    - ``strict_box_thresh``: 1.x keeps a box only when its score, stored as float32, is strictly above
      box_thresh; 2.x also keeps a score equal to it.
    - ``corner_order``: filter_tag_det_res's corner ordering. "sum_diff" (2.x): smallest / largest x + y, the
      others by y − x. "x_sort" (1.x): the two leftmost corners by x, each pair ordered by y (imutils).
    - ``reading_order``: sorted_boxes' pass over the (y, x)-sorted boxes. "insertion" (2.x): a box moves left
      past every same-line predecessor further right. "single_pass" (1.x, and 2.x before 2.6): one pass of
      adjacent swaps.

    ``pad_to_aspect`` (not a PaddleOCR setting; None, the default, keeps PaddleOCR's behaviour): an image wider
    than this aspect ratio (or taller, for a vertical strip) is padded at the bottom (right) with its background
    colour before detection, so single-line strips are not squeezed by DB's resize (`ptocr.pipeline.det_view`;
    the measured effect is in the README's "Inputs" section). Boxes stay in the image's own coordinates.
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
    resize_rounding: ResizeRounding = "round"
    pad_tiny_images: bool = True
    box_scaling: BoxScaling = "direct"
    strict_box_thresh: bool = False
    corner_order: CornerOrder = "sum_diff"
    reading_order: ReadingOrder = "insertion"
    pad_to_aspect: float | None = None

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
        _require_choice(owner, "resize_rounding", self.resize_rounding, _RESIZE_ROUNDINGS)
        _require_bool(owner, "pad_tiny_images", self.pad_tiny_images)
        _require_choice(owner, "box_scaling", self.box_scaling, _BOX_SCALINGS)
        _require_bool(owner, "strict_box_thresh", self.strict_box_thresh)
        _require_choice(owner, "corner_order", self.corner_order, _CORNER_ORDERS)
        _require_choice(owner, "reading_order", self.reading_order, _READING_ORDERS)
        aspect = self.pad_to_aspect
        if aspect is not None and (
            isinstance(aspect, bool) or not isinstance(aspect, (int, float)) or not 1.0 <= aspect < math.inf
        ):
            raise ValueError(f"{owner}.pad_to_aspect must be None or a finite number >= 1, got {aspect!r}")


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
    ``min_width_from_shape`` False drops that minimum: the batch is ``int(H · widest w/h)`` wide, as PaddleOCR
    1.0 (paddleocr 0.0.x's predict_rec.py) built it. ``ctc_score``: "collapsed" (2.x) averages the maximum
    probabilities of the steps that emit a character (first step of each run, blanks dropped);
    "non_blank_steps" (1.x's predict_rec.py) averages those of every step whose arg-max is not the blank,
    repeats included. Either way a line without characters is ``("", 0.0)``.
    """

    image_shape: tuple[int, int, int] = (3, 48, 320)
    batch_size: int = 6
    min_width_from_shape: bool = True
    ctc_score: CTCScore = "collapsed"

    def __post_init__(self) -> None:
        owner = type(self).__name__
        object.__setattr__(self, "image_shape", _as_image_shape(owner, self.image_shape))
        _require_int(owner, "batch_size", self.batch_size, 1)
        _require_bool(owner, "min_width_from_shape", self.min_width_from_shape)
        _require_choice(owner, "ctc_score", self.ctc_score, _CTC_SCORES)


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


# PaddleOCR 1.1 (paddleocr==1.1.1): tools/infer/predict_det.py + ppocr/data/det/db_process.py (DBProcessTest,
# max_side_len 960), ppocr/postprocess/db_postprocess.py (thresh 0.3, box_thresh 0.5, unclip_ratio 2.0,
# max_candidates 1000, 2×2 dilation always, fast score), predict_system.py (sorted_boxes), predict_rec.py
# (rec_image_shape 3,32,320, rec_batch_num 30, score over non-blank steps), predict_cls.py (3,48,192, thresh 0.9).
# The classifier keeps ptocr's 24 crops a call (1.1 used rec_batch_num, 30): its input has a fixed width, so the
# decisions do not depend on the batching.
_V1_DET = DetSettings(
    limit_side_len=960,
    limit_type="max",
    thresh=0.3,
    box_thresh=0.5,
    unclip_ratio=2.0,
    max_candidates=1000,
    use_dilation=True,
    score_mode="fast",
    resize_rounding="floor",
    pad_tiny_images=False,
    box_scaling="via_ratio",
    strict_box_thresh=True,
    corner_order="x_sort",
    reading_order="single_pass",
)
_V1_REC = RecSettings(image_shape=(3, 32, 320), batch_size=30, ctc_score="non_blank_steps")

#: PaddleOCR 1.1's pipeline (paddleocr==1.1.1, with the v1.1 models).
PADDLEOCR_1_1 = OCRSettings(det=_V1_DET, cls=ClsSettings(image_shape=(3, 48, 192)), rec=_V1_REC)

#: PaddleOCR 1.0's pipeline (paddleocr 0.0.x, with the v1.0 models): as 1.1 but the det sides drop one more step
#: of 32, no dilation, recognition batches with no minimum width, and no angle classifier (1.0 had none).
PADDLEOCR_1_0 = OCRSettings(
    det=replace(_V1_DET, resize_rounding="floor_minus_one", use_dilation=False),
    cls=ClsSettings(image_shape=(3, 48, 192)),
    rec=replace(_V1_REC, min_width_from_shape=False),
    use_angle_cls=False,
)

_GENERATIONS = {"PP-OCR-v1.1": PADDLEOCR_1_1, "PP-OCR-v1.0": PADDLEOCR_1_0}


def generation_settings(version: str) -> OCRSettings:
    """The pipeline settings PaddleOCR ran models of ``version`` with: 1.1's and 1.0's for "PP-OCR-v1.1" and
    "PP-OCR-v1.0", 2.x's defaults (`OCRSettings()`) for every later version."""
    return _GENERATIONS.get(version) or OCRSettings()
