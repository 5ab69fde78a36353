"""Turning whatever the user hands us into the H×W×3 uint8 BGR pages PaddleOCR's pipeline runs on.

The one decoding step of the API, the CLI and everything built on them. Accepted inputs:

* a path (str or PathLike, non-ASCII too), encoded file bytes, a file object (anything with ``.read()``), or an
  ``http://`` / ``https://`` URL string (fetched with a timeout and a size limit);
* a numpy array: H×W gray, H×W×1, H×W×2 (gray + alpha), H×W×3 BGR, H×W×4 BGRA; uint8, uint16 (the high byte is
  kept, as OpenCV does) or float in [0, 1] (×255, rounded);
* a PIL image of any mode (palette, CMYK, 16-bit, LA, RGBA, …).

Image files are decoded with ``cv2.imdecode(..., IMREAD_COLOR)``, which gives the very pixels ``cv2.imread(path)``
gives (palette expanded, 16 bits reduced to 8, EXIF orientation applied) while also working for non-ASCII paths.
Two things differ from ``cv2.imread``, both deliberately: an image whose alpha channel makes some pixels
transparent is composited onto a background that contrasts with its visible content (`composite_alpha`), where
imread would show whatever colour the transparent pixels happen to store (usually black, which hides dark text);
and documents have pages: every page of a multi-page TIFF, the first frame of a GIF, and the selected pages of a
PDF rendered with pypdfium2 at ``dpi`` (`iter_pages`). `load_image` returns the first page of any of them.

Every failure becomes an :class:`~ptocr.errors.ImageDecodeError` with a one-line message naming the input.
"""

from __future__ import annotations

import io
import math
import os
import re
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
from PIL import Image, ImageOps

from ptocr.errors import ImageDecodeError, PageSelectionError


class Readable(Protocol):
    """A file object: anything with a ``read()`` that returns bytes."""

    def read(self, size: int = -1, /) -> bytes: ...


ImageInput = str | os.PathLike[str] | bytes | bytearray | memoryview | np.ndarray | Image.Image | Readable

#: Refused before decoding whatever the caller asks: 2**28 pixels is already ~800 MB as BGR uint8.
MAX_IMAGE_PIXELS: int = 2**28
#: File suffixes a folder is searched for (an image named explicitly is read whatever its suffix).
IMAGE_SUFFIXES = frozenset({".bmp", ".dib", ".jpe", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp"})
#: What ``ptocr FOLDER`` reads by default: the image suffixes, PDFs and GIFs.
DOCUMENT_SUFFIXES = IMAGE_SUFFIXES | {".pdf", ".gif"}
#: PDF pages are rendered at this resolution unless told otherwise (text of 10 pt is then ~28 px tall).
DEFAULT_DPI = 200
#: A URL must answer within this many seconds (per blocking network operation) …
URL_TIMEOUT_S = 30.0
#: … and its body may be at most this large; a larger one is refused while it streams in, never held whole.
URL_MAX_BYTES = 64 * 1024 * 1024
# Visible content whose alpha-weighted mean luminance is above this is "light": composited on black, else white.
# 127.5 is where black and white are equally far from the content's mean, so the background chosen is always the
# one farther from it: the larger contrast of the two.
LIGHT_CONTENT_THRESHOLD = 127.5
_PDF_MAGIC = b"%PDF-"
_URL_SCHEMES = ("http://", "https://")
_OTHER_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]+)://")
_CHUNK = 1 << 16


@dataclass(frozen=True)
class PageImage:
    """One page of an input: ``image`` is H×W×3 uint8 BGR, ``index`` the 0-based page number within the source
    (0 for a single image), ``page_count`` the number of pages the source has, and ``source`` names it."""

    image: np.ndarray
    index: int
    page_count: int
    source: str

    @property
    def number(self) -> int:
        """The 1-based page number, as ``--pages`` and the CLI's ``"page"`` key count."""
        return self.index + 1


