"""The whole PP-OCR flow — detect, (classify angle), recognise — as PaddleOCR 2.x's TextSystem runs it.

The three networks are plain callables on float32 N×3×H×W tensors (usually ``torch.nn.Module``s):
the detector returns an N×1×H×W probability map, the classifier N×L label probabilities and the
recogniser N×T×C per-step class probabilities. Everything around them is numpy / OpenCV and follows
PaddleOCR's numerics exactly, so the same network outputs give the same boxes, texts and scores.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import cv2
import numpy as np
import torch

from ptocr.pipeline.crop import rotate_crop
from ptocr.pipeline.ctc import CTCDecoder
from ptocr.pipeline.db_postprocess import DBPostProcessor, filter_det_boxes, sort_boxes
from ptocr.pipeline.image_io import ImageInput, load_image
from ptocr.pipeline.preprocess import (
    aspect_ratio_order,
    batch_ranges,
    build_cls_batch,
    build_rec_batch,
    preprocess_det,
)
from ptocr.pipeline.results import OCRResult, TextLine
from ptocr.pipeline.settings import OCRSettings
from ptocr.pipeline.threads import ThreadPolicy

Net = Callable[[torch.Tensor], Any]

# PaddleOCR flips a crop when the winning label contains this and its score beats the threshold.
_UPSIDE_DOWN_LABEL = "180"


class OCRSystem:
    """Detection → angle classification → recognition → score filter, in PaddleOCR's order.

    ``nn.Module`` nets are moved to ``device`` and put in eval mode once, here. ``cls_net`` may be
    None only when ``settings.use_angle_cls`` is False. ``decoder`` is a :class:`CTCDecoder` or the
    list of characters after the blank.
    """

    def __init__(
        self,
        det_net: Net,
        cls_net: Net | None,
        rec_net: Net,
        decoder: CTCDecoder | Sequence[str],
        settings: OCRSettings | None = None,
        device: str | torch.device = "cpu",
        collect_timings: bool = False,
        threads: int | None = None,
    ) -> None:
        self.settings = settings if settings is not None else OCRSettings()
        if self.settings.use_angle_cls and cls_net is None:
            raise ValueError("use_angle_cls is on but no cls_net was given; pass one or turn it off")
        self.device = torch.device(device)
        self.det_net = self._prepare(det_net)
        self.cls_net = self._prepare(cls_net) if cls_net is not None else None
        self.rec_net = self._prepare(rec_net)
        self.decoder = decoder if isinstance(decoder, CTCDecoder) else CTCDecoder(decoder)
        self.postprocessor = DBPostProcessor(self.settings.det)
        self.collect_timings = collect_timings
        self.threads = ThreadPolicy(threads)

    def _prepare(self, net: Net) -> Net:
        if isinstance(net, torch.nn.Module):
            net.to(self.device).eval()
        elif not callable(net):
            raise TypeError(f"a network must be callable, got {type(net).__name__}")
        return net

    def _infer(self, net: Net, batch: np.ndarray) -> np.ndarray:
        """Runs one batch and returns the output as a float32 numpy array."""
        inputs = torch.from_numpy(batch).to(self.device)
        with torch.inference_mode():
            output = net(inputs)
        if isinstance(output, torch.Tensor):
            return output.detach().to("cpu", torch.float32).numpy()
        if isinstance(output, np.ndarray):
            return output.astype(np.float32, copy=False)
        raise TypeError(f"a network returned {type(output).__name__}; expected a tensor or an ndarray")

    # -- stages ---------------------------------------------------------------------------------

    def detect(self, image: ImageInput) -> np.ndarray:
        """Text boxes of ``image``: float32 N×4×2, clockwise from top-left, in reading order."""
        image = load_image(image)
        det_input, shape = preprocess_det(image, self.settings.det)
        prob = self._infer(self.det_net, det_input)
        expected = (1, 1, *det_input.shape[2:])
        if prob.shape != expected and prob.shape != expected[1:]:
            raise ValueError(f"the detector returned shape {prob.shape}; expected {expected}")
        boxes, _ = self.postprocessor(prob, shape)
        boxes = filter_det_boxes(boxes, image.shape[0], image.shape[1])
        return sort_boxes(boxes)

    def crop(self, image: ImageInput, boxes: np.ndarray) -> list[np.ndarray]:
        """One upright crop per box (see :func:`rotate_crop`)."""
        image = load_image(image)
        return [rotate_crop(image, box) for box in boxes]

    def classify(self, crops: Sequence[np.ndarray]) -> tuple[list[np.ndarray], list[tuple[str, float]]]:
        """Angle decisions for ``crops`` and the crops with the upside-down ones turned 180°.

        Crops are batched in order of aspect ratio; each decision is the arg-max label and its
        probability. A crop is turned when its label contains "180" and its probability is above
        the threshold (compared in float32, like PaddleOCR's float32 scores).
        """
        if self.cls_net is None:
            raise ValueError("this OCRSystem has no cls_net")
        settings = self.settings.cls
        rotated = list(crops)
        decisions: list[tuple[str, float]] = [("", 0.0)] * len(crops)
        order = aspect_ratio_order(crops)
        threshold = np.float32(settings.thresh)
        for positions in batch_ranges(len(crops), settings.batch_size):
            indices = [int(order[position]) for position in positions]
            probs = self._infer(self.cls_net, build_cls_batch([crops[i] for i in indices], settings))
            if probs.shape != (len(indices), len(settings.labels)):
                raise ValueError(
                    f"the classifier returned shape {probs.shape}; "
                    f"expected ({len(indices)}, {len(settings.labels)})"
                )
            best = probs.argmax(axis=1)
            for row, index in enumerate(indices):
                label, score = settings.labels[best[row]], probs[row, best[row]]
                decisions[index] = (label, float(score))
                if _UPSIDE_DOWN_LABEL in label and score > threshold:
                    rotated[index] = cv2.rotate(crops[index], cv2.ROTATE_180)
        return rotated, decisions

    def recognize(self, crops: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        """(text, score) per crop. Crops are batched in order of aspect ratio, each batch as wide as
        its widest crop needs (at least the settings' width)."""
        settings = self.settings.rec
        results: list[tuple[str, float]] = [("", 0.0)] * len(crops)
        order = aspect_ratio_order(crops)
        for positions in batch_ranges(len(crops), settings.batch_size):
            indices = [int(order[position]) for position in positions]
            probs = self._infer(self.rec_net, build_rec_batch([crops[i] for i in indices], settings))
            if probs.ndim != 3 or probs.shape[0] != len(indices):
                raise ValueError(
                    f"the recogniser returned shape {probs.shape}; expected ({len(indices)}, T, classes)"
                )
            for index, decoded in zip(indices, self.decoder.decode(probs), strict=True):
                results[index] = decoded
        return results

    # -- whole flow -----------------------------------------------------------------------------

    def run(self, image: ImageInput) -> OCRResult:
        """OCR of one image: lines with score >= drop_score, in reading order."""
        started = time.perf_counter()
        timings: dict[str, float] = {}
        if self.device.type == "cpu":
            self.threads.apply()
        image = load_image(image)

        stage_start = time.perf_counter()
        boxes = self.detect(image)
        timings["det"] = time.perf_counter() - stage_start

        crops = self.crop(image, boxes)
        if self.settings.use_angle_cls and self.cls_net is not None:
            stage_start = time.perf_counter()
            crops, _ = self.classify(crops)
            timings["cls"] = time.perf_counter() - stage_start

        stage_start = time.perf_counter()
        recognized = self.recognize(crops)
        timings["rec"] = time.perf_counter() - stage_start

        drop_score = self.settings.drop_score
        lines = tuple(
            TextLine(box=box, text=text, score=score)
            for box, (text, score) in zip(boxes, recognized, strict=True)
            if score >= drop_score
        )
        timings["total"] = time.perf_counter() - started
        return OCRResult(
            lines=lines,
            image_height=int(image.shape[0]),
            image_width=int(image.shape[1]),
            timings=timings if self.collect_timings else {},
        )

    def __call__(self, image: ImageInput) -> list[TextLine]:
        """The kept lines of :meth:`run`, as a list."""
        return list(self.run(image).lines)
