"""The whole PP-OCR flow — detect, (classify angle), recognise — as PaddleOCR 2.x's TextSystem runs it, or as
PaddleOCR 3.x's (PaddleX's) OCR pipeline does where the settings name its rules (`settings.PADDLEOCR_3`).

The three networks are plain callables on float32 N×3×H×W tensors (usually ``torch.nn.Module``s):
the detector returns an N×1×H×W probability map, the classifier N×L label probabilities and the
recogniser N×T×C per-step class probabilities. Everything around them is numpy / OpenCV and follows
PaddleOCR's numerics exactly, so the same network outputs give the same boxes, texts and scores.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from ptocr.pipeline.crop import can_crop, crop_quad, rotate_crop, turn_180
from ptocr.pipeline.ctc import CharSteps, CTCDecoder
from ptocr.pipeline.db_postprocess import DBPostProcessor, filter_det_boxes, sort_boxes
from ptocr.pipeline.det_view import DetectionView, detection_view
from ptocr.pipeline.image_io import (
    DEFAULT_DPI,
    MAX_IMAGE_PIXELS,
    MAX_INPUT_BYTES,
    MAX_PAGES,
    ImageInput,
    iter_pages,
    load_image,
)
from ptocr.pipeline.input_source import input_limits
from ptocr.pipeline.preprocess import (
    DetShape,
    aspect_ratio_order,
    batch_ranges,
    build_cls_batch,
    build_rec_batch,
    preprocess_det,
    rec_batch_width,
    rec_crop_width,
)
from ptocr.pipeline.results import OCRResult, TextLine
from ptocr.pipeline.settings import OCRSettings
from ptocr.pipeline.threads import R, SideBySide, T, ThreadPolicy
from ptocr.pipeline.words import line_words

Net = Callable[[torch.Tensor], Any]

# PaddleOCR flips a crop when the winning label contains this and its score beats the threshold.
_UPSIDE_DOWN_LABEL = "180"


@dataclass(frozen=True)
class _CallBounds:
    """How much one network call of `run_many` may take: crops, and crops × width for recognition.

    A GPU wants few, full calls. On the CPU calls twice PaddleOCR's 6 crops gain nearly all there is to gain,
    while each call's activations grow with its size, and calls run side by side (measured: 24 crops per call
    held 1010–1080 MiB at peak over the 93 dev images, 12 crops 880 MiB, at about the same speed).
    """

    crops: int
    rec_columns: int


_CPU_CALL_BOUNDS = _CallBounds(crops=12, rec_columns=12 * 320)
_ACCELERATOR_CALL_BOUNDS = _CallBounds(crops=24, rec_columns=48 * 320)
# A chunk of `run_many` also ends once its decoded images hold this many pixels (about 48 MB as BGR).
_MANY_MAX_PIXELS = 16_000_000
#: Larger images are detected on a downscaled copy (or refused): 50 MP, a 8660×5770 photo, is beyond any camera
#: page people OCR, and the full-resolution detector input of such a page would take gigabytes.
DEFAULT_MAX_PIXELS = 50_000_000
LargeImages = Literal["downscale", "refuse"]


@dataclass(frozen=True)
class _ReadSteps:
    """Where a line's characters were read (only when word boxes are asked for): its CTC steps, the width of the
    recogniser batch it was read in, and the columns of it its crop was resized to."""

    steps: CharSteps
    batch_width: int
    resized_width: int


# (text, score, where its characters were read or None) per crop.
_Read = tuple[str, float, "_ReadSteps | None"]


@contextmanager
def _full_float32(device: torch.device) -> Iterator[None]:
    """No TensorFloat-32 on CUDA while the networks run: cuDNN uses it for float32 convolutions by default, and
    its 10-bit mantissa moved scores by up to 0.09 and changed 2 of the 93 shared images' texts on an H100."""
    if device.type != "cuda":
        yield
        return
    matmul = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        cudnn = torch.backends.cudnn
        with cudnn.flags(cudnn.enabled, cudnn.benchmark, deterministic=cudnn.deterministic, allow_tf32=False):
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = matmul


