"""Writing result rows with Ray Data's writers, and reading back what an output folder already holds.

Parquet goes through ``Dataset.write_parquet``; JSON lines through a Ray file datasink of ours
(`JsonLinesDatasink`), because Ray's ``write_json`` writes every column of every row (``"error": null``,
``"page": null``) where ptocr's lines, like the CLI's, leave them out. Both name each file after the write and the
task that wrote it, so a write task that Ray retries writes the same file again, never a second one.

`scan_output` is the re-run's memory: every row of every ``.parquet`` and ``.jsonl`` file in the folder, read
back into the keys of the pages already done (`DoneKeys`) and counts. A JSON lines file appears only once it
is whole (written beside, then moved into place). A Parquet file cut short by a crash (no footer) is renamed
``*.broken`` and reported, and the pages it held are read again.
"""

from __future__ import annotations

import contextlib
import json
import posixpath
from dataclasses import dataclass, field
from typing import Any, Literal

import pyarrow as pa
import ray.data
from pyarrow import fs
from ray.data.block import BlockAccessor
from ray.data.datasource import BlockBasedFileDatasink

from ..pipeline.input_source import URI_SCHEME
from .rows import COLUMNS, DoneKeys, jsonl_line

OutputFormat = Literal["parquet", "jsonl"]
OUTPUT_FORMATS: tuple[OutputFormat, ...] = ("parquet", "jsonl")
_PARTIAL = ".partial"


class _WholeFile:
    """An output stream that becomes ``path`` only once it is closed whole: written to ``path.partial``, moved
    into place on a clean exit, deleted on an error."""

    def __init__(self, filesystem: fs.FileSystem, path: str, open_args: dict[str, Any]) -> None:
        self._filesystem = filesystem
        self._path = path
        self._stream = filesystem.open_output_stream(path + _PARTIAL, **open_args)

    def write(self, data: bytes) -> int:
        return self._stream.write(data)

    def __enter__(self) -> _WholeFile:
        return self

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        self._stream.close()
        if kind is None:
            self._filesystem.move(self._path + _PARTIAL, self._path)
        else:
            with contextlib.suppress(OSError):
                self._filesystem.delete_file(self._path + _PARTIAL)


class JsonLinesDatasink(BlockBasedFileDatasink):
    """Writes result rows as ptocr's JSON lines (`ptocr.distributed.rows.jsonl_line`), one ``.jsonl`` file per
    write task."""

    def __init__(self, path: str, **file_datasink_kwargs: Any) -> None:
        super().__init__(path, file_format="jsonl", **file_datasink_kwargs)

    def open_output_stream(self, path: str) -> Any:
        return _WholeFile(self.filesystem, path, self.open_stream_args)

    def write_block_to_file(self, block: BlockAccessor, file: Any) -> None:
        text = "".join(jsonl_line(row) + "\n" for row in block.to_arrow().to_pylist())
        file.write(text.encode("utf-8", "surrogateescape"))


def write_results(ds: ray.data.Dataset, out_dir: str, format: OutputFormat = "parquet") -> None:
    """Runs ``ds`` (rows of `ocr_dataset`) and writes it into the folder ``out_dir`` (a path or a URI such as
    ``s3://bucket/ocr/``), adding to the files already there: Parquet (``write_parquet``) or JSON lines."""
    if format == "parquet":
        ds.write_parquet(out_dir, mode="append")
    elif format == "jsonl":
        ds.write_datasink(JsonLinesDatasink(out_dir))
    else:
        raise ValueError(f"format must be one of {OUTPUT_FORMATS}, got {format!r}")


@dataclass(frozen=True)
class FileCount:
    rows: int
    errors: int


@dataclass
class OutputScan:
    """What an output folder holds: per file its rows and error rows, the keys of the pages done, and the files
    set aside because they were cut short."""

    files: dict[str, FileCount] = field(default_factory=dict)
    done: DoneKeys = field(default_factory=DoneKeys)
    set_aside: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(count.rows for count in self.files.values())

    @property
    def errors(self) -> int:
        return sum(count.errors for count in self.files.values())


def output_filesystem(out_dir: str) -> tuple[fs.FileSystem, str]:
    """The pyarrow filesystem of ``out_dir`` (a local path or a URI) and the folder's path within it."""
    if URI_SCHEME.match(out_dir):
        return fs.FileSystem.from_uri(out_dir)
    return fs.LocalFileSystem(), fs.LocalFileSystem().normalize_path(posixpath.abspath(out_dir))


def scan_output(out_dir: str) -> OutputScan:
    """The rows the ``.parquet`` and ``.jsonl`` files directly in ``out_dir`` hold (none if it does not exist)."""
    filesystem, folder = output_filesystem(out_dir)
    scan = OutputScan()
    if filesystem.get_file_info(folder).type == fs.FileType.NotFound:
        return scan
    keys: list[tuple[str, str, int | None]] = []
    for info in filesystem.get_file_info(fs.FileSelector(folder)):
        if info.type != fs.FileType.File:
            continue
        if info.path.endswith(_PARTIAL):  # a JSON lines file whose writer died: its rows were never in place
            with contextlib.suppress(OSError):
                filesystem.delete_file(info.path)
            continue
        if info.path.endswith(".parquet"):
            try:
                rows = _parquet_rows(filesystem, info.path)
            except (OSError, pa.ArrowException):
                filesystem.move(info.path, info.path + ".broken")
                scan.set_aside.append(info.path + ".broken")
                continue
        elif info.path.endswith(".jsonl"):
            rows = _jsonl_rows(filesystem, info.path)
        else:
            continue
        errors = 0
        for row in rows:
            errors += row.get("error") is not None
            if row.get("sha256") is not None:
                keys.append((row["image"], row["sha256"], row.get("page")))
        scan.files[info.path] = FileCount(rows=len(rows), errors=errors)
    scan.done = DoneKeys(keys)
    return scan


def _parquet_rows(filesystem: fs.FileSystem, path: str) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    table = pq.read_table(path, filesystem=filesystem, columns=[c for c in COLUMNS if c != "results"])
    return table.to_pylist()


def _jsonl_rows(filesystem: fs.FileSystem, path: str) -> list[dict[str, Any]]:
    with filesystem.open_input_stream(path) as stream:
        text = stream.read().decode("utf-8", "surrogateescape")
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}, line {number}: not a ptocr result row ({exc})") from None
        if not isinstance(row, dict) or not isinstance(row.get("image"), str):
            raise ValueError(f"{path}, line {number}: not a ptocr result row")
        rows.append(row)
    return rows
