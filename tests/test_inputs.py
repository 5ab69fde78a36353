"""Every input kind people pass: paths, bytes, file objects, URLs, numpy shapes and dtypes, PIL modes, transparent
PNGs, EXIF-rotated JPEGs, GIF, multi-page TIFF and PDF pages, the pixel limit and strip padding; the ones that
matter for reading are checked with the real default models (one OCR for the module)."""

from __future__ import annotations

import contextlib
import dataclasses
import http.server
import io
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image

import ptocr
from ptocr import cli
from ptocr.errors import ImageDecodeError
from ptocr.pipeline import OCRSystem
from ptocr.pipeline.det_view import background_color, detection_view, pad_to_aspect
from ptocr.pipeline.image_io import (
    composite_alpha,
    contrasting_background,
    iter_pages,
    load_image,
    load_pages,
    parse_pages,
)
from ptocr.pipeline.settings import DetSettings

from .paths import shared_path

# -- images the tests make ------------------------------------------------------------------------------------


def text_mask(text: str, width: int = 560, height: int = 90, scale: float = 1.5) -> np.ndarray:
    """uint8 H×W: 255 where ``text`` is drawn (anti-aliased), 0 elsewhere; big enough for the default models."""
    mask = np.zeros((height, width), np.uint8)
    cv2.putText(mask, text, (12, height // 2 + 18), cv2.FONT_HERSHEY_SIMPLEX, scale, 255, 3, cv2.LINE_AA)
    return mask


def dark_on_white(text: str, **size: int) -> np.ndarray:
    """BGR: black text on white."""
    return cv2.cvtColor(255 - text_mask(text, **size), cv2.COLOR_GRAY2BGR)


def transparent_png(text: str, gray: int) -> bytes:
    """Text of colour ``gray`` whose alpha is the glyphs; transparent pixels store black, as most encoders do."""
    alpha = text_mask(text)
    rgba = np.zeros((*alpha.shape, 4), np.uint8)
    rgba[..., :3] = np.where(alpha[..., None] > 0, gray, 0)
    rgba[..., 3] = alpha
    return _png(Image.fromarray(rgba, "RGBA"))


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def squash(text: str) -> str:
    """Compared without spaces and case: the models may or may not read the gap in "Hello World"."""
    return "".join(text.split()).lower()


@pytest.fixture(scope="module")
def ocr() -> ptocr.OCR:
    return ptocr.OCR()


def texts(result: ptocr.OCRResult) -> str:
    return squash(" ".join(line.text for line in result.lines))


# -- transparency ---------------------------------------------------------------------------------------------


def test_contrasting_background_rule() -> None:
    alpha = np.zeros((4, 4), np.uint8)
    alpha[1:3, 1:3] = 255
    dark, light = np.full((4, 4, 3), 30, np.uint8), np.full((4, 4, 3), 220, np.uint8)
    assert contrasting_background(dark, alpha) == 255  # dark text: on white, as PaddleOCR composites
    assert contrasting_background(light, alpha) == 0  # light text would vanish on white: on black
    assert contrasting_background(light, np.zeros_like(alpha)) == 255  # nothing visible: white
    # Only visible pixels count: light colours under alpha 0 do not make dark text "light".
    mixed = light.copy()
    mixed[1:3, 1:3] = 30
    assert contrasting_background(mixed, alpha) == 255
    # Luminance, not the channel mean: pure blue (B=255) is dark.
    blue = np.zeros((4, 4, 3), np.uint8)
    blue[..., 0] = 255
    assert contrasting_background(blue, alpha) == 255


def test_composite_blends_and_keeps_opaque_images() -> None:
    bgr = np.full((2, 2, 3), 40, np.uint8)
    opaque = np.full((2, 2), 255, np.uint8)
    assert composite_alpha(bgr, opaque) is bgr
    alpha = np.array([[255, 0], [128, 0]], np.uint8)
    out = composite_alpha(bgr, alpha)
    assert out[0, 0].tolist() == [40] * 3 and out[0, 1].tolist() == [255] * 3
    assert out[1, 0].tolist() == [round(40 * 128 / 255 + 255 * 127 / 255)] * 3


@pytest.mark.parametrize(("gray", "background"), [(0, 255), (235, 0)], ids=["dark-text", "light-text"])
def test_transparent_png_text_is_read(ocr: ptocr.OCR, gray: int, background: int) -> None:
    data = transparent_png("Hello World 2024", gray)
    image = load_image(data)
    assert image[0, 0].tolist() == [background] * 3  # a transparent corner
    assert "helloworld2024" in texts(ocr.run(data))
    with Image.open(io.BytesIO(data)) as pil:  # the same through PIL
        assert np.array_equal(load_image(pil), image)
    if gray < 128:  # what dropping the alpha (cv2.imread) gives: dark text on black, nothing to read
        assert ocr(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)) == []


def test_gray_alpha_and_bgra_arrays_are_composited() -> None:
    alpha = text_mask("Hi", width=80, height=40)
    gray_alpha = np.dstack([np.full_like(alpha, 10), alpha])
    out = load_image(gray_alpha)
    assert out.shape == (40, 80, 3) and out[0, 0].tolist() == [255] * 3
    bgra = np.dstack([np.full((40, 80, 3), 10, np.uint8), alpha])
    assert np.array_equal(load_image(bgra), out)
    with Image.open(io.BytesIO(_png(Image.fromarray(gray_alpha, "LA")))) as la:
        assert np.array_equal(load_image(la), out)


def test_palette_png_with_transparency(tmp_path: Path) -> None:
    alpha = text_mask("Hi", width=80, height=40)
    rgba = np.dstack([np.zeros((40, 80, 3), np.uint8), np.where(alpha > 127, 255, 0).astype(np.uint8)])
    path = tmp_path / "palette.png"
    Image.fromarray(rgba, "RGBA").convert("P").save(path)
    with Image.open(path) as check:
        assert check.mode == "P" and "transparency" in check.info
    out = load_image(path)
    assert out[0, 0].tolist() == [255] * 3 and out.min() == 0  # black text kept, transparency on white


# -- numpy and PIL kinds -----------------------------------------------------------------------------------------


def test_array_dtypes() -> None:
    values = np.array([[0, 255, 256, 65535]], np.uint16)
    assert load_image(values)[0, :, 0].tolist() == [0, 0, 1, 255]  # the high byte, as OpenCV
    floats = np.array([[0.0, 0.5, 1.0, 0.2]], np.float32)
    assert load_image(floats)[0, :, 0].tolist() == [0, 128, 255, 51]  # ×255, rounded
    bgr16 = np.stack([values] * 3, axis=2)
    assert load_image(bgr16)[0, 3].tolist() == [255] * 3
    with pytest.raises(ImageDecodeError, match=r"\[0, 255\]"):
        load_image(np.array([[0.0, 255.0]], np.float64))
    with pytest.raises(ImageDecodeError, match="NaN"):
        load_image(np.array([[np.nan, 0.5]], np.float32))


def test_pil_modes_cmyk_16bit_and_exif() -> None:
    rgb = np.random.default_rng(3).integers(0, 256, (5, 6, 3), dtype=np.uint8)
    cmyk = Image.fromarray(rgb).convert("CMYK")
    assert np.array_equal(load_image(cmyk), np.asarray(cmyk.convert("RGB"))[:, :, ::-1])
    sixteen = Image.fromarray(np.array([[0, 300, 65535]], np.uint16))
    assert load_image(sixteen)[0, :, 0].tolist() == [0, 1, 255]


@pytest.mark.parametrize(
    ("orientation", "stored_from_upright"), [(6, cv2.ROTATE_90_COUNTERCLOCKWISE), (8, cv2.ROTATE_90_CLOCKWISE)]
)
def test_exif_rotated_jpeg_reads_upright(
    ocr: ptocr.OCR, tmp_path: Path, orientation: int, stored_from_upright: int
) -> None:
    upright = np.full((300, 640, 3), 255, np.uint8)
    upright[20:110, 20:580] = dark_on_white("Hello World 2024")
    stored = Image.fromarray(cv2.rotate(upright, stored_from_upright)[:, :, ::-1])
    exif = stored.getexif()
    exif[0x0112] = orientation
    path = tmp_path / f"phone_{orientation}.jpg"
    stored.save(path, "JPEG", quality=95, exif=exif)
    image = load_image(path)
    assert image.shape == upright.shape and np.array_equal(image, cv2.imread(str(path)))
    with Image.open(path) as pil:
        assert np.array_equal(load_image(pil), image)  # a PIL image is taken upright too
    result = ocr.run(path)
    assert (result.image_height, result.image_width) == (300, 640)
    (line,) = [line for line in result.lines if "2024" in line.text]
    box = np.asarray(line.box)
    assert box[:, 1].max() < 130 and box[:, 0].min() < 60  # where the text is in the upright image
    assert "helloworld2024" in squash(line.text)


# -- bytes, file objects, URLs, paths ----------------------------------------------------------------------------


def test_every_source_kind_gives_the_same_pixels_of_a_real_image(tmp_path: Path) -> None:
    path = shared_path("images", "imgs_en", "img_12.jpg")  # a palette PNG named .jpg
    expected = cv2.imread(str(path))
    data = path.read_bytes()
    with open(path, "rb") as handle:
        from_file = load_image(handle)
    copy = tmp_path / "收据 ü.png"
    copy.write_bytes(data)
    for got in (load_image(path), load_image(data), from_file, load_image(io.BytesIO(data)), load_image(copy)):
        assert np.array_equal(got, expected)
    with open(path) as text_mode, pytest.raises(ImageDecodeError, match="text mode"):
        load_image(text_mode)


class _Handler(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        if self.path == "/slow":
            time.sleep(2)
        if self.path == "/missing":
            self.send_error(404, "Not Found")
            return
        if self.path == "/endless":  # no Content-Length: only streaming can tell it is too big
            self.send_response(200)
            self.end_headers()
            for _ in range(64):
                self.wfile.write(b"\0" * 65536)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass

    def handle(self) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client refused the body, rightly
            super().handle()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    _Handler.body = _png(Image.fromarray(dark_on_white("URL 42", width=200, height=60)[:, :, ::-1]))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_url_is_fetched(ocr: ptocr.OCR, server: str) -> None:
    expected = load_image(_Handler.body)
    assert np.array_equal(load_image(f"{server}/image.png"), expected)
    (page,) = load_pages(f"{server}/image.png")
    assert page.source == f"{server}/image.png" and page.page_count == 1
    assert texts(ocr.run(f"{server}/image.png")) == "url42"
    assert [texts(r) for r in ocr.run_many([f"{server}/a.png", io.BytesIO(_Handler.body)])] == ["url42"] * 2


@pytest.mark.parametrize(
    ("path", "options", "fragment"),
    [
        ("/missing", {}, "HTTP 404"),
        ("/slow", {"url_timeout": 0.3}, "no answer within 0.3 s"),
        ("/image.png", {"url_max_bytes": 100}, "larger than the limit of 100 bytes"),
        ("/endless", {"url_max_bytes": 1_000_000}, "larger than the limit of 1000000 bytes"),
    ],
    ids=["404", "timeout", "declared-too-big", "streamed-too-big"],
)
def test_url_failures_are_clear(server: str, path: str, options: dict[str, float], fragment: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ImageDecodeError, match=fragment) as caught:
        load_pages(server + path, **options)  # type: ignore[arg-type]
    assert server + path in str(caught.value)
    assert time.perf_counter() - started < 1.9  # the slow answer was not waited for


def test_other_url_schemes_are_refused() -> None:
    with pytest.raises(ImageDecodeError, match="only http:// and https://"):
        load_image("ftp://example.com/a.png")


# -- pages: GIF, TIFF, PDF -----------------------------------------------------------------------------------------


def _frames(count: int) -> list[Image.Image]:
    return [Image.fromarray(dark_on_white(f"Page {n + 1}", width=320, height=80)[:, :, ::-1]) for n in range(count)]


def test_gif_is_its_first_frame(tmp_path: Path) -> None:
    first, second = _frames(2)
    path = tmp_path / "anim.gif"
    first.save(path, save_all=True, append_images=[second])
    (page,) = load_pages(path)
    assert page.page_count == 1
    assert np.array_equal(page.image, np.asarray(first.convert("RGB"))[:, :, ::-1])


def test_multi_page_tiff(tmp_path: Path) -> None:
    frames = _frames(3)
    path = tmp_path / "scan.tif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    pages = load_pages(path)
    assert [(p.index, p.number, p.page_count) for p in pages] == [(0, 1, 3), (1, 2, 3), (2, 3, 3)]
    for page, frame in zip(pages, frames, strict=True):
        assert np.array_equal(page.image, np.asarray(frame)[:, :, ::-1])
    assert np.array_equal(load_image(path), pages[0].image)  # the first page, as cv2.imread reads it
    assert [p.number for p in load_pages(path, pages="3,1-2,9")] == [3, 1, 2]  # past the end: skipped
    with pytest.raises(ImageDecodeError, match="it has 3 pages"):
        load_pages(path, pages=[5])


def make_pdf(path: Path, texts: list[str]) -> Path:
    """A PDF with one raster page per text (72 dpi images, so a page is as many points as the image pixels)."""
    pages = [Image.fromarray(dark_on_white(text)[:, :, ::-1]) for text in texts]
    pages[0].save(path, "PDF", resolution=72.0, save_all=True, append_images=pages[1:])
    return path


def test_pdf_pages_render_at_dpi(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "doc.pdf", ["Hello World 2024", "Second page here"])
    pages = load_pages(path, dpi=144)
    assert [(p.index, p.page_count, p.image.shape) for p in pages] == [(0, 2, (180, 1120, 3)), (1, 2, (180, 1120, 3))]
    assert pages[0].image.dtype == np.uint8 and pages[0].image.flags["C_CONTIGUOUS"]
    (second,) = load_pages(path.read_bytes(), pages="2", dpi=72)
    assert second.index == 1 and second.image.shape == (90, 560, 3)
    assert load_image(path).shape == (250, 1556, 3)  # page 1 at the default 200 dpi
    with pytest.raises(ImageDecodeError, match="cannot read PDF"):
        load_pages(b"%PDF-1.4 this is not really a pdf")
    with pytest.raises(ImageDecodeError, match="refusing"):
        load_pages(path, dpi=200, max_pixels=1000)


def test_page_ranges() -> None:
    assert parse_pages("1-3,5") == [1, 2, 3, 5]
    assert parse_pages(" 2 , 2-3 ") == [2, 3]
    for bad, fragment in (("", "empty"), ("0", "from 1"), ("3-1", "before"), ("a-b", "N-M"), ("1-", "N-M")):
        with pytest.raises(ValueError, match=fragment):
            parse_pages(bad)
    with pytest.raises(ImageDecodeError, match="from 1"):
        load_pages(np.zeros((4, 4), np.uint8), pages="0")
    with pytest.raises(ImageDecodeError, match="dpi"):
        load_pages(b"%PDF-", dpi=0)


def test_read_gives_one_result_per_page(ocr: ptocr.OCR, tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "two pages ü.pdf", ["Hello World 2024", "Second page 77"])
    first, second = ocr.read(path)
    assert "helloworld2024" in texts(first) and "secondpage77" in texts(second)
    assert (first.image_height, first.image_width) == (250, 1556)
    (only,) = ocr.read(path, pages="2", dpi=144)
    assert "secondpage77" in texts(only) and only.image_width == 1120
    assert len(ocr.read(dark_on_white("Single"))) == 1


def test_cli_pages_glob_and_records(
    ocr: ptocr.OCR, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(ptocr, "OCR", lambda **kwargs: ocr)
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    make_pdf(folder / "doc.pdf", ["Hello World 2024", "Second page 77"])
    frames = [Image.fromarray(dark_on_white(t)[:, :, ::-1]) for t in ("Tiff one 11", "Tiff two 22")]
    frames[0].save(folder / "sub" / "scan.tiff", save_all=True, append_images=frames[1:])
    Image.fromarray(dark_on_white("Plain image 5")).save(folder / "plain.png")
    code = cli.main([str(folder)])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    records = [json.loads(line) for line in out.splitlines()]
    assert [(Path(r["image"]).name, r.get("page")) for r in records] == [
        ("doc.pdf", 1), ("doc.pdf", 2), ("plain.png", None), ("scan.tiff", 1), ("scan.tiff", 2)
    ]  # fmt: skip
    assert list(records[2]) == ["image", "results"]  # a single image: the record as it always was
    assert [squash(" ".join(r["text"] for r in record["results"])) for record in records] == [
        "helloworld2024", "secondpage77", "plainimage5", "tiffone11", "tifftwo22"
    ]  # fmt: skip
    code = cli.main([str(folder), "--glob", "**/*.tiff", "--pages", "2", "--format", "text"])
    out, _ = capsys.readouterr()
    assert code == 0 and out.splitlines()[0] == f"{folder / 'sub' / 'scan.tiff'} (page 2)"
    assert cli.main([str(folder), "--glob", "*.bmp"]) == 1
    assert "no files matching '*.bmp'" in capsys.readouterr().err
    assert cli.main([str(folder), "--pages", "2-1"]) == 2
    assert "comes before" in capsys.readouterr().err
    # A document's pages reach the whole-document formats and --vis with their own pixels.
    out_pdf, vis = tmp_path / "out.pdf", tmp_path / "vis"
    assert cli.main([str(folder / "doc.pdf"), "--format", "pdf", "-o", str(out_pdf), "--vis", str(vis), "-q"]) == 0
    reread = pdfium.PdfDocument(str(out_pdf))
    texts = [squash(reread[index].get_textpage().get_text_range()) for index in range(len(reread))]
    reread.close()
    assert texts == ["helloworld2024", "secondpage77"]
    assert sorted(p.name for p in vis.iterdir()) == ["doc.png", "doc_2.png"]
    assert cli.main([str(folder / "doc.pdf"), "--format", "hocr", "-q"]) == 0
    assert capsys.readouterr().out.count('class="ocr_page"') == 2
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7 truncated")
    assert cli.main([str(folder / "broken.pdf"), str(folder / "plain.png")]) == 1
    out, err = capsys.readouterr()
    assert err.startswith(f"ptocr: error: cannot read PDF '{folder / 'broken.pdf'}'") and len(out.splitlines()) == 1


def test_cli_input_options_reach_the_engine(
    ocr: ptocr.OCR, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[dict[str, object]] = []
    monkeypatch.setattr(ptocr, "OCR", lambda **kwargs: seen.append(kwargs) or ocr)
    path = tmp_path / "line.png"
    Image.fromarray(dark_on_white("Hello World 2024")).save(path)
    argv = [str(path), "--max-pixels", "1000000", "--refuse-large", "--pad-to-aspect", "4"]
    assert cli.main(argv) == 0
    assert {key: seen[0][key] for key in ("max_pixels", "large_images", "pad_to_aspect")} == {
        "max_pixels": 1_000_000, "large_images": "refuse", "pad_to_aspect": 4.0
    }  # fmt: skip
    assert cli.main([str(path)]) == 0 and "max_pixels" not in seen[1]  # defaults are left to OCR
    assert cli.main([str(path), "--pad-to-aspect", "0.5"]) == 2
    assert "aspect ratio >= 1" in capsys.readouterr().err


def test_ocr_options_set_the_settings() -> None:
    padded = ptocr.OCR(pad_to_aspect=4, max_pixels=1000, large_images="refuse")
    assert padded.settings.det.pad_to_aspect == 4
    with pytest.raises(ImageDecodeError, match="more than the limit of 1000"):
        padded.run(np.zeros((40, 40, 3), np.uint8))


# -- pixel limit -----------------------------------------------------------------------------------------------------


def test_large_images_are_detected_downscaled_or_refused(ocr: ptocr.OCR) -> None:
    small = np.full((200, 640, 3), 255, np.uint8)
    small[40:130, 30:590] = dark_on_white("Hello World 2024")
    large = cv2.resize(small, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)  # 600×1920 = 1.15 MP
    nets = {"det_net": ocr.system.det_net, "cls_net": ocr.system.cls_net, "rec_net": ocr.system.rec_net}
    # limit_type "min" keeps the detector input at full size: what the limit is there for.
    settings = dataclasses.replace(ocr.settings, det=dataclasses.replace(ocr.settings.det, limit_type="min"))
    limited = OCRSystem(**nets, decoder=ocr.system.decoder, settings=settings, max_pixels=small.size // 3)
    view = detection_view(large, limited.max_pixels, None)
    assert view.image.shape[0] * view.image.shape[1] <= limited.max_pixels and view.scale == pytest.approx(1 / 3)
    full, shrunk = ocr.run(large), limited.run(large)
    assert texts(full) == texts(shrunk) and "helloworld2024" in texts(shrunk)  # crops from the full image
    assert (shrunk.image_height, shrunk.image_width) == (600, 1920)
    # Boxes in full-image pixels: the lines (split alike or not) cover the same span of the large image.
    extent_full, extent_shrunk = (np.concatenate([np.asarray(line.box) for line in r.lines]) for r in (full, shrunk))
    for corner in (np.min, np.max):
        assert np.abs(corner(extent_full, axis=0) - corner(extent_shrunk, axis=0)).max() < 24
    refusing = OCRSystem(**nets, decoder=ocr.system.decoder, settings=settings, max_pixels=small.size // 3,
                         large_images="refuse")  # fmt: skip
    with pytest.raises(ImageDecodeError, match="pass max_pixels=, or ptocr --max-pixels, to raise it"):
        refusing.run(large)
    assert "helloworld2024" in texts(refusing.run(small))
    with pytest.raises(ValueError, match="large_images"):
        OCRSystem(**nets, decoder=ocr.system.decoder, large_images="shrink")  # type: ignore[arg-type]


# -- strip padding -----------------------------------------------------------------------------------------------------


def test_pad_to_aspect_pads_with_the_background() -> None:
    strip = np.full((20, 400, 3), (200, 210, 220), np.uint8)
    strip[5:15, 10:300] = 0
    assert background_color(strip) == (200, 210, 220)
    padded = pad_to_aspect(strip, 4.0)
    assert padded.shape == (100, 400, 3) and np.array_equal(padded[:20], strip)
    assert (padded[20:] == (200, 210, 220)).all()
    assert pad_to_aspect(strip.transpose(1, 0, 2), 4.0).shape == (400, 100, 3)  # tall: padded on the right
    assert pad_to_aspect(strip, 50.0) is strip
    with pytest.raises(ValueError, match="pad_to_aspect"):
        DetSettings(pad_to_aspect=0.5)


def test_padding_keeps_boxes_in_the_strip(ocr: ptocr.OCR) -> None:
    strip = dark_on_white("Hello World 2024 and more words here", width=1400, height=48, scale=1.0)
    settings = dataclasses.replace(ocr.settings, det=dataclasses.replace(ocr.settings.det, pad_to_aspect=4.0))
    nets = {"det_net": ocr.system.det_net, "cls_net": ocr.system.cls_net, "rec_net": ocr.system.rec_net}
    padded = OCRSystem(**nets, decoder=ocr.system.decoder, settings=settings).run(strip)
    assert padded.lines and "helloworld2024" in texts(padded)
    for line in padded.lines:
        box = np.asarray(line.box)
        assert box[:, 1].max() <= 47 and box[:, 0].max() <= 1399  # inside the strip, not the padding
    assert (padded.image_height, padded.image_width) == (48, 1400)


def test_iter_pages_is_lazy(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "lazy.pdf", ["one", "two", "three"])
    pages = iter_pages(path, dpi=72)
    assert next(pages).index == 0  # one page rendered, the others not yet
    assert [p.index for p in pages] == [1, 2]
