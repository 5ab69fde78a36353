"""PaddleOCR 2.x's interface on ptocr: ``from ptocr.compat import PaddleOCR`` and a ``paddleocr``-style command.

``PaddleOCR(**kwargs)`` takes PaddleOCR 2.7's keyword arguments (its command-line flags' names) and maps them
onto `ptocr.OCR` and `ptocr.OCRSettings`; ``.ocr(img, det=, rec=, cls=, bin=, inv=, alpha_color=)`` returns
exactly the nested lists and tuples PaddleOCR 2.7+ returns. The command ``ptocr-paddleocr --image_dir ...``
(also ``python -m ptocr.compat``) parses ``paddleocr``'s flags and prints its log lines.

Every difference from PaddleOCR is listed in the README ("Coming from PaddleOCR"). In short: keyword
arguments PaddleOCR would silently accept but ptocr cannot honour raise `UnsupportedOptionError`, while flags
that only tune Paddle's inference engine (``enable_mkldnn``, ``use_tensorrt``, …) are accepted and ignored.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .errors import ImageDecodeError, PtocrError, UnsupportedOptionError
from .pipeline.image_io import (
    IMAGE_SUFFIXES,
    InputLimits,
    iter_pages,
    load_image,
    load_pages,
    quiet_native_stderr,
    read_file,
    sniff_file,
)
from .zoo import choose_models, get_record
from .zoo.selection import DEFAULT_VERSION

Box = list[list[float]]

#: Flags of Paddle's inference engine and of PaddleOCR's other tools that change nothing in ptocr's results:
#: accepted and ignored (``cpu_threads`` alone is used: it sets the CPU threads).
IGNORED_OPTIONS = frozenset({
    "show_log", "enable_mkldnn", "use_tensorrt", "min_subgraph_size", "ir_optim", "gpu_mem", "use_xpu",
    "use_npu", "use_mlu", "warmup", "benchmark", "save_log_path", "use_mp", "total_process_num", "process_id",
    "max_batch_size", "save_crop_res", "crop_res_save_dir", "draw_img_save_dir", "vis_font_path",
    "use_pdserving", "image_dir", "det", "rec", "type", "output", "max_text_length", "cls_batch_num",
    "binarize", "invert", "alphacolor", "savefile", "layout", "table", "ocr", "recovery", "use_visual_backbone",
    "e2e_algorithm", "sr_image_shape", "sr_batch_num", "shape_info_filename", "onnx_providers", "onnx_sess_options",
})  # fmt: skip

#: Options whose only supported value is PaddleOCR's default: any other value raises UnsupportedOptionError.
FIXED_OPTIONS: dict[str, tuple[Any, ...]] = {
    "det_algorithm": ("DB",),
    "rec_algorithm": ("SVTR_LCNet", "CRNN"),
    "det_box_type": ("quad",),
    "use_onnx": (False,),
    "use_space_char": (True,),
    "return_word_box": (False,),
    "precision": ("fp32",),
    "use_fp16": (False,),
}


def _settings_options() -> dict[str, Callable[[Any], Any]]:
    """Options that become ptocr settings, each with the conversion of its value."""

    def shape(value: Any) -> tuple[int, ...]:
        parts = value.split(",") if isinstance(value, str) else value
        return tuple(int(part) for part in parts)

    return {
        "det_limit_side_len": int, "det_limit_type": str, "det_db_thresh": float, "det_db_box_thresh": float,
        "det_db_unclip_ratio": float, "use_dilation": bool, "det_db_score_mode": str, "rec_batch_num": int,
        "cls_thresh": float, "drop_score": float, "rec_image_shape": shape, "cls_image_shape": shape,
        "label_list": list,
    }  # fmt: skip


_MODEL_OPTIONS = frozenset({
    "lang", "ocr_version", "use_angle_cls", "det_model_dir", "rec_model_dir", "cls_model_dir", "use_gpu", "gpu_id",
    "cpu_threads", "rec_char_dict_path",
})  # fmt: skip


def supported_options() -> list[str]:
    """Every keyword `PaddleOCR` accepts, sorted."""
    return sorted({*_MODEL_OPTIONS, *_settings_options(), *FIXED_OPTIONS, *IGNORED_OPTIONS, "page_num"})


def _check_options(kwargs: dict[str, Any]) -> None:
    known = set(supported_options())
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise UnsupportedOptionError(
            f"PaddleOCR option(s) {', '.join(unknown)} not supported by ptocr.compat; supported: "
            f"{', '.join(sorted(known))}"
        )
    for name, allowed in FIXED_OPTIONS.items():
        if name in kwargs and kwargs[name] not in allowed:
            raise UnsupportedOptionError(
                f"{name}={kwargs[name]!r} is not supported by ptocr (only {', '.join(map(repr, allowed))})"
            )


def _dictionary_matches(path: str | os.PathLike[str], dictionary: str | None) -> bool:
    """Whether the file at ``path`` holds the characters of the bundled dictionary ``dictionary``."""
    if dictionary is None:
        return False
    try:
        given = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UnsupportedOptionError(f"rec_char_dict_path {os.fspath(path)!r} cannot be read: {exc}") from exc
    bundled = (resources.files("ptocr.dicts") / dictionary).read_text(encoding="utf-8").splitlines()
    return [line.strip("\r\n") for line in given] == [line.strip("\r\n") for line in bundled]


class PaddleOCR:
    """PaddleOCR 2.x's ``PaddleOCR`` class on ptocr's models: same keywords, same ``ocr()`` results.

    >>> ocr = PaddleOCR(use_angle_cls=True, lang="en", show_log=False)
    >>> ocr.ocr("receipt.jpg", cls=True)          # [[ [box, (text, score)], … ]], one entry per page
    >>> ocr.ocr("receipt.jpg", rec=False)         # [[box, …]]
    >>> ocr.ocr("word.png", det=False)            # [[(text, score)]]

    Models are chosen by ``lang`` and ``ocr_version`` as PaddleOCR chooses them; ``det_model_dir`` /
    ``rec_model_dir`` / ``cls_model_dir`` point at other copies of those models' files (an inference folder,
    an ``.onnx`` file, a trained ``.pdparams`` or a ``.safetensors`` from ``ptocr convert``). As in PaddleOCR,
    ``use_angle_cls`` defaults to False and ``use_gpu`` to True (the GPU is used when torch sees one).
    """

    def __init__(self, **kwargs: Any) -> None:
        from .ocr import OCR, settings_for  # imports torch

        _check_options(kwargs)
        lang = kwargs.get("lang") or "ch"
        version = kwargs.get("ocr_version") or DEFAULT_VERSION
        chosen = choose_models(lang, version)
        self.use_angle_cls = bool(kwargs.get("use_angle_cls", False))
        if self.use_angle_cls and chosen.cls is None:
            raise UnsupportedOptionError(f"{version} has no angle classifier; pass use_angle_cls=False")
        rec_record = get_record(chosen.rec)
        dict_path = kwargs.get("rec_char_dict_path")
        if dict_path is not None and not _dictionary_matches(dict_path, rec_record.dictionary):
            raise UnsupportedOptionError(
                f"rec_char_dict_path {os.fspath(dict_path)!r} differs from {chosen.rec}'s dictionary "
                f"({rec_record.dictionary}); ptocr reads each model with its own dictionary only"
            )
        cls_name = chosen.cls if self.use_angle_cls else None
        settings = self._settings(
            settings_for(get_record(chosen.det), rec_record, get_record(cls_name) if cls_name else None), kwargs
        )
        self.drop_score = settings.drop_score
        self.page_num = int(kwargs.get("page_num", 0))
        if self.page_num < 0:
            raise UnsupportedOptionError(f"page_num must be >= 0 (0: every page), got {self.page_num}")
        self.engine = OCR(
            det_model=chosen.det,
            rec_model=chosen.rec,
            cls_model=cls_name,
            settings=settings,
            device=self._device(kwargs),
            threads=kwargs.get("cpu_threads"),
            det_weights=kwargs.get("det_model_dir"),
            rec_weights=kwargs.get("rec_model_dir"),
            cls_weights=kwargs.get("cls_model_dir") if self.use_angle_cls else None,
        )

    @staticmethod
    def _device(kwargs: dict[str, Any]) -> str:
        import torch

        if not kwargs.get("use_gpu", True) or not torch.cuda.is_available():
            return "cpu"  # PaddleOCR, too, falls back to the CPU when it has no GPU
        return f"cuda:{int(kwargs.get('gpu_id', 0))}"

    @staticmethod
    def _settings(settings: Any, kwargs: dict[str, Any]) -> Any:
        values = {name: convert(kwargs[name]) for name, convert in _settings_options().items() if name in kwargs}
        det_fields = {"det_limit_side_len": "limit_side_len", "det_limit_type": "limit_type",
                      "det_db_thresh": "thresh", "det_db_box_thresh": "box_thresh",
                      "det_db_unclip_ratio": "unclip_ratio", "use_dilation": "use_dilation",
                      "det_db_score_mode": "score_mode"}  # fmt: skip
        rec_fields = {"rec_batch_num": "batch_size", "rec_image_shape": "image_shape"}
        cls_fields = {"cls_thresh": "thresh", "cls_image_shape": "image_shape", "label_list": "labels"}
        try:
            return dataclasses.replace(
                settings,
                det=dataclasses.replace(settings.det, **{f: values[k] for k, f in det_fields.items() if k in values}),
                rec=dataclasses.replace(settings.rec, **{f: values[k] for k, f in rec_fields.items() if k in values}),
                cls=dataclasses.replace(settings.cls, **{f: values[k] for k, f in cls_fields.items() if k in values}),
                drop_score=values.get("drop_score", settings.drop_score),
            )
        except ValueError as exc:
            raise UnsupportedOptionError(str(exc)) from exc

    def ocr(
        self,
        img: Any,
        det: bool = True,
        rec: bool = True,
        cls: bool = True,
        bin: bool = False,
        inv: bool = False,
        alpha_color: tuple[int, int, int] = (255, 255, 255),
    ) -> list[Any]:
        """PaddleOCR 2.7's ``ocr``: one entry per page (an image has one page).

        - det and rec: each page a list of ``[box, (text, score)]`` with ``box`` four ``[x, y]`` float lists, or
          None when the page has no line scoring at least ``drop_score``;
        - det only: each page a list of boxes, or None when nothing is detected;
        - rec only (``det=False``): the whole image is one text line: ``[[(text, score)]]``; a list of images
          gives one such entry per image; with ``rec=False`` too, the classifier's ``[[label, score]]`` instead.

        A PDF file gives one entry per page (its first ``page_num`` pages; 0, the default, all), rendered at 144
        dpi, or 72 dpi where that keeps a side under 2000 px, as PaddleOCR renders them.

        ``cls`` uses the angle classifier when the object was built with ``use_angle_cls=True`` (else a
        warning, as PaddleOCR logs). ``alpha_color`` (R, G, B) fills transparent pixels, ``inv`` inverts the
        image and ``bin`` binarises it (Otsu), in this order, as PaddleOCR does.
        """
        if isinstance(img, list) and det:
            raise ValueError("when a list of images is passed, det must be False (as in PaddleOCR)")
        use_cls = cls and self.use_angle_cls
        if cls and not self.use_angle_cls:
            warnings.warn(
                "Since the angle classifier is not initialized, it will not be used during the forward process",
                stacklevel=2,
            )
        pdf_pages = None if isinstance(img, list) else _pdf_pages(img, self.page_num)
        if pdf_pages is not None:
            images = [_prepare(page, inv, bin) for page in pdf_pages]
        else:
            sources = img if isinstance(img, list) else [img]
            images = [_prepare(_read(source, alpha_color), inv, bin) for source in sources]
        if det and rec:
            return [self._page(image, use_cls) for image in images]
        if det:
            return [[box.tolist() for box in boxes] or None for boxes in map(self.engine.detect, images)]
        if not rec:  # the classifier alone; PaddleOCR returns an empty list when it has none
            if not use_cls:
                return []
            return [[[label, score] for label, score in self.engine.classify(image)] for image in images]
        results = []
        for image in images:
            crops = self.engine.upright([image])[0] if use_cls else [image]
            results.append(list(self.engine.recognize(crops)))
        return results

    def _page(self, image: np.ndarray, use_cls: bool) -> list[list[Any]] | None:
        boxes = self.engine.detect(image)
        crops = self.engine.crop(image, boxes)
        if use_cls and crops:
            crops = self.engine.upright(crops)[0]
        recognized = self.engine.recognize(crops) if crops else []
        lines = [[box.tolist(), (text, score)] for box, (text, score) in zip(boxes, recognized, strict=True)
                 if score >= self.drop_score]  # fmt: skip
        return lines or None


def _has_alpha_channel(data: bytes) -> bool:
    """Whether encoded ``data`` is of a format that can carry transparency (PNG, WebP, TIFF)."""
    return data[:8] == b"\x89PNG\r\n\x1a\n" or (data[:4] == b"RIFF" and data[8:12] == b"WEBP") or data[:4] in (
        b"II*\x00", b"MM\x00*")  # fmt: skip


#: ptocr's default input policy; PaddleOCR has no settings for it, so a refusal points to ptocr's own API.
_LIMITS = InputLimits(
    bytes_advice="PaddleOCR's API has no setting for it: ptocr.OCR(max_bytes=) reads larger inputs",
    pixels_advice="PaddleOCR's API has no setting for it: ptocr.OCR(max_image_pixels=) reads larger images",
    pages_advice="choose some with page_num=",
)

#: PaddleOCR renders PDF pages at zoom 2 (144 dpi), or at zoom 1 (72 dpi) when zoom 2 makes a side over 2000 px.
_PDF_DPI, _PDF_SMALL_DPI, _PDF_MAX_SIDE = 144, 72, 2000


def _pdf_pages(source: Any, page_num: int) -> list[np.ndarray] | None:
    """The first ``page_num`` pages (0: all) of a PDF file, rendered as PaddleOCR 2.7 does; None for other inputs."""
    if not isinstance(source, (str, os.PathLike)) or not Path(source).is_file():
        return None
    if sniff_file(source, 5) != b"%PDF-":  # opened without blocking, regular files only
        return None
    chosen = f"1-{page_num}" if page_num else None
    pages = []
    for page in iter_pages(source, pages=chosen, dpi=_PDF_DPI, limits=_LIMITS):
        image = page.image
        if max(image.shape[:2]) > _PDF_MAX_SIDE:
            image = load_pages(source, pages=[page.number], dpi=_PDF_SMALL_DPI, limits=_LIMITS)[0].image
        pages.append(image)
    return pages


def _read(source: Any, alpha_color: Sequence[int]) -> np.ndarray:
    """BGR uint8 of ``source``, transparent pixels blended onto ``alpha_color`` (R, G, B) as PaddleOCR does."""
    if isinstance(source, np.ndarray) and source.ndim == 3 and source.shape[2] == 4 and source.dtype == np.uint8:
        return _alpha_to_color(source, alpha_color)
    data: bytes | None = None
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)) and Path(source).is_file():
        data = read_file(source, _LIMITS)  # regular files only, bounded by the input policy's byte limit
    if data is None:
        return load_image(source, limits=_LIMITS)
    named = isinstance(source, (str, os.PathLike))
    image = _load_named(data, source) if named else load_image(data, limits=_LIMITS)
    if _has_alpha_channel(data):  # the size is checked by load_image above before this second decode
        with quiet_native_stderr():
            with_alpha = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        if with_alpha is not None and with_alpha.ndim == 3 and with_alpha.shape[2] == 4:
            if with_alpha.dtype == np.uint16:
                with_alpha = (with_alpha >> 8).astype(np.uint8)
            return _alpha_to_color(with_alpha, alpha_color)
    return image


def _load_named(data: bytes, path: str | os.PathLike[str]) -> np.ndarray:
    try:
        return load_image(data, limits=_LIMITS)
    except ImageDecodeError as exc:
        raise ImageDecodeError(f"{os.fspath(path)}: {exc}") from exc


def _alpha_to_color(image: np.ndarray, alpha_color: Sequence[int]) -> np.ndarray:
    """BGRA → BGR over a background of colour ``alpha_color`` (R, G, B), truncated to uint8 like PaddleOCR."""
    alpha = image[:, :, 3:4].astype(np.float64) / 255
    background = np.array([alpha_color[2], alpha_color[1], alpha_color[0]], dtype=np.float64)
    blended = background * (1 - alpha) + image[:, :, :3].astype(np.float64) * alpha
    return np.ascontiguousarray(blended.astype(np.uint8))


def _prepare(image: np.ndarray, inv: bool, bin: bool) -> np.ndarray:
    if inv:
        image = cv2.bitwise_not(image)
    if bin:  # Otsu's threshold on the grey image, back to three channels
        _, grey = cv2.threshold(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        image = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
    return image


# -- the paddleocr command ------------------------------------------------------------------------------------


def _str2bool(value: str) -> bool:
    return value.lower() in ("true", "yes", "t", "y", "1")


def _color(value: str) -> tuple[int, int, int]:
    parts = [int(part) for part in value.split(",")]
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(f"expected R,G,B, got {value!r}")
    return parts[0], parts[1], parts[2]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ptocr-paddleocr",
        description="PaddleOCR 2.x's `paddleocr` command on ptocr: the same flags (booleans as true/false), the "
        "same log lines (`[date time] ppocr INFO: [box, (text, score)]`, one per line, after a `**********path"
        "**********` line per image).",
    )
    bools = {"use_angle_cls": False, "use_gpu": True, "det": True, "rec": True, "use_dilation": False,
             "show_log": True, "binarize": False, "invert": False, "enable_mkldnn": False, "use_tensorrt": False}
    parser.add_argument("--image_dir", required=True, help="an image file or a folder of images")
    parser.add_argument("--lang", default="ch")
    parser.add_argument("--ocr_version", default=DEFAULT_VERSION)
    for name in ("det_model_dir", "rec_model_dir", "cls_model_dir", "rec_char_dict_path"):
        parser.add_argument(f"--{name}")
    for name, default in bools.items():
        parser.add_argument(f"--{name}", type=_str2bool, default=default, metavar="true|false")
    for name, convert in _settings_options().items():
        if name not in bools and name != "label_list":
            parser.add_argument(f"--{name}", type=convert)
    parser.add_argument("--cpu_threads", type=int)
    parser.add_argument("--gpu_id", type=int, default=0)
    parser.add_argument("--alphacolor", type=_color, default=(255, 255, 255), metavar="R,G,B")
    parser.add_argument("--type", default="ocr", choices=("ocr",), help="only ocr (PP-Structure is not ported)")
    return parser


def _image_files(image_dir: str) -> list[str]:
    """PaddleOCR's get_image_file_list: the file itself, or the folder's images (not recursive), sorted."""
    path = Path(image_dir)
    if path.is_file():
        return [image_dir]
    if path.is_dir():
        return sorted(str(p) for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    return []


def _log(level: str, message: object, stream: Any) -> None:
    stamp = datetime.datetime.now().strftime("%Y/%m/%d %H:%M:%S")
    print(f"[{stamp}] ppocr {level}: {message}", file=stream, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """``ptocr-paddleocr``: the exit status (1 if an image or the models failed, 2 for a bad command line)."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    files = _image_files(args.image_dir)
    if not files:
        _log("ERROR", f"no images find in {args.image_dir}", sys.stderr)
        return 1
    options = {name: value for name, value in vars(args).items() if value is not None}
    try:
        engine = PaddleOCR(**options)
    except (PtocrError, OSError) as exc:
        _log("ERROR", exc, sys.stderr)
        return 1
    failed = False
    for path in files:
        _log("INFO", f"{'*' * 10}{path}{'*' * 10}", sys.stdout)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # cls without the classifier: PaddleOCR logs it at debug level
                result = engine.ocr(path, det=args.det, rec=args.rec, cls=args.use_angle_cls, bin=args.binarize,
                                    inv=args.invert, alpha_color=args.alphacolor)  # fmt: skip
        except (ImageDecodeError, OSError) as exc:
            _log("ERROR", f"error in loading image:{path} ({exc})", sys.stderr)
            failed = True
            continue
        for page in result:
            for line in page or []:
                _log("INFO", line, sys.stdout)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
