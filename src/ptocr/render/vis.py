"""``--vis DIR``: the page image with the detected boxes drawn on the left, the recognised text at the same places
on the right (PaddleOCR's draw_ocr_box_txt layout).

The text is drawn with the first CJK-capable font found (:data:`ptocr.render.fonts.CJK_FONT_PATTERNS`, or the
file named by ``$PTOCR_FONT``), else DejaVu Sans / Liberation Sans (CJK characters then show as boxes), else
Pillow's built-in font; :func:`find_font` says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ptocr.pipeline.crop import crop_shape
from ptocr.pipeline.results import Page

from .fonts import CJK_FONT_PATTERNS, FALLBACK_FONT_PATTERNS, font_candidates


@dataclass(frozen=True)
class VisFont:
    """The font ``--vis`` draws with: a file (None for Pillow's built-in font) and whether it covers CJK."""

    path: Path | None
    cjk: bool

    def describe(self) -> str:
        if self.path is None:
            return "Pillow's built-in font (no TrueType font found: only ASCII text is drawn legibly)"
        if self.cjk:
            return str(self.path)
        return f"{self.path} (no CJK font found: CJK text shows as boxes; install e.g. fonts-noto-cjk)"


def _loads(path: Path) -> bool:
    try:
        ImageFont.truetype(str(path), 12)
    except OSError:
        return False
    return True


@lru_cache(maxsize=1)
def find_font() -> VisFont:
    """The first usable font of the search order (see the module's doc)."""
    for path in font_candidates(CJK_FONT_PATTERNS):
        if _loads(path):
            return VisFont(path, cjk=True)
    for path in font_candidates(FALLBACK_FONT_PATTERNS):
        if _loads(path):
            return VisFont(path, cjk=False)
    return VisFont(None, cjk=False)


def _font(font: VisFont, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if font.path is None:
        return ImageFont.load_default()
    return ImageFont.truetype(str(font.path), max(size, 6))


def _colour(index: int) -> tuple[int, int, int]:
    """A distinct, fairly saturated colour per line (golden-ratio hue steps)."""
    hue = (index * 0.618033988749895) % 1.0
    red, green, blue = (int(255 * value) for value in _hsv(hue, 0.75, 0.9))
    return red, green, blue


def _hsv(hue: float, saturation: float, value: float) -> tuple[float, float, float]:
    sector = int(hue * 6) % 6
    fraction = hue * 6 - int(hue * 6)
    p, q, t = value * (1 - saturation), value * (1 - fraction * saturation), value * (1 - (1 - fraction) * saturation)
    return [(value, t, p), (q, value, p), (p, value, t), (p, q, value), (t, p, value), (value, p, q)][sector]


def draw_page(image: np.ndarray, page: Page, font: VisFont | None = None) -> Image.Image:
    """An RGB picture twice the page's width: ``image`` (BGR or gray, as ptocr loads it) with each line's polygon
    on the left, each line's text inside its polygon's outline on the right."""
    font = font if font is not None else find_font()
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    height, width = image.shape[:2]
    left = Image.fromarray(np.ascontiguousarray(image[:, :, 2::-1]))
    overlay = left.copy()
    right = Image.new("RGB", (width, height), (255, 255, 255))
    fill, outline = ImageDraw.Draw(overlay), ImageDraw.Draw(right)
    for index, line in enumerate(page.lines):
        colour = _colour(index)
        polygon = [(float(x), float(y)) for x, y in line.box]
        fill.polygon(polygon, fill=colour)
        outline.polygon(polygon, outline=colour)
        _draw_text(outline, line.box, line.text, font)
    picture = Image.blend(left, overlay, 0.4)
    edges = ImageDraw.Draw(picture)
    for index, line in enumerate(page.lines):
        edges.polygon([(float(x), float(y)) for x, y in line.box], outline=_colour(index))
    canvas = Image.new("RGB", (width * 2, height), (255, 255, 255))
    canvas.paste(picture, (0, 0))
    canvas.paste(right, (width, 0))
    return canvas


def _draw_text(draw: ImageDraw.ImageDraw, box: tuple, text: str, font: VisFont) -> None:
    points = np.asarray(box, dtype=np.float64)
    crop_height, crop_width = crop_shape(points)
    left, top = points[:, 0].min(), points[:, 1].min()
    vertical = crop_height < crop_width and (np.ptp(points[:, 1]) > np.ptp(points[:, 0]))
    if not text:
        return
    if vertical:  # one character under the other, as the text is written
        size = max(int(min(np.ptp(points[:, 0]), np.ptp(points[:, 1]) / max(len(text), 1)) * 0.85), 6)
        face = _font(font, size)
        for position, character in enumerate(text):
            draw.text((left + 1, top + position * size), character, fill=(0, 0, 0), font=face)
        return
    size = max(int(crop_height * 0.8), 6)
    face = _font(font, size)
    text_width = draw.textlength(text, font=face)
    if text_width > crop_width > 0:  # shrink to fit the box's length
        size = max(int(size * crop_width / text_width), 6)
        face = _font(font, size)
    draw.text((left + 1, top + max((crop_height - size) / 2, 0)), text, fill=(0, 0, 0), font=face)
