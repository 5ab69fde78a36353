"""Where the CLI's results go: stdout, one file, or one file per input in a folder; and ``--vis`` pictures.

Text formats (jsonl, text, tsv, markdown) are written as each page arrives; hOCR and PDF are whole documents,
written at the end when everything goes to one stream or file (one ``ocr_page`` / PDF page per page), or per
input into a folder.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import cv2
import numpy as np

from ptocr.pipeline.results import Document, Page

from .hocr import render_hocr
from .markdown import render_markdown
from .pdf import write_pdf
from .text import render_text
from .tsv import render_tsv
from .vis import VisFont, draw_page, find_font

FORMATS = ("jsonl", "text", "tsv", "markdown", "hocr", "pdf")
SUFFIXES = {"jsonl": ".jsonl", "text": ".txt", "tsv": ".tsv", "markdown": ".md", "hocr": ".hocr", "pdf": ".pdf"}
ImageLoader = Callable[[str], np.ndarray]


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def jsonl_record(page: Page) -> str:
    """The jsonl contract: ``{"image": source, "results": [line.to_dict(), …]}`` (with ``words`` when present),
    and ``"page": n`` after ``image`` for a page of a document."""
    record: dict[str, Any] = {"image": page.source}
    if page.page_count is not None:  # a page of a document: numbered from 1
        record["page"] = page.index + 1
    record["results"] = [line.to_dict() for line in page.lines]
    return json.dumps(record, ensure_ascii=False, default=_json_default)


def is_folder_target(output: str) -> bool:
    """Whether ``-o output`` names a folder: an existing one, or a path ending with a separator."""
    return Path(output).is_dir() or output.endswith(("/", os.sep))


class _Names:
    """File names in one folder, one per input: ``<stem><suffix>``, then ``<stem>_2<suffix>``… on a clash."""

    def __init__(self, folder: Path, suffix: str) -> None:
        self.folder, self.suffix, self.used = folder, suffix, set()

    def next(self, source: str | None) -> Path:
        stem = Path(source).stem if source else "page"
        name, count = f"{stem}{self.suffix}", 1
        while name in self.used:
            count += 1
            name = f"{stem}_{count}{self.suffix}"
        self.used.add(name)
        return self.folder / name


class OutputSink:
    """Writes pages in format ``fmt`` to ``output`` (None: ``stream``, stdout by default; a folder: one file per
    page; else one file). ``load_image`` gives a page's pixels (PDF) from its source."""

    def __init__(
        self, fmt: str, output: str | None, load_image: ImageLoader, stream: IO[str] | None = None
    ) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
        if fmt == "pdf" and output is None:
            raise ValueError("a PDF is written to a file: give -o FILE.pdf or -o FOLDER/")
        self.fmt, self.load_image = fmt, load_image
        self.folder: _Names | None = None
        self.file: IO[str] | None = None
        self.stream: IO[str] | None = stream if output is None else None
        self.target = output
        self.pages: list[Page] = []
        #: Pixels of the kept pages that cannot be read again from their source (document pages), PNG-encoded.
        self.images: dict[int, bytes] = {}
        self.written = 0
        if output is not None and is_folder_target(output):
            Path(output).mkdir(parents=True, exist_ok=True)
            self.folder = _Names(Path(output), SUFFIXES[fmt])
        elif output is not None and fmt != "pdf":
            self.file = open(output, "w", encoding="utf-8", errors="backslashreplace")  # noqa: SIM115 — held open for the whole run

    def _out(self) -> IO[str]:
        return self.file or self.stream or sys.stdout

    def add(self, page: Page, image: np.ndarray | None = None) -> None:
        """Writes (or, for whole-document formats going to one place, keeps) one page. ``image``: its pixels
        when they cannot be loaded from ``page.source`` (a page of a PDF or TIFF)."""
        if self.folder is not None:
            document = Document(pages=(page,), source=page.source)
            self._write_document(document, self.folder.next(page.source), [image])
        elif self.fmt in ("hocr", "pdf"):
            if self.fmt == "pdf" and image is not None:
                self.images[len(self.pages)] = _encoded(image)
            self.pages.append(page)
        else:
            out = self._out()
            out.write(self._render_piece(page))
            out.flush()
        self.written += 1

    def _render_piece(self, page: Page) -> str:
        document = Document(pages=(page,))
        if self.fmt == "jsonl":
            return jsonl_record(page) + "\n"
        if self.fmt == "text":
            return render_text(document)
        if self.fmt == "tsv":
            return render_tsv(document, header=self.written == 0, first_page=self.written + 1)
        return ("\n" if self.written else "") + render_markdown(document)

    def _pixels(self, page: Page, image: np.ndarray | None) -> np.ndarray:
        return image if image is not None else self.load_image(page.source or "")

    def _write_document(self, document: Document, path: Path, images: list[np.ndarray | None]) -> None:
        if self.fmt == "pdf":
            pixels = [self._pixels(page, image) for page, image in zip(document.pages, images, strict=True)]
            write_pdf(document, pixels, path)
            return
        with open(path, "w", encoding="utf-8", errors="backslashreplace") as handle:
            if self.fmt == "jsonl":
                handle.write("".join(jsonl_record(page) + "\n" for page in document.pages))
            else:
                renderers = {"hocr": render_hocr, "text": render_text, "tsv": render_tsv, "markdown": render_markdown}
                handle.write(renderers[self.fmt](document))

    def close(self) -> None:
        """Writes the collected whole document (hOCR, PDF) and closes the output file."""
        try:
            if self.pages and self.fmt == "pdf":
                images = [_decoded(self.images[i]) if i in self.images else None for i in range(len(self.pages))]
                self._write_document(Document(pages=tuple(self.pages)), Path(self.target or ""), images)
            elif self.fmt == "hocr" and self.folder is None and (self.pages or self.written == 0):
                out = self._out()
                out.write(render_hocr(Document(pages=tuple(self.pages))))
                out.flush()
        finally:
            if self.file is not None:
                self.file.close()


class VisWriter:
    """``--vis FOLDER``: one ``<stem>.png`` per page (boxes left, text right), drawn with :func:`find_font`."""

    def __init__(self, folder: str, load_image: ImageLoader) -> None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        self.names = _Names(Path(folder), ".png")
        self.load_image = load_image
        self.font: VisFont = find_font()

    def add(self, page: Page, image: np.ndarray | None = None) -> Path:
        """Draws one page (``image``: its pixels, when they cannot be loaded from its source)."""
        path = self.names.next(page.source)
        pixels = image if image is not None else self.load_image(page.source or "")
        draw_page(pixels, page, self.font).save(path)
        return path


def _encoded(image: np.ndarray) -> bytes:
    # A document's pages are kept until its PDF is written: losslessly compressed, not as raw pixels.
    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise ValueError("cannot keep a page image for the PDF")
    return data.tobytes()


def _decoded(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
