"""OCR of many images and PDF pages on Ray Data, on one machine or a cluster (``pip install 'ptocr[ray]'``).

>>> import ptocr.distributed as dist
>>> inputs = dist.input_dataset(["scans/", "s3://bucket/batch-7/", "more/*.pdf"])   # rows {"path": …}
>>> rows = dist.ocr_dataset(inputs, batch_size=8, concurrency=4)   # a pool of 4 actors, one OCR each
>>> dist.write_results(rows, "out/", format="parquet")             # one row per page; errors are rows too

Ray Data streams the inputs through a pool of actors (`ocr_dataset`), each holding one loaded `ptocr.OCR`; the
rows (`ptocr.distributed.rows`) are the CLI's jsonl records with the input's sha256, written by Ray's writers
(`write_results`). `scan_output` reads back what an output folder holds, so that a re-run passes
``skip=scan_output(out).done`` and reads only what is not done yet. ``ptocr batch`` is this, from the command line.
"""

from __future__ import annotations

try:
    import ray.data  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("ptocr.distributed needs Ray Data: pip install 'ptocr[ray]'") from exc

from .dataset import InputList, input_dataset, list_inputs, ocr_dataset, reading_options
from .output import OUTPUT_FORMATS, JsonLinesDatasink, OutputScan, scan_output, write_results
from .rows import DoneKeys, jsonl_line, output_schema
from .worker import still_to_read

__all__ = [
    "OUTPUT_FORMATS",
    "DoneKeys",
    "InputList",
    "JsonLinesDatasink",
    "OutputScan",
    "input_dataset",
    "jsonl_line",
    "list_inputs",
    "ocr_dataset",
    "output_schema",
    "reading_options",
    "scan_output",
    "still_to_read",
    "write_results",
]
