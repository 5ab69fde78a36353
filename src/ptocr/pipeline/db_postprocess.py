"""DB (Differentiable Binarization) post-processing: probability map → text quadrilaterals.

Mirrors PaddleOCR 2.x DBPostProcess (box type "quad") followed by predict_det.py's filter_tag_det_res
and predict_system.py's sorted_boxes; the DetSettings fields named after PaddleOCR 1.x's rules select its
variants (box scaling, strict threshold, corner and reading order), and those named after PaddleX's (PaddleOCR
3.x) its box scaling and unclip measure. The per-contour work is inherently a
loop (one minAreaRect, one polygon offset per candidate); everything per pixel is done by OpenCV.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pyclipper

from ptocr.pipeline.preprocess import DetShape
from ptocr.pipeline.settings import DetSettings

# A candidate region whose minimum-area rectangle is thinner than this is noise (PaddleOCR's min_size);
# after unclipping the limit is MIN_SIZE + 2.
MIN_SIZE = 3
# filter_tag_det_res drops boxes whose first two edges are not longer than this many pixels.
MIN_EDGE_PIXELS = 3
# sorted_boxes treats boxes whose top-left y differ by less than this as one line, ordered by x.
SAME_LINE_PIXELS = 10


class DBPostProcessor:
    """Turns a detector probability map into boxes (float32 N×4×2, source-image pixels) and scores."""

    def __init__(self, settings: DetSettings | None = None) -> None:
        self.settings = settings if settings is not None else DetSettings()

    def __call__(self, prob_map: np.ndarray, shape: DetShape) -> tuple[np.ndarray, np.ndarray]:
        """Boxes (clockwise from the top-left corner of the minimum-area rectangle) and their scores.

        ``prob_map`` is the H×W sigmoid map (a 1×1×H×W or 1×H×W array is squeezed). The boxes are
        integer-valued, in the coordinates of the original image, not yet clipped or sorted.
        """
        pred = _squeeze_map(prob_map)
        height, width = pred.shape
        # float32 comparison, as numpy does for a float32 array against a Python float.
        bitmap = (pred > np.float32(self.settings.thresh)).astype(np.uint8)
        if self.settings.use_dilation:
            bitmap = cv2.dilate(bitmap, np.ones((2, 2), dtype=np.uint8))
        contours, _ = cv2.findContours(bitmap * np.uint8(255), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)

        boxes: list[np.ndarray] = []
        scores: list[float] = []
        for contour in contours[: self.settings.max_candidates]:
            corners, short_side = mini_box(contour)
            if short_side < MIN_SIZE:
                continue
            if self.settings.score_mode == "fast":
                score = box_score_fast(pred, corners)
            else:
                score = box_score_slow(pred, contour)
            if self.settings.box_thresh > score:
                continue
            # PaddleOCR 1.x stores the score in a float32 array and keeps the box only if it is then above
            # box_thresh (the comparison itself in float64, as numpy 1.x compared a float32 scalar to a float).
            if self.settings.strict_box_thresh and not float(np.float32(score)) > self.settings.box_thresh:
                continue
            expanded = unclip(corners, self.settings.unclip_ratio, self.settings.unclip_measure)
            if expanded is None:
                continue
            corners, short_side = mini_box(expanded.reshape(-1, 1, 2))
            if short_side < MIN_SIZE + 2:
                continue
            if self.settings.box_scaling == "via_ratio":
                boxes.append(_to_source_pixels_via_ratio(corners, width, height, shape))
            elif self.settings.box_scaling == "scale_factor":
                boxes.append(_to_source_pixels_by_factor(corners, width, height, shape))
            else:
                boxes.append(_to_source_pixels(corners, width, height, shape))
            scores.append(score)
        if not boxes:
            return np.zeros((0, 4, 2), dtype=np.float32), np.zeros((0,), dtype=np.float64)
        return np.stack(boxes).astype(np.float32), np.asarray(scores, dtype=np.float64)


def _squeeze_map(prob_map: np.ndarray) -> np.ndarray:
    pred = np.asarray(prob_map)
    while pred.ndim > 2 and pred.shape[0] == 1:
        pred = pred[0]
    if pred.ndim != 2:
        raise ValueError(f"expected an H×W probability map, got shape {np.shape(prob_map)}")
    return np.ascontiguousarray(pred, dtype=np.float32)


def _to_source_pixels(corners: np.ndarray, width: int, height: int, shape: DetShape) -> np.ndarray:
    """Map-space float32 corners → rounded, clipped source-image pixels (int32).

    The division runs in float32 and the multiplication in float64, as PaddleOCR's
    ``box / width * dest_width`` does (float32 array, Python int, then a float64 scalar).
    """
    dest_w, dest_h = float(shape.src_width), float(shape.src_height)
    xs = np.round((corners[:, 0] / np.float32(width)).astype(np.float64) * dest_w)
    ys = np.round((corners[:, 1] / np.float32(height)).astype(np.float64) * dest_h)
    return np.stack([np.clip(xs, 0, dest_w), np.clip(ys, 0, dest_h)], axis=1).astype(np.int32)


def _to_source_pixels_by_factor(corners: np.ndarray, width: int, height: int, shape: DetShape) -> np.ndarray:
    """PaddleX's mapping: each float32 corner times ``src_side / map_side`` (float64), rounded half to even and
    clipped to [0, src_side]. (PaddleX then stores the corners as int16, which wraps above 32767 pixels; ptocr
    keeps int32.)"""
    dest_w, dest_h = float(shape.src_width), float(shape.src_height)
    xs = np.round(corners[:, 0].astype(np.float64) * (dest_w / width))
    ys = np.round(corners[:, 1].astype(np.float64) * (dest_h / height))
    return np.stack([np.clip(xs, 0, dest_w), np.clip(ys, 0, dest_h)], axis=1).astype(np.int32)


def _to_source_pixels_via_ratio(corners: np.ndarray, width: int, height: int, shape: DetShape) -> np.ndarray:
    """PaddleOCR 1.x's mapping: corners rounded and clipped in map pixels (float32, then stored as int16), then
    divided by the resize ratio (float64) and truncated as they are stored back into the int16 array."""
    xs = np.clip(np.round(corners[:, 0] / np.float32(width) * np.float32(width)), 0, width).astype(np.int16)
    ys = np.clip(np.round(corners[:, 1] / np.float32(height) * np.float32(height)), 0, height).astype(np.int16)
    xs = np.trunc(xs.astype(np.float64) / shape.ratio_w)
    ys = np.trunc(ys.astype(np.float64) / shape.ratio_h)
    return np.stack([xs, ys], axis=1).astype(np.int32)


def mini_box(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Minimum-area rectangle of ``points`` as float32 4×2 corners and its shorter side.

    The corners come from ``cv2.boxPoints``, stably sorted by x; of the two left ones the upper is
    first and the lower last, of the two right ones the upper is second: clockwise from top-left.
    """
    rect = cv2.minAreaRect(points)
    corners = cv2.boxPoints(rect)
    by_x = corners[np.argsort(corners[:, 0], kind="stable")]
    top_left, bottom_left = (0, 1) if by_x[1, 1] > by_x[0, 1] else (1, 0)
    top_right, bottom_right = (2, 3) if by_x[3, 1] > by_x[2, 1] else (3, 2)
    ordered = by_x[[top_left, top_right, bottom_right, bottom_left]]
    return ordered, min(rect[1])


