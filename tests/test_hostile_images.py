"""Hostile and odd images through the real `OCR` (one for the module), each with its expected outcome: typed
refusals for what cannot or must not be decoded (refused before decoding, in milliseconds, without the memory
a decoder would take), empty results for images without text, and the same text for every pixel format.

The input policy itself (max_bytes, regular files, header sizes, decoder noise, non-UTF-8 names) is covered
here too; the pixel conversions are in test_inputs.py and test_image_io.py."""

from __future__ import annotations

import contextlib
import io
import os
import struct
import subprocess
import sys
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

import ptocr
from ptocr import cli
from ptocr.errors import ImageDecodeError, PtocrError
from ptocr.pipeline.image_io import MAX_IMAGE_PIXELS, InputLimits, load_image, load_pages, read_file
from ptocr.pipeline.results import OCRResult

from .test_inputs import dark_on_white, make_pdf, squash

REPO = Path(__file__).resolve().parents[1]
TEXT = "Hello 2024"


@pytest.fixture(scope="module")
def ocr() -> ptocr.OCR:
    return ptocr.OCR()


def _texts(result: OCRResult) -> str:
    return squash(" ".join(line.text for line in result.lines))


def _encode(ext: str, image: np.ndarray, params: list[int] | None = None) -> bytes:
    ok, encoded = cv2.imencode(ext, image, params or [])
    assert ok
    return encoded.tobytes()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def declared_png(width: int, height: int) -> bytes:
    """A valid-looking PNG of a few dozen bytes whose header declares ``width`` × ``height`` gray pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def _refused_quickly(source: object, fragment: str, **options: object) -> ImageDecodeError:
    """Refused with ``fragment`` in well under a second, allocating at most a few MB on the way."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(ImageDecodeError, match=fragment) as caught:
            load_pages(source, **options)  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 0.5
    assert peak < 8 * 2**20
    assert "\n" not in str(caught.value)
    return caught.value


# -- point 4 of the issue: each image kind through OCR, with its expected result -----------------------------------


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda: b"", "it is empty"),
        (lambda: _encode(".png", dark_on_white(TEXT))[:300], "truncated"),
        (lambda: _encode(".jpg", dark_on_white(TEXT))[:600], "corrupt or truncated"),
        (lambda: b"Just some text, not an image at all.\n" * 10, "not an image format ptocr reads"),
        (lambda: b"\x89PNG\r\n\x1a\n" + os.urandom(200), "not an image ptocr can read"),
    ],
    ids=["0-byte", "truncated-png", "truncated-jpeg", "text-bytes", "png-magic-then-noise"],
)
def test_undecodable_inputs_are_typed_errors(ocr: ptocr.OCR, make: Callable[[], bytes], fragment: str) -> None:
    with pytest.raises(ImageDecodeError, match=fragment) as caught:
        ocr.run(make())
    assert isinstance(caught.value, PtocrError) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "shape", [(1, 1), (1, 20000), (20000, 1), (2, 3000), (64, 64)], ids=["1x1", "1x20000", "20000x1", "2x3000", "64x64"]
)
@pytest.mark.parametrize("value", [0, 255], ids=["black", "white"])
def test_images_without_text_give_an_empty_result(ocr: ptocr.OCR, shape: tuple[int, int], value: int) -> None:
    image = np.full((*shape, 3), value, np.uint8)
    result = ocr.run(_encode(".png", image))  # encoded, so the whole decoding path runs
    assert isinstance(result, OCRResult)
    assert list(result.lines) == [] and (result.image_height, result.image_width) == shape
    assert ocr(image) == []


def test_20000_by_20000_is_refused_before_decoding(ocr: ptocr.OCR) -> None:
    # 400 MP, over the 2**28 ceiling: refused from the header of this 80-byte file, never decoded (1.2 GB).
    bomb = declared_png(20000, 20000)
    error = _refused_quickly(bomb, "20000x20000 = 400000000 pixels is more than the limit of 268435456")
    assert "max_pixels=" in str(error)  # load_pages' own setting
    with pytest.raises(ImageDecodeError, match="pass max_image_pixels=, or ptocr --max-image-pixels") as caught:
        ocr.run(bomb)
    assert "268435456" in str(caught.value)


