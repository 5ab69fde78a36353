"""Shared helpers of the renderers: integer bounding boxes, page headings, words of a line."""

from __future__ import annotations

import math

from ptocr.pipeline.results import Document, Page, Quad, TextLine, Word


def bounding_box(box: Quad, width: int, height: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) in whole pixels enclosing ``box``, within the ``width`` × ``height`` page."""
    xs = [x for x, _ in box]
    ys = [y for _, y in box]
    left = min(max(math.floor(min(xs)), 0), width)
    top = min(max(math.floor(min(ys)), 0), height)
    right = max(min(math.ceil(max(xs)), width), left)
    bottom = max(min(math.ceil(max(ys)), height), top)
    return left, top, right, bottom


def line_words(line: TextLine) -> tuple[Word, ...]:
    """The line's word boxes, or the whole line as one word when it has none."""
    if line.words:
        return line.words
    return (Word(box=line.box, text=line.text, score=line.score),)


def page_name(document: Document, page: Page) -> str:
    """How a page is named in headings: its source (else "page N"), with its page number when the document
    holds several pages of that source."""
    if page.source is None:
        return f"page {page.index + 1}"
    if page.page_count is not None:
        return f"{page.source} (page {page.index + 1})"
    same_source = sum(1 for other in document.pages if other.source == page.source)
    return f"{page.source} (page {page.index + 1})" if same_source > 1 else page.source