def box_score_fast(pred: np.ndarray, corners: np.ndarray) -> float:
    """Mean probability inside the quadrilateral, rasterised at integer (truncated) corners."""
    height, width = pred.shape
    xmin = int(np.clip(np.floor(corners[:, 0].min()), 0, width - 1))
    xmax = int(np.clip(np.ceil(corners[:, 0].max()), 0, width - 1))
    ymin = int(np.clip(np.floor(corners[:, 1].min()), 0, height - 1))
    ymax = int(np.clip(np.ceil(corners[:, 1].max()), 0, height - 1))
    # Shift in float32 and truncate toward zero (astype), as PaddleOCR does; not a floor.
    shifted = (corners - np.array([xmin, ymin], dtype=np.float32)).astype(np.int32)
    mask = np.zeros((ymax - ymin + 1, xmax - xmin + 1), dtype=np.uint8)
    cv2.fillPoly(mask, shifted.reshape(1, -1, 2), 1)
    return float(cv2.mean(pred[ymin : ymax + 1, xmin : xmax + 1], mask)[0])


def box_score_slow(pred: np.ndarray, contour: np.ndarray) -> float:
    """Mean probability inside the contour polygon itself (score_mode "slow")."""
    height, width = pred.shape
    points = contour.reshape(-1, 2).astype(np.int32)
    xmin = int(np.clip(points[:, 0].min(), 0, width - 1))
    xmax = int(np.clip(points[:, 0].max(), 0, width - 1))
    ymin = int(np.clip(points[:, 1].min(), 0, height - 1))
    ymax = int(np.clip(points[:, 1].max(), 0, height - 1))
    shifted = points - np.array([xmin, ymin], dtype=np.int32)
    mask = np.zeros((ymax - ymin + 1, xmax - xmin + 1), dtype=np.uint8)
    cv2.fillPoly(mask, shifted.reshape(1, -1, 2), 1)
    return float(cv2.mean(pred[ymin : ymax + 1, xmin : xmax + 1], mask)[0])


