"""Network inputs, built bit-for-bit as PaddleOCR 2.x builds them, or as PaddleOCR 3.x (PaddleX) does where the
settings name its rules.

Detection: DetResizeForTest (type 0) + NormalizeImage + ToCHWImage. Classification / recognition:
``resize_norm_img`` of predict_cls.py / predict_rec.py (PaddleX: the textline classifier's stretch and
OCRReisizeNormImg), with crops sorted by aspect ratio and batched.

Normalisation goes through 256-entry lookup tables: every output value depends only on one uint8 input
value (and its channel), so gathering from a table computed with PaddleOCR's exact float32 expression
gives identical numbers, writes the CHW layout directly and avoids three full-size float passes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from ptocr.pipeline.settings import ClsSettings, DetSettings, RecSettings

# PaddleOCR pads images whose height + width is below this to at least 32×32 before resizing.
_TINY_IMAGE_SIDE_SUM = 64
_DET_STRIDE = 32


@dataclass(frozen=True)
class DetShape:
    """What DB post-processing needs to map the probability map back: PaddleOCR's ``shape_list`` row.

    ``src_height``/``src_width`` are the original image's size; the ratios are resized / (possibly
    padded) input size, exactly as PaddleOCR stores them.
    """

    src_height: int
    src_width: int
    ratio_h: float
    ratio_w: float

    def as_array(self) -> np.ndarray:
        """The float64 ``[src_h, src_w, ratio_h, ratio_w]`` array PaddleOCR passes around."""
        return np.array([self.src_height, self.src_width, self.ratio_h, self.ratio_w], dtype=np.float64)


def det_resize_target(
    height: int,
    width: int,
    limit_side_len: int,
    limit_type: str,
    rounding: str = "round",
    max_side_limit: int | None = None,
) -> tuple[int, int]:
    """(resize_h, resize_w) for an image of the given size, both multiples of 32 and at least 32.

    Each side is scaled and truncated with ``int`` first, then, when the longer exceeds ``max_side_limit``,
    both are scaled again so that it fits and truncated (PaddleX), then made a multiple of 32 by ``rounding``
    (see DetSettings.resize_rounding): "round" uses Python's ``round`` (ties to even), as PaddleOCR 2.x does;
    "floor" and "floor_minus_one" are PaddleOCR 1.1's and 1.0's rules.
    """
    if limit_type == "max":
        ratio = limit_side_len / max(height, width) if max(height, width) > limit_side_len else 1.0
    elif limit_type == "min":
        ratio = limit_side_len / min(height, width) if min(height, width) < limit_side_len else 1.0
    elif limit_type == "resize_long":
        ratio = limit_side_len / max(height, width)
    else:
        raise ValueError(f"unknown limit_type {limit_type!r}; expected 'max', 'min' or 'resize_long'")
    resize_h, resize_w = int(height * ratio), int(width * ratio)
    if max_side_limit is not None and max(resize_h, resize_w) > max_side_limit:
        shrink = float(max_side_limit) / max(resize_h, resize_w)
        resize_h, resize_w = int(resize_h * shrink), int(resize_w * shrink)
    return _to_stride(resize_h, rounding), _to_stride(resize_w, rounding)


def _to_stride(side: int, rounding: str) -> int:
    """One scaled side as a multiple of 32 (at least 32) by the named rule."""
    if rounding == "round":
        return max(int(round(side / _DET_STRIDE) * _DET_STRIDE), _DET_STRIDE)
    if rounding not in ("floor", "floor_minus_one"):
        raise ValueError(f"unknown rounding {rounding!r}; expected 'round', 'floor' or 'floor_minus_one'")
    # DBProcessTest.resize_image_type0: a multiple of 32 stays, below 64 becomes 32, else floored (1.1) or
    # floored one step further (1.0). A side truncated to 0 (an image over 960 times longer than wide) made
    # PaddleOCR 1.x return no boxes at all; ptocr reads it at 32 instead.
    if side % _DET_STRIDE == 0 and side > 0:
        return side
    if side // _DET_STRIDE <= 1:
        return _DET_STRIDE
    steps = side // _DET_STRIDE - (1 if rounding == "floor_minus_one" else 0)
    return steps * _DET_STRIDE


def resize_for_det(image: np.ndarray, settings: DetSettings) -> tuple[np.ndarray, DetShape]:
    """Resizes a BGR uint8 image for the detector and returns it with its :class:`DetShape`."""
    src_height, src_width = image.shape[:2]
    if settings.pad_tiny_images and src_height + src_width < _TINY_IMAGE_SIDE_SUM:
        # PaddleOCR's quirk, kept for fidelity: tiny images are zero-padded at the bottom/right, yet
        # boxes are later scaled to the unpadded size.
        padded = np.zeros((max(32, src_height), max(32, src_width), image.shape[2]), dtype=np.uint8)
        padded[:src_height, :src_width] = image
        image = padded
    height, width = image.shape[:2]
    resize_h, resize_w = det_resize_target(
        height, width, settings.limit_side_len, settings.limit_type, settings.resize_rounding, settings.max_side_limit
    )
    resized = cv2.resize(image, (resize_w, resize_h))  # default INTER_LINEAR, like PaddleOCR
    return resized, DetShape(src_height, src_width, resize_h / float(height), resize_w / float(width))


def _scale_shift_table(mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """3×256 float32 table of PaddleX's ``v * float32(scale / std) + float32(-mean / std)``, scale 1/255: the two
    factors in float64 (Python floats), each product and sum in float32, as its in-place numpy ops give them."""
    values = np.arange(256, dtype=np.float32)
    rows = []
    for channel_mean, channel_std in zip(mean, std, strict=True):
        alpha = np.float32((1.0 / 255.0) / float(channel_std))
        beta = np.float32(-float(channel_mean) / float(channel_std))
        rows.append(values * alpha + beta)
    return np.stack(rows)


def _det_lookup_table(mean: Sequence[float], std: Sequence[float], normalization: str = "mean_std") -> np.ndarray:
    """3×256 float32 table per channel: ``(v * float32(1/255) - mean) / std`` in float32 ("mean_std", PaddleOCR
    2.x's NormalizeImage), or PaddleX's scale-and-shift form ("scale_shift")."""
    if normalization == "scale_shift":
        return _scale_shift_table(mean, std)
    scale = np.float32(1.0 / 255.0)
    values = np.arange(256, dtype=np.float32)[None, :] * scale
    mean32 = np.asarray(mean, dtype=np.float64).astype(np.float32)[:, None]
    std32 = np.asarray(std, dtype=np.float64).astype(np.float32)[:, None]
    return (values - mean32) / std32


def normalize_for_det(resized: np.ndarray, settings: DetSettings) -> np.ndarray:
    """HWC uint8 BGR → 1×3×H×W float32, normalised with the settings' mean/std per B, G, R channel."""
    table = _det_lookup_table(settings.mean, settings.std, settings.normalization)
    chw = np.empty((1, 3, *resized.shape[:2]), dtype=np.float32)
    # uint8 indices are always inside a 256-entry table; mode="clip" just skips the bounds check.
    for channel in range(3):
        np.take(table[channel], resized[:, :, channel], out=chw[0, channel], mode="clip")
    return chw


def preprocess_det(image: np.ndarray, settings: DetSettings) -> tuple[np.ndarray, DetShape]:
    """The detector's input tensor (1×3×H×W float32) and the shape info for post-processing."""
    resized, shape = resize_for_det(image, settings)
    return normalize_for_det(resized, settings), shape


# (v / 255 - 0.5) / 0.5 in float32, as predict_cls.py / predict_rec.py compute it.
_CROP_TABLE: np.ndarray = ((np.arange(256, dtype=np.float32) / 255 - 0.5) / 0.5).astype(np.float32)
_CROP_TABLE.setflags(write=False)


@lru_cache(maxsize=8)
def _crop_tables(normalization: str, mean: tuple[float, ...], std: tuple[float, ...]) -> np.ndarray:
    """3×256 float32 table per network input channel (ClsSettings.normalization): ``(v / 255 - mean) / std`` in
    float32, or PaddleX's scale-and-shift form."""
    if normalization == "scale_shift":
        table = _scale_shift_table(mean, std)
    else:
        values = np.arange(256, dtype=np.float32) / 255
        table = np.stack([(values - np.float32(m)) / np.float32(d) for m, d in zip(mean, std, strict=True)])
    table = table.astype(np.float32)
    table.setflags(write=False)
    return table


def resized_crop_width(crop_height: int, crop_width: int, target_height: int, max_width: int) -> int:
    """Width after scaling a crop to ``target_height``: ``ceil(H * w / h)``, capped at ``max_width``."""
    scaled = math.ceil(target_height * (crop_width / float(crop_height)))
    return max_width if scaled > max_width else int(scaled)


def _place(resized: np.ndarray, out: np.ndarray, tables: np.ndarray | None, rgb: bool = False) -> None:
    """Normalises the HWC uint8 ``resized`` into the left of the C×H×W float32 ``out`` (a row of ``tables`` per
    input channel, the shared 2.x table when None); ``rgb`` feeds the crop's R, G, B channels in that order."""
    width = resized.shape[1]
    for channel in range(3):
        source = resized[:, :, 2 - channel if rgb else channel]
        table = _CROP_TABLE if tables is None else tables[channel]
        np.take(table, source, out=out[channel, :, :width], mode="clip")


def resize_norm_crop(crop: np.ndarray, target_height: int, target_width: int) -> np.ndarray:
    """One crop → 3×H×W float32: aspect-preserving resize, ``(x/255 - 0.5)/0.5``, zeros on the right."""
    height, width = crop.shape[:2]
    resized_w = resized_crop_width(height, width, target_height, target_width)
    out = np.zeros((3, target_height, target_width), dtype=np.float32)
    _place(cv2.resize(crop, (resized_w, target_height)), out, None)
    return out


def aspect_ratio_order(crops: Sequence[np.ndarray], rule: str = "argsort") -> np.ndarray:
    """Crop indices sorted by width / height, as PaddleOCR sorts them before batching.

    "argsort": ``np.argsort`` with its default kind on a float64 array, like PaddleOCR 2.x, so that crops with
    equal ratios land in the same order (and hence the same batches); "stable": ties keep their order, as
    PaddleX's ``sorted`` leaves them (RecSettings.ratio_sort).
    """
    if rule not in ("argsort", "stable"):
        raise ValueError(f"unknown ratio sort {rule!r}; expected 'argsort' or 'stable'")
    ratios = np.array([crop.shape[1] / float(crop.shape[0]) for crop in crops], dtype=np.float64)
    return np.argsort(ratios, kind="stable") if rule == "stable" else np.argsort(ratios)


def batch_ranges(count: int, batch_size: int) -> list[range]:
    """Positions ``[0, count)`` cut into consecutive batches of at most ``batch_size``."""
    return [range(start, min(count, start + batch_size)) for start in range(0, count, batch_size)]


def rec_batch_width(crops: Sequence[np.ndarray], settings: RecSettings) -> int:
    """Width of a recognition batch: ``int(H * max(W/H, widest w/h))``, or ``int(H * widest w/h)`` without
    ``min_width_from_shape`` (PaddleOCR 1.0); at most ``max_width`` when the settings have one."""
    _, height, width = settings.image_shape
    max_wh_ratio = width / height if settings.min_width_from_shape else 0.0
    for crop in crops:
        max_wh_ratio = max(max_wh_ratio, crop.shape[1] * 1.0 / crop.shape[0])
    batch_width = int(height * max_wh_ratio)
    if settings.max_width is not None and batch_width > settings.max_width:
        return settings.max_width
    return batch_width


def rec_crop_width(crop_height: int, crop_width: int, batch_width: int, settings: RecSettings) -> int:
    """The width a crop is resized to in a recognition batch ``batch_width`` wide (RecSettings.crop_width).

    "batch": ``min(ceil(H * w/h), batch_width)`` (PaddleOCR 2.x). "own": the crop's own batch width
    ``int(H * max(W/H, w/h))`` as PaddleX's OCRReisizeNormImg works it out, ``max_width`` when that is wider
    (the crop is stretched to it), else ``min(ceil(H * w/h), own width)``.
    """
    _, height, width = settings.image_shape
    if settings.crop_width == "batch":
        return resized_crop_width(crop_height, crop_width, height, batch_width)
    ratio = crop_width * 1.0 / crop_height
    own = int(height * max(width / height if settings.min_width_from_shape else 0.0, ratio))
    if settings.max_width is not None and own > settings.max_width:
        return settings.max_width
    return resized_crop_width(crop_height, crop_width, height, own)


def build_cls_batch(crops: Sequence[np.ndarray], settings: ClsSettings) -> np.ndarray:
    """N×3×H×W float32 classifier input (ClsSettings): each crop resized keeping its ratio and padded to the fixed
    width of image_shape (PaddleOCR 2.x), or stretched to the whole shape (PaddleX's textline classifier)."""
    _, height, width = settings.image_shape
    two_x = (
        settings.normalization == "mean_std" and settings.channel_order == "BGR"
        and settings.mean == (0.5, 0.5, 0.5) and settings.std == (0.5, 0.5, 0.5)
    )  # fmt: skip
    tables = None if two_x else _crop_tables(settings.normalization, settings.mean, settings.std)
    rgb = settings.channel_order == "RGB"
    batch = np.zeros((len(crops), 3, height, width), dtype=np.float32)
    for index, crop in enumerate(crops):
        if settings.resize == "stretch":
            resized_w = width
        else:
            resized_w = resized_crop_width(crop.shape[0], crop.shape[1], height, width)
        # cv2.resize returns an exact copy when the size is already the target's, as PaddleX's skip does.
        _place(cv2.resize(crop, (resized_w, height)), batch[index], tables, rgb)
    return batch


def build_rec_batch(crops: Sequence[np.ndarray], settings: RecSettings, width: int | None = None) -> np.ndarray:
    """N×3×H×W float32 recogniser input, W from :func:`rec_batch_width` unless ``width`` is given (a width
    shared with other crops' batches), each crop resized to :func:`rec_crop_width` columns of it."""
    _, height, _ = settings.image_shape
    batch_width = rec_batch_width(crops, settings) if width is None else width
    batch = np.zeros((len(crops), 3, height, batch_width), dtype=np.float32)
    for index, crop in enumerate(crops):
        resized_w = rec_crop_width(crop.shape[0], crop.shape[1], batch_width, settings)
        _place(cv2.resize(crop, (resized_w, height)), batch[index], None)
    return batch


def stack_crops(crops: Sequence[np.ndarray], height: int, width: int) -> np.ndarray:
    """N×3×height×width float32: each crop through :func:`resize_norm_crop`."""
    batch = np.empty((len(crops), 3, height, width), dtype=np.float32)
    for index, crop in enumerate(crops):
        batch[index] = resize_norm_crop(crop, height, width)
    return batch
