"""Writes the small made-up seed files of the image/PDF harness (`fuzz_images.py`) into ``fuzz/seeds/images``.

One tiny file per format and variant ptocr reads — PNG (gray, palette, RGBA, 16-bit), JPEG (baseline,
progressive, CMYK), GIF (two frames), TIFF (two pages, BigTIFF), BMP, WebP (lossy, lossless), AVIF, PNM, PAM,
PFM, Radiance HDR, Sun raster, JPEG 2000 (codestream and JP2) and a two-page PDF — each a few hundred bytes, so
the fuzzer mutates headers rather than pixel data. The committed seeds were made by this script; run it again
after adding a variant: ``python fuzz/make_image_seeds.py``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

SEEDS = Path(__file__).resolve().parent / "seeds" / "images"


def _pattern(height: int = 12, width: int = 16) -> np.ndarray:
    """A small BGR picture with edges and colours (not one flat value, so codecs keep some structure)."""
    rows, cols = np.mgrid[0:height, 0:width]
    image = np.stack([rows * 20 % 256, cols * 15 % 256, (rows + cols) * 9 % 256], axis=2).astype(np.uint8)
    image[3:6, 2:12] = 0
    return image


def _cv2(ext: str, image: np.ndarray, params: list[int] | None = None) -> bytes:
    ok, encoded = cv2.imencode(ext, image, params or [])
    if not ok:
        raise RuntimeError(f"OpenCV could not encode {ext}")
    return encoded.tobytes()


def _pil(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _rgb() -> Image.Image:
    return Image.fromarray(_pattern()[:, :, ::-1])


def _codestream(jp2: bytes) -> bytes:
    """The raw JPEG 2000 codestream inside a JP2 file (its last box, 'jp2c')."""
    return jp2[jp2.index(b"jp2c") + 4 :]


def _pdf() -> bytes:
    first, second = _rgb(), Image.fromarray(255 - _pattern()[:, :, ::-1])
    return _pil(first, "PDF", resolution=72.0, save_all=True, append_images=[second])


def seed_files() -> dict[str, Callable[[], bytes]]:
    """File name → a function making its bytes."""
    image = _pattern()
    return {
        "gray.png": lambda: _cv2(".png", cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)),
        "rgba.png": lambda: _cv2(".png", np.dstack([image, np.full(image.shape[:2], 128, np.uint8)])),
        "palette.png": lambda: _pil(_rgb().convert("P", palette=Image.Palette.ADAPTIVE, colors=8), "PNG"),
        "sixteen.png": lambda: _cv2(".png", image.astype(np.uint16) * 257),
        "baseline.jpg": lambda: _cv2(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 50]),
        "progressive.jpg": lambda: _cv2(".jpg", image, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]),
        "cmyk.jpg": lambda: _pil(_rgb().convert("CMYK"), "JPEG"),
        "two.gif": lambda: _pil(_rgb(), "GIF", save_all=True, append_images=[_rgb().rotate(180)]),
        "two.tif": lambda: _pil(_rgb(), "TIFF", save_all=True, append_images=[_rgb().convert("L")]),
        "big.tif": lambda: _pil(_rgb(), "TIFF", big_tiff=True),
        "image.bmp": lambda: _cv2(".bmp", image),
        "lossy.webp": lambda: _cv2(".webp", image, [cv2.IMWRITE_WEBP_QUALITY, 50]),
        "lossless.webp": lambda: _cv2(".webp", image, [cv2.IMWRITE_WEBP_QUALITY, 101]),
        "image.avif": lambda: _cv2(".avif", image),
        "image.pgm": lambda: _cv2(".pgm", cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)),
        "image.ppm": lambda: _cv2(".ppm", image),
        "image.pam": lambda: _cv2(".pam", image),
        "image.pfm": lambda: _cv2(".pfm", image.astype(np.float32) / 255),
        "image.hdr": lambda: _cv2(".hdr", image.astype(np.float32) / 255),
        "image.ras": lambda: _cv2(".ras", image),
        # OpenJPEG needs 32 px or more per side for its default number of resolutions.
        "image.jp2": lambda: _cv2(".jp2", _pattern(32, 32)),
        "image.j2k": lambda: _codestream(_cv2(".jp2", _pattern(32, 32))),
        "two.pdf": _pdf,
    }


def main() -> None:
    SEEDS.mkdir(parents=True, exist_ok=True)
    for name, make in seed_files().items():
        try:
            data = make()
        except (RuntimeError, cv2.error, OSError, KeyError) as exc:  # a codec this build lacks: no seed for it
            print(f"skipped {name}: {exc}")
            continue
        (SEEDS / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
