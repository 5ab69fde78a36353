"""Reading an input's encoded bytes under the input policy: a regular file, an http(s) URL, bytes or a file object.

`read_source` is the one place any of them is read: a file is opened without blocking and only if it is a
regular file, its size checked before the read and the read bounded; a URL's body is streamed and refused as soon
as it is known to be too large; a stream is read in chunks up to the limit. `InputLimits` holds the policy and the
advice each refusal ends with. Decoding the bytes is `ptocr.pipeline.image_io`'s job.
"""

from __future__ import annotations

import io
import os
import re
import stat
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Protocol

from ptocr.errors import ImageDecodeError

#: Pages of more pixels are refused before decoding (unless the caller raises it): 2**28 pixels (16384²) is
#: already 800 MB as BGR uint8 and several times that while a pipeline works on it.
MAX_IMAGE_PIXELS: int = 2**28
#: Encoded inputs of more bytes are refused before they are read whole. 256 MiB holds any real scan (an
#: uncompressed 600 dpi A4 colour page is ~100 MB, a compressed one a few MB) with room for multi-page TIFFs and
#: PDFs, while bounding what one input can make ptocr hold: the bytes, then the decoded page beside them.
MAX_INPUT_BYTES: int = 256 * 2**20
#: A document (PDF, TIFF) yields at most this many pages per input; more is refused before any is decoded.
MAX_PAGES: int = 1000
#: A URL must answer within this many seconds (per blocking network operation) …
URL_TIMEOUT_S = 30.0
#: … and its body may be at most this large (unless ``url_max_bytes`` says otherwise, ``max_bytes``); a larger
#: one is refused while it streams in, never held whole.
URL_MAX_BYTES = MAX_INPUT_BYTES
_URL_SCHEMES = ("http://", "https://")
#: How a URI begins (``scheme://``): only http(s) ones are fetched here, `ptocr.distributed` reads others.
URI_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]+)://")
_CHUNK = 1 << 16
_READ_CHUNK = 1 << 20


class Readable(Protocol):
    """A file object: anything with a ``read()`` that returns bytes."""

    def read(self, size: int = -1, /) -> bytes: ...


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


def input_limits(
    max_pixels: int,
    large_images: str,
    max_image_pixels: int = MAX_IMAGE_PIXELS,
    max_bytes: int = MAX_INPUT_BYTES,
    max_pages: int = MAX_PAGES,
) -> InputLimits:
    """The input policy `OCRSystem` (and `ptocr.OCR`) reads under, from their arguments of the same names."""
    # Refused while read, before decoding: above max_pixels when refusing large images, else above the hard
    # ceiling (raised with max_pixels, so that a max_pixels above it is never refused). Each refusal names
    # the setting that raises the limit it hit.
    if large_images == "refuse":
        pixels, pixels_advice = max_pixels, "pass max_pixels=, or ptocr --max-pixels, to raise it"
    else:
        pixels = max(max_pixels, max_image_pixels)
        pixels_advice = "pass max_image_pixels=, or ptocr --max-image-pixels, to raise it"
    return InputLimits(
        max_bytes=max_bytes, max_pixels=pixels, max_pages=max_pages,
        bytes_advice="pass max_bytes=, or ptocr --max-bytes, to raise it", pixels_advice=pixels_advice,
        pages_advice="choose some with pages= (ptocr --pages), or pass max_pages= to raise it",
    )  # fmt: skip


def read_source(
    source: object,
    timeout: float = URL_TIMEOUT_S,
    limits: InputLimits | None = None,
    url_max_bytes: int | None = None,
) -> tuple[bytes, str]:
    """``(bytes, name)`` of a path, http(s) URL, bytes or file object, read under ``limits`` (default
    `InputLimits()`; a URL's body: ``url_max_bytes`` when given); ``name`` is how error messages call it."""
    limits = limits if limits is not None else InputLimits()
    if isinstance(source, (bytes, bytearray, memoryview)):
        name = f"<{len(source)} bytes>" if not isinstance(source, memoryview) else f"<{source.nbytes} bytes>"
        size = len(source) if not isinstance(source, memoryview) else source.nbytes
        if size > limits.max_bytes:
            raise ImageDecodeError(too_many_bytes(name, f"{size} bytes", limits))
        return bytes(source), name
    if isinstance(source, str) and is_http_url(source):
        return _fetch_url(source, timeout, url_max_bytes or limits.max_bytes), source
    if isinstance(source, str) and (scheme := URI_SCHEME.match(source)) and not os.path.exists(source):
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


def is_http_url(source: str) -> bool:
    return source.lower().startswith(_URL_SCHEMES)


def too_many_bytes(name: str, size: str, limits: InputLimits) -> str:
    """The refusal of an input of ``size`` (its size in words) that is more than ``limits.max_bytes``."""
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
                raise ImageDecodeError(too_many_bytes(name, "the stream", limits))
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
            raise ImageDecodeError(too_many_bytes(shown, f"its {info.st_size} bytes", limits))
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
        raise ImageDecodeError(too_many_bytes(shown, "it", limits))
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
