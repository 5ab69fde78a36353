"""Inputs as a Ray Dataset of paths, and `ocr_dataset`: that Dataset OCR'd on a pool of Ray actors."""

from __future__ import annotations

import glob
import inspect
import math
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ray.data

from ..ocr import OCR, choose_system
from ..pipeline.image_io import DEFAULT_DPI, DOCUMENT_SUFFIXES, folder_documents
from ..pipeline.input_source import URI_SCHEME, input_limits, is_http_url
from .rows import DoneKeys
from .worker import OCRWorker, ReadOptions

#: Inputs with these suffixes are tables whose ``column`` lists the paths or URIs to read.
TABLE_SUFFIXES = (".parquet", ".csv")
_GLOB_CHARACTERS = re.compile(r"[*?\[]")
# What `ocr_dataset` sets itself on each worker's OCR, so not among its **ocr_options.
_SET_BY_WORKERS = frozenset({"device", "max_concurrent", "collect_timings"})


@dataclass
class InputList:
    """What a list of inputs names: the files and URIs to read, the tables that list more of them, and
    the inputs that name nothing, each with the reason (an empty folder, a glob matching no file)."""

    paths: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)


def list_inputs(inputs: str | Sequence[str], pattern: str | None = None) -> InputList:
    """Expands ``inputs`` as ``ptocr batch`` does: a folder to the images, PDFs and GIFs under it (those matching
    ``pattern`` when given, as ``ptocr --glob``), a glob (``scans/**/*.pdf``) to the files it matches, a
    ``.parquet`` or ``.csv`` file to a table of paths, and a URL or URI (``s3://bucket/key``) as it is; a folder
    URI (``s3://bucket/scans/``, ending in /) to the files with those suffixes under it. A path that does not
    exist is kept: reading it gives its error row."""
    listed = InputList()
    for item in [inputs] if isinstance(inputs, str) else list(inputs):
        text = os.fspath(item)
        if text.lower().endswith(TABLE_SUFFIXES):
            listed.tables.append(text)
        elif URI_SCHEME.match(text):
            found = _list_uri_folder(text, pattern) if text.endswith("/") and not is_http_url(text) else [text]
            listed.paths += found
            if not found:
                listed.problems.append((text, "no image files under this URI"))
        elif Path(text).is_dir():
            found_paths, problem = folder_documents(text, pattern)
            listed.paths += [str(path) for path in found_paths]
            if problem is not None:
                listed.problems.append((text, problem))
        elif _GLOB_CHARACTERS.search(text) and not Path(text).exists():
            matches = sorted(name for name in glob.glob(text, recursive=True) if Path(name).is_file())
            listed.paths += matches
            if not matches:
                listed.problems.append((text, "no files match this pattern"))
        else:
            listed.paths.append(text)
    return listed


def _list_uri_folder(uri: str, pattern: str | None) -> list[str]:
    from pyarrow import fs

    filesystem, inner = fs.FileSystem.from_uri(uri)
    scheme = uri.split("://", 1)[0]
    found = []
    for info in filesystem.get_file_info(fs.FileSelector(inner, recursive=True, allow_not_found=True)):
        name = info.path.rsplit("/", 1)[-1]
        if info.type != fs.FileType.File or name.startswith("."):
            continue
        if (pattern is not None and Path(name).match(pattern)) or (
            pattern is None and Path(name).suffix.lower() in DOCUMENT_SUFFIXES
        ):
            found.append(f"{scheme}://{info.path}")
    return sorted(found)


def input_dataset(inputs: str | Sequence[str] | InputList, *, column: str = "path") -> ray.data.Dataset:
    """A Dataset with one row ``{"path": …}`` per input that ``inputs`` names (`list_inputs`); the tables among
    them contribute their ``column``. Inputs that name nothing are a ValueError here (`list_inputs` lists them
    without raising)."""
    listed = inputs if isinstance(inputs, InputList) else list_inputs(inputs)
    if listed.problems and not isinstance(inputs, InputList):
        raise ValueError("; ".join(f"{name}: {problem}" for name, problem in listed.problems))
    parts = []
    if listed.paths:
        # About one block per 4 inputs: batches of many workers fill up, and a worker that dies loses little.
        blocks = max(1, min(len(listed.paths), math.ceil(len(listed.paths) / 4)))
        parts.append(ray.data.from_items([{"path": path} for path in listed.paths], override_num_blocks=blocks))
    for table in listed.tables:
        parts.append(_table_paths(table, column))
    if not parts:
        raise ValueError("no inputs to read")
    return parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]


def _table_paths(table: str, column: str) -> ray.data.Dataset:
    """The non-empty values of ``column`` of a Parquet or CSV file, as rows ``{"path": …}``. Read with no CPU
    reserved: reading a column of names is light, and the OCR workers may hold every CPU of the node."""
    if table.lower().endswith(".parquet"):
        ds = ray.data.read_parquet(table, num_cpus=0).select_columns([column])
    else:
        from pyarrow import csv

        options = csv.ConvertOptions(include_columns=[column], column_types={column: "string"})
        ds = ray.data.read_csv(table, convert_options=options, num_cpus=0)

    def as_paths(batch: Any) -> Any:
        import pyarrow as pa
        import pyarrow.compute as pc

        if column not in batch.column_names:
            raise ValueError(f"{table}: no column {column!r} (it has {', '.join(batch.column_names)})")
        values = pc.cast(batch.column(column), pa.string())
        keep = pc.and_(pc.is_valid(values), pc.not_equal(pc.utf8_trim_whitespace(values), ""))
        return pa.table({"path": pc.filter(values, keep)})

    return ds.map_batches(as_paths, batch_format="pyarrow", num_cpus=0)


