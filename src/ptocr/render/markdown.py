"""``--format markdown``: a heading per page, then its text lines in reading order, Markdown-escaped."""

from __future__ import annotations

import re

from ptocr.pipeline.results import Document

from .geometry import page_name

# Characters with a meaning anywhere in a Markdown line, and line starts that would begin a block.
_INLINE = re.compile(r"([\\`*_{}\[\]<>#|~])")
_BLOCK_START = re.compile(r"^(\s*)([-+>=]|\d+[.)])(?=\s|$)")


def escape_markdown(text: str) -> str:
    """``text`` as literal Markdown: emphasis, code, links, HTML and list/heading/quote starts escaped."""
    escaped = _INLINE.sub(r"\\\1", text)
    return _BLOCK_START.sub(lambda match: match.group(1) + "\\" + match.group(2), escaped)


def render_markdown(document: Document) -> str:
    """``## page name`` per page, then each text line as its own paragraph, in reading order."""
    blocks: list[str] = []
    for page in document.pages:
        blocks.append(f"## {escape_markdown(page_name(document, page))}")
        blocks.extend(escape_markdown(line.text) for line in page.lines if line.text.strip())
    return "\n\n".join(blocks) + "\n"
