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

The input policy (`InputLimits`), the same for every kind of input: an encoded input (file, bytes, file object,
URL body) of more than ``max_bytes`` is refused before it is held whole (a file from its size, a stream as it
arrives); only regular files are opened (a FIFO or a device is refused at once, never read); every format's
size is read from its header by ptocr itself (`ptocr.pipeline.image_header`) and a page of more than
``max_pixels`` pixels is refused before any decoder runs (a PDF page from its size × dpi, before rendering);
a document yields at most ``max_pages`` pages. Decoders' own messages on stderr (libpng, libjpeg, libtiff,
OpenCV) are silenced while they run: the ImageDecodeError says what went wrong.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import stat
import sys
import threading
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
from ptocr.pipeline.image_header import probe


class Readable(Protocol):
    """A file object: anything with a ``read()`` that returns bytes."""

    def read(self, size: int = -1, /) -> bytes: ...


ImageInput = str | os.PathLike[str] | bytes | bytearray | memoryview | np.ndarray | Image.Image | Readable

#: Pages of more pixels are refused before decoding (unless the caller raises it): 2**28 pixels (16384²) is
#: already 800 MB as BGR uint8 and several times that while a pipeline works on it.
MAX_IMAGE_PIXELS: int = 2**28
#: Encoded inputs of more bytes are refused before they are read whole. 256 MiB holds any real scan (an
#: uncompressed 600 dpi A4 colour page is ~100 MB, a compressed one a few MB) with room for multi-page TIFFs and
#: PDFs, while bounding what one input can make ptocr hold: the bytes, then the decoded page beside them.
MAX_INPUT_BYTES: int = 256 * 2**20
#: A document (PDF, TIFF) yields at most this many pages per input; more is refused before any is decoded.
MAX_PAGES: int = 1000
#: File suffixes a folder is searched for (an image named explicitly is read whatever its suffix).
IMAGE_SUFFIXES = frozenset({".bmp", ".dib", ".jpe", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp"})
#: What ``ptocr FOLDER`` reads by default: the image suffixes, PDFs and GIFs.
DOCUMENT_SUFFIXES = IMAGE_SUFFIXES | {".pdf", ".gif"}
#: PDF pages are rendered at this resolution unless told otherwise (text of 10 pt is then ~28 px tall).
DEFAULT_DPI = 200
#: A URL must answer within this many seconds (per blocking network operation) …
URL_TIMEOUT_S = 30.0
#: … and its body may be at most this large (unless ``url_max_bytes`` says otherwise, ``max_bytes``); a larger
#: one is refused while it streams in, never held whole.
URL_MAX_BYTES = MAX_INPUT_BYTES
# Visible content whose alpha-weighted mean luminance is above this is "light": composited on black, else white.
# 127.5 is where black and white are equally far from the content's mean, so the background chosen is always the
# one farther from it: the larger contrast of the two.
LIGHT_CONTENT_THRESHOLD = 127.5
_PDF_MAGIC = b"%PDF-"
_URL_SCHEMES = ("http://", "https://")
_OTHER_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]+)://")
_CHUNK = 1 << 16
_READ_CHUNK = 1 << 20


