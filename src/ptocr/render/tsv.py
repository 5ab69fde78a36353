"""``--format tsv``: Tesseract's TSV columns, one row per page, block, paragraph, line and word.

ptocr does no layout analysis, so each page holds one block with one paragraph; words come from the word boxes
(``--words``) or are the whole line. Rows of levels 1–4 have conf -1 and no text, as in Tesseract; word
confidences are 0–100.
"""

from __future__ import annotations

from ptocr.pipeline.results import Document, Page

from .geometry import bounding_box, line_words

COLUMNS = (
    "level", "page_num", "block_num", "par_num", "line_num", "word_num",
    "left", "top", "width", "height", "conf", "text",
)  # fmt: skip


Box = tuple[int, int, int, int]


def _row(level: int, numbers: tuple[int, int, int, int, int], box: Box, conf: str, text: str) -> str:
    left, top, right, bottom = box
    cells = [level, *numbers, left, top, right - left, bottom - top, conf, text]
    return "\t".join(str(cell) for cell in cells)


def _union(boxes: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
    return min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)


def _page_rows(page: Page, number: int) -> list[str]:
    rows = [_row(1, (number, 0, 0, 0, 0), (0, 0, page.width, page.height), "-1", "")]
    line_boxes = [bounding_box(line.box, page.width, page.height) for line in page.lines]
    if not line_boxes:
        return rows
    block = _union(line_boxes)
    rows.append(_row(2, (number, 1, 0, 0, 0), block, "-1", ""))
    rows.append(_row(3, (number, 1, 1, 0, 0), block, "-1", ""))
    for line_number, (line, line_box) in enumerate(zip(page.lines, line_boxes, strict=True), start=1):
        rows.append(_row(4, (number, 1, 1, line_number, 0), line_box, "-1", ""))
        for word_number, word in enumerate(line_words(line), start=1):
            text = " ".join(word.text.split())  # no tabs or line breaks inside a cell
            box = bounding_box(word.box, page.width, page.height)
            rows.append(_row(5, (number, 1, 1, line_number, word_number), box, f"{word.score * 100:.2f}", text))
    return rows


def render_tsv(document: Document, header: bool = True, first_page: int = 1) -> str:
    """The TSV text: the header row (unless ``header`` is False, e.g. to append pages), then every page's rows,
    page_num counting from ``first_page``."""
    rows = ["\t".join(COLUMNS)] if header else []
    for number, page in enumerate(document.pages, start=first_page):
        rows.extend(_page_rows(page, number))
    return "".join(f"{row}\n" for row in rows)
