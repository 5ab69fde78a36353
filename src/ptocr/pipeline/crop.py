"""Cutting a detected text quadrilateral out of the image (PaddleOCR's get_rotate_crop_image, or PaddleX's
get_minarea_rect_crop), turning a crop 180°, and mapping points of a crop back into the image (for word boxes and
reading-order corners)."""

from __future__ import annotations

import cv2
import numpy as np

from ptocr.pipeline.db_postprocess import mini_box

# Crops at least this much taller than wide are taken to be vertical text and turned a quarter left.
VERTICAL_ASPECT = 1.5


def _warp(box: np.ndarray) -> tuple[np.ndarray, int, int]:
    """(float32 box, warped width, warped height): edge lengths in float32, as PaddleOCR computes them."""
    points = np.asarray(box, dtype=np.float32).reshape(4, 2)
    width = int(max(np.linalg.norm(points[0] - points[1]), np.linalg.norm(points[2] - points[3])))
    height = int(max(np.linalg.norm(points[0] - points[3]), np.linalg.norm(points[1] - points[2])))
    if width < 1 or height < 1:
        raise ValueError(f"box {points.tolist()} is degenerate: crop would be {width}x{height} pixels")
    return points, width, height


def _is_vertical(width: int, height: int) -> bool:
    return height * 1.0 / width >= VERTICAL_ASPECT


def rotate_crop(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Perspective-warps the quadrilateral ``box`` (4×2, clockwise from top-left) to an upright crop.

    The crop's size is the longer of each pair of opposite edges, truncated to whole pixels (edge
    lengths in float32, as PaddleOCR computes them); sampling is bicubic with replicated borders.
    A crop with height / width >= 1.5 is rotated 90° counter-clockwise. Returns a contiguous
    H×W×C uint8 array.
    """
    points, width, height = _warp(box)
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    transform = cv2.getPerspectiveTransform(points, target)
    crop = cv2.warpPerspective(
        image, transform, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    if _is_vertical(width, height):
        crop = np.rot90(crop)
    return np.ascontiguousarray(crop)


def crop_shape(box: np.ndarray) -> tuple[int, int]:
    """(height, width) of ``rotate_crop(image, box)``, without cutting it."""
    _, width, height = _warp(box)
    return (width, height) if _is_vertical(width, height) else (height, width)


def crop_to_image(points: np.ndarray, box: np.ndarray, turned: bool = False) -> np.ndarray:
    """Maps ``points`` (N×2, pixels of the crop ``rotate_crop(image, box)``, after the angle classifier's 180°
    turn when ``turned``) back to image coordinates: float64 N×2.

    The steps of :func:`rotate_crop` are undone in reverse order: the 180° turn, the quarter turn of a vertical
    crop, then the perspective warp. A point inside the crop lands inside ``box``, and the crop's corners land
    on the box's corners.
    """
    quad, width, height = _warp(box)
    vertical = _is_vertical(width, height)
    crop_height, crop_width = (width, height) if vertical else (height, width)
    xy = np.asarray(points, dtype=np.float64).reshape(-1, 2).copy()
    if turned:
        xy = np.stack([crop_width - xy[:, 0], crop_height - xy[:, 1]], axis=1)
    if vertical:  # np.rot90 turned the warped crop left: its column x came from warped row x, row y from W - y
        xy = np.stack([width - xy[:, 1], xy[:, 0]], axis=1)
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    inverse = np.linalg.inv(cv2.getPerspectiveTransform(quad, target))
    homogeneous = np.concatenate([xy, np.ones((len(xy), 1))], axis=1) @ inverse.T
    return homogeneous[:, :2] / homogeneous[:, 2:3]


def reading_corners(box: np.ndarray, turned: bool = False) -> np.ndarray:
    """The corners of ``box`` (float64 4×2) clockwise from the top-left of its text as it is read: for an upright
    line the box itself, for a vertical one (turned a quarter to be read) or a line read turned 180° the same
    corners starting elsewhere."""
    crop_height, crop_width = crop_shape(box)
    corners = np.array([[0, 0], [crop_width, 0], [crop_width, crop_height], [0, crop_height]], dtype=np.float64)
    return crop_to_image(corners, box, turned)


def crop_quad(box: np.ndarray, rule: str = "quad") -> np.ndarray:
    """The float32 4×2 quadrilateral that is warped into the crop of ``box`` (OCRSettings.crop): the box itself
    ("quad"), or the minimum-area rectangle of its corners truncated to int32, its corners ordered as DB's
    boxes are ("min_area_rect", PaddleX's get_minarea_rect_crop)."""
    if rule == "quad":
        return np.asarray(box, dtype=np.float32).reshape(4, 2)
    if rule != "min_area_rect":
        raise ValueError(f"unknown crop rule {rule!r}; expected 'quad' or 'min_area_rect'")
    corners, _ = mini_box(np.asarray(box, dtype=np.float32).reshape(4, 2).astype(np.int32))
    return corners


def can_crop(box: np.ndarray) -> bool:
    """Whether :func:`rotate_crop` gives ``box`` a crop of at least one pixel each way."""
    try:
        _warp(box)
    except ValueError:
        return False
    return True


def turn_180(crop: np.ndarray, rule: str = "rotate") -> np.ndarray:
    """``crop`` turned 180° (ClsSettings.turn): exactly ("rotate"), or as PaddleX's rotate_image turns it
    ("affine"): a bicubic warpAffine about (w/2, h/2) whose output pixel (x, y) reads input pixel (w − x, h − y),
    so the turned crop moves one pixel right and down, its first row and column black (the input's first row and
    column are lost)."""
    if rule == "rotate":
        return cv2.rotate(crop, cv2.ROTATE_180)
    if rule != "affine":
        raise ValueError(f"unknown turn {rule!r}; expected 'rotate' or 'affine'")
    # At whole-pixel positions the bicubic weights are (0, 1, 0, 0): the warp copies pixels, so a slice is exact.
    turned = np.zeros_like(crop)
    turned[1:, 1:] = crop[:0:-1, :0:-1]
    return turned