def ocr_dataset(
    ds: ray.data.Dataset,
    *,
    det_model: str | None = None,
    rec_model: str | None = None,
    batch_size: int = 8,
    concurrency: int | tuple[int, int] = 1,
    num_gpus: float = 0,
    cpus_per_worker: float = 1,
    words: bool = False,
    pages: str | None = None,
    dpi: int = DEFAULT_DPI,
    skip: DoneKeys | None = None,
    path_column: str = "path",
    bytes_column: str | None = None,
    max_restarts: int = 4,
    max_task_retries: int = 4,
    **ocr_options: Any,
) -> ray.data.Dataset:
    """``ds`` OCR'd: one row per page read, one error row per input (or page) that failed (`ptocr.distributed.rows`).

    ``ds`` has a column of paths or URIs (``path_column``), and optionally their bytes already read
    (``bytes_column``: ``ray.data.read_binary_files(paths, include_paths=True)`` gives ``"path"`` and
    ``"bytes"``). Runs as ``map_batches`` on a pool of ``concurrency`` actors (an int, or ``(min, max)`` to let
    Ray Data scale the pool), each holding one `ptocr.OCR` built from ``det_model``, ``rec_model`` and
    ``ocr_options`` (any other `OCR` argument: ``lang``, ``version``, ``size``, ``cls_model``, ``use_angle_cls``,
    ``max_pixels``, ``max_bytes`` …; inputs are read under its input policy) and loaded once, on its first page.
    Each actor gets ``batch_size`` inputs per call and OCRs their pages ``batch_size`` at a time, each network
    batched across them. PDFs and multi-page TIFFs are expanded to pages (``pages`` selects, ``"1-3,5"``;
    ``dpi`` renders). Each actor reserves ``cpus_per_worker`` CPUs (its torch threads) and ``num_gpus`` GPUs
    (> 0: it runs on CUDA; 0.5 puts two actors on one GPU). ``skip``: pages already done
    (`scan_output(...).done`), neither read nor OCR'd again. An actor whose process dies is restarted up to
    ``max_restarts`` times and its call retried up to ``max_task_retries`` times (-1: without end); a call's
    rows count only once it completes, so none is lost or repeated.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    pool = _pool(concurrency)
    if num_gpus < 0 or cpus_per_worker <= 0:
        raise ValueError(f"need num_gpus >= 0 and cpus_per_worker > 0, got {num_gpus!r} and {cpus_per_worker!r}")
    misplaced = sorted(set(ocr_options) & _SET_BY_WORKERS | (set(ocr_options) - set(_ocr_defaults())))
    if misplaced:
        raise TypeError(f"ocr_dataset() got options it cannot pass to each worker's OCR: {', '.join(misplaced)}")
    choice = {key: ocr_options.get(key) for key in ("cls_model", "lang", "version", "size", "preset")}
    choose_system(det_model, rec_model, **choice)  # an unknown model or language fails here, not on every worker
    engine = {
        **ocr_options, "det_model": det_model, "rec_model": rec_model, "device": "cuda" if num_gpus > 0 else "cpu",
        "max_concurrent": None,
    }  # fmt: skip
    engine.setdefault("threads", max(1, math.floor(cpus_per_worker)))
    reading = reading_options(ocr_options, pages=pages, dpi=dpi, words=words)
    remote_args: dict[str, Any] = {"max_restarts": max_restarts, "max_task_retries": max_task_retries}
    if num_gpus > 0:
        remote_args["num_gpus"] = num_gpus
    constructor = {
        "engine": engine, "reading": reading, "batch_size": batch_size, "done": skip, "path_column": path_column,
        "bytes_column": bytes_column,
    }  # fmt: skip
    with warnings.catch_warnings():
        # Ray 2.60 has no named parameters for the actors' restarts and retries yet, and warns that the
        # ray_remote_args that carry them will go in 2.64 (hence `ray<2.64` in the ray extra).
        warnings.filterwarnings("ignore", message=".*ray_remote_args.* is deprecated")
        return ds.map_batches(
            OCRWorker,
            fn_constructor_kwargs=constructor,
            batch_size=batch_size,
            batch_format="pyarrow",
            compute=pool,
            num_cpus=cpus_per_worker,
            **remote_args,
        )


def reading_options(
    ocr_options: Mapping[str, Any], *, pages: str | None = None, dpi: int = DEFAULT_DPI, words: bool = False
) -> ReadOptions:
    """How `ocr_dataset`'s workers read inputs: under the input policy of their `OCR` (its defaults, and
    ``ocr_options``), with the page selection, resolution and word boxes given."""
    policy = {**_ocr_defaults(), **ocr_options}
    limits = input_limits(
        policy["max_pixels"], policy["large_images"], policy["max_image_pixels"], policy["max_bytes"],
        policy["max_pages"],
    )  # fmt: skip
    return ReadOptions(pages=pages, dpi=dpi, limits=limits, words=words)


def _pool(concurrency: int | tuple[int, int]) -> ray.data.ActorPoolStrategy:
    if isinstance(concurrency, tuple) and len(concurrency) == 2 and all(_positive(n) for n in concurrency):
        low, high = concurrency
        if low <= high:
            return ray.data.ActorPoolStrategy(min_size=low, max_size=high)
    elif _positive(concurrency):
        return ray.data.ActorPoolStrategy(size=concurrency)
    raise ValueError(f"concurrency must be a positive int or a (min, max) pair of them, got {concurrency!r}")


def _positive(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _ocr_defaults() -> dict[str, Any]:
    """`OCR`'s keyword arguments and their defaults."""
    parameters = inspect.signature(OCR.__init__).parameters
    return {name: parameter.default for name, parameter in parameters.items() if name != "self"}
