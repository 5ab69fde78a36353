"""Renderers of a :class:`ptocr.pipeline.results.Document`: one module per output format.

``render_text``, ``render_tsv``, ``render_markdown`` and ``render_hocr`` return text; ``write_pdf`` writes a
searchable PDF and ``draw_page`` a visualisation, both from the page images as well. The CLI's ``--format`` and
``--vis`` use them; they can be used on their own, e.g. on a document read back with ``Document.from_json``.
"""

from __future__ import annotations

from .hocr import render_hocr
from .markdown import render_markdown
from .pdf import write_pdf
from .text import render_text
from .tsv import render_tsv
from .vis import VisFont, draw_page, find_font

__all__ = [
    "VisFont",
    "draw_page",
    "find_font",
    "render_hocr",
    "render_markdown",
    "render_text",
    "render_tsv",
    "write_pdf",
]