def test_large_images_follow_one_policy() -> None:
    """Refused above max(max_pixels, max_image_pixels) before decoding; in between, downscaled for detection
    (test_inputs covers the downscaling itself); with large_images="refuse", refused above max_pixels."""
    limits = ptocr.OCR.__init__.__kwdefaults__
    assert limits["max_image_pixels"] == MAX_IMAGE_PIXELS == 2**28 and limits["max_pixels"] == 50_000_000
    from ptocr.pipeline.system import OCRSystem

    nets = {"det_net": lambda x: x, "cls_net": None, "rec_net": lambda x: x, "decoder": ["a"]}
    settings = ptocr.OCRSettings(use_angle_cls=False)
    assert OCRSystem(**nets, settings=settings).input_limits.max_pixels == 2**28
    assert OCRSystem(**nets, settings=settings, max_pixels=3 * 10**8).input_limits.max_pixels == 3 * 10**8
    refusing = OCRSystem(**nets, settings=settings, max_pixels=1000, large_images="refuse")
    assert refusing.input_limits.max_pixels == 1000 and "--max-pixels" in refusing.input_limits.pixels_advice
    raised = OCRSystem(**nets, settings=settings, max_image_pixels=20000 * 20000)
    with pytest.raises(ImageDecodeError, match="cannot decode"):  # allowed past the header, then the fake IDAT
        raised.detect(declared_png(20000, 20000)[:60])


def _with_text_as(mode: str) -> object:
    """TEXT drawn black on white, in the pixel format ``mode`` names."""
    bgr = dark_on_white(TEXT)
    rgb = Image.fromarray(bgr[:, :, ::-1])
    if mode == "palette-png":
        return _pil_bytes(rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16), "PNG")
    if mode == "cmyk-jpeg":
        return _pil_bytes(rgb.convert("CMYK"), "JPEG", quality=95)
    if mode == "16-bit-png":
        return _encode(".png", bgr.astype(np.uint16) * 257)
    if mode == "alpha-png":  # the text only in the alpha channel: transparent pixels store black
        alpha = 255 - cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        return _encode(".png", np.dstack([np.zeros_like(bgr), alpha]))
    if mode == "float-array":
        return bgr.astype(np.float32) / 255
    if mode == "float-pfm":
        return _encode(".pfm", bgr.astype(np.float32) / 255)
    if mode == "gray-16-pil":
        return Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.uint16) * 257)
    if mode == "tiff-lzw":
        return _pil_bytes(rgb, "TIFF", compression="tiff_lzw")
    raise AssertionError(mode)


def _pil_bytes(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


MODES = ["palette-png", "cmyk-jpeg", "16-bit-png", "alpha-png", "float-array", "float-pfm", "gray-16-pil", "tiff-lzw"]


@pytest.mark.parametrize("mode", MODES)
def test_every_pixel_format_reads_the_same_text(ocr: ptocr.OCR, mode: str) -> None:
    assert _texts(ocr.run(_with_text_as(mode))) == squash(TEXT)


# -- sizes from the header, for every format -----------------------------------------------------------------------


def _declaring(fmt: str, width: int, height: int) -> bytes:
    """A small file of format ``fmt`` whose header declares width × height, followed by a little data."""
    pixels = b"\x80" * 4096
    if fmt == "hdr":
        return b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n" + f"-Y {height} +X {width}\n".encode() + pixels
    if fmt == "pam":
        header = f"P7\nWIDTH {width}\nHEIGHT {height}\nDEPTH 3\nMAXVAL 255\nTUPLTYPE RGB\nENDHDR\n"
        return header.encode() + pixels
    if fmt == "pfm":
        return f"PF\n{width} {height}\n-1.0\n".encode() + pixels
    if fmt == "ppm":
        return f"P6\n# a comment\n{width} {height}\n255\n".encode() + pixels
    if fmt == "bmp":
        return b"BM" + struct.pack("<IHHI", 0, 0, 0, 54) + struct.pack("<IiiHH", 40, width, -height, 1, 24) + pixels
    if fmt == "gif":
        return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00" + pixels
    if fmt == "tiff":
        entries = [(256, 4, 1, width), (257, 4, 1, height), (277, 3, 1, 3)]
        ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries) + b"\0" * 4
        return b"II*\x00" + struct.pack("<I", 8) + ifd + pixels
    if fmt == "webp":
        chunk = b"VP8X" + struct.pack("<I", 10) + b"\0" * 4 + (width - 1).to_bytes(3, "little")
        return b"RIFF" + struct.pack("<I", 4 + len(chunk) + 3) + b"WEBP" + chunk + (height - 1).to_bytes(3, "little")
    if fmt == "jpeg":
        frame = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
        return b"\xff\xd8" + b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\0" + b"\0" * 9 + frame + pixels
    if fmt == "ras":
        return struct.pack(">IIIIIIII", 0x59A66A95, width, height, 24, 0, 1, 0, 0) + pixels
    if fmt == "j2k":
        siz = struct.pack(">HHIIIIIIIIH", 41, 0, width, height, 0, 0, width, height, 0, 0, 1) + b"\x07\x01\x01"
        return b"\xff\x4f\xff\x51" + siz + pixels
    raise AssertionError(fmt)


