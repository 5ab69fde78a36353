"""``--format pdf``: a searchable PDF — each page image with an invisible, selectable text layer (reportlab).

Every text line is written in text render mode 3 (invisible) along its box as it is read (:func:`reading_corners`:
the baseline runs along the box's bottom edge, turned with a slanted, vertical or upside-down line), its font size
the box's height and its horizontal scale stretching it to the box's length, so selecting and searching the PDF
finds the text where it is seen. Text that Latin-1 covers uses Helvetica; other text a TrueType CJK font found
on the system (:data:`ptocr.render.fonts.CJK_FONT_PATTERNS`, embedded as a subset), else reportlab's built-in
Adobe CID font STSong-Light (Chinese, Japanese kana, Latin; no font file is needed to read it back).

Pages are ``dpi`` pixels per inch (default 72: one pixel per point), so a page image keeps its pixel size.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from functools import lru_cache
from typing import IO

import numpy as np
from PIL import Image

from ptocr.errors import PtocrError
from ptocr.pipeline.crop import reading_corners
from ptocr.pipeline.results import Document, TextLine

from .fonts import CJK_FONT_PATTERNS, font_candidates

LATIN_FONT = "Helvetica"
_CJK_FONT_NAME = "ptocr-cjk"
_CID_FONT = "STSong-Light"


class PdfWriterMissing(PtocrError):
    """reportlab, which writes the PDF, is not installed."""


def _reportlab() -> None:
    try:
        import reportlab  # noqa: F401
    except ImportError as exc:
        raise PdfWriterMissing(
            "writing a searchable PDF needs reportlab: pip install 'ptocr[pdf]' (or pip install reportlab)"
        ) from exc


@lru_cache(maxsize=1)
def unicode_font() -> str:
    """The registered name of the font for non-Latin-1 text: a system TrueType CJK font, else STSong-Light."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    for path in font_candidates(CJK_FONT_PATTERNS):
        try:  # reportlab embeds TrueType outlines only; CFF-based OpenType (e.g. Noto CJK .ttc) is skipped
            pdfmetrics.registerFont(TTFont(_CJK_FONT_NAME, str(path), subfontIndex=0))
        except (TTFError, OSError, ValueError):
            continue
        return _CJK_FONT_NAME
    pdfmetrics.registerFont(UnicodeCIDFont(_CID_FONT))
    return _CID_FONT


def _font_for(text: str) -> str:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return unicode_font()
    return LATIN_FONT


def _place_line(canvas: object, line: TextLine, page_height: int, scale: float) -> None:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    text = line.text.strip()
    if not text:
        return
    corners = reading_corners(np.asarray(line.box), turned=line.angle == "180")
    # Image pixels (y down) → PDF points (y up).
    top_left, top_right, bottom_right, bottom_left = (
        np.array([x * scale, (page_height - y) * scale]) for x, y in corners
    )
    along = ((bottom_right - bottom_left) + (top_right - top_left)) / 2.0
    length = float(np.hypot(*along))
    height = (float(np.hypot(*(top_left - bottom_left))) + float(np.hypot(*(top_right - bottom_right)))) / 2.0
    if length <= 0 or height <= 0:
        return
    cos, sin = along / length
    font = _font_for(text)
    size = height
    natural = stringWidth(text, font, size)
    if natural <= 0:
        return
    # The baseline sits a fifth of the height above the bottom edge, where most fonts' descenders end.
    origin = bottom_left + np.array([-sin, cos]) * (height * 0.2)
    text_object = canvas.beginText()  # type: ignore[attr-defined]
    text_object.setTextRenderMode(3)
    text_object.setFont(font, size)
    text_object.setHorizScale(100.0 * length / natural)
    text_object.setTextTransform(cos, sin, -sin, cos, float(origin[0]), float(origin[1]))
    text_object.textOut(text)
    canvas.drawText(text_object)  # type: ignore[attr-defined]


def write_pdf(
    document: Document,
    images: Sequence[np.ndarray],
    target: str | os.PathLike[str] | IO[bytes],
    dpi: float = 72.0,
) -> None:
    """Writes ``document`` as a searchable PDF to ``target`` (a path or a binary file): page ``i`` shows
    ``images[i]`` (BGR or gray, as ptocr loads it, the size the page records) under its invisible text."""
    _reportlab()
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen.canvas import Canvas

    if len(images) != len(document.pages):
        raise ValueError(f"{len(images)} images for {len(document.pages)} pages")
    if not math.isfinite(dpi) or dpi <= 0:
        raise ValueError(f"dpi must be a positive number, got {dpi!r}")
    scale = 72.0 / dpi
    destination = os.fspath(target) if isinstance(target, str | os.PathLike) else target
    canvas = Canvas(destination, pageCompression=1)
    canvas.setTitle(document.source or "")
    canvas.setCreator("ptocr")
    for page, image in zip(document.pages, images, strict=True):
        if image.shape[0] != page.height or image.shape[1] != page.width:
            raise ValueError(
                f"page {page.index} is {page.width}x{page.height} but its image is {image.shape[1]}x{image.shape[0]}"
            )
        canvas.setPageSize((page.width * scale, page.height * scale))
        rgb = image if image.ndim == 2 else np.ascontiguousarray(image[:, :, 2::-1])
        encoded = io.BytesIO()
        Image.fromarray(rgb).save(encoded, format="JPEG", quality=90)
        encoded.seek(0)
        canvas.drawImage(ImageReader(encoded), 0, 0, page.width * scale, page.height * scale)
        for line in page.lines:
            _place_line(canvas, line, page.height, scale)
        canvas.showPage()
    canvas.save()
