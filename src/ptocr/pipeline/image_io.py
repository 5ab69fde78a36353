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
Reading the encoded bytes (files, URLs, streams) is `ptocr.pipeline.input_source`'s part; the process-wide
guards around the native decoders are `ptocr.pipeline.decoder_guards`'.

The input policy (`InputLimits`), the same for every kind of input: an encoded input (file, bytes, file object,
URL body) of more than ``max_bytes`` is refused before it is held whole (a file from its size, a stream as it
arrives); only regular files are opened (a FIFO or a device is refused at once, never read); every format's
size is read from its header by ptocr itself (`ptocr.pipeline.image_header`) and a page of more than
``max_pixels`` pixels is refused before any decoder runs (a PDF page from its size × dpi, before rendering);
a document yields at most ``max_pages`` pages. Decoders' own messages on stderr (libpng, libjpeg, libtiff,
OpenCV) are silenced while they run: the ImageDecodeError says what went wrong.
"""

from __future__ import annotations

import io
import math
import os
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

from ptocr.errors import ImageDecodeError, PageSelectionError
from ptocr.pipeline.decoder_guards import pillow_allowing, quiet_native_stderr
from ptocr.pipeline.image_header import probe
from ptocr.pipeline.input_source import (
    MAX_IMAGE_PIXELS,
    MAX_INPUT_BYTES,
    MAX_PAGES,
    URL_MAX_BYTES,
    URL_TIMEOUT_S,
    InputLimits,
    Readable,
    is_http_url,
    read_file,
    read_source,
    sniff_file,
)

ImageInput = str | os.PathLike[str] | bytes | bytearray | memoryview | np.ndarray | Image.Image | Readable

#: File suffixes a folder is searched for (an image named explicitly is read whatever its suffix).
IMAGE_SUFFIXES = frozenset({".bmp", ".dib", ".jpe", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp"})
#: What ``ptocr FOLDER`` reads by default: the image suffixes, PDFs and GIFs.
DOCUMENT_SUFFIXES = IMAGE_SUFFIXES | {".pdf", ".gif"}
#: PDF pages are rendered at this resolution unless told otherwise (text of 10 pt is then ~28 px tall).
DEFAULT_DPI = 200
# Visible content whose alpha-weighted mean luminance is above this is "light": composited on black, else white.
# 127.5 is where black and white are equally far from the content's mean, so the background chosen is always the
# one farther from it: the larger contrast of the two.
LIGHT_CONTENT_THRESHOLD = 127.5
_PDF_MAGIC = b"%PDF-"
#: How the files that can hold pages begin: PDF, and TIFF in either byte order. The CLI numbers the pages of
#: inputs that begin so (a TIFF's only when it has several).
PAGED_MAGIC = (_PDF_MAGIC, b"II*\x00", b"MM\x00*")


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


def folder_documents(folder: str | os.PathLike[str], pattern: str | None = None) -> tuple[list[Path], str | None]:
    """What ``ptocr FOLDER`` reads: the images, PDFs and GIFs under ``folder`` (`find_images` with
    `DOCUMENT_SUFFIXES`, or those matching ``pattern``), and when there are none, why, in words."""
    found = find_images(folder, pattern, suffixes=DOCUMENT_SUFFIXES)
    if found:
        return found, None
    if pattern is not None:
        return found, f"no files matching {pattern!r} in this folder"
    return found, f"no image files ({', '.join(sorted(DOCUMENT_SUFFIXES))}) in this folder"


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


def load_image(
    source: ImageInput,
    max_pixels: int = MAX_IMAGE_PIXELS,
    *,
    max_bytes: int = MAX_INPUT_BYTES,
    limits: InputLimits | None = None,
) -> np.ndarray:
    """Returns the first page of ``source`` (see `iter_pages`) as a C-contiguous H×W×3 uint8 BGR array.

    For a multi-page TIFF that is what ``cv2.imread`` reads; a PDF's first page is rendered at `DEFAULT_DPI`.
    Arrays that already are contiguous H×W×3 uint8 are returned as they are, without a copy; nothing here ever
    writes into them. Images of more than ``max_pixels`` pixels, or encoded in more than ``max_bytes``, are
    refused (``limits``, when given, replaces both).
    """
    chosen = limits if limits is not None else InputLimits(max_bytes=max_bytes, max_pixels=max_pixels)
    return next(iter_pages(source, pages=[1], limits=chosen)).image


def load_pages(
    source: ImageInput,
    *,
    pages: str | Sequence[int] | None = None,
    dpi: int = DEFAULT_DPI,
    max_pixels: int = MAX_IMAGE_PIXELS,
    url_timeout: float = URL_TIMEOUT_S,
    url_max_bytes: int | None = None,
    max_bytes: int = MAX_INPUT_BYTES,
    max_pages: int = MAX_PAGES,
    limits: InputLimits | None = None,
) -> list[PageImage]:
    """Every selected page of ``source``, decoded: ``list(iter_pages(...))``."""
    return list(
        iter_pages(
            source, pages=pages, dpi=dpi, max_pixels=max_pixels, url_timeout=url_timeout, url_max_bytes=url_max_bytes,
            max_bytes=max_bytes, max_pages=max_pages, limits=limits,
        )
    )  # fmt: skip


def iter_pages(
    source: ImageInput,
    *,
    pages: str | Sequence[int] | None = None,
    dpi: int = DEFAULT_DPI,
    max_pixels: int = MAX_IMAGE_PIXELS,
    url_timeout: float = URL_TIMEOUT_S,
    url_max_bytes: int | None = None,
    max_bytes: int = MAX_INPUT_BYTES,
    max_pages: int = MAX_PAGES,
    limits: InputLimits | None = None,
    name: str | None = None,
) -> Iterator[PageImage]:
    """The pages of ``source``, one at a time (a long PDF is never held whole in memory).

    ``pages``: 1-based page numbers, or a string such as ``"1-3,5"`` (`parse_pages`); None is every page. Numbers
    past the last page are skipped, but a selection that names no existing page is an error. A single image, a
    GIF (its first frame) and arrays / PIL images are one page. ``dpi`` is the resolution PDF pages are rendered
    at. The input policy (`InputLimits`; ``limits``, when given, replaces ``max_bytes``, ``max_pixels`` and
    ``max_pages``): an encoded input of more than ``max_bytes`` bytes is refused before it is read whole (a URL's
    body: ``url_max_bytes`` when given); a page of more than ``max_pixels`` pixels is refused before it is decoded
    (a PDF page before it is rendered, an image from its header); a document of which more than ``max_pages``
    pages would be read is refused before any is. ``name``: what error messages call encoded bytes (by default
    ``<N bytes>``), such as the path they were read from.
    """
    if limits is None:
        limits = InputLimits(max_bytes=max_bytes, max_pixels=max_pixels, max_pages=max_pages)
    wanted = _page_selection(pages)
    if not isinstance(dpi, int) or isinstance(dpi, bool) or not 1 <= dpi <= 2400:
        raise ImageDecodeError(f"cannot render at dpi={dpi!r}: expected a whole number from 1 to 2400")
    if isinstance(source, np.ndarray):
        name = f"<ndarray shape={tuple(source.shape)} dtype={source.dtype}>"
        yield from _single(_from_array(source, name, limits), name, wanted)
    elif isinstance(source, Image.Image):
        yield from _pil_pages(source, _describe_pil(source), wanted, limits)
    else:
        data, shown = read_source(source, url_timeout, limits, url_max_bytes)
        if name is not None and isinstance(source, (bytes, bytearray, memoryview)):
            shown = name
        yield from _encoded_pages(data, shown, wanted, dpi, limits)


def count_pages(data: bytes, name: str = "<bytes>", limits: InputLimits | None = None) -> int:
    """How many pages `iter_pages` can read from the encoded ``data``: a PDF's pages, a TIFF's frames, 1 for any
    other image. Read from the document's structure, without rendering or decoding any page; a malformed input
    is an ImageDecodeError, as `iter_pages` would raise it."""
    limits = limits if limits is not None else InputLimits()
    if not data:
        raise ImageDecodeError(f"cannot decode image {name}: it is empty")
    if data[:1024].lstrip()[:5] == _PDF_MAGIC:
        import pypdfium2 as pdfium

        try:
            document = pdfium.PdfDocument(data)
        except (pdfium.PdfiumError, OSError, ValueError) as exc:
            raise ImageDecodeError(f"cannot read PDF {name}: {exc}") from None
        try:
            return len(document)
        finally:
            document.close()
    header = probe(data, name, limits.max_pages)
    return header.frames if header.format == "TIFF" else 1


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


def _encoded_pages(
    data: bytes, name: str, wanted: list[int] | None, dpi: int, limits: InputLimits
) -> Iterator[PageImage]:
    if not data:
        raise ImageDecodeError(f"cannot decode image {name}: it is empty")
    if data[:1024].lstrip()[:5] == _PDF_MAGIC:  # PDF readers allow leading junk; whitespace is what occurs
        yield from _pdf_pages(data, name, wanted, dpi, limits)
        return
    # Sized by ptocr from the header, before any decoder allocates: the largest page must fit the limit.
    header = probe(data, name, limits.max_pages)
    _check_pixel_count(header.height, header.width, name, limits)
    if header.format == "TIFF" and header.frames > 1:
        with _pil_open(data, name, header.pixels) as document:
            yield from _pil_pages(document, name, wanted, limits, header.frames)
        return
    if header.format == "GIF":  # an animation is read as its first frame, whatever OpenCV's build can do with GIFs
        with _pil_open(data, name, header.pixels) as gif:
            with warnings.catch_warnings(), quiet_native_stderr(), pillow_allowing(header.pixels):
                warnings.simplefilter("ignore")
                image = _from_pil(gif, name, limits)
            yield from _single(image, name, wanted)
        return
    yield from _single(_decode(data, name, limits, _has_alpha(data, header.pixels), header.format), name, wanted)


def _pil_open(data: bytes, name: str, pixels: int) -> Image.Image:
    try:
        with warnings.catch_warnings(), pillow_allowing(pixels), quiet_native_stderr():
            warnings.simplefilter("ignore")
            return Image.open(io.BytesIO(data))
    except Exception as exc:  # Pillow's plugins fail on malformed data with many exception types
        raise ImageDecodeError(f"cannot decode image {name}: {_describe(exc)}") from None


def _pil_pages(
    image: Image.Image, name: str, wanted: list[int] | None, limits: InputLimits, frames: int | None = None
) -> Iterator[PageImage]:
    """Every frame of a multi-page PIL image (a TIFF); the first frame of anything else. ``frames``: the page
    count ptocr read from the header (Pillow's own count is only asked of images the caller opened)."""
    if image.format != "TIFF":
        count = 1
    elif frames is not None:
        count = frames
    else:
        count = getattr(image, "n_frames", 1)
        if count > limits.max_pages:
            raise ImageDecodeError(f"refusing {name}: it has {count} pages, more than the limit of "
                                   f"{limits.max_pages} ({limits.pages_advice})")  # fmt: skip
    chosen = _chosen(wanted, count, name)
    if len(chosen) > limits.max_pages:
        raise ImageDecodeError(f"refusing {name}: {len(chosen)} pages to read, more than the limit of "
                               f"{limits.max_pages} ({limits.pages_advice})")  # fmt: skip
    for index in chosen:
        try:
            with warnings.catch_warnings(), quiet_native_stderr():
                warnings.simplefilter("ignore")  # Pillow's warnings on malformed tags: the error says enough
                if count > 1:
                    image.seek(index)
            with warnings.catch_warnings(), quiet_native_stderr(), pillow_allowing(image.size[0] * image.size[1]):
                warnings.simplefilter("ignore")
                page = _from_pil(image, f"page {index + 1} of {name}" if count > 1 else name, limits)
        except ImageDecodeError:
            raise
        except Exception as exc:  # Pillow's plugins fail on malformed data with many exception types
            raise ImageDecodeError(f"cannot decode page {index + 1} of {name}: {_describe(exc)}") from None
        yield PageImage(image=page, index=index, page_count=count, source=name)


def _pdf_pages(data: bytes, name: str, wanted: list[int] | None, dpi: int, limits: InputLimits) -> Iterator[PageImage]:
    import pypdfium2 as pdfium  # only PDFs need it

    try:
        document = pdfium.PdfDocument(data)
    except (pdfium.PdfiumError, OSError, ValueError) as exc:
        raise ImageDecodeError(f"cannot read PDF {name}: {exc}") from None
    try:
        count = len(document)
        if count < 1:
            raise ImageDecodeError(f"cannot read PDF {name}: it has no pages")
        chosen = _chosen(wanted, count, name)
        if len(chosen) > limits.max_pages:
            raise ImageDecodeError(f"refusing PDF {name}: {len(chosen)} pages to read, more than the limit of "
                                   f"{limits.max_pages} ({limits.pages_advice})")  # fmt: skip
        scale = dpi / 72.0  # PDF sizes are in points, 72 to the inch
        for index in chosen:
            yield PageImage(image=_render_pdf_page(document, index, name, dpi, scale, limits), index=index,
                            page_count=count, source=name)  # fmt: skip
    finally:
        document.close()


def _render_pdf_page(
    document: object, index: int, name: str, dpi: int, scale: float, limits: InputLimits
) -> np.ndarray:
    import pypdfium2 as pdfium

    where = f"page {index + 1} of {name}"
    try:
        page = document[index]  # type: ignore[index]
    except (pdfium.PdfiumError, OSError, ValueError) as exc:
        raise ImageDecodeError(f"cannot read {where}: {exc}") from None
    try:
        width_pt, height_pt = page.get_size()
        if not (math.isfinite(width_pt) and math.isfinite(height_pt) and width_pt > 0 and height_pt > 0):
            raise ImageDecodeError(f"cannot render {where}: it declares a size of {width_pt} x {height_pt} pt")
        # Checked before rendering: a page declaring 10^6 pt square would otherwise allocate terabytes.
        width, height = math.ceil(width_pt * scale), math.ceil(height_pt * scale)
        _check_pixel_count(height, width, f"{where} at {dpi} dpi", limits)
        with quiet_native_stderr():
            bitmap = page.render(scale=scale)  # on white, as a printer would; BGR
        try:
            return np.ascontiguousarray(bitmap.to_numpy()[:, :, :3])
        finally:
            bitmap.close()
    except (pdfium.PdfiumError, OSError, ValueError) as exc:
        raise ImageDecodeError(f"cannot render {where}: {exc}") from None
    finally:
        page.close()


# -- decoding one image --------------------------------------------------------------------------------------


def _has_alpha(data: bytes, pixels: int) -> bool:
    """Whether the image declares transparency, from Pillow's header read (False for formats Pillow cannot
    read, whose alpha OpenCV's colour decode drops as imread does)."""
    try:
        with warnings.catch_warnings(), pillow_allowing(pixels), quiet_native_stderr():
            warnings.simplefilter("ignore")  # header quirks (odd EXIF) are not the user's concern here
            with Image.open(io.BytesIO(data)) as header:
                return _pil_has_alpha(header)
    except Exception:  # Pillow cannot parse this header; OpenCV decodes it without alpha
        return False


def _describe(exc: BaseException) -> str:
    """A decoder's exception as one line: its message, or its type when it has none or is not an I/O error
    (Pillow reports malformed data as KeyError, IndexError, struct.error …, whose text alone says little)."""
    text = " ".join(str(exc).split())
    if isinstance(exc, (OSError, ValueError, SyntaxError, EOFError)) and text:
        return text
    return f"malformed data ({type(exc).__name__}{': ' + text if text else ''})"


def _pil_has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def _decode(data: bytes, name: str, limits: InputLimits, has_alpha: bool, fmt: str = "") -> np.ndarray:
    # PFM holds float samples, nominally in [0, 1]: OpenCV's colour decode casts them to 0 or 1 (a black page),
    # so they are taken as they are and scaled as float arrays are (×255), clipped to [0, 1] first.
    flags = cv2.IMREAD_UNCHANGED if fmt == "PFM" else cv2.IMREAD_COLOR
    try:
        with quiet_native_stderr():
            image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags)
            if fmt == "PFM" and image is not None and np.issubdtype(image.dtype, np.floating):
                image = np.rint(np.clip(np.nan_to_num(image), 0.0, 1.0) * 255.0).astype(np.uint8)
    except cv2.error as exc:  # e.g. opencv's own pixel limit; keep its traceback out of the user's face
        message = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise ImageDecodeError(f"cannot decode image {name}: {message}") from None
    if image is None or image.size == 0:
        raise ImageDecodeError(f"cannot decode image {name}: the data is corrupt or truncated")
    image = _from_array(image, name, limits)
    if has_alpha:
        # The colours stay exactly imread's; the alpha comes from Pillow, turned upright the same way.
        alpha = _upright_alpha(data, image.shape[0] * image.shape[1])
        if alpha is not None and alpha.shape == image.shape[:2]:
            image = composite_alpha(image, alpha)
    return image


