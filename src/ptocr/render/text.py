"""``--format text``: per page its name, then one ``text<TAB>score`` line per text line in reading order."""

from __future__ import annotations

from ptocr.pipeline.results import Document

from .geometry import page_name


def render_text(document: Document) -> str:
    """Each page as its name (source path) followed by ``text\\tscore`` lines (score to 4 decimals)."""
    out: list[str] = []
    for page in document.pages:
        out.append(page_name(document, page))
        out.extend(f"{line.text}\t{line.score:.4f}" for line in page.lines)
    return "".join(f"{row}\n" for row in out)
