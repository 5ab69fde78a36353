"""Turning whatever the user hands us into the H×W×3 uint8 BGR array PaddleOCR's pipeline runs on.

Files and bytes are decoded with ``cv2.imdecode(..., IMREAD_COLOR)``, which gives the very pixels
``cv2.imread(path)`` gives (palette PNGs expanded, alpha dropped, EXIF orientation applied) while also
working for non-ASCII paths, which ``cv2.imread`` does not on every platform. Every failure becomes an
:class:`~ptocr.errors.ImageDecodeError` with a one-line message naming the input.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ptocr.errors import ImageDecodeError

ImageInput = str | os.PathLike[str] | bytes | bytearray | memoryview | np.ndarray | Image.Image

# Refuse anything larger before decoding it: 2**28 pixels is already ~800 MB as BGR uint8.
MAX_IMAGE_PIXELS: int = 2**28
#: File suffixes a folder is searched for (an image named explicitly is read whatever its suffix).
IMAGE_SUFFIXES = frozenset({".bmp", ".dib", ".jpe", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp"})


def find_images(folder: str | os.PathLike[str]) -> list[Path]:
    """The image files under ``folder``, recursively, sorted."""
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def load_image(source: ImageInput, max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """Returns ``source`` as a C-contiguous H×W×3 uint8 BGR array.

    Accepted: a path (str or PathLike), encoded file bytes, a uint8 numpy array (H×W gray, H×W×1,
    H×W×3 BGR or H×W×4 BGRA) or a PIL image of any common mode. Arrays that already are contiguous
    H×W×3 uint8 are returned as they are, without a copy; nothing here ever writes into them.
    """
    if isinstance(source, np.ndarray):
        return _from_array(source, _describe_array(source), max_pixels)
    if isinstance(source, Image.Image):
        return _from_pil(source, max_pixels)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        return _decode(data, f"<{len(data)} bytes>", max_pixels)
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if isinstance(path, bytes):  # a bytes PathLike: decode it like the OS would
            path = os.fsdecode(path)
        return _decode(_read_file(path), repr(path), max_pixels)
    raise ImageDecodeError(
        f"cannot read an image from a {type(source).__name__}: "
        "expected a path, bytes, a numpy array or a PIL image"
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


def _decode(data: bytes, name: str, max_pixels: int) -> np.ndarray:
    if not data:
        raise ImageDecodeError(f"cannot decode image {name}: it is empty")
    _refuse_huge_before_decoding(data, name, max_pixels)
    try:
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as exc:  # e.g. opencv's own pixel limit; keep its traceback out of the user's face
        message = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise ImageDecodeError(f"cannot decode image {name}: {message}") from None
    if image is None or image.size == 0:
        raise ImageDecodeError(f"cannot decode image {name}: not an image format OpenCV can read")
    return _from_array(image, name, max_pixels)


def _refuse_huge_before_decoding(data: bytes, name: str, max_pixels: int) -> None:
    """Reads only the header (via Pillow, lazily) so a decompression bomb is refused before it is
    decoded. Formats Pillow does not know are left to OpenCV, which has a limit of its own."""
    try:
        with warnings.catch_warnings():
            # Header quirks (odd EXIF, large-but-allowed sizes) are not the user's concern here.
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as header:
                width, height = header.size
    except Image.DecompressionBombError:
        raise ImageDecodeError(f"refusing image {name}: too many pixels (decompression bomb?)") from None
    except Exception:  # Pillow could not parse the header; OpenCV gets the final say.
        return
    _check_pixel_count(height, width, name, max_pixels)


def _check_pixel_count(height: int, width: int, name: str, max_pixels: int) -> None:
    if height * width > max_pixels:
        raise ImageDecodeError(
            f"refusing image {name}: {width}x{height} = {height * width} pixels is more than "
            f"the limit of {max_pixels} (pass max_pixels= to raise it)"
        )


def _describe_array(array: np.ndarray) -> str:
    return f"<ndarray shape={tuple(array.shape)} dtype={array.dtype}>"


def _from_array(array: np.ndarray, name: str, max_pixels: int) -> np.ndarray:
    if array.dtype != np.uint8:
        raise ImageDecodeError(f"cannot use image {name}: expected dtype uint8, got {array.dtype}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageDecodeError(
            f"cannot use image {name}: expected H×W, H×W×1, H×W×3 (BGR) or H×W×4 (BGRA), "
            f"got shape {tuple(array.shape)}"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ImageDecodeError(f"cannot use image {name}: it has no pixels")
    _check_pixel_count(array.shape[0], array.shape[1], name, max_pixels)
    if array.ndim == 2:
        return cv2.cvtColor(array, cv2.COLOR_GRAY2BGR)
    if array.shape[2] == 4:
        # Like cv2.imread(IMREAD_COLOR) on a PNG with alpha: the alpha channel is dropped, not blended.
        return cv2.cvtColor(array, cv2.COLOR_BGRA2BGR)
    return np.ascontiguousarray(array)


def _from_pil(image: Image.Image, max_pixels: int) -> np.ndarray:
    name = f"<PIL image mode={image.mode} size={image.size[0]}x{image.size[1]}>"
    _check_pixel_count(image.size[1], image.size[0], name, max_pixels)
    try:
        if image.mode in ("I;16", "I;16L", "I;16B", "I;16N"):
            # OpenCV reduces 16-bit samples to 8 bits by keeping the high byte; Pillow would clip.
            gray = (np.asarray(image).astype(np.uint16) >> 8).astype(np.uint8)
            return _from_array(gray, name, max_pixels)
        if image.mode == "L":
            return _from_array(np.asarray(image), name, max_pixels)
        if image.mode in ("P", "PA"):
            # Through RGBA: the colours are the palette's either way, but Pillow warns when a palette
            # image with transparency is converted to RGB directly. The alpha is then dropped.
            array = np.asarray(image.convert("RGBA"))[:, :, :3]
        else:
            array = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))  # RGBA, LA, 1, CMYK…
    except (OSError, ValueError) as exc:
        raise ImageDecodeError(f"cannot convert image {name}: {exc}") from None
    if array.ndim != 3 or array.shape[2] != 3:
        raise ImageDecodeError(f"cannot convert image {name}: unexpected array shape {array.shape}")
    return _from_array(np.ascontiguousarray(array[:, :, ::-1]), name, max_pixels)
