"""What the detector sees of a page, and how its boxes get back to the page.

Two opt-outs from running DB on the page exactly as given, both off unless asked for:

* a page of more than ``max_pixels`` pixels is detected on a copy shrunk (INTER_AREA) to that many pixels: under
  ``limit_type="min"`` or ``"resize_long"`` the detector would otherwise run on the full page, and its
  probability map alone is 4 bytes per pixel. Boxes are scaled back; crops are still cut from the full page.
* ``DetSettings.pad_to_aspect``: a strip wider than that aspect ratio (or taller, for a vertical one) is padded
  at the bottom (right) with its background colour. DB's resize otherwise squeezes a 20 px high line of a wide
  strip to a few pixels, or stretches it to the 32 px minimum height, and lines touching the image edge lose the
  context the network was trained with. Padding right/bottom leaves box coordinates unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class DetectionView:
    """``image`` is what the detector runs on; its top-left ``content_height`` × ``content_width`` pixels are
    the page scaled by ``scale`` (the rest is padding)."""

    image: np.ndarray
    scale: float
    content_height: int
    content_width: int

    def to_page(self, boxes: np.ndarray, page_height: int, page_width: int) -> np.ndarray:
        """Boxes (N×4×2, in content pixels) in page pixels, clipped into the page."""
        if self.scale == 1.0 or len(boxes) == 0:
            return boxes
        mapped = np.asarray(boxes, dtype=np.float64).copy()
        mapped[:, :, 0] = np.clip(np.round(mapped[:, :, 0] * page_width / self.content_width), 0, page_width - 1)
        mapped[:, :, 1] = np.clip(np.round(mapped[:, :, 1] * page_height / self.content_height), 0, page_height - 1)
        return mapped.astype(np.float32)


def background_color(image: np.ndarray) -> tuple[int, int, int]:
    """The per-channel median of the image's outermost rows and columns: the paper, for a cropped line."""
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    return tuple(int(v) for v in np.median(border, axis=0))  # type: ignore[return-value]


def pad_to_aspect(image: np.ndarray, max_aspect: float) -> np.ndarray:
    """``image`` padded at the bottom (if wide) or right (if tall) with its background colour so that neither
    width / height nor height / width exceeds ``max_aspect``; the same array when it already does not."""
    height, width = image.shape[:2]
    bottom = max(0, math.ceil(width / max_aspect) - height)
    right = max(0, math.ceil(height / max_aspect) - width)
    if bottom == 0 and right == 0:
        return image
    return cv2.copyMakeBorder(image, 0, bottom, 0, right, cv2.BORDER_CONSTANT, value=background_color(image))


def detection_view(page: np.ndarray, max_pixels: int | None, max_aspect: float | None) -> DetectionView:
    """The page as the detector should see it: shrunk to ``max_pixels`` if larger, then padded to
    ``max_aspect`` (either None: not done)."""
    height, width = page.shape[:2]
    image, scale = page, 1.0
    if max_pixels is not None and height * width > max_pixels:
        scale = math.sqrt(max_pixels / (height * width))
        size = (max(1, int(width * scale)), max(1, int(height * scale)))
        image = cv2.resize(page, size, interpolation=cv2.INTER_AREA)
    content_height, content_width = image.shape[:2]
    if max_aspect is not None:
        image = pad_to_aspect(image, max_aspect)
    return DetectionView(image=image, scale=scale, content_height=content_height, content_width=content_width)
