"""load_image: identical to cv2.imread for files, the same array from every input kind, clean errors."""

from __future__ import annotations

import shutil
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from ptocr.errors import ImageDecodeError, PtocrError
from ptocr.pipeline import find_images, load_image

from .paths import SHARED

IMAGE_DIR = SHARED / "images"
SHARED_IMAGES = find_images(IMAGE_DIR) if IMAGE_DIR.is_dir() else []
# Files that are not what their name says or that carry alpha: they must still decode like cv2.imread.
TRICKY = ("imgs_en/img_12.jpg", "imgs_words/chinese_traditional/chinese_cht_1.png")

needs_shared = pytest.mark.skipif(
    not SHARED_IMAGES, reason=f"test images not found at {IMAGE_DIR} (the shared/ checkout is absent)"
)


def _rel(path: Path) -> str:
    return path.relative_to(IMAGE_DIR).as_posix()


@needs_shared
@pytest.mark.parametrize("path", SHARED_IMAGES, ids=_rel)
def test_file_decodes_like_cv2_imread(path: Path) -> None:
    expected = cv2.imread(str(path))
    assert expected is not None
    for source in (path, str(path), path.read_bytes()):
        image = load_image(source)
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        assert image.flags["C_CONTIGUOUS"]
        assert np.array_equal(image, expected), f"{type(source).__name__} input"


@needs_shared
@pytest.mark.parametrize("path", SHARED_IMAGES, ids=_rel)
def test_pil_and_array_inputs_give_the_same_array(path: Path) -> None:
    expected = cv2.imread(str(path))
    with Image.open(path) as pil:
        assert np.array_equal(load_image(pil), expected), f"PIL mode {pil.mode}"
    assert load_image(expected) is expected  # already BGR uint8 and contiguous: no copy


@needs_shared
def test_tricky_files_are_present_and_have_the_expected_kinds() -> None:
    with Image.open(IMAGE_DIR / TRICKY[0]) as palette, Image.open(IMAGE_DIR / TRICKY[1]) as alpha:
        assert (palette.format, palette.mode) == ("PNG", "P")
        assert alpha.mode == "RGBA"


@needs_shared
def test_non_ascii_path(tmp_path: Path) -> None:
    source = IMAGE_DIR / TRICKY[1]
    target = tmp_path / "图片 ünïcode.png"
    shutil.copyfile(source, target)
    assert np.array_equal(load_image(target), cv2.imread(str(source)))


def test_gray_bgra_and_single_channel_arrays() -> None:
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (7, 9), dtype=np.uint8)
    assert np.array_equal(load_image(gray), np.repeat(gray[:, :, None], 3, axis=2))
    assert np.array_equal(load_image(gray[:, :, None]), load_image(gray))
    bgra = rng.integers(0, 256, (7, 9, 4), dtype=np.uint8)
    bgra[:, :, 3] = 255
    assert np.array_equal(load_image(bgra), bgra[:, :, :3])  # opaque: the colours as they are
    strided = rng.integers(0, 256, (7, 9, 3), dtype=np.uint8)[:, ::-1]
    out = load_image(strided)
    assert out.flags["C_CONTIGUOUS"] and np.array_equal(out, strided)


def test_pil_modes_match_cv2_decoding_of_the_same_png(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    rgba = rng.integers(0, 256, (6, 5, 4), dtype=np.uint8)
    for transparent in (False, True):
        rgba[:, :, 3] = rng.integers(0, 256, (6, 5), dtype=np.uint8) if transparent else 255
        for mode in ("RGBA", "RGB", "L", "LA", "P", "1"):
            image = Image.fromarray(rgba, "RGBA").convert(mode)
            path = tmp_path / f"{mode}.png"
            image.save(path)
            with Image.open(path) as reopened:
                from_pil = load_image(reopened)
            assert np.array_equal(from_pil, load_image(path)), mode  # the file and the PIL image agree
            if not transparent or mode not in ("RGBA", "LA", "P"):  # opaque (P keeps a tRNS): imread's
                assert np.array_equal(from_pil, cv2.imread(str(path))), mode


def test_sixteen_bit_png_keeps_the_high_byte_like_opencv(tmp_path: Path) -> None:
    values = np.array([[0, 255, 256, 65535], [4660, 511, 1000, 30000]], dtype=np.uint16)
    path = tmp_path / "gray16.png"
    assert cv2.imwrite(str(path), values)
    expected = cv2.imread(str(path))
    assert np.array_equal(load_image(path), expected)
    with Image.open(path) as pil:
        assert np.array_equal(load_image(pil), expected)


@pytest.mark.parametrize(
    ("make_source", "fragment"),
    [
        (lambda tmp: tmp / "missing.png", "no such file"),
        (lambda tmp: tmp, "directory"),
        (lambda tmp: _write(tmp / "garbage.jpg", b"this is not an image at all" * 10), "not an image"),
        (lambda tmp: _write(tmp / "empty.png", b""), "empty"),
        (lambda tmp: b"", "empty"),
        (lambda tmp: b"\x89PNG\r\n\x1a\n truncated", "not an image"),
        (lambda tmp: np.full((4, 4, 3), 2.0, dtype=np.float32), "[0, 1]"),
        (lambda tmp: np.zeros((4, 4, 3), dtype=np.int32), "uint8"),
        (lambda tmp: np.zeros((4, 4, 5), dtype=np.uint8), "shape"),
        (lambda tmp: np.zeros((0, 4, 3), dtype=np.uint8), "no pixels"),
        (lambda tmp: np.zeros((2, 2, 2, 3), dtype=np.uint8), "shape"),
        (lambda tmp: 42, "int"),
    ],
    ids=[
        "missing",
        "directory",
        "garbage",
        "empty-file",
        "empty-bytes",
        "truncated-png",
        "float-out-of-range",
        "int32-array",
        "five-channels",
        "no-pixels",
        "4d-array",
        "wrong-type",
    ],
)
def test_bad_inputs_raise_image_decode_error(tmp_path: Path, make_source: object, fragment: str) -> None:
    source = make_source(tmp_path)  # type: ignore[operator]
    with pytest.raises(ImageDecodeError) as caught:
        load_image(source)
    message = str(caught.value)
    assert fragment in message
    assert "\n" not in message
    assert isinstance(caught.value, PtocrError)
    if isinstance(source, Path):
        assert str(source) in message  # the message names the input


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def test_decompression_bomb_is_refused_before_decoding() -> None:
    # A PNG header announcing 100000 x 100000 pixels; decoding it would need 30 GB.
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    bomb = (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + _png_chunk(b"IEND", b"")
    )
    with pytest.raises(ImageDecodeError, match="refusing"):
        load_image(bomb)


def test_pixel_limit_is_configurable() -> None:
    image = np.zeros((20, 30, 3), dtype=np.uint8)
    ok, encoded = cv2.imencode(".png", image)
    assert ok
    with pytest.raises(ImageDecodeError, match="600 pixels"):
        load_image(encoded.tobytes(), max_pixels=599)
    with pytest.raises(ImageDecodeError, match="refusing"):
        load_image(image, max_pixels=599)
    with pytest.raises(ImageDecodeError, match="refusing"):
        load_image(Image.fromarray(image), max_pixels=599)
    assert load_image(encoded.tobytes(), max_pixels=600).shape == (20, 30, 3)