def _upright_alpha(data: bytes, pixels: int) -> np.ndarray | None:
    try:
        with warnings.catch_warnings(), pillow_allowing(pixels), quiet_native_stderr():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                upright = ImageOps.exif_transpose(image)
                return np.asarray(upright.convert("RGBA"))[:, :, 3]
    except Exception:  # the colours decoded; an alpha Pillow cannot read is left out, as imread leaves it
        return None


def _check_pixel_count(height: int, width: int, name: str, limits: InputLimits) -> None:
    if height * width > limits.max_pixels:
        raise ImageDecodeError(
            f"refusing image {name}: {width}x{height} = {height * width} pixels is more than "
            f"the limit of {limits.max_pixels} ({limits.pixels_advice})"
        )


def _from_array(array: np.ndarray, name: str, limits: InputLimits) -> np.ndarray:
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
    _check_pixel_count(array.shape[0], array.shape[1], name, limits)
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


def _from_pil(image: Image.Image, name: str, limits: InputLimits) -> np.ndarray:
    """The current frame of ``image``, upright (EXIF orientation applied, as imread does for the file)."""
    _check_pixel_count(image.size[1], image.size[0], name, limits)
    try:
        if image.getexif().get(0x0112, 1) != 1:  # orientation tag
            image = ImageOps.exif_transpose(image)
        if image.mode in ("I;16", "I;16L", "I;16B", "I;16N"):
            # OpenCV reduces 16-bit samples to 8 bits by keeping the high byte; Pillow would clip.
            return _from_array(np.asarray(image).astype(np.uint16), name, limits)
        if image.mode == "L":
            return _from_array(np.asarray(image), name, limits)
        if _pil_has_alpha(image) or image.mode == "P":
            # Through RGBA: Pillow warns when a palette image with transparency goes to RGB directly.
            rgba = np.asarray(image.convert("RGBA"))
            return composite_alpha(np.ascontiguousarray(rgba[:, :, 2::-1]), rgba[:, :, 3])
        array = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))  # 1, CMYK, YCbCr, I, F…
    except ImageDecodeError:
        raise
    except Exception as exc:  # Pillow's plugins fail on malformed data with many exception types
        raise ImageDecodeError(f"cannot convert image {name}: {_describe(exc)}") from None
    if array.ndim != 3 or array.shape[2] != 3:
        raise ImageDecodeError(f"cannot convert image {name}: unexpected array shape {array.shape}")
    return _from_array(np.ascontiguousarray(array[:, :, ::-1]), name, limits)


__all__ = [
    "DEFAULT_DPI",
    "DOCUMENT_SUFFIXES",
    "IMAGE_SUFFIXES",
    "MAX_IMAGE_PIXELS",
    "MAX_INPUT_BYTES",
    "MAX_PAGES",
    "PAGED_MAGIC",
    "URL_MAX_BYTES",
    "URL_TIMEOUT_S",
    "ImageInput",
    "InputLimits",
    "PageImage",
    "composite_alpha",
    "contrasting_background",
    "count_pages",
    "find_images",
    "folder_documents",
    "is_http_url",
    "iter_pages",
    "load_image",
    "load_pages",
    "parse_pages",
    "quiet_native_stderr",
    "read_file",
    "read_source",
    "sniff_file",
]
