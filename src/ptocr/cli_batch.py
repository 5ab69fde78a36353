"""``ptocr batch``: OCR of many inputs on Ray Data, into a folder of Parquet or JSON lines files.

A thin layer over `ptocr.distributed`: list the inputs, read what the output folder already holds, start (or join)
Ray, run `ocr_dataset` into `write_results`, and say what the run added.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

from .cli import (
    EXIT_INPUT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_MODELS,
    EXIT_OK,
    EXIT_OUTPUT,
    _error,
    _positive,
    add_input_arguments,
    add_model_arguments,
    engine_options,
)
from .errors import PtocrError

_DESCRIPTION = """\
OCR many images and PDF pages on Ray Data: a pool of workers, each with the models loaded once, reads the
inputs and writes one row per page into OUT_DIR, as Parquet (default) or JSON lines files. A row is the plain
CLI's jsonl record, {"image", "page" (PDFs, multi-page TIFFs), "results"}, with the input's "sha256"; an input
that cannot be read is a row {"image", "error": {"type", "message"}}, never a failed run. Run again with the same
OUT_DIR and only what is not there yet is read (by path, page and content hash). Without --address a local Ray
starts on this machine and stops at the end; with one the run joins that cluster, whose workers need ptocr
installed and the inputs and OUT_DIR reachable (shared storage or s3:// gs:// … URIs). Needs the ray extra:
pip install 'ptocr[ray]'.
"""

_EPILOG = """\
inputs: image, PDF or TIFF files; folders (searched recursively, see --glob); globs ('scans/**/*.pdf'); http(s)
  URLs and pyarrow filesystem URIs (s3://bucket/key, gs://…, a folder URI ending in /); .parquet or .csv files
  whose --column lists more of them.

exit status: 0 every input read; 1 some inputs gave error rows (or named nothing); 2 bad command line;
  3 Ray, or the models, could not be started or run; 4 OUT_DIR could not be read or written; 130 interrupted.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ptocr batch", description=_DESCRIPTION, epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="what to read (see below)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT_DIR", help="folder (or URI) of the rows")
    parser.add_argument(
        "--format", choices=("parquet", "jsonl"), default="parquet",
        help="parquet (default): Ray's write_parquet; jsonl: the CLI's JSON lines, null columns left out",
    )  # fmt: skip
    parser.add_argument(
        "--column", default="path", metavar="NAME", help="the column of .parquet / .csv inputs that holds paths"
    )
    cluster = parser.add_argument_group("Ray")
    cluster.add_argument(
        "--address", default=None, metavar="auto|ray://HOST:10001",
        help="join this Ray cluster (auto: the one this machine belongs to); default: a local Ray",
    )  # fmt: skip
    cluster.add_argument(
        "--workers", type=_positive, default=None, metavar="N",
        help="OCR workers, each with its own models (default: as many as the cluster's CPUs, or GPUs, allow)",
    )  # fmt: skip
    cluster.add_argument(
        "--cpus-per-worker", type=_positive, default=1, metavar="N",
        help="CPUs each worker reserves and its torch threads (default 1)",
    )  # fmt: skip
    cluster.add_argument(
        "--gpus-per-worker", type=float, default=0.0, metavar="N",
        help="GPUs each worker reserves (default 0: CPU workers; 0.5 puts two workers on a GPU)",
    )  # fmt: skip
    cluster.add_argument(
        "--batch", type=_positive, default=8, metavar="N",
        help="inputs per worker call, and pages per network batch (default 8)",
    )  # fmt: skip
    cluster.add_argument(
        "--num-cpus", type=_positive, default=None, metavar="N",
        help="local Ray only: the CPUs it may use (default all)",
    )  # fmt: skip
    cluster.add_argument(
        "--object-store-mb", type=_positive, default=None, metavar="MB",
        help="local Ray only: its object store size (default Ray's: 30%% of memory)",
    )  # fmt: skip
    add_input_arguments(parser)
    parser.add_argument(
        "--words", action="store_true", help="word boxes too: each line gets \"words\": [{box, text, score}]"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress and no summary (errors still)")
    add_model_arguments(parser)
    return parser


def batch(argv: list[str]) -> int:
    """``ptocr batch ARGS``; the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.preset is not None and (args.lang, args.ocr_version, args.size) != (None, None, None):
        parser.error("--preset names the models itself: give --lang/--version or --preset, not both")
    if args.gpus_per_worker < 0:
        parser.error("--gpus-per-worker must be 0 or more")
    if args.address is None and args.num_cpus is not None and args.num_cpus < args.cpus_per_worker:
        parser.error("--num-cpus must be at least --cpus-per-worker")
    try:
        import ray

        from . import distributed
    except ImportError as exc:
        _error(f"ptocr batch needs Ray Data: pip install 'ptocr[ray]' ({exc})")
        return EXIT_MODELS
    from .ocr import choose_system

    listing = distributed.list_inputs(args.inputs, args.glob)
    for name, problem in listing.problems:
        _error(f"{name}: {problem}")
    if not listing.paths and not listing.tables:
        return EXIT_INPUT_FAILED
    options = engine_options(args)
    try:
        chosen = choose_system(**{key: options.get(key) for key in _CHOICE})
    except (PtocrError, ValueError) as exc:
        _error(str(exc))
        return EXIT_MODELS
    try:
        before = distributed.scan_output(args.output)
    except (OSError, ValueError) as exc:
        _error(f"{args.output}: cannot read what it holds: {exc}")
        return EXIT_OUTPUT
    for path in before.set_aside:
        print(f"ptocr batch: {path}: a Parquet file cut short, set aside; its pages are read again", file=sys.stderr)
    if args.address is None:
        # One machine: what is done already is judged here (each file read and hashed once more), so that a run
        # with nothing left to read starts no Ray at all; on a cluster the workers judge it, beside the data.
        if len(before.done):
            reading = distributed.reading_options(options, pages=args.pages, dpi=args.dpi, words=args.words)
            listing.paths = distributed.still_to_read(listing.paths, reading, before.done)
            if not listing.paths and not listing.tables:
                if not args.quiet:
                    print(f"ptocr batch: nothing to read: every input is in {args.output} already "
                          f"({before.rows} rows)", file=sys.stderr)  # fmt: skip
                return EXIT_INPUT_FAILED if listing.problems else EXIT_OK
        try:  # and the model files are fetched and verified once, before the workers start
            _fetch_models(chosen, use_cls=options["use_angle_cls"])
        except (PtocrError, OSError) as exc:
            _error(str(exc))
            return EXIT_MODELS
    started = False
    try:
        _start_ray(ray, args)
        started = True
        workers = args.workers or _default_workers(ray, args)
        rows = distributed.ocr_dataset(
            distributed.input_dataset(listing, column=args.column), batch_size=args.batch, concurrency=workers,
            num_gpus=args.gpus_per_worker, cpus_per_worker=args.cpus_per_worker, words=args.words, pages=args.pages,
            dpi=args.dpi, skip=before.done, **options,
        )  # fmt: skip
        distributed.write_results(rows, args.output, format=args.format)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:  # Ray's errors wrap the worker's: report the original, once
        _error(_ray_reason(exc))
        return EXIT_MODELS
    finally:
        if started:  # a local Ray stops; a cluster is only left
            ray.shutdown()
    try:
        after = distributed.scan_output(args.output)
    except (OSError, ValueError) as exc:
        _error(f"{args.output}: cannot read back what was written: {exc}")
        return EXIT_OUTPUT
    new = [count for path, count in after.files.items() if path not in before.files]
    rows_added, errors_added = sum(c.rows for c in new), sum(c.errors for c in new)
    if not args.quiet:
        done = f", {before.rows} were there already" if before.rows else ""
        print(
            f"ptocr batch: {rows_added} new rows ({errors_added} errors) in {len(new)} files in {args.output}{done}",
            file=sys.stderr,
        )
    return EXIT_INPUT_FAILED if errors_added or listing.problems else EXIT_OK


_CHOICE = ("det_model", "rec_model", "cls_model", "lang", "version", "size", "preset")


def _fetch_models(chosen: dict[str, str | None], use_cls: bool) -> None:
    from .store import ModelStore

    store = ModelStore()
    for task, name in chosen.items():
        if name is not None and (task != "cls" or use_cls):
            store.path_any(name)


def _start_ray(ray: Any, args: argparse.Namespace) -> None:
    quiet: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False} if args.quiet else {}
    if args.address is not None:
        ray.init(address=args.address, **quiet)
    else:
        store = args.object_store_mb * 2**20 if args.object_store_mb else None
        ray.init(
            address="local", num_cpus=args.num_cpus or os.cpu_count(), object_store_memory=store,
            include_dashboard=False, **quiet,
        )  # fmt: skip
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = not args.quiet
    if args.quiet:
        logging.getLogger("ray.data").setLevel(logging.ERROR)


def _default_workers(ray: Any, args: argparse.Namespace) -> int:
    resources = ray.cluster_resources()
    if args.gpus_per_worker > 0:
        return max(1, int(resources.get("GPU", 0) // args.gpus_per_worker))
    return max(1, int(resources.get("CPU", 1) // args.cpus_per_worker))


def _ray_reason(exc: BaseException) -> str:
    """The message of the error that ended a Ray job: the worker's own exception where Ray wrapped one."""
    seen = exc
    for _ in range(8):
        cause = getattr(seen, "cause", None) or seen.__cause__
        if cause is None or cause is seen:
            break
        seen = cause
    if isinstance(seen, PtocrError):
        return str(seen)
    return f"{type(seen).__name__}: {str(seen).strip().splitlines()[-1] if str(seen).strip() else ''}"
