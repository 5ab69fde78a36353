"""What each Ray worker does with a batch of inputs: read, hash, expand to pages, OCR, and make rows.

`OCRWorker` is the callable class `ocr_dataset` hands to ``map_batches``: Ray Data keeps a pool of them, each
in its own process with one loaded `ptocr.OCR`, and calls each with batches of input rows. It is built with
plain, picklable settings (`ReadOptions`, the `OCR` keyword arguments), so nothing here runs on the driver.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import ImageDecodeError
from ..pipeline.image_io import (
    DEFAULT_DPI,
    PAGED_MAGIC,
    InputLimits,
    count_pages,
    iter_pages,
    parse_pages,
    read_source,
)
from ..pipeline.input_source import URI_SCHEME, is_http_url, too_many_bytes
from .rows import DoneKeys, error_row, result_row, rows_table


@dataclass(frozen=True)
class ReadOptions:
    """How inputs are read: the page selection of documents (``"1-3,5"``, None for all), the PDF resolution,
    the input policy (`InputLimits`), and whether lines get their word boxes."""

    pages: str | None = None
    dpi: int = DEFAULT_DPI
    limits: InputLimits = field(default_factory=InputLimits)
    words: bool = False

    def __post_init__(self) -> None:
        if self.pages is not None:
            parse_pages(self.pages)  # a malformed selection fails where it was given, not on every worker


def read_input(path: str, limits: InputLimits) -> bytes:
    """The bytes of one input: a local path or an http(s) URL as `ptocr.OCR` reads them, any other URI
    (``s3://``, ``gs://``, ``hdfs://``, ``file://`` …) through pyarrow's filesystems; refused above
    ``limits.max_bytes``. Every failure is an ImageDecodeError naming the input."""
    if URI_SCHEME.match(path) is None or is_http_url(path):
        return read_source(path, limits=limits)[0]
    from pyarrow import fs

    try:
        filesystem, inner = fs.FileSystem.from_uri(path)
        info = filesystem.get_file_info(inner)
        if info.type != fs.FileType.File:
            kind = "no such file" if info.type == fs.FileType.NotFound else "not a file"
            raise ImageDecodeError(f"cannot read image {path!r}: {kind}")
        if info.size is not None and info.size > limits.max_bytes:
            raise ImageDecodeError(too_many_bytes(repr(path), f"its {info.size} bytes", limits))
        with filesystem.open_input_stream(inner) as stream:
            data = stream.read(limits.max_bytes + 1)
    except ImageDecodeError:
        raise
    except (OSError, ValueError, pa.ArrowException) as exc:  # unknown scheme, no credentials, network
        raise ImageDecodeError(f"cannot read image {path!r}: {exc}") from None
    if len(data) > limits.max_bytes:
        raise ImageDecodeError(too_many_bytes(repr(path), "it", limits))
    return data


@dataclass(frozen=True)
class _Page:
    image: str
    page: int | None
    sha256: str
    pixels: np.ndarray


def pages_to_read(
    image: str, data: bytes, sha256: str, options: ReadOptions, done: DoneKeys
) -> tuple[list[int], bool]:
    """The 1-based pages of the input still to read, and whether its rows are numbered (as the CLI numbers them:
    every page of a PDF, the pages of a TIFF that has several; not a single image). Read from the document's
    structure only, nothing rendered or decoded; a document that cannot be opened raises ImageDecodeError."""
    if (image, sha256, None) in done:  # a single image read, or a whole input that failed, before
        return [], False
    if not data.startswith(PAGED_MAGIC):  # what the CLI reads as one image, whatever its suffix
        return [1], False
    name = repr(image)
    count = count_pages(data, name, options.limits)
    numbered = data.startswith(PAGED_MAGIC[0]) or count > 1
    selection = parse_pages(options.pages) if options.pages is not None else list(range(1, count + 1))
    existing = [number for number in selection if number <= count]
    if not existing:  # the selection names no page of this document: iter_pages says so
        next(iter_pages(data, pages=selection, limits=options.limits, name=name))
    return [number for number in existing if (image, sha256, number if numbered else None) not in done], numbered


def input_pages(
    image: str, data: bytes, sha256: str, options: ReadOptions, done: DoneKeys
) -> Iterator[tuple[int | None, np.ndarray]]:
    """``(page, pixels)`` for each page of the input still to read (`pages_to_read`), page None for a single
    image. Pages in ``done`` are neither rendered nor decoded."""
    numbers, numbered = pages_to_read(image, data, sha256, options, done)
    if numbers:
        for page in iter_pages(data, pages=numbers, dpi=options.dpi, limits=options.limits, name=repr(image)):
            yield (page.number if numbered else None), page.image


def still_to_read(paths: list[str], options: ReadOptions, done: DoneKeys) -> list[str]:
    """The paths of ``paths`` with a page not in ``done``, judged by reading and hashing each here; an input that
    cannot be read, or is a URI (not read here), is kept: its worker reads it, or gives its error row."""
    remaining = []
    for path in paths:
        if URI_SCHEME.match(path):
            remaining.append(path)
            continue
        try:
            data = read_input(path, options.limits)
            if pages_to_read(path, data, hashlib.sha256(data).hexdigest(), options, done)[0]:
                remaining.append(path)
        except Exception:  # the worker says what is wrong, in the input's error row
            remaining.append(path)
    return remaining


class OCRWorker:
    """One Ray Data worker: reads the inputs of each batch it is given and yields their result rows.

    Input rows hold a path (``path_column``) and, optionally, the bytes already read (``bytes_column``, as
    ``ray.data.read_binary_files(..., include_paths=True)`` gives them). Each input is hashed, and its pages not in
    ``done`` are read; pages of all the batch's inputs are OCR'd ``batch_size`` at a time (`OCR.run_many`,
    networks batched across them) and each such chunk's rows are yielded as one Arrow table. An input or page
    that fails becomes an error row; only the models failing to load fails the task. The `OCR` is built on the
    first page to read, so a batch (or a whole re-run) with nothing left to read loads no model.
    """

    def __init__(
        self,
        engine: Mapping[str, Any],
        reading: ReadOptions,
        batch_size: int,
        done: DoneKeys | None = None,
        path_column: str = "path",
        bytes_column: str | None = None,
    ) -> None:
        self._engine_options = dict(engine)
        self._reading = reading
        self._batch_size = batch_size
        self._done = done if done is not None else DoneKeys()
        self._path_column = path_column
        self._bytes_column = bytes_column
        self._engine: Any = None

    def __call__(self, batch: pa.Table) -> Iterator[pa.Table]:
        paths = batch.column(self._path_column).to_pylist()
        blobs = batch.column(self._bytes_column).to_pylist() if self._bytes_column else [None] * len(paths)
        rows: list[dict[str, Any]] = []
        pending: list[_Page] = []
        for path, blob in zip(paths, blobs, strict=True):
            image = str(path)
            try:
                data = blob if blob is not None else read_input(image, self._reading.limits)
            except Exception as exc:  # any failure to read one input is that input's error row
                rows.append(error_row(image, None, None, exc))
                continue
            sha256 = hashlib.sha256(data).hexdigest()
            pages = input_pages(image, data, sha256, self._reading, self._done)
            while True:
                try:
                    item = next(pages, None)
                except Exception as exc:  # a document that cannot be opened, or a page that cannot be rendered
                    rows.append(error_row(image, None, sha256, exc))
                    break
                if item is None:
                    break
                pending.append(_Page(image, item[0], sha256, item[1]))
                if len(pending) >= self._batch_size:  # outside the try: models that fail to load fail the task
                    rows += self._read(pending)
                    pending = []
                    yield rows_table(rows, self._reading.words)
                    rows = []
        if pending:
            rows += self._read(pending)
        if rows:
            yield rows_table(rows, self._reading.words)

    def _ocr(self) -> Any:
        if self._engine is None:
            from .. import OCR

            self._engine = OCR(**self._engine_options)
        return self._engine

    def _read(self, pages: list[_Page]) -> list[dict[str, Any]]:
        """The rows of ``pages``: batched across them, or one by one when the batch fails, so that only the page
        at fault gets an error row."""
        engine = self._ocr()
        words = self._reading.words
        try:
            results = list(engine.run_many([page.pixels for page in pages], chunk_size=len(pages), words=words))
        except Exception:  # which page? each alone says
            results = None
        rows = []
        for index, page in enumerate(pages):
            try:
                result = results[index] if results is not None else engine.run(page.pixels, words=words)
            except Exception as exc:
                rows.append(error_row(page.image, page.page, page.sha256, exc))
                continue
            rows.append(result_row(page.image, page.page, page.sha256, result))
        return rows
