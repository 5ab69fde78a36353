"""The rows `ocr_dataset` produces: one per page read, or one per input that failed, in one Arrow schema.

A row is the CLI's jsonl record with the input's content hash beside it::

    {"image": "scans/a.pdf", "page": 2, "results": [{"box": …, "text": …, "score": …}, …], "sha256": "9f2c…"}
    {"image": "photo.jpg", "results": […], "sha256": "…"}                 # a single image: no "page"
    {"image": "broken.jpg", "error": {"type": "ImageDecodeError", "message": "…"}, "sha256": "…"}

In Arrow (Parquet) every row has every column, the absent ones null; the JSON lines leave them out, so that a
line is exactly the CLI's line plus ``"sha256"``. ``sha256`` is the hex digest of the input's bytes (null when
they could not be read at all): with the image path and page it is the key by which a re-run over the same output
knows what is already done (`DoneKeys`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

from ..pipeline.results import OCRResult

COLUMNS = ("image", "page", "results", "error", "sha256")


def output_schema(words: bool = False) -> pa.Schema:
    """The Arrow schema of the result rows; with ``words`` each line has its ``words`` (box, text, score)."""
    box = pa.list_(pa.list_(pa.float64()))
    line_fields = [pa.field("box", box), pa.field("text", pa.string()), pa.field("score", pa.float64())]
    if words:
        word = pa.struct([pa.field("box", box), pa.field("text", pa.string()), pa.field("score", pa.float64())])
        line_fields.append(pa.field("words", pa.list_(word)))
    return pa.schema([
        pa.field("image", pa.string(), nullable=False),
        pa.field("page", pa.int32()),
        pa.field("results", pa.list_(pa.struct(line_fields))),
        pa.field("error", pa.struct([pa.field("type", pa.string()), pa.field("message", pa.string())])),
        pa.field("sha256", pa.string()),
    ])  # fmt: skip


def result_row(image: str, page: int | None, sha256: str, result: OCRResult) -> dict[str, Any]:
    """The row of one page read: its lines as the CLI's jsonl writes them."""
    return {
        "image": image, "page": page, "results": [line.to_dict() for line in result.lines], "error": None,
        "sha256": sha256,
    }  # fmt: skip


def error_row(image: str, page: int | None, sha256: str | None, error: BaseException) -> dict[str, Any]:
    """The row of an input (or one page of it) that could not be read: the exception's type name and message."""
    message = str(error) or type(error).__name__
    return {
        "image": image, "page": page, "results": None, "error": {"type": type(error).__name__, "message": message},
        "sha256": sha256,
    }  # fmt: skip


def rows_table(rows: list[dict[str, Any]], words: bool = False) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=output_schema(words))


def jsonl_line(row: Mapping[str, Any]) -> str:
    """A row as one JSON line: the CLI's ``{"image", "page"?, "results"}`` or ``{"image", "page"?, "error"}``, then
    ``"sha256"``; the columns that are null in Arrow are left out (``"words"`` of lines too)."""
    record: dict[str, Any] = {"image": row["image"]}
    if row.get("page") is not None:
        record["page"] = row["page"]
    if row.get("error") is not None:
        record["error"] = {"type": row["error"]["type"], "message": row["error"]["message"]}
    else:
        record["results"] = [
            {key: value for key, value in line.items() if value is not None} for line in row.get("results") or ()
        ]
    if row.get("sha256") is not None:
        record["sha256"] = row["sha256"]
    return json.dumps(record, ensure_ascii=False)


def _key(image: str, sha256: str, page: int | None) -> bytes:
    # 16 bytes per key: a re-run over millions of pages ships this set to every worker.
    text = f"{sha256}\0{'' if page is None else page}\0{image}"
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class DoneKeys:
    """The pages (and failed inputs) an output already holds, keyed by image path, content hash and page.

    ``(image, sha256, page) in keys``: page None for a single image, or for a whole input that failed. An input
    whose bytes changed since has a new hash and is read again; one whose bytes could not be read has no hash and
    is tried again on every run.
    """

    def __init__(self, keys: Iterable[tuple[str, str, int | None]] = ()) -> None:
        self._digests = frozenset(_key(image, sha256, page) for image, sha256, page in keys)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, tuple) or len(key) != 3:
            return False
        image, sha256, page = key
        return _key(image, sha256, page) in self._digests

    def __len__(self) -> int:
        return len(self._digests)

    def __or__(self, other: DoneKeys) -> DoneKeys:
        merged = DoneKeys()
        merged._digests = self._digests | other._digests
        return merged

    def __repr__(self) -> str:
        return f"DoneKeys({len(self)} pages or inputs)"