@dataclass(frozen=True)
class InputLimits:
    """What one input may cost before it is refused, and how each refusal tells the user to raise the limit.

    ``max_bytes``: the encoded size (a file, bytes, a file object, a URL's body); ``max_pixels``: the pixels of
    one page, checked from the header before decoding; ``max_pages``: the pages one document yields. The
    ``*_advice`` texts end the refusal messages: the callers (`ptocr.OCR`, the CLI, the service) name their own
    setting there, so that the advice is always one the user can follow where the error came from.
    """

    max_bytes: int = MAX_INPUT_BYTES
    max_pixels: int = MAX_IMAGE_PIXELS
    max_pages: int = MAX_PAGES
    bytes_advice: str = "pass max_bytes= to raise it"
    pixels_advice: str = "pass max_pixels= to raise it"
    pages_advice: str = "choose some with pages=, or pass max_pages= to raise it"

    def __post_init__(self) -> None:
        for field in ("max_bytes", "max_pixels", "max_pages"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{field} must be a positive int, got {value!r}")


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
) -> Iterator[PageImage]:
    """The pages of ``source``, one at a time (a long PDF is never held whole in memory).

    ``pages``: 1-based page numbers, or a string such as ``"1-3,5"`` (`parse_pages`); None is every page. Numbers
    past the last page are skipped, but a selection that names no existing page is an error. A single image, a
    GIF (its first frame) and arrays / PIL images are one page. ``dpi`` is the resolution PDF pages are rendered
    at. The input policy (`InputLimits`; ``limits``, when given, replaces ``max_bytes``, ``max_pixels`` and
    ``max_pages``): an encoded input of more than ``max_bytes`` bytes is refused before it is read whole (a URL's
    body: ``url_max_bytes`` when given); a page of more than ``max_pixels`` pixels is refused before it is decoded
    (a PDF page before it is rendered, an image from its header); a document of which more than ``max_pages``
    pages would be read is refused before any is.
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
        data, name = _read_source(source, url_timeout, limits, url_max_bytes)
        yield from _encoded_pages(data, name, wanted, dpi, limits)


# -- reading bytes -------------------------------------------------------------------------------------------


def _read_source(
    source: object, timeout: float, limits: InputLimits, url_max_bytes: int | None = None
) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        name = f"<{len(source)} bytes>" if not isinstance(source, memoryview) else f"<{source.nbytes} bytes>"
        size = len(source) if not isinstance(source, memoryview) else source.nbytes
        if size > limits.max_bytes:
            raise ImageDecodeError(_too_many_bytes(name, f"{size} bytes", limits))
        return bytes(source), name
    if isinstance(source, str) and source.lower().startswith(_URL_SCHEMES):
        return _fetch_url(source, timeout, url_max_bytes or limits.max_bytes), source
    if isinstance(source, str) and (scheme := _OTHER_SCHEME.match(source)) and not os.path.exists(source):
        raise ImageDecodeError(
            f"cannot read image {source!r}: only http:// and https:// URLs are fetched, not {scheme[1]}://"
        )
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if isinstance(path, bytes):  # a bytes PathLike: decode it like the OS would
            path = os.fsdecode(path)
        return read_file(path, limits), repr(path)
    if callable(getattr(source, "read", None)):
        name = f"<file {getattr(source, 'name', type(source).__name__)!s}>"
        if isinstance(source, io.TextIOBase):
            raise ImageDecodeError(f"cannot read image {name}: it is opened in text mode; open it with 'rb'")
        return _read_stream(source, name, limits), name
    raise ImageDecodeError(
        f"cannot read an image from a {type(source).__name__}: expected a path, an http(s) URL, bytes, "
        "a file object, a numpy array or a PIL image"
    )


def _too_many_bytes(name: str, size: str, limits: InputLimits) -> str:
    return f"refusing image {name}: {size} is more than the limit of {limits.max_bytes} bytes ({limits.bytes_advice})"


def _read_stream(source: object, name: str, limits: InputLimits) -> bytes:
    """A file object's bytes, read in chunks and refused as soon as there are more than ``limits.max_bytes``."""
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            chunk = source.read(min(_READ_CHUNK, limits.max_bytes + 1 - size))  # type: ignore[attr-defined]
            if isinstance(chunk, str):
                raise ImageDecodeError(f"cannot read image {name}: it is opened in text mode; open it with 'rb'")
            if chunk is None:  # a non-blocking stream with nothing ready: what it holds is not all here
                raise ImageDecodeError(f"cannot read image {name}: the stream is non-blocking and has no data ready")
            if not isinstance(chunk, (bytes, bytearray, memoryview)):
                raise ImageDecodeError(f"cannot read image {name}: read() returned {type(chunk).__name__}, not bytes")
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > limits.max_bytes:
                raise ImageDecodeError(_too_many_bytes(name, "the stream", limits))
            chunks.append(bytes(chunk))
    except (OSError, ValueError, TypeError) as exc:  # closed file, unreadable stream, a read() without a size
        raise ImageDecodeError(f"cannot read image {name}: {exc}") from None