class StageClock:
    """Seconds spent per named stage, summed over the threads that ran it; a no-op unless enabled (its cost is
    two clock reads)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.seconds: dict[str, float] = defaultdict(float)
        self._lock = threading.Lock()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            with self._lock:
                self.seconds[name] += elapsed


_NO_CLOCK = StageClock(False)
# Computes one chunk of `run_many` (`BoundedCalls.run`, or in place).
ChunkRunner = Callable[[Callable[[], list[OCRResult]]], list[OCRResult]]


def _in_place(work: Callable[[], list[OCRResult]]) -> list[OCRResult]:
    return work()


class OCRSystem:
    """Detection → angle classification → recognition → score filter, in PaddleOCR's order.

    ``nn.Module`` nets are moved to ``device`` and put in eval mode once, here. ``cls_net`` may be
    None only when ``settings.use_angle_cls`` is False. ``decoder`` is a :class:`CTCDecoder` or the
    list of characters after the blank. With ``collect_timings`` every result carries the seconds spent
    per stage: ``load``, ``det_pre``/``det_net``/``det_post``, ``crop``, ``cls_pre``/``cls_net``,
    ``rec_pre``/``rec_net``/``decode`` and ``total`` (``ptocr --profile`` sums them over a run).

    Images of more than ``max_pixels`` pixels are, with ``large_images="downscale"``, detected on a copy shrunk
    to that size (boxes scaled back, lines cropped from the full image), or with ``"refuse"`` rejected with an
    ImageDecodeError before it is decoded. With "downscale" a page above ``max(max_pixels, max_image_pixels)``
    (default 2**28) is refused before it is decoded. Encoded inputs of more than ``max_bytes`` and documents of
    more than ``max_pages`` pages to read are refused before they are read whole (`image_io.InputLimits`); the
    refusals name the setting to raise.
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
        max_pixels: int = DEFAULT_MAX_PIXELS,
        large_images: LargeImages = "downscale",
        max_image_pixels: int = MAX_IMAGE_PIXELS,
        max_bytes: int = MAX_INPUT_BYTES,
        max_pages: int = MAX_PAGES,
    ) -> None:
        if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels < 1:
            raise ValueError(f"max_pixels must be a positive int, got {max_pixels!r}")
        if large_images not in ("downscale", "refuse"):
            raise ValueError(f"large_images must be 'downscale' or 'refuse', got {large_images!r}")
        self.max_pixels, self.large_images = max_pixels, large_images
        self.input_limits = input_limits(max_pixels, large_images, max_image_pixels, max_bytes, max_pages)
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
        self._side_by_side = SideBySide()
        # Per-run state (its stage clock and thread count), one per calling thread: concurrent runs on one system
        # keep their own timings. Helper threads of `SideBySide` are given the state of the run they work for.
        self._run_state = threading.local()
        self.fixed_batches = self.device.type == "cuda"
        self._call_bounds = _CPU_CALL_BOUNDS if self.device.type == "cpu" else _ACCELERATOR_CALL_BOUNDS

    def _prepare(self, net: Net) -> Net:
        if isinstance(net, torch.nn.Module):
            net.to(self.device).eval()
        elif not callable(net):
            raise TypeError(f"a network must be callable, got {type(net).__name__}")
        return net

    def _infer(self, net: Net, batch: np.ndarray, stage: str, fixed_batch: int | None = None) -> np.ndarray:
        """Runs one batch and returns the output as a float32 numpy array (timed as `stage`).

        With `fixed_batches` (on by default on a GPU) a batch of fewer than `fixed_batch` rows is padded with
        zero rows whose outputs are dropped: every row is computed on its own, so the results are the same,
        while cuDNN plans each new input shape anew, which costs more than the padded rows.
        """
        rows = batch.shape[0]
        if fixed_batch is not None and self.fixed_batches and rows < fixed_batch:
            batch = np.concatenate([batch, np.zeros((fixed_batch - rows, *batch.shape[1:]), batch.dtype)])
        with self._clock.stage(stage):
            inputs = torch.from_numpy(batch).to(self.device)
            with torch.inference_mode(), _full_float32(self.device):
                output = net(inputs)
            if isinstance(output, torch.Tensor):
                return output[:rows].detach().to("cpu", torch.float32).numpy()
        if isinstance(output, np.ndarray):
            return output[:rows].astype(np.float32, copy=False)
        raise TypeError(f"a network returned {type(output).__name__}; expected a tensor or an ndarray")

    # -- stages ---------------------------------------------------------------------------------

    def detect(self, image: ImageInput) -> np.ndarray:
        """Text boxes of ``image``: float32 N×4×2, clockwise from top-left, in reading order."""
        return self._detect_many([self._load(image)])[0]

    def _load(self, image: ImageInput) -> np.ndarray:
        return load_image(image, limits=self.input_limits)

    def _boxes(self, prob: np.ndarray, shape: DetShape, view: DetectionView, image: np.ndarray) -> np.ndarray:
        """Boxes of ``image`` from the 1×H×W probability map of its detection view, filtered, in reading order."""
        with self._clock.stage("det_post"):
            boxes, _ = self.postprocessor(prob[None], shape)
            det = self.settings.det
            if det.filter_boxes:
                boxes = filter_det_boxes(boxes, view.content_height, view.content_width, det.corner_order)
            boxes = view.to_page(boxes, image.shape[0], image.shape[1])
            boxes = sort_boxes(boxes, det.reading_order)
            if det.filter_boxes:
                return boxes
            # Without 2.x's filter a box may be too thin to cut out; PaddleX drops a line whose crop is empty after
            # sorting, so the others keep the order they were sorted into.
            return boxes[[can_crop(crop_quad(box, self.settings.crop)) for box in boxes]].reshape(-1, 4, 2)

    def crop(self, image: ImageInput, boxes: np.ndarray) -> list[np.ndarray]:
        """One upright crop per box (see :func:`rotate_crop`; of the box's minimum-area rectangle with
        ``settings.crop`` "min_area_rect")."""
        image = self._load(image)
        rule = self.settings.crop
        with self._clock.stage("crop"):
            return [rotate_crop(image, crop_quad(box, rule)) for box in boxes]

    def classify(self, crops: Sequence[np.ndarray]) -> tuple[list[np.ndarray], list[tuple[str, float]]]:
        """Angle decisions for ``crops`` and the crops with the upside-down ones turned 180°.

        Crops are batched in order of aspect ratio; each decision is the arg-max label and its
        probability. A crop is turned when its label contains "180" and (``cls.decision`` "threshold") its
        probability is above the threshold (compared in float32, like PaddleOCR's float32 scores), turned as
        ``cls.turn`` says.
        """
        if self.cls_net is None:
            raise ValueError("this OCRSystem has no cls_net")
        settings = self.settings.cls
        rotated = list(crops)
        decisions: list[tuple[str, float]] = [("", 0.0)] * len(crops)
        order = aspect_ratio_order(crops)
        batches = [[int(order[p]) for p in positions] for positions in batch_ranges(len(crops), settings.batch_size)]

        def classify_batch(indices: list[int]) -> list[tuple[str, float, bool]]:
            with self._clock.stage("cls_pre"):
                batch = build_cls_batch([crops[i] for i in indices], settings)
            return self._cls_decisions(batch)

        outcomes = self._side_by_side_map(classify_batch, batches, [len(indices) for indices in batches])
        for indices, batch_decisions in zip(batches, outcomes, strict=True):
            for index, (label, score, upside_down) in zip(indices, batch_decisions, strict=True):
                decisions[index] = (label, score)
                if upside_down:
                    rotated[index] = turn_180(crops[index], settings.turn)
        return rotated, decisions

    def _cls_decisions(self, batch: np.ndarray) -> list[tuple[str, float, bool]]:
        """(label, probability, turn it?) per row of a classifier batch."""
        settings = self.settings.cls
        count, labels = batch.shape[0], len(settings.labels)
        probs = self._infer(self.cls_net, batch, "cls_net", settings.batch_size)
        if probs.shape != (count, labels):
            raise ValueError(f"the classifier returned shape {probs.shape}; expected ({count}, {labels})")
        # PaddleX's Topk takes the last of an ascending argsort: of equal probabilities, the later label.
        last = settings.decision == "argmax"
        winners = labels - 1 - probs[:, ::-1].argmax(axis=1) if last else probs.argmax(axis=1)
        decisions = [(settings.labels[best], float(probs[row, best])) for row, best in enumerate(winners)]
        return [(label, score, self._turns(label, score)) for label, score in decisions]

    def _turns(self, label: str, score: float) -> bool:
        """Whether a (label, probability) decision of :meth:`classify` turned its crop 180° (the probability is
        a float32 value, compared in float32 as when it was decided)."""
        if self.settings.cls.decision == "argmax":
            return _UPSIDE_DOWN_LABEL in label
        return bool(_UPSIDE_DOWN_LABEL in label and np.float32(score) > np.float32(self.settings.cls.thresh))

    def _check_rec(self, probs: np.ndarray, count: int) -> np.ndarray:
        if probs.ndim != 3 or probs.shape[0] != count:
            raise ValueError(f"the recogniser returned shape {probs.shape}; expected ({count}, T, classes)")
        return probs

    def recognize(self, crops: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        """(text, score) per crop. Crops are batched in order of aspect ratio, each batch as wide as
        its widest crop needs (at least the settings' width)."""
        return [(text, score) for text, score, _ in self._recognize(crops, with_steps=False)]

    def _decode(
        self, probs: np.ndarray, batch_width: int, crops: Sequence[np.ndarray], with_steps: bool
    ) -> list[_Read]:
        """Texts and scores of a recogniser batch of `crops` `batch_width` columns wide, with where each character
        was read when `with_steps` (word boxes; the plain decode otherwise)."""
        settings = self.settings.rec
        with self._clock.stage("decode"):
            if not with_steps:
                return [(text, score, None) for text, score in self.decoder.decode(probs, score=settings.ctc_score)]
            decoded = self.decoder.decode_with_steps(probs, score=settings.ctc_score)
            return [
                (text, score, _ReadSteps(steps, batch_width, rec_crop_width(*crop.shape[:2], batch_width, settings)))
                for (text, score, steps), crop in zip(decoded, crops, strict=True)
            ]

    def _recognize(self, crops: Sequence[np.ndarray], with_steps: bool) -> list[_Read]:
        settings = self.settings.rec
        results: list[_Read] = [("", 0.0, None)] * len(crops)
        order = aspect_ratio_order(crops, settings.ratio_sort)
        batches = [[int(order[p]) for p in positions] for positions in batch_ranges(len(crops), settings.batch_size)]

        def recognize_batch(indices: list[int]) -> list[_Read]:
            members = [crops[i] for i in indices]
            with self._clock.stage("rec_pre"):
                batch = build_rec_batch(members, settings)
            probs = self._check_rec(self._infer(self.rec_net, batch, "rec_net", settings.batch_size), len(indices))
            return self._decode(probs, batch.shape[3], members, with_steps)

        costs = [len(indices) * rec_batch_width([crops[i] for i in indices], settings) for indices in batches]
        for indices, decoded in zip(batches, self._side_by_side_map(recognize_batch, batches, costs), strict=True):
            for index, read in zip(indices, decoded, strict=True):
                results[index] = read
        return results

    # -- whole flow -----------------------------------------------------------------------------

    def run(self, image: ImageInput, words: bool = False) -> OCRResult:
        """OCR of one image: lines with score >= drop_score, in reading order. Each line's ``angle`` says whether
        the classifier turned it (None without one); with ``words`` each line also gets its word boxes
        (:mod:`ptocr.pipeline.words`; a little decoding work per line, the same texts and scores)."""
        started = self._start()
        with self._clock.stage("load"):
            image = self._load(image)
        boxes = self.detect(image)
        crops = self.crop(image, boxes)
        turned = None
        if self.settings.use_angle_cls and self.cls_net is not None:
            crops, decisions = self.classify(crops)
            turned = [self._turns(label, score) for label, score in decisions]
        recognized = self._recognize(crops, with_steps=words)
        return self._result(image, boxes, recognized, self._timings(started, images=1), turned)

    @property
    def _clock(self) -> StageClock:
        """The stage clock of the run this thread works for (a disabled one outside any run)."""
        clock = getattr(self._run_state, "clock", None)
        return clock if clock is not None else _NO_CLOCK

    def _start(self) -> float:
        """Sets up timing and the thread count for one run in this thread; its start time."""
        self._run_state.clock = StageClock(self.collect_timings)
        self._run_state.threads = self.threads.apply() if self.device.type == "cpu" else 1
        return time.perf_counter()

    def _side_by_side_map(self, work: Callable[[T], R], items: Sequence[T], costs: Sequence[float]) -> list[R]:
        """`[work(item) for item in items]` for independent network calls: on the CPU, side by side on as many
        threads as the thread policy gave this run, one intra-op thread each (`SideBySide`)."""
        threads = getattr(self._run_state, "threads", 1) if self.device.type == "cpu" else 1
        clock = self._clock
        state = self._run_state

        def in_this_run(item: T) -> R:
            state.clock = clock  # a helper thread times its share on the clock of the run it works for
            return work(item)

        return self._side_by_side.map(in_this_run, items, costs, threads)

    def _timings(self, started: float, images: int) -> dict[str, float]:
        """The stage times since `started`, each divided evenly among `images`; empty unless collected."""
        if not self.collect_timings:
            return {}
        timings = dict(self._clock.seconds)
        timings["total"] = time.perf_counter() - started
        return {name: seconds / images for name, seconds in timings.items()}

    def _result(
        self,
        image: np.ndarray,
        boxes: np.ndarray,
        recognized: Sequence[_Read],
        timings: dict[str, float],
        turned: Sequence[bool] | None = None,
    ) -> OCRResult:
        drop_score = self.settings.drop_score
        height = self.settings.rec.image_shape[1]
        rule = self.settings.crop
        lines = []
        for index, (box, (text, score, read)) in enumerate(zip(boxes, recognized, strict=True)):
            if score < drop_score:
                continue
            line_turned = bool(turned[index]) if turned is not None else False
            words = None
            if read is not None:
                words = line_words(
                    read.steps, crop_quad(box, rule), read.batch_width, height, line_turned, self.decoder.reverse,
                    resized_width=read.resized_width,
                )
            angle = None if turned is None else ("180" if line_turned else "0")
            lines.append(TextLine(box=box, text=text, score=score, angle=angle, words=words))
        return OCRResult(
            lines=tuple(lines), image_height=int(image.shape[0]), image_width=int(image.shape[1]), timings=timings
        )

    def run_many(
        self,
        images: Iterable[ImageInput],
        chunk_size: int = 8,
        words: bool = False,
        gate: ChunkRunner | None = None,
    ) -> Iterator[OCRResult]:
        """OCR of many images, yielded in order, with each network batched across ``chunk_size`` images at a time.

        The results are those of :meth:`run` on each image: detection batches only images whose detector
        inputs have the same size; classification inputs have a fixed width, so any crops may share a call;
        and each crop is recognised at exactly the width of the batch PaddleOCR would put it in on its own
        image (per image, `settings.rec.batch_size` crops by aspect ratio), calls grouping the crops of equal
        width; on the CPU, independent calls run side by side as in :meth:`run`. A chunk also ends once its
        decoded images hold 16 megapixels. Fewer, fuller network calls pay off on a GPU; on a CPU, chunks of 8
        measured 0.83 of :meth:`run`'s time on the dev images (the independent calls of different images keep
        both threads busy), with about 12 % more peak memory.
        With ``collect_timings`` each result carries its chunk's stage times divided evenly among its images;
        ``words`` as in :meth:`run`. ``gate`` (an `OCR`'s bound on concurrent calls, `BoundedCalls.run`) reads and
        computes each chunk; its results are yielded after: a consumer that is slow, or that itself calls the
        engine between results, holds no place in the bound.
        """
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ValueError(f"chunk_size must be a positive int, got {chunk_size!r}")
        return self._chunks(iter(images), chunk_size, words, gate if gate is not None else _in_place)

    def _chunks(
        self, pending: Iterator[ImageInput], chunk_size: int, words: bool, gate: ChunkRunner
    ) -> Iterator[OCRResult]:
        def next_chunk() -> list[OCRResult]:
            started = self._start()
            pages: list[np.ndarray] = []
            pixels = 0
            for image in pending:
                with self._clock.stage("load"):
                    pages.append(self._load(image))
                pixels += pages[-1].shape[0] * pages[-1].shape[1]
                if len(pages) == chunk_size or pixels >= _MANY_MAX_PIXELS:
                    break
            return self._run_chunk(pages, started, words) if pages else []

        while results := gate(next_chunk):
            yield from results

    def _run_chunk(self, pages: list[np.ndarray], started: float, words: bool = False) -> list[OCRResult]:
        boxes = self._detect_many(pages)
        crops = [self.crop(page, page_boxes) for page, page_boxes in zip(pages, boxes, strict=True)]
        turned: list[list[bool]] | list[None] = [None] * len(pages)
        if self.settings.use_angle_cls and self.cls_net is not None:
            crops, turned = self._classify_many(crops)
        recognized = self._recognize_many(crops, with_steps=words)
        timings = self._timings(started, images=len(pages))
        return [
            self._result(page, page_boxes, texts, timings, page_turned)
            for page, page_boxes, texts, page_turned in zip(pages, boxes, recognized, turned, strict=True)
        ]

    def _detect_many(self, pages: list[np.ndarray]) -> list[np.ndarray]:
        with self._clock.stage("det_pre"):
            downscale = self.max_pixels if self.large_images == "downscale" else None
            views = [detection_view(page, downscale, self.settings.det.pad_to_aspect) for page in pages]
            inputs = [preprocess_det(view.image, self.settings.det) for view in views]
        by_size: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for index, (det_input, _) in enumerate(inputs):
            by_size[det_input.shape].append(index)
        boxes: list[np.ndarray] = [np.zeros((0, 4, 2), np.float32)] * len(pages)
        groups = list(by_size.items())

        def detect_group(group: tuple[tuple[int, ...], list[int]]) -> list[np.ndarray]:
            size, members = group
            batch = np.concatenate([inputs[i][0] for i in members]) if len(members) > 1 else inputs[members[0]][0]
            probs = self._infer(self.det_net, batch, "det_net")
            expected = (len(members), 1, *size[2:])
            if probs.shape != expected and not (len(members) == 1 and probs.shape == expected[1:]):
                raise ValueError(f"the detector returned shape {probs.shape}; expected {expected}")
            probs = probs.reshape(expected)
            return [
                self._boxes(probs[row], inputs[index][1], views[index], pages[index])
                for row, index in enumerate(members)
            ]

        costs = [len(members) * float(np.prod(size)) for size, members in groups]
        for (_, members), group_boxes in zip(groups, self._side_by_side_map(detect_group, groups, costs), strict=True):
            for index, page_boxes in zip(members, group_boxes, strict=True):
                boxes[index] = page_boxes
        return boxes

    def _classify_many(self, crops: list[list[np.ndarray]]) -> tuple[list[list[np.ndarray]], list[list[bool]]]:
        """The crops with the upside-down ones turned, and which were turned."""
        settings = self.settings.cls
        flat = [(page, index) for page, page_crops in enumerate(crops) for index in range(len(page_crops))]
        rotated = [list(page_crops) for page_crops in crops]
        turned = [[False] * len(page_crops) for page_crops in crops]
        batches = [[flat[p] for p in positions] for positions in batch_ranges(len(flat), settings.batch_size)]

        def classify_batch(members: list[tuple[int, int]]) -> list[tuple[str, float, bool]]:
            with self._clock.stage("cls_pre"):
                batch = build_cls_batch([crops[page][index] for page, index in members], settings)
            return self._cls_decisions(batch)

        outcomes = self._side_by_side_map(classify_batch, batches, [len(members) for members in batches])
        for members, decisions in zip(batches, outcomes, strict=True):
            for (page, index), (_, _, upside_down) in zip(members, decisions, strict=True):
                if upside_down:
                    rotated[page][index] = turn_180(crops[page][index], settings.turn)
                    turned[page][index] = True
        return rotated, turned

    def _recognize_many(self, crops: list[list[np.ndarray]], with_steps: bool = False) -> list[list[_Read]]:
        settings = self.settings.rec
        by_width: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for page, page_crops in enumerate(crops):
            order = aspect_ratio_order(page_crops, settings.ratio_sort)
            for positions in batch_ranges(len(page_crops), settings.batch_size):
                indices = [int(order[position]) for position in positions]
                width = rec_batch_width([page_crops[i] for i in indices], settings)
                by_width[width].extend((page, index) for index in indices)
        results: list[list[_Read]] = [[("", 0.0, None)] * len(page_crops) for page_crops in crops]
        calls: list[tuple[int, int, list[tuple[int, int]]]] = []  # (width, crops per call, the crops)
        bounds = self._call_bounds
        for width, members in sorted(by_width.items()):
            per_call = max(1, min(bounds.crops, bounds.rec_columns // width))
            for positions in batch_ranges(len(members), per_call):
                calls.append((width, per_call, [members[position] for position in positions]))

        def recognize_call(call: tuple[int, int, list[tuple[int, int]]]) -> list[_Read]:
            width, per_call, group = call
            members = [crops[page][index] for page, index in group]
            with self._clock.stage("rec_pre"):
                batch = build_rec_batch(members, settings, width)
            probs = self._check_rec(self._infer(self.rec_net, batch, "rec_net", per_call), len(group))
            return self._decode(probs, width, members, with_steps)

        costs = [width * len(group) for width, _, group in calls]
        for (_, _, group), decoded in zip(calls, self._side_by_side_map(recognize_call, calls, costs), strict=True):
            for (page, index), read in zip(group, decoded, strict=True):
                results[page][index] = read
        return results

    def read(
        self,
        source: ImageInput,
        pages: str | Sequence[int] | None = None,
        dpi: int = DEFAULT_DPI,
        chunk_size: int = 8,
        words: bool = False,
        gate: ChunkRunner | None = None,
    ) -> list[OCRResult]:
        """One `OCRResult` per page of ``source`` (every page of a PDF or TIFF, or those ``pages`` selects:
        ``"1-3,5"`` or 1-based numbers; PDF pages rendered at ``dpi``), read as `run_many` reads images. A single
        image gives a list of one. ``gate`` as for `run_many`."""
        documents = iter_pages(source, pages=pages, dpi=dpi, limits=self.input_limits)
        return list(self.run_many((page.image for page in documents), chunk_size, words=words, gate=gate))

    def __call__(self, image: ImageInput) -> list[TextLine]:
        """The kept lines of :meth:`run`, as a list."""
        return list(self.run(image).lines)