FORMATS = ["hdr", "pam", "pfm", "ppm", "bmp", "gif", "tiff", "webp", "jpeg", "ras", "j2k"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_is_sized_from_its_header_before_decoding(fmt: str) -> None:
    # The case: an 18 MB HDR/PAM/PFM declaring 17000x17000 took 4.5 GB and 30 s before being refused.
    data = _declaring(fmt, 17000, 17000)
    _refused_quickly(data, "17000x17000 = 289000000 pixels is more than the limit of 268435456")
    _refused_quickly(data, "more than the limit of 1000 ", max_pixels=1000)


def test_formats_that_cannot_be_sized_are_refused_with_the_list() -> None:
    for data in (b"\x76\x2f\x31\x01" + b"\0" * 64, b"8BPS" + b"\0" * 64, b"\0\0\x01\0" + b"\0" * 64):  # EXR, PSD, ICO
        error = _refused_quickly(data, "not an image format ptocr reads")
        assert "PNG, JPEG, GIF, BMP, TIFF, WebP" in str(error) and "Radiance HDR" in str(error)


def test_pillows_bomb_check_does_not_overrule_ptocrs_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pillow refuses above 2 × Image.MAX_IMAGE_PIXELS (~179 MP by default, under ptocr's 268 MP). With Pillow's
    # limit made tiny, the formats Pillow decodes for ptocr still read within ptocr's limit, and Pillow's own
    # setting is back as it was afterwards.
    rgba = np.dstack([dark_on_white("Hi", width=60, height=30), np.full((30, 60), 200, np.uint8)])
    frames = [Image.fromarray(dark_on_white(t, width=60, height=30)) for t in ("1", "2")]
    tiff, gif = io.BytesIO(), io.BytesIO()
    frames[0].save(tiff, "TIFF", save_all=True, append_images=frames[1:])
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:])
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10)
    for data, count in ((_encode(".png", rgba), 1), (tiff.getvalue(), 2), (gif.getvalue(), 1)):
        assert [page.image.shape for page in load_pages(data)] == [(30, 60, 3)] * count
    assert Image.MAX_IMAGE_PIXELS == 10
    with pytest.raises(ImageDecodeError, match=r"\(pass max_pixels= to raise it\)"):  # ptocr's limit decides
        load_pages(gif.getvalue(), max_pixels=100)


# -- files and bytes: the byte limit, regular files only -------------------------------------------------------------


