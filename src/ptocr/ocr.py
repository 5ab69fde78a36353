"""`OCR`: the complete system — detect, classify angle, recognise — built from zoo models."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from importlib import resources
from typing import TypeVar

import numpy as np
import torch

from .errors import ModelChoiceError, WeightsMismatchError
from .factory import create_model
from .models.fusion import fuse_for_inference
from .pipeline.ctc import CTCDecoder
from .pipeline.image_io import DEFAULT_DPI, MAX_IMAGE_PIXELS, MAX_INPUT_BYTES, MAX_PAGES, ImageInput, load_image
from .pipeline.results import OCRResult, TextLine
from .pipeline.settings import TEXTLINE_CLS, ClsSettings, OCRSettings, generation_settings
from .pipeline.system import DEFAULT_MAX_PIXELS, LargeImages, OCRSystem
from .pipeline.threads import BoundedCalls
from .store import ModelStore
from .zoo import (
    PIR_VERSIONS,
    DetPreprocessing,
    LinePreprocessing,
    ModelRecord,
    choose_models,
    choose_preset,
    get_record,
)
from .zoo.selection import DEFAULT_VERSION

WeightsPath = str | os.PathLike[str] | None
T = TypeVar("T")
R = TypeVar("R")

#: Calls of one `OCR` that compute at once by default (`max_concurrent`); the others wait. Measured on 2 cores
#: (benchmarks/concurrency.py, README "Thread safety and concurrency"): 8 threads sharing one engine peaked at
#: 788 MiB with 2 against 702 MiB serial and 1484 MiB unbounded, and 2 calls keep both cores busy when the thread
#: policy gives each call fewer threads than CPUs.
DEFAULT_MAX_CONCURRENT = 2


def _head_width(net: torch.nn.Module) -> int | None:
    head = getattr(net, "head", None)
    width = getattr(head, "num_classes", None)
    return width if isinstance(width, int) else None


def _decoder_for(record: ModelRecord, net: torch.nn.Module) -> CTCDecoder:
    """The CTC decoder of ``record``'s dictionary, checked against the class count of the loaded network."""
    if record.dictionary is None or record.num_classes is None:
        raise ModelChoiceError(f"{record.name} is not a CTC recogniser with a dictionary")
    width = _head_width(net) or record.num_classes
    use_space_char = record.use_space_char or (record.space_char_from_weights and width == record.num_classes + 1)
    with resources.as_file(resources.files("ptocr.dicts") / record.dictionary) as path:
        decoder = CTCDecoder.from_dictionary_file(
            path, use_space_char=use_space_char, blank_last=record.ctc_blank == "last"
        )
    if decoder.num_classes != width:
        raise WeightsMismatchError(
            f"{record.name}: dictionary {record.dictionary} gives {decoder.num_classes} classes, "
            f"the model's head has {width}"
        )
    return decoder


def _cls_settings(cls: ModelRecord | None, base: OCRSettings) -> ClsSettings:
    """The classifier's settings: PaddleX's for the textline orientation classifiers, else its generation's."""
    if cls is None:
        return base.cls
    if cls.version in PIR_VERSIONS or cls.name.endswith("_textline_ori"):
        return TEXTLINE_CLS
    return generation_settings(cls.version).cls


def settings_for(det: ModelRecord, rec: ModelRecord, cls: ModelRecord | None) -> OCRSettings:
    """Each stage's settings as PaddleOCR ran its model's generation (`generation_settings`: PaddleOCR 1.1's or
    1.0's pipeline for the v1.x models, 3.x's for PP-OCRv5 / PP-OCRv6, 2.x's defaults otherwise), with each model's
    own input settings.

    The score filter and the crop rule follow the recogniser's generation; the angle classifier is on unless there
    is none (``cls`` None, as in PaddleOCR 1.0). A PP-OCRv5 / PP-OCRv6 detector keeps PaddleOCR 3.x's pipeline
    resize (its record's own side limit is what PaddleX uses outside the pipeline) and takes max_candidates from
    its inference.yml (`pipeline.settings.DB_DEFAULTS`).
    """
    base = generation_settings(rec.version, det_model=det.name)
    settings = dataclasses.replace(
        base,
        det=generation_settings(det.version, det_model=det.name).det,
        cls=_cls_settings(cls, base),
        use_angle_cls=cls is not None,
    )
    if isinstance(det.preprocessing, DetPreprocessing):
        pre = det.preprocessing
        resize = {"limit_side_len": pre.limit_side_len, "limit_type": pre.limit_type}
        if det.version in PIR_VERSIONS:
            resize = {}
        settings = dataclasses.replace(
            settings, det=dataclasses.replace(settings.det, mean=pre.mean, std=pre.std, **resize)
        )
    if isinstance(rec.preprocessing, LinePreprocessing):
        settings = dataclasses.replace(
            settings, rec=dataclasses.replace(settings.rec, image_shape=rec.preprocessing.image_shape)
        )
    if cls is not None and isinstance(cls.preprocessing, LinePreprocessing):
        pre, labels = cls.preprocessing, cls.labels or settings.cls.labels
        mean, std = (value if isinstance(value, tuple) else (value,) * 3 for value in (pre.mean, pre.std))
        settings = dataclasses.replace(
            settings,
            cls=dataclasses.replace(
                settings.cls, image_shape=pre.image_shape, labels=labels, resize=pre.resize,
                channel_order=pre.channel_order, mean=mean, std=std,
            ),
        )  # fmt: skip
    return settings


