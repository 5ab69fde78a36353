"""PP-OCR's pre- and post-processing and the detect → classify → recognise flow.

Everything here but :class:`OCRSystem` is numpy + OpenCV + pyclipper and reproduces PaddleOCR 2.x's
numbers exactly; :class:`OCRSystem` runs the three networks with torch.
"""

from __future__ import annotations

from ptocr.pipeline.crop import rotate_crop
from ptocr.pipeline.ctc import CTCDecoder
from ptocr.pipeline.db_postprocess import (
    DBPostProcessor,
    filter_det_boxes,
    order_points_clockwise,
    reading_order,
    sort_boxes,
)
from ptocr.pipeline.image_io import (
    IMAGE_SUFFIXES,
    MAX_IMAGE_PIXELS,
    ImageInput,
    PageImage,
    find_images,
    iter_pages,
    load_image,
    load_pages,
    parse_pages,
)
from ptocr.pipeline.preprocess import (
    DetShape,
    aspect_ratio_order,
    build_cls_batch,
    build_rec_batch,
    det_resize_target,
    preprocess_det,
    rec_batch_width,
    resize_norm_crop,
)
from ptocr.pipeline.results import OCRResult, TextLine
from ptocr.pipeline.settings import ClsSettings, DetSettings, OCRSettings, RecSettings
from ptocr.pipeline.system import OCRSystem

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_IMAGE_PIXELS",
    "CTCDecoder",
    "ClsSettings",
    "DBPostProcessor",
    "DetSettings",
    "DetShape",
    "ImageInput",
    "OCRResult",
    "OCRSettings",
    "OCRSystem",
    "PageImage",
    "RecSettings",
    "TextLine",
    "aspect_ratio_order",
    "build_cls_batch",
    "build_rec_batch",
    "det_resize_target",
    "filter_det_boxes",
    "find_images",
    "iter_pages",
    "load_image",
    "load_pages",
    "order_points_clockwise",
    "parse_pages",
    "preprocess_det",
    "reading_order",
    "rec_batch_width",
    "resize_norm_crop",
    "rotate_crop",
    "sort_boxes",
]