def _fails_within(seconds: float, call: Callable[[], object]) -> BaseException:
    """The exception ``call`` raises, in a thread that must finish within ``seconds`` (a blocking open fails
    the test instead of hanging it)."""
    outcome: list[BaseException] = []

    def target() -> None:
        try:
            call()
        except BaseException as exc:  # handed to the test
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    assert outcome, "no exception"
    return outcome[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_named_like_an_image_fails_at_once(ocr: ptocr.OCR, tmp_path: Path) -> None:
    fifo = tmp_path / "x.jpg"
    os.mkfifo(fifo)
    error = _fails_within(5, lambda: ocr.run(fifo))
    assert isinstance(error, ImageDecodeError) and "not a regular file (a FIFO)" in str(error)
    assert str(fifo) in str(error)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_devices_are_refused_without_reading() -> None:
    error = _fails_within(5, lambda: load_image("/dev/zero"))
    assert isinstance(error, ImageDecodeError) and "not a regular file (a character device)" in str(error)


def test_a_sparse_multi_gb_file_is_refused_from_its_size(tmp_path: Path) -> None:
    sparse = tmp_path / "huge.jpg"
    with open(sparse, "wb") as handle:
        handle.write(_encode(".jpg", np.zeros((8, 8, 3), np.uint8)))
        handle.truncate(6 * 2**30)  # 6 GiB, no blocks on disk
    _refused_quickly(sparse, "its 6442450944 bytes is more than the limit of 268435456 bytes")


def test_max_bytes_is_one_limit_for_bytes_files_and_streams(ocr: ptocr.OCR, tmp_path: Path) -> None:
    data = _encode(".png", dark_on_white(TEXT))
    path = tmp_path / "text.png"
    path.write_bytes(data)
    small = len(data) - 1
    for source in (data, bytearray(data), memoryview(data), path, str(path), io.BytesIO(data)):
        _refused_quickly(source, f"more than the limit of {small} bytes", max_bytes=small)
        assert load_pages(source if not isinstance(source, io.BytesIO) else io.BytesIO(data), max_bytes=len(data))
    assert len(read_file(path, InputLimits(max_bytes=len(data)))) == len(data)
    limited = ptocr.OCR(max_bytes=small)
    with pytest.raises(ImageDecodeError, match=r"pass max_bytes=, or ptocr --max-bytes, to raise it"):
        limited.run(path)
    assert _texts(ocr.run(path)) == squash(TEXT)


class _Dribble(io.RawIOBase):
    """A stream that hands out at most 7 bytes per read, as a socket may."""

    def __init__(self, data: bytes) -> None:
        self.data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self.data.read(min(7, size) if size >= 0 else 7)


def test_short_reads_are_read_to_the_end_and_bounded() -> None:
    data = _encode(".png", dark_on_white("Hi", width=60, height=30))
    assert load_image(_Dribble(data)).shape == (30, 60, 3)
    with pytest.raises(ImageDecodeError, match="the stream is more than the limit"):
        load_image(_Dribble(data), max_bytes=100)


# -- documents: pages and their sizes -------------------------------------------------------------------------------


def _pdf_page(width_pt: float, height_pt: float) -> bytes:
    """A one-page PDF whose MediaBox is width × height points (nothing drawn)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] >>" % (width_pt, height_pt),
    ]
    body, offsets = b"%PDF-1.4\n", []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    return body + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


def test_a_huge_pdf_page_is_refused_before_rendering() -> None:
    # PDF sizes top out at 14400 pt per side (200 inches) by the spec, but pdfium takes larger ones as they come.
    _refused_quickly(_pdf_page(10**6, 10**6), r"page 1 of <\d+ bytes> at 200 dpi: 2777778x2777778")
    (page,) = load_pages(_pdf_page(72, 36), dpi=100)
    assert page.image.shape == (50, 100, 3) and page.image.min() == 255


def test_documents_yield_a_bounded_number_of_pages(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "doc.pdf", ["one", "two", "three"])
    error = _refused_quickly(pdf, "3 pages to read, more than the limit of 2", max_pages=2)
    assert "choose some with pages=" in str(error)
    assert [p.number for p in load_pages(pdf, pages="2-3", max_pages=2, dpi=36)] == [2, 3]
    frames = [Image.fromarray(np.full((8, 8), n * 40, np.uint8)) for n in range(5)]
    tiff = io.BytesIO()
    frames[0].save(tiff, "TIFF", save_all=True, append_images=frames[1:])
    _refused_quickly(tiff.getvalue(), "a TIFF of more than 4 pages", max_pages=4)
    assert len(load_pages(tiff.getvalue(), max_pages=5)) == 5


# -- decoder noise ---------------------------------------------------------------------------------------------------


def test_decoders_say_nothing_on_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    image = dark_on_white(TEXT)
    broken = [
        _encode(".png", image)[:-40] + b"\0" * 12 + b"IEND\xaeB`\x82",  # corrupt IDAT data: libpng complains
        _encode(".jpg", image)[:900],  # libjpeg: "Corrupt JPEG data: premature end of data segment"
        _encode(".jpg", image)[:700] + b"\xff\xd9",
        _pil_bytes(Image.fromarray(image), "TIFF")[:3000],  # libtiff: "Read error on strip"
    ]
    capfd.readouterr()
    for data in broken:
        with contextlib.suppress(ImageDecodeError):
            load_image(data)
    print("after", file=sys.stderr)  # Python's own stderr works again once decoding is over
    assert capfd.readouterr().err == "after\n"


def test_silencing_stderr_costs_little() -> None:
    data = _encode(".png", dark_on_white(TEXT))
    from ptocr.pipeline import image_io

    started = time.perf_counter()
    for _ in range(200):
        with image_io.quiet_native_stderr():
            pass
    per_call = (time.perf_counter() - started) / 200
    decode = min(_timed(lambda: cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)) for _ in range(20))
    assert per_call < max(100e-6, decode / 5)  # a few system calls (~10 µs), against a decode of 0.3 ms and more


def _timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def test_silencing_is_safe_across_threads(capfd: pytest.CaptureFixture[str]) -> None:
    truncated = _encode(".jpg", dark_on_white(TEXT))[:900]
    good = _encode(".png", dark_on_white(TEXT))
    errors: list[BaseException] = []

    def work() -> None:
        for data in (truncated, good) * 20:
            try:
                load_image(data)
            except ImageDecodeError:
                pass
            except BaseException as exc:
                errors.append(exc)

    capfd.readouterr()
    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print("restored", file=sys.stderr)
    assert errors == [] and capfd.readouterr().err == "restored\n"


# -- file names that are not UTF-8 ---------------------------------------------------------------------------------

NON_UTF8 = os.fsdecode(b"caf\xe9-\xff.png")  # Latin-1 bytes: surrogate escapes in Python


def _strict_streams(monkeypatch: pytest.MonkeyPatch) -> tuple[io.BytesIO, io.BytesIO]:
    out, err = io.BytesIO(), io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(out, encoding="utf-8", errors="strict", write_through=True))
    monkeypatch.setattr(sys, "stderr", io.TextIOWrapper(err, encoding="utf-8", errors="strict", write_through=True))
    return out, err


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="needs a file system that takes any bytes")
@pytest.mark.parametrize("fmt", ["jsonl", "text", "tsv", "markdown", "hocr", "pdf"])
def test_non_utf8_names_print_in_every_format(
    ocr: ptocr.OCR, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    cv2.imwrite(str(folder / "plain.png"), dark_on_white(TEXT))
    (folder / "plain.png").rename(folder / NON_UTF8)
    (folder / os.fsdecode(b"bad-\xfe.png")).write_bytes(b"not an image")
    monkeypatch.setattr(cli, "_make_engine", lambda args: ocr)
    out, err = _strict_streams(monkeypatch)
    output = ["-o", str(tmp_path / "out.pdf")] if fmt == "pdf" else []
    assert cli.main([str(folder), "--format", fmt, "-q", *output]) == 1  # the bad file fails, the other is read
    errors = err.getvalue().decode("utf-8")
    assert errors.count("ptocr: error:") == 1 and "bad-\\udcfe.png" in errors and "Traceback" not in errors
    if fmt == "pdf":
        assert (tmp_path / "out.pdf").stat().st_size > 0
    else:
        printed = out.getvalue().decode("utf-8")
        assert squash(TEXT) in squash(printed)
        if fmt != "tsv":  # Tesseract's TSV has no file name column
            assert "caf\\udce9-\\udcff.png" in printed


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="needs a file system that takes any bytes")
def test_non_utf8_names_with_strict_utf8_streams_in_a_real_process(tmp_path: Path) -> None:
    path = tmp_path / NON_UTF8
    cv2.imencode(".png", dark_on_white(TEXT))[1].tofile(str(path))
    missing = tmp_path / os.fsdecode(b"gone-\xe9.png")
    env = dict(os.environ, PYTHONIOENCODING="utf-8:strict", PYTHONPATH=str(REPO / "src"))
    command = [sys.executable, "-m", "ptocr.cli", os.fsencode(path), os.fsencode(missing), "--format", "text"]
    done = subprocess.run(command, env=env, capture_output=True, timeout=300)
    assert done.returncode == 1, done.stderr
    assert b"caf\\udce9-\\udcff.png" in done.stdout and squash(TEXT) in squash(done.stdout.decode())
    assert done.stderr.decode().strip() == f"ptocr: error: {tmp_path}/gone-\\udce9.png: no such file or directory"


def test_cli_limits_reach_the_engine_and_a_fifo_is_one_error_line(
    ocr: ptocr.OCR, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[dict[str, object]] = []
    monkeypatch.setattr(ptocr, "OCR", lambda **kwargs: seen.append(kwargs) or ocr)
    path = tmp_path / "line.png"
    cv2.imwrite(str(path), dark_on_white(TEXT))
    assert cli.main([str(path), "--max-bytes", "5000000", "--max-image-pixels", "300000000"]) == 0
    assert seen[0]["max_bytes"] == 5_000_000 and seen[0]["max_image_pixels"] == 300_000_000
    capsys.readouterr()
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "x.jpg"
        os.mkfifo(fifo)
        assert _fails_within(30, lambda: sys.exit(cli.main([str(fifo), str(path)]))).code == 1  # type: ignore[attr-defined]
        out, err = capsys.readouterr()
        assert err == f"ptocr: error: cannot read image '{fifo}': not a regular file (a FIFO)\n"
        assert len(out.splitlines()) == 1  # the other image is still read


def test_compat_refusals_point_to_a_setting_that_exists() -> None:
    from ptocr import compat

    advice = r"PaddleOCR's API has no setting for it: ptocr.OCR\(max_image_pixels=\)"
    with pytest.raises(ImageDecodeError, match=advice):
        compat._read(declared_png(20000, 20000), (255, 255, 255))