def choose_system(
    det_model: str | None = None,
    rec_model: str | None = None,
    cls_model: str | None = None,
    *,
    lang: str | None = None,
    version: str | None = None,
    size: str | None = None,
    preset: str | None = None,
) -> dict[str, str | None]:
    """The zoo names `OCR` would load for these arguments, ``{"det", "rec", "cls"}`` (cls None where the system
    has none), without loading anything: an unknown name, language or version fails here as it would there."""
    if preset is not None:
        if lang is not None or version is not None or size is not None:
            raise ModelChoiceError(f"preset {preset!r} names the models itself; give lang/version or preset, not both")
        chosen = choose_preset(preset)
    else:
        chosen = choose_models("ch" if lang is None else lang, DEFAULT_VERSION if version is None else version, size)
    names = {"det": det_model or chosen.det, "rec": rec_model or chosen.rec, "cls": cls_model or chosen.cls}
    for name in names.values():
        if name is not None:
            get_record(name)  # UnknownModelError, with the closest names
    return names


class OCR:
    """PaddleOCR's PP-OCR system in PyTorch.

    >>> ocr = OCR()                       # ch_PP-OCRv4_det + ch_ppocr_mobile_v2.0_cls + ch_PP-OCRv4_rec
    >>> lines = ocr("receipt.jpg")        # also a BGR numpy array, encoded bytes or a PIL image
    >>> lines[0].text, lines[0].score, lines[0].box
    >>> OCR(lang="fr", version="PP-OCRv3")  # en_PP-OCRv3_det + latin_PP-OCRv3_rec, as PaddleOCR picks them
    >>> OCR(version="PP-OCR-v1.1", lang="japan")  # PaddleOCR 1.1's models and pipeline
    >>> OCR(preset="chinese_db_crnn_server")       # PaddleOCR 1.0's server system
    >>> OCR(version="PP-OCRv6", size="tiny")       # PP-OCRv6 tiny with PaddleOCR 3.x's pipeline

    `lang` (default "ch") and `version` (default PP-OCRv4) choose the models exactly as PaddleOCR 2.x's
    ``PaddleOCR(lang=, ocr_version=)`` does, and for "PP-OCR-v1.1" / "PP-OCR-v1.0" as paddleocr 1.1.1 / 0.0.x
    did (`ptocr.zoo.choose_models`). "PP-OCRv5" and "PP-OCRv6" choose as PaddleOCR 3.x / RapidOCR 3.10 do, in
    the `size` given: "mobile" (default) or "server" for v5, "small" (default), "tiny" or "medium" for v6
    (`ptocr.zoo.paddleocr3_selection` says why these defaults), and run PaddleOCR 3.x's pipeline
    (`ptocr.pipeline.settings.PADDLEOCR_3`: the textline orientation classifier on, no score filter).
    `preset` instead names a whole system by its release name
    (`ptocr.zoo.PRESETS`: "chinese_db_crnn_mobile", "chinese_db_crnn_server", "ch_ppocr_mobile_v1.1",
    "ch_ppocr_server_v1.1"); it cannot be combined with `lang`/`version`. Models named explicitly
    (`det_model=` …, zoo names from `ptocr.list_models()`) win. Each stage runs with the pipeline settings of
    its model's generation (`settings_for`), so v1.x models get PaddleOCR 1.x's resize, box and score rules.
    `*_weights` point at other copies of their files (a Paddle inference folder,
    an `.onnx` file, a trained `.pdparams` or a converted `.safetensors`). `settings` replaces the whole
    `OCRSettings` (the default is PaddleOCR 2.x's, with each chosen model's input settings); `use_angle_cls`,
    when given, overrides that one setting. `threads`: CPU threads for the networks; None (default) uses
    the CPUs that other running processes leave free, checked before each image
    (`ptocr.pipeline.threads`), an int exactly that many. `collect_timings`: results carry the seconds spent
    per stage (`OCRResult.timings`). `max_pixels` (default 50 MP): larger images are detected on a copy downscaled
    to that size, boxes mapped back to the full image (`large_images="downscale"`), or refused with an
    ImageDecodeError before decoding (`large_images="refuse"`). The input policy (README "Inputs"): with
    "downscale", images of more than `max_image_pixels` (default 2**28) are refused before they are decoded;
    encoded inputs of more than `max_bytes` (default 256 MiB) before they are read whole; documents with more
    than `max_pages` pages to read (default 1000) before any is rendered. `pad_to_aspect`, when given, sets
    `DetSettings.pad_to_aspect`: strips wider (or taller) than that ratio are padded before detection (off by
    default, as in PaddleOCR).

    Thread safety: one `OCR` may be shared by any number of threads; each call gives exactly the result it gives
    alone. At most `max_concurrent` calls (default `DEFAULT_MAX_CONCURRENT`, None for no bound) compute at once,
    the others wait, so threads cannot multiply the peak memory; `run_many` and `read` hold a permit per chunk of
    images, not while their results are consumed. README "Thread safety and concurrency".

    Inputs (README "Inputs"): paths, folders' files, bytes, file objects, http(s) URLs, numpy arrays, PIL
    images; `read` gives one result per page of a PDF or multi-page TIFF, the other methods read the first page.
    """

    def __init__(
        self,
        det_model: str | None = None,
        rec_model: str | None = None,
        cls_model: str | None = None,
        *,
        lang: str | None = None,
        version: str | None = None,
        size: str | None = None,
        preset: str | None = None,
        use_angle_cls: bool | None = None,
        settings: OCRSettings | None = None,
        device: str | torch.device = "cpu",
        threads: int | None = None,
        collect_timings: bool = False,
        det_weights: WeightsPath = None,
        rec_weights: WeightsPath = None,
        cls_weights: WeightsPath = None,
        store: ModelStore | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        large_images: LargeImages = "downscale",
        pad_to_aspect: float | None = None,
        max_image_pixels: int = MAX_IMAGE_PIXELS,
        max_bytes: int = MAX_INPUT_BYTES,
        max_pages: int = MAX_PAGES,
        max_concurrent: int | None = DEFAULT_MAX_CONCURRENT,
    ) -> None:
        self._calls = BoundedCalls(max_concurrent)  # checks the value before any model is loaded
        chosen = choose_system(det_model, rec_model, cls_model, lang=lang, version=version, size=size, preset=preset)
        det_model, rec_model, cls_model = chosen["det"], chosen["rec"], chosen["cls"]
        assert det_model is not None and rec_model is not None
        det_record, rec_record = get_record(det_model), get_record(rec_model)
        for record, task in ((det_record, "det"), (rec_record, "rec")):
            if record.task != task:
                raise ModelChoiceError(
                    f"{record.name} is a {record.task} model, not a {task} model: choose a {task} model for "
                    f"{task}_model= (`ptocr models list --task {task}`)"
                )
        if settings is None:
            settings = settings_for(det_record, rec_record, get_record(cls_model) if cls_model else None)
        if use_angle_cls is not None:
            settings = dataclasses.replace(settings, use_angle_cls=use_angle_cls)
        if pad_to_aspect is not None:
            settings = dataclasses.replace(settings, det=dataclasses.replace(settings.det, pad_to_aspect=pad_to_aspect))
        cls_net = None
        if settings.use_angle_cls:
            if cls_model is None:
                raise ModelChoiceError(
                    f"{preset or version} has no angle classifier: name one (cls_model=) or pass use_angle_cls=False"
                )
            cls_record = get_record(cls_model)
            if cls_record.task != "cls":
                raise ModelChoiceError(
                    f"{cls_record.name} is a {cls_record.task} model, not a cls model: choose one for cls_model= "
                    "(`ptocr models list --task cls`)"
                )
            cls_net = fuse_for_inference(create_model(cls_model, cls_weights, store=store))
        self.settings = settings
        self.models = {"det": det_model, "rec": rec_model, "cls": cls_model if cls_net is not None else None}
        rec_net = fuse_for_inference(create_model(rec_model, rec_weights, store=store))
        self.system = OCRSystem(
            det_net=fuse_for_inference(create_model(det_model, det_weights, store=store)),
            cls_net=cls_net,
            rec_net=rec_net,
            decoder=_decoder_for(rec_record, rec_net),
            settings=settings,
            device=device,
            threads=threads,
            collect_timings=collect_timings,
            max_pixels=max_pixels,
            large_images=large_images,
            max_image_pixels=max_image_pixels,
            max_bytes=max_bytes,
            max_pages=max_pages,
        )

    def __call__(self, image: ImageInput) -> list[TextLine]:
        """Recognised lines with score ≥ drop_score, in reading order."""
        return self._calls.run(lambda: self.system(image))

    def run(self, image: ImageInput, words: bool = False) -> OCRResult:
        """Like calling the object, with the image size (and timings) in a typed, JSON-exportable result.
        With ``words`` each line carries its word boxes (``TextLine.words``: one per character in scripts
        written without spaces), found from the recogniser's CTC time steps; texts and scores are unchanged.
        ``result.to_page()`` / ``Document.from_results([...])`` build the page → line → word tree."""
        return self._calls.run(lambda: self.system.run(image, words=words))

    def run_many(self, images: Iterable[ImageInput], chunk_size: int = 8, words: bool = False) -> Iterator[OCRResult]:
        """`run` over many images, yielded in order, each network batched across `chunk_size` images at a time
        (the same results, fewer and fuller network calls: see `OCRSystem.run_many`)."""
        return self.system.run_many(images, chunk_size, words=words, gate=self._calls.run)

    def read(
        self,
        source: ImageInput,
        pages: str | Sequence[int] | None = None,
        dpi: int = DEFAULT_DPI,
        words: bool = False,
    ) -> list[OCRResult]:
        """One `OCRResult` per page: every page of a PDF (rendered at `dpi`) or multi-page TIFF, or the 1-based
        `pages` chosen (`"1-3,5"` or `[1, 2, 3, 5]`); a single image gives a list of one. `words` as for `run`."""
        return self.system.read(source, pages=pages, dpi=dpi, words=words, gate=self._calls.run)

    # -- the stages on their own ------------------------------------------------------------------------------
    # Thin wrappers over OCRSystem's stages, so each gets exactly the pre- and post-processing `run` gives it.
    # `run` prepares the CPU thread count once per image; each stage call does the same, and each counts in the
    # `max_concurrent` bound as `run` does.

    def _stage(self, stage: Callable[[T], R], argument: T) -> R:
        self.system._start()
        return stage(argument)

    def detect(self, image: ImageInput) -> np.ndarray:
        """Text boxes of ``image`` (DB post-processing, box filter and reading order included): float32 N×4×2,
        each box's corners clockwise from the top-left, in pixels of the image. Boxes whose text later scores
        below ``drop_score`` are still here: that filter belongs to recognition."""
        return self._calls.run(lambda: self._stage(self.system.detect, image))

    def crop(self, image: ImageInput, boxes: np.ndarray | Sequence[Sequence[Sequence[float]]]) -> list[np.ndarray]:
        """One upright BGR crop per box (perspective-warped; turned 90° when much taller than wide), as `run`
        cuts them for classification and recognition."""
        array = np.asarray(boxes, dtype=np.float32).reshape(-1, 4, 2)
        return self._calls.run(lambda: self.system.crop(image, array))

    def classify(self, crops: ImageInput | Sequence[ImageInput]) -> list[tuple[str, float]]:
        """The angle classifier's ``(label, score)`` per crop (labels "0" / "180"). One crop (an array, path,
        bytes or PIL image) or a list of them; always a list back. Needs the classifier
        (``use_angle_cls`` not False)."""
        return self.upright(crops)[1]

    def upright(self, crops: ImageInput | Sequence[ImageInput]) -> tuple[list[np.ndarray], list[tuple[str, float]]]:
        """`classify`, and the crops with those judged upside down (label "180" above ``cls.thresh``; for the
        PaddleOCR 3.x textline classifiers, label "180" at all) turned 180°, as `run` passes them to recognition."""
        if self.system.cls_net is None:
            raise ValueError("this OCR was built without the angle classifier (use_angle_cls=False)")
        loaded = _as_crops(crops)
        return self._calls.run(lambda: self._stage(self.system.classify, loaded))

    def recognize(self, crops: ImageInput | Sequence[ImageInput]) -> list[tuple[str, float]]:
        """``(text, score)`` per crop of one text line, with the recogniser's own resize and normalisation. One
        crop or a list of them; always a list back. No score filter (``drop_score`` applies to `run`)."""
        loaded = _as_crops(crops)
        return self._calls.run(lambda: self._stage(self.system.recognize, loaded))


def _as_crops(crops: ImageInput | Sequence[ImageInput]) -> list[np.ndarray]:
    """A list of BGR crops from one image input or a list/tuple of them (an ndarray is always one crop)."""
    if isinstance(crops, (list, tuple)):
        return [load_image(crop) for crop in crops]
    return [load_image(crops)]