def find_images(
    folder: str | os.PathLike[str], pattern: str | None = None, suffixes: Iterable[str] = IMAGE_SUFFIXES
) -> list[Path]:
    """The files under ``folder``, recursively, sorted: those matching the glob ``pattern`` (relative to the
    folder, e.g. ``"*.png"`` or ``"scans/**/*.tif"``; ``*`` does not cross ``/`` unless as ``**``), or without a
    pattern those whose suffix, lower-cased, is one of ``suffixes`` (default `IMAGE_SUFFIXES`)."""
    root = Path(folder)
    if pattern is None:
        wanted = frozenset(suffixes)
        return sorted(p for p in root.rglob("*") if p.suffix.lower() in wanted and p.is_file())
    return sorted(p for p in root.glob(pattern) if p.is_file())


def parse_pages(spec: str) -> list[int]:
    """``"1-3,5"`` → ``[1, 2, 3, 5]``: 1-based page numbers, in the order given, without repeats. Every range is
    closed (``N`` or ``N-M``); a PageSelectionError (a ValueError) says what is wrong with any other text."""
    numbers: list[int] = []
    if not spec.strip():
        raise PageSelectionError("empty page selection: expected e.g. 1-3,5")
    for part in spec.split(","):
        text = part.strip()
        first, dash, last = text.partition("-")
        try:
            start = int(first)
            stop = int(last) if dash else start
        except ValueError:
            raise PageSelectionError(f"bad page range {text!r} in {spec!r}: expected N or N-M, e.g. 1-3,5") from None
        if start < 1 or stop < 1:
            raise PageSelectionError(f"bad page range {text!r} in {spec!r}: pages are numbered from 1")
        if stop < start:
            raise PageSelectionError(f"bad page range {text!r} in {spec!r}: {stop} comes before {start}")
        numbers.extend(n for n in range(start, stop + 1) if n not in numbers)
    return numbers


