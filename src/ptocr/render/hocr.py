"""``--format hocr``: hOCR 1.2 as XHTML 1.0 — ``ocr_page`` > ``ocr_line`` > ``ocrx_word`` with bbox and x_wconf.

Words come from the word boxes when the lines have them (``--words``), else each line is one word. Words of
scripts written without spaces are not separated by whitespace, others by one space, so the document's text
reads as the recognised lines.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from ptocr.pipeline.results import Document, Page, Word
from ptocr.pipeline.words import is_unspaced

from .geometry import bounding_box, line_words

_HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
 <head>
  <title>{title}</title>
  <meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
  <meta name="ocr-system" content="ptocr {version}" />
  <meta name="ocr-capabilities" content="ocr_page ocr_line ocrx_word ocrp_wconf" />
 </head>
 <body>
"""


def _bbox(box: tuple[int, int, int, int]) -> str:
    return "bbox {} {} {} {}".format(*box)


def _separator(previous: Word, word: Word) -> str:
    joined = previous.text[-1:] + word.text[:1]
    return "" if joined and all(is_unspaced(char) for char in joined) else " "


def _page(page: Page, position: int) -> list[str]:
    """The page that is number ``position`` (0-based) of the output document."""
    number = position + 1
    title = f"image {_quoted(page.source)}; " if page.source else ""
    title += f"bbox 0 0 {page.width} {page.height}; ppageno {position}"
    out = [f"  <div class=\"ocr_page\" id=\"page_{number}\" title={quoteattr(title)}>"]
    for line_number, line in enumerate(page.lines, start=1):
        line_title = _bbox(bounding_box(line.box, page.width, page.height))
        if line.angle == "180":
            line_title += "; textangle 180"
        line_title += f"; x_wconf {round(line.score * 100)}"
        spans = []
        words = line_words(line)
        for word_number, word in enumerate(words, start=1):
            word_title = f"{_bbox(bounding_box(word.box, page.width, page.height))}; x_wconf {round(word.score * 100)}"
            if word_number > 1:
                spans.append(_separator(words[word_number - 2], word))
            spans.append(
                f"<span class=\"ocrx_word\" id=\"word_{number}_{line_number}_{word_number}\" "
                f"title={quoteattr(word_title)}>{escape(word.text)}</span>"
            )
        out.append(
            f"   <span class=\"ocr_line\" id=\"line_{number}_{line_number}\" title={quoteattr(line_title)}>"
            + "".join(spans)
            + "</span>"
        )
    out.append("  </div>")
    return out


def _quoted(text: str) -> str:
    """A title property string: double-quoted, with backslash and quote escaped (hOCR's property syntax)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_hocr(document: Document) -> str:
    """The whole document as one hOCR file, one ``ocr_page`` per page (ids and ``ppageno`` count the pages of
    this document, from 1 and 0)."""
    from ptocr import __version__

    title = document.source or (document.pages[0].source if len(document.pages) == 1 else None) or ""
    rows = [_HEADER.format(title=escape(title), version=__version__)]
    for position, page in enumerate(document.pages):
        rows.append("\n".join(_page(page, position)) + "\n")
    rows.append(" </body>\n</html>\n")
    return "".join(rows)