def polygon_area_and_perimeter(points: np.ndarray) -> tuple[float, float]:
    """Area and perimeter of a simple polygon, in float64 with GEOS's (shapely's) formulas.

    Same operation order as GEOS, so the unclip distance matches what PaddleOCR computes with shapely.
    """
    xs = [float(v) for v in points[:, 0]]
    ys = [float(v) for v in points[:, 1]]
    count = len(xs)
    if count < 3:
        return 0.0, 0.0
    xs.append(xs[0])
    ys.append(ys[0])
    signed = 0.0
    for i in range(1, count):  # closed ring of count + 1 points, anchored at the first x
        signed += (xs[i] - xs[0]) * (ys[i - 1] - ys[i + 1])
    perimeter = 0.0
    for i in range(1, count + 1):
        dx, dy = xs[i] - xs[i - 1], ys[i] - ys[i - 1]
        perimeter += math.sqrt(dx * dx + dy * dy)
    return abs(signed / 2.0), perimeter


def unclip(corners: np.ndarray, unclip_ratio: float, measure: str = "shapely") -> np.ndarray | None:
    """Grows the quadrilateral by ``area * ratio / perimeter`` with round joins (pyclipper).

    ``measure`` (DetSettings.unclip_measure): area and perimeter by shapely's formulas (PaddleOCR 2.x) or by
    OpenCV's ``contourArea`` / closed ``arcLength`` of the float32 corners (PaddleX). Returns the single expanded
    polygon as an int64 K×2 array, or None when the offset does not give exactly one polygon (PaddleOCR skips
    those).
    """
    if measure == "opencv":
        contour = np.asarray(corners, dtype=np.float32).reshape(-1, 2)
        area, perimeter = float(cv2.contourArea(contour)), float(cv2.arcLength(contour, True))
    elif measure == "shapely":
        area, perimeter = polygon_area_and_perimeter(corners)
    else:
        raise ValueError(f"unknown unclip measure {measure!r}; expected 'shapely' or 'opencv'")
    if perimeter <= 0.0:
        return None
    offset = pyclipper.PyclipperOffset()
    # The float32 corners go in as they are: pyclipper truncates them to integers as PaddleOCR's does.
    offset.AddPath(corners, pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    paths = offset.Execute(area * unclip_ratio / perimeter)
    if len(paths) != 1 or len(paths[0]) == 0:
        return None
    return np.array(paths[0], dtype=np.int64)


def order_points_clockwise(points: np.ndarray) -> np.ndarray:
    """PaddleOCR's corner ordering: smallest x+y first, largest x+y third; of the other two, the one
    with the smaller y-x is second (top-right) and the larger fourth (bottom-left)."""
    sums = points.sum(axis=1)
    first, third = int(np.argmin(sums)), int(np.argmax(sums))
    rest = np.delete(points, (first, third), axis=0)
    diffs = np.diff(rest, axis=1)
    ordered = np.empty((4, 2), dtype=np.float32)
    ordered[0], ordered[2] = points[first], points[third]
    ordered[1], ordered[3] = rest[np.argmin(diffs)], rest[np.argmax(diffs)]
    return ordered


def order_points_x_sort(points: np.ndarray) -> np.ndarray:
    """PaddleOCR 1.x's corner ordering (after imutils): the two corners of smallest x are the left pair, the
    upper of them first and the lower fourth; of the right pair the upper is second, the lower third. Each sort
    is numpy's default (not stable) argsort, as in predict_det.py."""
    points = np.asarray(points, dtype=np.float32).reshape(4, 2)
    by_x = points[np.argsort(points[:, 0]), :]
    left, right = by_x[:2, :], by_x[2:, :]
    top_left, bottom_left = left[np.argsort(left[:, 1]), :]
    top_right, bottom_right = right[np.argsort(right[:, 1]), :]
    return np.array([top_left, top_right, bottom_right, bottom_left], dtype=np.float32)


def filter_det_boxes(
    boxes: np.ndarray, image_height: int, image_width: int, corner_order: str = "sum_diff"
) -> np.ndarray:
    """Orders each box's corners (DetSettings.corner_order: "sum_diff" 2.x, "x_sort" 1.x), clips them into
    the image (integer pixels) and drops boxes whose top or left edge is not longer than MIN_EDGE_PIXELS.
    Returns float32 M×4×2."""
    if corner_order not in ("sum_diff", "x_sort"):
        raise ValueError(f"unknown corner_order {corner_order!r}; expected 'sum_diff' or 'x_sort'")
    order = order_points_x_sort if corner_order == "x_sort" else order_points_clockwise
    kept: list[np.ndarray] = []
    for box in np.asarray(boxes, dtype=np.float32).reshape(-1, 4, 2):
        ordered = order(box)
        # int(min(max(v, 0), size - 1)): truncation after the clip, i.e. a floor.
        ordered[:, 0] = np.floor(np.clip(ordered[:, 0], 0, image_width - 1))
        ordered[:, 1] = np.floor(np.clip(ordered[:, 1], 0, image_height - 1))
        top_edge = int(np.linalg.norm(ordered[0] - ordered[1]))
        left_edge = int(np.linalg.norm(ordered[0] - ordered[3]))
        if top_edge <= MIN_EDGE_PIXELS or left_edge <= MIN_EDGE_PIXELS:
            continue
        kept.append(ordered)
    if not kept:
        return np.zeros((0, 4, 2), dtype=np.float32)
    return np.stack(kept)


def reading_order(boxes: np.ndarray, rule: str = "insertion") -> list[int]:
    """Indices of ``boxes`` in PaddleOCR's reading order.

    A stable sort by the first corner's (y, x), then (rule "insertion", 2.x) one insertion pass moving a box
    left past its predecessors while they are on the same line (|Δy| < 10, computed in float32) and further
    right, or (rule "single_pass", PaddleOCR 1.x) one pass swapping each adjacent pair once under that test.
    """
    if rule not in ("insertion", "single_pass"):
        raise ValueError(f"unknown reading order rule {rule!r}; expected 'insertion' or 'single_pass'")
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4, 2)
    top_y, top_x = boxes[:, 0, 1], boxes[:, 0, 0]
    order = sorted(range(len(boxes)), key=lambda i: (float(top_y[i]), float(top_x[i])))
    for i in range(len(order) - 1):
        for j in range(i, -1 if rule == "insertion" else i - 1, -1):
            upper, lower = order[j], order[j + 1]
            if abs(top_y[lower] - top_y[upper]) < SAME_LINE_PIXELS and top_x[lower] < top_x[upper]:
                order[j], order[j + 1] = lower, upper
            else:
                break
    return order


def sort_boxes(boxes: np.ndarray, rule: str = "insertion") -> np.ndarray:
    """``boxes`` (float32 N×4×2) rearranged in PaddleOCR's reading order, see :func:`reading_order`."""
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4, 2)
    return boxes[reading_order(boxes, rule)]