def read_file(path: str | os.PathLike[str], limits: InputLimits | None = None) -> bytes:
    """The bytes of the regular file ``path``, under the policy of ``limits`` (default `InputLimits()`).

    Only a regular file is read: a directory, FIFO, socket or device (``/dev/zero``) is an ImageDecodeError at
    once, never a blocking open or an endless read. The file is opened without blocking and checked on the
    open descriptor (no race with a rename), its size is checked before reading and the read is bounded, so a
    sparse multi-GB file is refused without allocating its size.
    """
    limits = limits if limits is not None else InputLimits()
    path = os.fspath(path)
    shown = repr(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError:
        raise ImageDecodeError(f"cannot read image {shown}: no such file") from None
    except IsADirectoryError:
        raise ImageDecodeError(f"cannot read image {shown}: it is a directory") from None
    except OSError as exc:
        raise ImageDecodeError(f"cannot read image {shown}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(descriptor)
        if stat.S_ISDIR(info.st_mode):
            raise ImageDecodeError(f"cannot read image {shown}: it is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise ImageDecodeError(f"cannot read image {shown}: not a regular file ({_file_kind(info.st_mode)})")
        if info.st_size > limits.max_bytes:
            raise ImageDecodeError(_too_many_bytes(shown, f"its {info.st_size} bytes", limits))
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            # Its size and one byte more: a read of the limit would allocate the whole limit at once. A file
            # that grew since the check is read on, in chunks, up to the limit.
            chunks = [handle.read(info.st_size + 1)]
            size = len(chunks[0])
            while size > info.st_size and size <= limits.max_bytes and (chunk := handle.read(_READ_CHUNK)):
                chunks.append(chunk)
                size += len(chunk)
            data = b"".join(chunks) if len(chunks) > 1 else chunks[0]
    except OSError as exc:
        raise ImageDecodeError(f"cannot read image {shown}: {exc.strerror or exc}") from None
    finally:
        os.close(descriptor)
    if len(data) > limits.max_bytes:
        raise ImageDecodeError(_too_many_bytes(shown, "it", limits))
    return data


def _file_kind(mode: int) -> str:
    kinds = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISSOCK, "a socket"))  # fmt: skip
    for test, kind in kinds:
        if test(mode):
            return kind
    return "not a file"


def sniff_file(path: str | os.PathLike[str], count: int) -> bytes:
    """The first ``count`` bytes of ``path`` if it is a regular file (opened without blocking), else b""."""
    try:
        descriptor = os.open(os.fspath(path), os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError:
        return b""
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return b""
        return os.read(descriptor, count)
    except OSError:
        return b""
    finally:
        os.close(descriptor)


def _fetch_url(url: str, timeout: float, max_bytes: int) -> bytes:
    """The body of ``url``, streamed: refused as soon as it is known to exceed ``max_bytes``."""
    request = urllib.request.Request(url, headers={"User-Agent": "ptocr"})
    too_big = f"cannot read image {url!r}: the response is larger than the limit of {max_bytes} bytes"
    try:
        # A fresh opener per fetch: urlopen's global one keeps the proxy settings of its first use.
        with urllib.request.build_opener().open(request, timeout=timeout) as response:
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
            with warnings.catch_warnings(), quiet_native_stderr(), _pillow_allowing(header.pixels):
                warnings.simplefilter("ignore")
                image = _from_pil(gif, name, limits)
            yield from _single(image, name, wanted)
        return
    yield from _single(_decode(data, name, limits, _has_alpha(data, header.pixels), header.format), name, wanted)


# Pillow's own decompression-bomb check (Image.MAX_IMAGE_PIXELS, ~89 MP, an error at twice that) would refuse
# images ptocr's limit allows, with advice that does not apply to ptocr. ptocr has sized the image itself before
# Pillow sees it, so around Pillow's calls the check is raised to at least that size: ptocr's limit decides.
# Image.MAX_IMAGE_PIXELS is one process-wide value: it is only ever raised (never lowered or disabled), while
# any call needs it, and put back when the last such call ends.
_pillow_lock = threading.Lock()
_pillow_users = 0
_pillow_saved: int | None = None


@contextlib.contextmanager
def _pillow_allowing(pixels: int) -> Iterator[None]:
    global _pillow_users, _pillow_saved
    with _pillow_lock:
        # Judged against the user's own setting (saved while raised), so that no call relies on a raise that
        # another call undoes when it ends.
        original = _pillow_saved if _pillow_users else Image.MAX_IMAGE_PIXELS
        needed = original is not None and pixels > original
        if needed:
            if _pillow_users == 0:
                _pillow_saved = original
            _pillow_users += 1
            current = Image.MAX_IMAGE_PIXELS
            if current is not None:  # another call may have raised it further already
                Image.MAX_IMAGE_PIXELS = max(current, pixels)
    try:
        yield
    finally:
        if needed:
            with _pillow_lock:
                _pillow_users -= 1
                if _pillow_users == 0:
                    Image.MAX_IMAGE_PIXELS = _pillow_saved


# libpng, libjpeg, libtiff and OpenCV's logger write their complaints straight to file descriptor 2, beside
# ptocr's one-line errors. While any decode runs, fd 2 points at the null device; the first decode to start
# redirects it and the last to end restores it, so concurrent decodes neither wait for each other nor restore
# it under one another. (Whatever else the process writes to fd 2 during a decode is lost the same way.)
_stderr_lock = threading.Lock()
_stderr_users = 0
_stderr_saved: int | None = None


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """File descriptor 2 on the null device while the block runs (nested and concurrent uses share one
    redirection): around native decoders, whose messages would appear beside ptocr's one-line errors."""
    global _stderr_users, _stderr_saved
    with _stderr_lock:
        if _stderr_users == 0:
            try:
                saved = os.dup(2)
            except OSError:  # no fd 2 at all: nothing to protect
                saved = None
            if saved is not None:
                null = os.open(os.devnull, os.O_WRONLY)
                try:
                    with contextlib.suppress(ValueError, OSError, AttributeError):
                        sys.stderr.flush()  # what Python wrote before the decode still goes out
                    os.dup2(null, 2)
                finally:
                    os.close(null)
            _stderr_saved = saved
        _stderr_users += 1
    try:
        yield
    finally:
        with _stderr_lock:
            _stderr_users -= 1
            if _stderr_users == 0 and _stderr_saved is not None:
                os.dup2(_stderr_saved, 2)
                os.close(_stderr_saved)
                _stderr_saved = None


def _pil_open(data: bytes, name: str, pixels: int) -> Image.Image:
    try:
        with warnings.catch_warnings(), _pillow_allowing(pixels), quiet_native_stderr():
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
            with warnings.catch_warnings(), quiet_native_stderr(), _pillow_allowing(image.size[0] * image.size[1]):
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
        with warnings.catch_warnings(), _pillow_allowing(pixels), quiet_native_stderr():
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
        with warnings.catch_warnings(), _pillow_allowing(pixels), quiet_native_stderr():
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
    "ImageInput",
    "InputLimits",
    "PageImage",
    "composite_alpha",
    "contrasting_background",
    "find_images",
    "iter_pages",
    "load_image",
    "load_pages",
    "parse_pages",
    "quiet_native_stderr",
    "read_file",
    "sniff_file",
]
