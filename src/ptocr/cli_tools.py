"""``ptocr models``, ``ptocr convert``, ``ptocr export`` and ``ptocr serve``: the commands beside OCR itself.

Each is a parser and a function of its arguments returning the exit status; `ptocr.cli.main` dispatches here by
the first argument (`COMMANDS`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from .cli import EXIT_MODELS, _error, _make_engine, _positive, _threads
from .errors import PtocrError
from .store import ModelStore
from .zoo import ALL_VERSIONS, FLUID_VERSIONS, FORMATS, PIR_VERSIONS, PRESETS, SIZES, TASKS, VERSIONS

# -- models --------------------------------------------------------------------------------------------------


def _models_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ptocr models",
        description="Manage the local model cache ($PTOCR_HOME, default ~/.cache/ptocr).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    listing = sub.add_parser(
        "list", help="every known model: task, version, language, size, formats, digests, what is cached"
    )
    listing.add_argument("--task", choices=TASKS, help="only det, rec or cls models")
    listing.add_argument("--lang", help="only models of this language code (as listed)")
    listing.add_argument(
        "--version", choices=(*FLUID_VERSIONS, *VERSIONS, *PIR_VERSIONS),
        help="only models of this PaddleOCR generation",
    )
    pull = sub.add_parser("pull", help="download and verify a model's files")
    pull.add_argument("name", metavar="NAME")
    pull.add_argument("--format", choices=(*FORMATS, "all"), default="paddle", help="default paddle")
    pull.add_argument("--force", action="store_true", help="download again even if a valid copy is cached")
    imp = sub.add_parser("import", help="add files downloaded by hand (*_infer.tar, *_infer folder, .onnx)")
    imp.add_argument("path", metavar="PATH")
    imp.add_argument(
        "--model", metavar="NAME",
        help="the model PATH holds; needed for models without published digests (SHA256 tofu in `models list`), "
        "whose files are then checked structurally and trusted",
    )  # fmt: skip
    where = sub.add_parser("path", help="print the cached folder (paddle) or file (onnx), fetching if needed")
    where.add_argument("name", metavar="NAME")
    where.add_argument("--format", choices=FORMATS, default="paddle", help="default paddle")
    verify = sub.add_parser(
        "verify", help="re-hash every cached file against its sha256 (published, or recorded on first use)",
        description="Re-hash every cached file of the named models (default: every cached model) against its "
        "published sha256, or for models trusted on first use the digest recorded at the first download. One "
        "line per file: ok, MISMATCH, missing, absent (an optional file the source lacked) or `no digest` "
        "(the trust record is lost). Exit status 1 if any file is not ok.",
    )  # fmt: skip
    verify.add_argument("names", nargs="*", metavar="NAME")
    return parser


def _models(argv: list[str]) -> int:
    args = _models_parser().parse_args(argv)
    store = ModelStore()
    try:
        if args.command == "list":
            _list(store, task=args.task, lang=args.lang, version=args.version)
        elif args.command == "pull":
            formats = store.record(args.name).formats if args.format == "all" else (args.format,)
            for fmt in formats:
                print(store.pull(args.name, fmt, force=args.force), flush=True)
        elif args.command == "verify":
            return _verify(store, args.names)
        elif args.command == "import":
            for name, fmt in store.import_path(args.path, name=args.model):
                print(f"imported {name} ({fmt})", flush=True)
        else:
            print(store.path(args.name, args.format))
    except (PtocrError, OSError) as exc:
        _error(str(exc))
        return 1
    return 0


def _verify(store: ModelStore, names: list[str]) -> int:
    checks = store.verify(names or None)
    if not checks:
        print(f"no cached model files to verify under {store.home}", file=sys.stderr)
    for check in checks:
        where = f"{check.model}/{check.format}/{check.file}"
        detail = f" (expected {check.expected}, got {check.actual})" if check.status == "MISMATCH" else ""
        print(f"{check.status:<9}  {where}{detail}", flush=True)
    failed = [check for check in checks if check.failed]
    if failed:
        _error(f"{len(failed)} of {len(checks)} cached files failed verification")
        return 1
    return 0


def _list(store: ModelStore, task: str | None = None, lang: str | None = None, version: str | None = None) -> None:
    """One row per model. SHA256 says whether the Paddle files' digests are published (pinned) or trusted on
    first use (tofu); CACHED lists the formats with a verified local copy."""
    rows = [("NAME", "TASK", "VERSION", "LANG", "SIZE", "FORMATS", "SHA256", "CACHED")]
    for name in store.names():
        record = store.record(name)
        wanted = {"task": task, "lang": lang, "version": version}
        have = {"task": record.task, "lang": record.language, "version": record.version}
        if any(value is not None and value != have[key] for key, value in wanted.items()):
            continue
        cached = [fmt for fmt in record.formats if store.is_cached(name, fmt)]
        formats = ",".join(record.formats)
        digests = "pinned" if record.weights["paddle"].pinned else "tofu"
        size = f"{record.size} slim" if record.pruned or record.quantised else record.size
        rows.append((name, record.task, record.version, record.language, size, formats, digests,
                     ",".join(cached) or "-"))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1])


# -- convert -------------------------------------------------------------------------------------------------


def _convert_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ptocr convert",
        description="Convert a model to a safetensors file of the torch state dict, with the model record as "
        "metadata; `ptocr.create_model(NAME, weights=DST)` and `--det-model NAME` runs load it back.",
    )
    parser.add_argument(
        "src", metavar="SRC",
        help="a Paddle inference folder or .pdmodel, an .onnx export, or a trained/distillation .pdparams",
    )  # fmt: skip
    parser.add_argument("dst", metavar="DST.safetensors")
    parser.add_argument(
        "--model", metavar="NAME",
        help="the zoo model SRC holds (`ptocr models list`); it decides the architecture and settings",
    )  # fmt: skip
    parser.add_argument(
        "--submodel", metavar="NAME",
        help="for distillation checkpoints: the sub-model to take (default Student, what PaddleOCR exports)",
    )  # fmt: skip
    return parser


def _convert(argv: list[str]) -> int:
    args = _convert_parser().parse_args(argv)
    from .conversion import convert  # imports torch

    return _print_written(lambda: convert(args.src, args.dst, model_name=args.model, submodel=args.submodel))


def _print_written(write: Callable[[], Any]) -> int:
    """Runs a command that writes one file and prints its path; one error line and status 1 if it fails."""
    try:
        print(write(), flush=True)
    except (PtocrError, OSError) as exc:
        _error(str(exc))
        return 1
    return 0


# -- export --------------------------------------------------------------------------------------------------


def _export_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ptocr export",
        description="Export a model's network to ONNX or TorchScript, with dynamic batch and image sizes (a "
        "detector's height and width, a text line's width). The file takes the pre-processed float32 N×3×H×W "
        "batch and returns the network's probabilities; resizing, DB boxes and CTC decoding stay outside it.",
    )
    parser.add_argument("name", metavar="NAME", help="a zoo model (`ptocr models list`)")
    parser.add_argument("--format", choices=("onnx", "torchscript"), default="onnx", help="default onnx")
    parser.add_argument("-o", "--output", required=True, metavar="FILE", help="the file to write")
    parser.add_argument(
        "--weights", metavar="PATH",
        help="other weights of NAME's architecture (inference folder, .onnx, .pdparams, .safetensors); "
        "default: the published ones from the model store",
    )  # fmt: skip
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    return parser


def _export(argv: list[str]) -> int:
    args = _export_parser().parse_args(argv)
    from .export import export_model  # imports torch

    return _print_written(
        lambda: export_model(args.name, args.output, args.format, weights=args.weights, opset=args.opset)
    )


# -- serve ---------------------------------------------------------------------------------------------------


def _serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ptocr serve",
        description="Serve OCR over HTTP: POST /ocr (a multipart `file`, JSON {\"image\": base64} or the raw "
        "file; answers the jsonl record {\"image\", \"results\"}, or {\"image\", \"pages\"} for a PDF or "
        "multi-page TIFF; query options format=json|text|tsv|markdown|hocr|pdf, words=true, pages=1-3, dpi=200), "
        "GET /health, GET /models, the OpenAPI "
        "schema at /openapi.json and /docs, and a page at / to try it in a browser. The models are loaded once; "
        "at most --max-concurrent images are read at once (the others wait). Needs the serve extra: "
        "pip install 'ptocr[serve]'.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument(
        "--max-upload-mb", type=float, default=20.0, metavar="MB",
        help="largest request body accepted, in MiB (default 20); larger ones get 413",
    )  # fmt: skip
    parser.add_argument(
        "--max-pixels", type=_positive, default=50_000_000, metavar="N",
        help="largest image accepted, in pixels (default 50000000); larger ones get 400 before decoding",
    )  # fmt: skip
    parser.add_argument(
        "--max-pages", type=_positive, default=50, metavar="N",
        help="most pages of one PDF or TIFF read per request (default 50); more get 400 unless pages= chooses",
    )  # fmt: skip
    models = parser.add_argument_group("models", "as for `ptocr IMAGE` (see `ptocr --help`)")
    models.add_argument("--lang", default=None, help="PaddleOCR language code (default ch)")
    models.add_argument("--version", dest="ocr_version", choices=ALL_VERSIONS, default=None)
    models.add_argument("--size", choices=SIZES, default=None, help="model size of PP-OCRv5 / PP-OCRv6")
    models.add_argument("--preset", choices=tuple(PRESETS), default=None)
    for task in ("det", "rec", "cls"):
        models.add_argument(f"--{task}-model", metavar="NAME", default=None)
    models.add_argument("--no-angle-cls", action="store_true", help="skip the 0/180 degree line classifier")
    models.add_argument("--device", default="cpu", help="torch device (default cpu)")
    models.add_argument("--threads", type=_threads, default=None, metavar="N|auto")
    parser.add_argument(
        "--max-concurrent", type=_positive, default=2, metavar="N",
        help="images read at once (default 2); more requests wait their turn. Each adds its working memory, "
        "and each already uses the free CPUs",
    )  # fmt: skip
    return parser


def _serve(argv: list[str]) -> int:
    parser = _serve_parser()
    args = parser.parse_args(argv)
    if args.preset is not None and (args.lang, args.ocr_version, args.size) != (None, None, None):
        parser.error("--preset names the models itself: give --lang/--version or --preset, not both")
    if args.max_upload_mb <= 0:
        parser.error("--max-upload-mb must be positive")
    try:
        from .serve import ServeLimits, create_app, serve
    except ImportError as exc:  # fastapi, uvicorn or python-multipart missing
        _error(f"ptocr serve needs the serve extra ({exc.name} is missing): pip install 'ptocr[serve]'")
        return 1
    # The server refuses images over its pixel limit before decoding them; the engine keeps the same limit.
    args.profile, args.refuse_large, args.pad_to_aspect = False, True, None
    # The engine's own input limits are the service's: an upload is never larger than its request body.
    args.max_image_pixels, args.max_bytes = None, int(args.max_upload_mb * 2**20)
    try:
        engine = _make_engine(args, max_concurrent=args.max_concurrent)
    except (PtocrError, OSError, ValueError) as exc:
        _error(str(exc))
        return EXIT_MODELS
    limits = ServeLimits(
        max_upload_bytes=int(args.max_upload_mb * 2**20), max_pixels=args.max_pixels, max_pages=args.max_pages
    )
    serve(create_app(engine, limits), host=args.host, port=args.port)
    return 0


COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "models": _models, "convert": _convert, "export": _export, "serve": _serve,
}  # fmt: skip
