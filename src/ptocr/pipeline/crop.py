"""Cutting a detected text quadrilateral out of the image (PaddleOCR's get_rotate_crop_image)."""

from __future__ import annotations

import cv2
import numpy as np

# Crops at least this much taller than wide are taken to be vertical text and turned a quarter left.
VERTICAL_ASPECT = 1.5


def rotate_crop(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Perspective-warps the quadrilateral ``box`` (4×2, clockwise from top-left) to an upright crop.

    The crop's size is the longer of each pair of opposite edges, truncated to whole pixels (edge
    lengths in float32, as PaddleOCR computes them); sampling is bicubic with replicated borders.
    A crop with height / width >= 1.5 is rotated 90° counter-clockwise. Returns a contiguous
    H×W×C uint8 array.
    """
    points = np.asarray(box, dtype=np.float32).reshape(4, 2)
    width = int(max(np.linalg.norm(points[0] - points[1]), np.linalg.norm(points[2] - points[3])))
    height = int(max(np.linalg.norm(points[0] - points[3]), np.linalg.norm(points[1] - points[2])))
    if width < 1 or height < 1:
        raise ValueError(f"box {points.tolist()} is degenerate: crop would be {width}x{height} pixels")
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    transform = cv2.getPerspectiveTransform(points, target)
    crop = cv2.warpPerspective(
        image, transform, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    if crop.shape[0] * 1.0 / crop.shape[1] >= VERTICAL_ASPECT:
        crop = np.rot90(crop)
    return np.ascontiguousarray(crop)