def load_image(source: ImageInput, max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """Returns the first page of ``source`` (see `iter_pages`) as a C-contiguous H×W×3 uint8 BGR array.

    For a multi-page TIFF that is what ``cv2.imread`` reads; a PDF's first page is rendered at `DEFAULT_DPI`.
    Arrays that already are contiguous H×W×3 uint8 are returned as they are, without a copy; nothing here ever
    writes into them. Images of more than ``max_pixels`` pixels are refused.
    """
    return next(iter_pages(source, pages=[1], max_pixels=max_pixels)).image


def load_pages(
    source: ImageInput,
    *,
    pages: str | Sequence[int] | None = None,
    dpi: int = DEFAULT_DPI,
    max_pixels: int = MAX_IMAGE_PIXELS,
    url_timeout: float = URL_TIMEOUT_S,
    url_max_bytes: int = URL_MAX_BYTES,
) -> list[PageImage]:
    """Every selected page of ``source``, decoded: ``list(iter_pages(...))``."""
    return list(
        iter_pages(
            source, pages=pages, dpi=dpi, max_pixels=max_pixels, url_timeout=url_timeout, url_max_bytes=url_max_bytes
        )
    )


def iter_pages(
    source: ImageInput,
    *,
    pages: str | Sequence[int] | None = None,
    dpi: int = DEFAULT_DPI,
    max_pixels: int = MAX_IMAGE_PIXELS,
    url_timeout: float = URL_TIMEOUT_S,
    url_max_bytes: int = URL_MAX_BYTES,
) -> Iterator[PageImage]:
    """The pages of ``source``, one at a time (a long PDF is never held whole in memory).

    ``pages``: 1-based page numbers, or a string such as ``"1-3,5"`` (`parse_pages`); None is every page. Numbers
    past the last page are skipped, but a selection that names no existing page is an error. A single image, a
    GIF (its first frame) and arrays / PIL images are one page. ``dpi`` is the resolution PDF pages are rendered
    at. A page of more than ``max_pixels`` pixels is refused (a PDF page before it is rendered, an encoded
    image from its header, before it is decoded).
    """
    wanted = _page_selection(pages)
    if not isinstance(dpi, int) or isinstance(dpi, bool) or not 1 <= dpi <= 2400:
        raise ImageDecodeError(f"cannot render at dpi={dpi!r}: expected a whole number from 1 to 2400")
    if isinstance(source, np.ndarray):
        name = f"<ndarray shape={tuple(source.shape)} dtype={source.dtype}>"
        yield from _single(_from_array(source, name, max_pixels), name, wanted)
    elif isinstance(source, Image.Image):
        yield from _pil_pages(source, _describe_pil(source), wanted, max_pixels)
    else:
        data, name = _read_source(source, url_timeout, url_max_bytes)
        yield from _encoded_pages(data, name, wanted, dpi, max_pixels)


# -- reading bytes -------------------------------------------------------------------------------------------


def _read_source(source: object, timeout: float, max_bytes: int) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        return data, f"<{len(data)} bytes>"
    if isinstance(source, str) and source.lower().startswith(_URL_SCHEMES):
        return _fetch_url(source, timeout, max_bytes), source
    if isinstance(source, str) and (scheme := _OTHER_SCHEME.match(source)) and not os.path.exists(source):
        raise ImageDecodeError(
            f"cannot read image {source!r}: only http:// and https:// URLs are fetched, not {scheme[1]}://"
        )
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if isinstance(path, bytes):  # a bytes PathLike: decode it like the OS would
            path = os.fsdecode(path)
        return _read_file(path), repr(path)
    if callable(getattr(source, "read", None)):
        name = f"<file {getattr(source, 'name', type(source).__name__)!s}>"
        if isinstance(source, io.TextIOBase):
            raise ImageDecodeError(f"cannot read image {name}: it is opened in text mode; open it with 'rb'")
        try:
            data = source.read()  # type: ignore[attr-defined]
        except (OSError, ValueError) as exc:  # closed file, unreadable stream
            raise ImageDecodeError(f"cannot read image {name}: {exc}") from None
        if isinstance(data, str):
            raise ImageDecodeError(f"cannot read image {name}: it is opened in text mode; open it with 'rb'")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise ImageDecodeError(f"cannot read image {name}: read() returned {type(data).__name__}, not bytes")
        return bytes(data), name
    raise ImageDecodeError(
        f"cannot read an image from a {type(source).__name__}: expected a path, an http(s) URL, bytes, "
        "a file object, a numpy array or a PIL image"
    )


def _read_file(path: str) -> bytes:
    if os.path.isdir(path):
        raise ImageDecodeError(f"cannot read image {path!r}: it is a directory")
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise ImageDecodeError(f"cannot read image {path!r}: no such file") from None
    except OSError as exc:
        raise ImageDecodeError(f"cannot read image {path!r}: {exc.strerror or exc}") from None


def _fetch_url(url: str, timeout: float, max_bytes: int) -> bytes:
    """The body of ``url``, streamed: refused as soon as it is known to exceed ``max_bytes``."""
    request = urllib.request.Request(url, headers={"User-Agent": "ptocr"})
    too_big = f"cannot read image {url!r}: the response is larger than the limit of {max_bytes} bytes"
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            declared = response.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise ImageDecodeError(too_big)
            chunks: list[bytes] = []
            size = 0
            while chunk := response.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise ImageDecodeError(too_big)
                chunks.append(chunk)
            return b"".join(chunks)
    except urllib.error.HTTPError as exc:
        raise ImageDecodeError(f"cannot read image {url!r}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError) or "timed out" in str(reason):
            reason = f"no answer within {timeout:g} s"
        raise ImageDecodeError(f"cannot read image {url!r}: {reason}") from None
    except TimeoutError:
        raise ImageDecodeError(f"cannot read image {url!r}: no answer within {timeout:g} s") from None
    except OSError as exc:
        raise ImageDecodeError(f"cannot read image {url!r}: {exc}") from None


# -- pages ---------------------------------------------------------------------------------------------------


def _page_selection(pages: str | Sequence[int] | Iterable[int] | None) -> list[int] | None:
    if pages is None:
        return None
    if isinstance(pages, str):
        try:
            return parse_pages(pages)
        except ValueError as exc:
            raise ImageDecodeError(str(exc)) from None
    numbers = list(pages)
    if not numbers or any(isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1 for n in numbers):
        raise ImageDecodeError(f"bad page selection {numbers!r}: expected 1-based page numbers")
    return list(dict.fromkeys(int(n) for n in numbers))


def _chosen(wanted: list[int] | None, count: int, name: str) -> list[int]:
    """The 0-based indices of the selected pages that exist."""
    if wanted is None:
        return list(range(count))
    chosen = [n - 1 for n in wanted if n <= count]
    if not chosen:
        pages = "1 page" if count == 1 else f"{count} pages"
        raise ImageDecodeError(f"cannot read pages {_format_pages(wanted)} of {name}: it has {pages}")
    return chosen


def _format_pages(numbers: list[int]) -> str:
    return ",".join(str(n) for n in numbers) if len(numbers) <= 6 else f"{numbers[0]}…{numbers[-1]}"


def _single(image: np.ndarray, name: str, wanted: list[int] | None) -> Iterator[PageImage]:
    _chosen(wanted, 1, name)
    yield PageImage(image=image, index=0, page_count=1, source=name)


def _encoded_pages(data: bytes, name: str, wanted: list[int] | None, dpi: int, max_pixels: int) -> Iterator[PageImage]:
    if not data:
        raise ImageDecodeError(f"cannot decode image {name}: it is empty")
    if data[:1024].lstrip()[:5] == _PDF_MAGIC:  # PDF readers allow leading junk; whitespace is what occurs
        yield from _pdf_pages(data, name, wanted, dpi, max_pixels)
        return
    header = _open_header(data, name, max_pixels)
    if header is not None:
        fmt, frames, has_alpha = header
        if fmt == "TIFF" and frames > 1:
            with _pil_open(data, name) as document:
                yield from _pil_pages(document, name, wanted, max_pixels)
            return
        if fmt == "GIF":  # an animation is read as its first frame, whatever OpenCV's build can do with GIFs
            with _pil_open(data, name) as gif:
                yield from _single(_from_pil(gif, name, max_pixels), name, wanted)
            return
        yield from _single(_decode(data, name, max_pixels, has_alpha), name, wanted)
        return
    yield from _single(_decode(data, name, max_pixels, has_alpha=False), name, wanted)


def _pil_open(data: bytes, name: str) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Image.open(io.BytesIO(data))
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageDecodeError(f"cannot decode image {name}: {exc}") from None


def _pil_pages(image: Image.Image, name: str, wanted: list[int] | None, max_pixels: int) -> Iterator[PageImage]:
    """Every frame of a multi-page PIL image (a TIFF); the first frame of anything else."""
    count = getattr(image, "n_frames", 1) if image.format == "TIFF" else 1
    for index in _chosen(wanted, count, name):
        try:
            if count > 1:
                image.seek(index)
        except (EOFError, OSError) as exc:
            raise ImageDecodeError(f"cannot decode page {index + 1} of {name}: {exc}") from None
        yield PageImage(image=_from_pil(image, name, max_pixels), index=index, page_count=count, source=name)


def _pdf_pages(data: bytes, name: str, wanted: list[int] | None, dpi: int, max_pixels: int) -> Iterator[PageImage]:
    import pypdfium2 as pdfium  # only PDFs need it

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise ImageDecodeError(f"cannot read PDF {name}: {exc}") from None
    try:
        count = len(document)
        scale = dpi / 72.0  # PDF sizes are in points, 72 to the inch
        for index in _chosen(wanted, count, name):
            page = document[index]
            try:
                width_pt, height_pt = page.get_size()
                width, height = math.ceil(width_pt * scale), math.ceil(height_pt * scale)
                _check_pixel_count(height, width, f"page {index + 1} of {name} at {dpi} dpi", max_pixels)
                bitmap = page.render(scale=scale)  # on white, as a printer would; BGR
                try:
                    image = np.ascontiguousarray(bitmap.to_numpy()[:, :, :3])
                finally:
                    bitmap.close()
            except pdfium.PdfiumError as exc:
                raise ImageDecodeError(f"cannot render page {index + 1} of {name}: {exc}") from None
            finally:
                page.close()
            yield PageImage(image=image, index=index, page_count=count, source=name)
    finally:
        document.close()


# -- decoding one image --------------------------------------------------------------------------------------


def _open_header(data: bytes, name: str, max_pixels: int) -> tuple[str, int, bool] | None:
    """(format, frame count, has alpha) from the header alone, via Pillow, refusing too many pixels before
    anything is decoded; None for formats Pillow does not know (OpenCV, with a limit of its own, decides)."""
    try:
        with warnings.catch_warnings():
            # Header quirks (odd EXIF, large-but-allowed sizes) are not the user's concern here.
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as header:
                width, height = header.size
                fmt = header.format or ""
                frames = getattr(header, "n_frames", 1) if fmt == "TIFF" else 1
                has_alpha = _pil_has_alpha(header)
    except Image.DecompressionBombError:
        raise ImageDecodeError(f"refusing image {name}: too many pixels (decompression bomb?)") from None
    except Exception:  # Pillow could not parse the header; OpenCV gets the final say.
        return None
    _check_pixel_count(height, width, name, max_pixels)
    return fmt, frames, has_alpha


def _pil_has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def _decode(data: bytes, name: str, max_pixels: int, has_alpha: bool) -> np.ndarray:
    try:
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as exc:  # e.g. opencv's own pixel limit; keep its traceback out of the user's face
        message = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise ImageDecodeError(f"cannot decode image {name}: {message}") from None
    if image is None or image.size == 0:
        raise ImageDecodeError(f"cannot decode image {name}: not an image format OpenCV can read")
    image = _from_array(image, name, max_pixels)
    if has_alpha:
        # The colours stay exactly imread's; the alpha comes from Pillow, turned upright the same way.
        alpha = _upright_alpha(data)
        if alpha is not None and alpha.shape == image.shape[:2]:
            image = composite_alpha(image, alpha)
    return image


def _upright_alpha(data: bytes) -> np.ndarray | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                upright = ImageOps.exif_transpose(image)
                return np.asarray(upright.convert("RGBA"))[:, :, 3]
    except Exception:  # the colours decoded; an alpha Pillow cannot read is left out, as imread leaves it
        return None


def _check_pixel_count(height: int, width: int, name: str, max_pixels: int) -> None:
    if height * width > max_pixels:
        raise ImageDecodeError(
            f"refusing image {name}: {width}x{height} = {height * width} pixels is more than "
            f"the limit of {max_pixels} (pass max_pixels=, or ptocr --max-pixels, to raise it)"
        )


def _from_array(array: np.ndarray, name: str, max_pixels: int) -> np.ndarray:
    array = _to_uint8(array, name)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (2, 3, 4)):
        raise ImageDecodeError(
            f"cannot use image {name}: expected H×W, H×W×1, H×W×2 (gray + alpha), H×W×3 (BGR) or H×W×4 (BGRA), "
            f"got shape {tuple(array.shape)}"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ImageDecodeError(f"cannot use image {name}: it has no pixels")
    _check_pixel_count(array.shape[0], array.shape[1], name, max_pixels)
    if array.ndim == 2:
        return cv2.cvtColor(array, cv2.COLOR_GRAY2BGR)
    if array.shape[2] == 2:
        return composite_alpha(cv2.cvtColor(np.ascontiguousarray(array[:, :, 0]), cv2.COLOR_GRAY2BGR), array[:, :, 1])
    if array.shape[2] == 4:
        return composite_alpha(np.ascontiguousarray(array[:, :, :3]), array[:, :, 3])
    return np.ascontiguousarray(array)


def _to_uint8(array: np.ndarray, name: str) -> np.ndarray:
    """uint8 as is; uint16 by its high byte (as OpenCV reduces 16-bit files); float in [0, 1] ×255, rounded."""
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.uint16:
        return (array >> 8).astype(np.uint8)
    if np.issubdtype(array.dtype, np.floating):
        if array.size and not np.isfinite(array).all():
            raise ImageDecodeError(f"cannot use image {name}: it contains NaN or infinite values")
        low, high = (float(array.min()), float(array.max())) if array.size else (0.0, 0.0)
        if low < 0.0 or high > 1.0:
            raise ImageDecodeError(
                f"cannot use image {name}: float images must hold values in [0, 1], these range over "
                f"[{low:g}, {high:g}] (divide by 255 first, or pass uint8)"
            )
        return np.rint(array.astype(np.float32) * 255.0).astype(np.uint8)
    raise ImageDecodeError(
        f"cannot use image {name}: expected dtype uint8, uint16 or float in [0, 1], got {array.dtype}"
    )


def contrasting_background(bgr: np.ndarray, alpha: np.ndarray) -> int:
    """The gray level (255 or 0) to put behind ``bgr`` where ``alpha`` makes it transparent.

    White, as PaddleOCR's ``.ocr()`` composites, unless the visible content is light: then its text would vanish
    on white, so black. "Light" is an alpha-weighted mean luminance (ITU-R 601 weights, as OpenCV's gray
    conversion) above `LIGHT_CONTENT_THRESHOLD`. A fully transparent image gets white.
    """
    weights = alpha.astype(np.float64)
    total = weights.sum()
    if total == 0:
        return 255
    pixels = bgr.astype(np.float64)
    luminance = 0.114 * pixels[:, :, 0] + 0.587 * pixels[:, :, 1] + 0.299 * pixels[:, :, 2]
    mean = float((luminance * weights).sum() / total)
    return 0 if mean > LIGHT_CONTENT_THRESHOLD else 255


def composite_alpha(bgr: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``bgr`` blended by ``alpha`` (uint8, 255 opaque) over `contrasting_background`; unchanged (the same array)
    when every pixel is opaque."""
    if alpha.min() == 255:
        return np.ascontiguousarray(bgr)
    background = np.float32(contrasting_background(bgr, alpha))
    weight = alpha.astype(np.float32)[:, :, None] / np.float32(255)
    blended = bgr.astype(np.float32) * weight + background * (np.float32(1) - weight)
    return np.ascontiguousarray(np.clip(np.rint(blended), 0, 255).astype(np.uint8))


def _describe_pil(image: Image.Image) -> str:
    return f"<PIL image mode={image.mode} size={image.size[0]}x{image.size[1]}>"


def _from_pil(image: Image.Image, name: str, max_pixels: int) -> np.ndarray:
    """The current frame of ``image``, upright (EXIF orientation applied, as imread does for the file)."""
    _check_pixel_count(image.size[1], image.size[0], name, max_pixels)
    try:
        if image.getexif().get(0x0112, 1) != 1:  # orientation tag
            image = ImageOps.exif_transpose(image)
        if image.mode in ("I;16", "I;16L", "I;16B", "I;16N"):
            # OpenCV reduces 16-bit samples to 8 bits by keeping the high byte; Pillow would clip.
            return _from_array(np.asarray(image).astype(np.uint16), name, max_pixels)
        if image.mode == "L":
            return _from_array(np.asarray(image), name, max_pixels)
        if _pil_has_alpha(image) or image.mode == "P":
            # Through RGBA: Pillow warns when a palette image with transparency goes to RGB directly.
            rgba = np.asarray(image.convert("RGBA"))
            return composite_alpha(np.ascontiguousarray(rgba[:, :, 2::-1]), rgba[:, :, 3])
        array = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))  # 1, CMYK, YCbCr, I, F…
    except (OSError, ValueError) as exc:
        raise ImageDecodeError(f"cannot convert image {name}: {exc}") from None
    if array.ndim != 3 or array.shape[2] != 3:
        raise ImageDecodeError(f"cannot convert image {name}: unexpected array shape {array.shape}")
    return _from_array(np.ascontiguousarray(array[:, :, ::-1]), name, max_pixels)


__all__ = [
    "DEFAULT_DPI",
    "DOCUMENT_SUFFIXES",
    "IMAGE_SUFFIXES",
    "MAX_IMAGE_PIXELS",
    "ImageInput",
    "PageImage",
    "composite_alpha",
    "contrasting_background",
    "find_images",
    "iter_pages",
    "load_image",
    "load_pages",
    "parse_pages",
]
