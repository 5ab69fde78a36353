"""The ``ptocr`` command: OCR of images and folders, and ``ptocr models ...`` to manage the model cache.

``ptocr IMAGE_OR_DIR...``, ``ptocr models COMMAND``, ``ptocr convert SRC DST``, ``ptocr export NAME``,
``ptocr serve`` (those four in `ptocr.cli_tools`) and ``ptocr batch`` (`ptocr.cli_batch`) share one command
line: a first argument ``models``, ``convert``, ``export``, ``serve`` or ``batch`` selects those commands, so an
image or folder literally named so is passed as ``./models``. The OCR engine (and with it torch) is imported
only when there is an image to read.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ImageDecodeError, PtocrError
from .zoo import (
    ALL_VERSIONS,
    PRESETS,
    SIZES,
    choose_models,
    choose_preset,
)
from .zoo.selection import DEFAULT_VERSION

_EPILOG = """\
models:
  --lang/--version choose det, rec and cls models as PaddleOCR 2.x's PaddleOCR(lang=, ocr_version=) does
  (e.g. `--lang fr --version PP-OCRv3` reads with en_PP-OCRv3_det + latin_PP-OCRv3_rec); --version PP-OCR-v1.1
  or PP-OCR-v1.0 as PaddleOCR 1.1.1 / 1.0 chose them, each run with its own 1.x pipeline rules; --version
  PP-OCRv5 / PP-OCRv6 as PaddleOCR 3.x / RapidOCR 3.10 choose them (--size: v5 mobile or server, v6 small, tiny
  or medium), run with PaddleOCR 3.x's pipeline (textline orientation on, no score filter); --preset names a
  whole system instead (e.g. `--preset chinese_db_crnn_server`); --det-model, --rec-model and --cls-model name
  models explicitly and win.
  ptocr models {list,pull,import,path,verify} ...  the model cache, see `ptocr models --help`
  ptocr convert SRC DST.safetensors                 any Paddle/ONNX/.pdparams model → safetensors
  ptocr export NAME --format onnx|torchscript -o F  a network with dynamic input sizes
  ptocr serve [--host H] [--port P] ...             an HTTP service and a web page, see `ptocr serve --help`
  ptocr batch INPUT... -o OUT_DIR ...               many inputs on Ray Data (local or a cluster), resumable
  An image or folder literally named `models`, `convert`, `export`, `serve` or `batch` must be given as
  `./models`, ….

exit status (each failure is one `ptocr: error:` line on stderr, never a traceback):
  0    every input read
  1    some inputs failed (each named; the others were read), or a models/convert/export/serve command failed
  2    bad command line
  3    the models could not be loaded or run (unknown name or language, missing or damaged files): the run stops
  4    an output could not be written (-o, --vis): the run stopped there
  130  interrupted (Ctrl-C)
  141  stdout was closed (e.g. `ptocr DIR | head -1`): the run stops quietly, nothing more is read
"""

#: The exit statuses of the epilog above.
EXIT_OK, EXIT_INPUT_FAILED, EXIT_USAGE, EXIT_MODELS, EXIT_OUTPUT = 0, 1, 2, 3, 4
EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 130, 141


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    _printable_streams()
    try:
        if args[:1] in (["models"], ["convert"], ["export"], ["serve"]):
            from . import cli_tools

            return cli_tools.COMMANDS[args[0]](args[1:])
        if args[:1] == ["batch"]:
            from .cli_batch import batch

            return batch(args[1:])
        return _ocr(args)
    except SystemExit as exc:  # argparse: --help, or a usage error it has already reported
        return exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_USAGE)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `ptocr imgs/ | head`: stop quietly
        _silence_stdout()
        return EXIT_BROKEN_PIPE


def _error(message: str) -> None:
    print(f"ptocr: error: {message}", file=sys.stderr, flush=True)


def _printable_streams() -> None:
    """Lets stdout and stderr print any file name: one that is not valid UTF-8 reaches Python as surrogate
    escapes, which a strict encoder refuses; they print as ``\\udcff`` instead of ending the run."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):  # a stream that cannot change now: left as it is
                reconfigure(errors="backslashreplace")


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (tests, embedding)
        pass


# -- OCR ---------------------------------------------------------------------------------------------------


def _ocr_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ptocr",
        description="Read the text in images with PaddleOCR's PP-OCR models, in PyTorch.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "inputs", nargs="+", metavar="IMAGE_OR_DIR",
        help="image, PDF or TIFF files, http(s) URLs, or folders searched recursively (see --glob)",
    )  # fmt: skip
    add_input_arguments(parser)
    parser.add_argument(
        "--format", choices=("jsonl", "text", "tsv", "markdown", "hocr", "pdf"), default="jsonl",
        help="jsonl: one JSON object per image (default); text: the image path, then `text<TAB>score` lines in "
        "reading order; tsv: Tesseract's TSV columns; markdown: a heading per image, then its lines; hocr: one "
        "hOCR (XHTML) document; pdf: a searchable PDF, each image under an invisible text layer (needs -o)",
    )  # fmt: skip
    parser.add_argument(
        "-o", "--output", metavar="FILE|DIR/", default=None,
        help="write there instead of stdout: a file gets everything (one hOCR or PDF document, a page per image); "
        "an existing folder, or a path ending in /, one file per image named after it (.jsonl .txt .tsv .md "
        ".hocr .pdf)",
    )  # fmt: skip
    parser.add_argument(
        "--words", action="store_true",
        help="word boxes too: jsonl lines get \"words\": [{box, text, score}] (one per character for CJK), and "
        "tsv/hocr get one word per box",
    )  # fmt: skip
    parser.add_argument(
        "--vis", metavar="DIR", default=None,
        help="also save DIR/<image>.png: the boxes drawn on the image, the text beside them (a CJK font if the "
        "system has one; $PTOCR_FONT to choose; the font used is said on stderr)",
    )  # fmt: skip
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar and no notes on stderr (errors still)"
    )
    add_model_arguments(parser)
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument(
        "--threads", type=_threads, default=None, metavar="N|auto",
        help="CPU threads for the networks (default auto: the CPUs other running processes leave free, "
        "checked before each image)",
    )  # fmt: skip
    parser.add_argument(
        "--batch", type=_positive, default=8, metavar="N",
        help="images read together, each network batched across them (default 8; the results are those of one "
        "image at a time. Fewer, fuller network calls, and on a CPU the networks of different images run side "
        "by side: on 2 cores 8 took 0.83 of the time of 1, with about 12%% more memory)",
    )  # fmt: skip
    parser.add_argument(
        "--profile", action="store_true",
        help="print the seconds spent per stage (load: reading and decoding the image; det pre/net/post, crop, "
        "cls pre/net, rec pre/net, CTC decode), summed over all images, to stderr at the end",
    )  # fmt: skip
    return parser


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """Which files of a folder, which pages, and the input limits: shared by ``ptocr`` and ``ptocr batch``."""
    parser.add_argument(
        "--glob", metavar="PATTERN", default=None,
        help="which files of a folder to read, e.g. '*.png' or 'scans/**/*.pdf' (relative to the folder; default: "
        "every image, .gif and .pdf file at any depth)",
    )  # fmt: skip
    parser.add_argument(
        "--pages", type=_page_spec, default=None, metavar="1-3,5",
        help="the pages of PDFs and multi-page TIFFs to read, numbered from 1 (default all; a one-page input is "
        "read whatever this says). Each page is its own output record, with a \"page\" key",
    )  # fmt: skip
    parser.add_argument(
        "--dpi", type=_positive, default=200, metavar="N", help="resolution PDF pages are rendered at (default 200)"
    )
    parser.add_argument(
        "--max-pixels", type=_positive, default=None, metavar="N",
        help="images of more pixels are detected on a copy downscaled to N pixels, boxes mapped back to the "
        "full image (default 50000000)",
    )  # fmt: skip
    parser.add_argument(
        "--refuse-large", action="store_true",
        help="refuse images of more than --max-pixels pixels (an error for that image) instead of downscaling",
    )
    parser.add_argument(
        "--max-image-pixels", type=_positive, default=None, metavar="N",
        help="images (and PDF pages at --dpi) of more pixels are refused before they are decoded (default 268435456)",
    )  # fmt: skip
    parser.add_argument(
        "--max-bytes", type=_positive, default=None, metavar="N",
        help="input files (and URL bodies) larger than N bytes are refused before they are read (default 268435456)",
    )  # fmt: skip
    parser.add_argument(
        "--pad-to-aspect", type=_aspect, default=None, metavar="R",
        help="pad images wider (or taller) than R:1 with their background colour before detection: helps "
        "single-line strips (off by default, as in PaddleOCR; see the README's Inputs section)",
    )  # fmt: skip


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """The models and the angle classifier: shared by ``ptocr`` and ``ptocr batch``."""
    parser.add_argument("--no-angle-cls", action="store_true", help="skip the 0/180 degree line classifier")
    parser.add_argument(
        "--lang", default=None,
        help="PaddleOCR language code: ch (default), en, fr, german, japan, korean, ru, ar, hi, ta, … or a script "
        "group (latin, arabic, cyrillic, devanagari); an unknown code lists the supported ones. PP-OCR-v1.1: ch, "
        "en, french, german, korean, japan; PP-OCR-v1.0: ch; PP-OCRv6: ch, chinese_cht, en, japan (not tiny) and "
        "the latin codes",
    )  # fmt: skip
    parser.add_argument(
        "--version", dest="ocr_version", choices=ALL_VERSIONS, default=None,
        help="PaddleOCR model generation (default PP-OCRv4); PaddleOCR falls back to PP-OCRv4 where a 2.x version "
        "has no model for the language. PP-OCR-v1.1 / PP-OCR-v1.0: PaddleOCR 1.x's models with its pipeline "
        "rules (v1.0 has no angle classifier). PP-OCRv5 / PP-OCRv6: PaddleOCR 3.x's models (see --size) with its "
        "pipeline rules",
    )  # fmt: skip
    parser.add_argument(
        "--size", choices=SIZES, default=None,
        help="model size of --version PP-OCRv5 (mobile, the default, or server) or PP-OCRv6 (small, the default, "
        "tiny or medium)",
    )  # fmt: skip
    parser.add_argument(
        "--preset", choices=tuple(PRESETS), default=None,
        help="a whole system by its release name instead of --lang/--version: chinese_db_crnn_mobile and "
        "chinese_db_crnn_server (PaddleOCR 1.0: det + rec, no angle classifier), ch_ppocr_mobile_v1.1 and "
        "ch_ppocr_server_v1.1 (PaddleOCR 1.1: det + cls + rec)",
    )  # fmt: skip
    defaults = choose_models()
    for task, what in (("det", "detection"), ("rec", "recognition"), ("cls", "angle classifier")):
        parser.add_argument(
            f"--{task}-model", metavar="NAME", default=None,
            help=f"{what} model (default: chosen by --lang/--version, {getattr(defaults, task)} for ch; "
            "`ptocr models list` shows them)",
        )  # fmt: skip


def _positive(value: str, expected: str = "a positive number") -> int:
    try:
        count = int(value)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {value!r}")
    return count


def _page_spec(value: str) -> str:
    from .pipeline.image_io import parse_pages  # imports torch with the pipeline package: only with --pages

    try:
        parse_pages(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _aspect(value: str) -> float:
    try:
        ratio = float(value)
    except ValueError:
        ratio = 0.0
    if not 1.0 <= ratio < float("inf"):
        raise argparse.ArgumentTypeError(f"expected an aspect ratio >= 1 (e.g. 8), got {value!r}")
    return ratio


def _threads(value: str) -> int | None:
    return None if value == "auto" else _positive(value, "a positive number or auto")


def _ocr(argv: list[str]) -> int:
    parser = _ocr_parser()
    args = parser.parse_args(argv)
    if args.preset is not None and (args.lang, args.ocr_version, args.size) != (None, None, None):
        parser.error("--preset names the models itself: give --lang/--version or --preset, not both")
    if args.format == "pdf" and args.output is None:
        parser.error("--format pdf writes a file: give -o FILE.pdf or -o DIR/")
    engine = None
    failed = output_failed = False
    profile: dict[str, float] = {}
    # (path, page number or None, page count or None, what the engine reads: the path, or a decoded page)
    batch: list[_Item] = []
    outputs: _Outputs | None = None
    words = {"words": True} if args.words else {}

    def emit(item: _Item, result: Any) -> None:
        for stage, seconds in result.timings.items():
            profile[stage] = profile.get(stage, 0.0) + seconds
        assert outputs is not None
        outputs.add(item, result)

    def flush() -> int | None:
        """Reads the images of `batch`; an exit status when the models themselves failed."""
        nonlocal failed
        items = list(batch)
        batch.clear()
        done = 0
        if len(items) > 1:
            results = engine.run_many([item.source for item in items], chunk_size=len(items), **words)
            while done < len(items):
                try:
                    result = next(results)
                except (PtocrError, OSError):  # the rest one by one, to say which image (or the models) failed;
                    break  # a chunk decodes all its images before any network runs: little work is repeated
                emit(items[done], result)
                done += 1
        for item in items[done:]:
            try:
                result = engine.run(item.source, **words)
            except (ImageDecodeError, OSError) as exc:  # this image; go on with the others
                _error(_reason(exc, item.name))
                failed = True
                assert outputs is not None
                outputs.progress.update(1)
                continue
            except PtocrError as exc:  # the models themselves: every other image would fail alike
                _error(_reason(exc, item.name))
                return EXIT_MODELS
            emit(item, result)
        return None

    expanded = [item for arg in args.inputs for item in _expand(arg, args.glob)]
    try:
        for path, problem in expanded:
            if problem is not None:
                _error(f"{path}: {problem}")
                failed = True
                continue
            if engine is None:
                try:
                    engine = _make_engine(args)
                    outputs = _Outputs(args, total=_progress_total(expanded))
                except (PtocrError, OSError, ValueError) as exc:
                    _error(str(exc))
                    return EXIT_MODELS
            try:
                # The engine's input policy (a test's stand-in engine may have none: the defaults then).
                limits = getattr(getattr(engine, "system", None), "input_limits", None)
                for item in _pages_of(path, args, limits):
                    batch.append(item)
                    if len(batch) >= args.batch and (status := flush()) is not None:
                        return status
            except BrokenPipeError:  # stdout closed while writing this input's results: not the input's fault
                raise
            except (ImageDecodeError, OSError) as exc:  # a document that cannot be opened or rendered
                _error(_reason(exc, path))
                failed = True
        if batch and (status := flush()) is not None:
            return status
    except _OutputError as exc:
        _error(str(exc))
        return EXIT_OUTPUT
    finally:
        if outputs is not None:
            try:
                outputs.close()
            except _OutputError as exc:
                _error(str(exc))
                output_failed = True
    if args.profile:
        _print_profile(profile)
    if output_failed:
        return EXIT_OUTPUT
    return EXIT_INPUT_FAILED if failed else EXIT_OK


def _print_profile(seconds: Mapping[str, float]) -> None:
    total = seconds.get("total", 0.0)
    print(f"{'stage':<10}{'seconds':>10}{'share':>8}", file=sys.stderr)
    for stage, value in seconds.items():
        if stage != "total":
            share = f"{value / total:>7.1%}" if total > 0 else ""
            print(f"{stage:<10}{value:>10.3f}{share:>8}", file=sys.stderr)
    print(f"{'total':<10}{total:>10.3f}", file=sys.stderr)
    if sum(value for stage, value in seconds.items() if stage != "total") > total * 1.001:
        print("(stages run side by side on several threads count each thread's time)", file=sys.stderr)


def _make_engine(args: argparse.Namespace, max_concurrent: int | None = None) -> Any:
    """The engine the options choose. `max_concurrent`: None (the CLI's one reading thread needs no bound, and
    computes on that thread, so Ctrl-C stops it at once), or the service's bound."""
    from . import OCR  # imports torch: only once there is an image to read

    return OCR(
        **engine_options(args), device=args.device, threads=args.threads, collect_timings=args.profile,
        max_concurrent=max_concurrent,
    )  # fmt: skip


def engine_options(args: argparse.Namespace) -> dict[str, Any]:
    """The `ptocr.OCR` arguments the model and input options choose (`add_model_arguments`, `add_input_arguments`)."""
    if args.preset is not None:
        chosen = choose_preset(args.preset)
        choice: dict[str, Any] = {"preset": args.preset}
    else:
        choice = {"lang": args.lang or "ch", "version": args.ocr_version or DEFAULT_VERSION}
        if args.size is not None:
            choice["size"] = args.size
        chosen = choose_models(choice["lang"], choice["version"], args.size)
    # The classifier runs unless --no-angle-cls, or the system has none (PaddleOCR 1.0) and none is named.
    has_cls = args.cls_model is not None or chosen.cls is not None
    return {
        "det_model": args.det_model, "rec_model": args.rec_model, "cls_model": args.cls_model, **choice,
        "use_angle_cls": not args.no_angle_cls and has_cls, **_input_options(args),
    }  # fmt: skip


def _input_options(args: argparse.Namespace) -> dict[str, Any]:
    """The engine's input settings the command line changed (the defaults are left to OCR)."""
    options: dict[str, Any] = {}
    if args.max_pixels is not None:
        options["max_pixels"] = args.max_pixels
    if args.refuse_large:
        options["large_images"] = "refuse"
    if args.max_image_pixels is not None:
        options["max_image_pixels"] = args.max_image_pixels
    if args.max_bytes is not None:
        options["max_bytes"] = args.max_bytes
    if args.pad_to_aspect is not None:
        options["pad_to_aspect"] = args.pad_to_aspect
    return options


def _expand(arg: str, pattern: str | None = None) -> Iterator[tuple[str, str | None]]:
    """``(path, None)`` for each image ``arg`` names, or ``(arg, problem)``."""
    from .pipeline.image_io import folder_documents, is_http_url  # the pipeline package imports torch

    path = Path(arg)
    if path.is_dir():
        images, problem = folder_documents(path, pattern)
        if problem is not None:
            yield arg, problem
        for image in images:
            yield str(image), None
    elif path.exists() or is_http_url(arg):
        yield arg, None
    else:
        yield arg, "no such file or directory"


@dataclass(frozen=True)
class _Item:
    """One page to read: the input's path, its page number and the input's page count (None for a single
    image, which prints as it always did), and what the engine reads (the path, or the decoded page)."""

    path: str
    number: int | None
    count: int | None
    source: Any

    @property
    def name(self) -> str:
        return self.path if self.number is None else f"{self.path} (page {self.number})"


def _pages_of(path: str, args: argparse.Namespace, limits: Any) -> Iterator[_Item]:
    """What the engine reads for ``path``: the path itself for an image, a decoded page per selected page of a
    PDF (each numbered) or TIFF (numbered when it has several pages, so one-page TIFFs print as before).
    ``limits``: the engine's input policy (`image_io.InputLimits`), which documents are read under too."""
    from .pipeline.image_io import PAGED_MAGIC, iter_pages, sniff_file

    # A regular file's first bytes, opened without blocking; b"" for a URL, a FIFO, a device or an unreadable
    # file, which the engine then refuses with the reason.
    magic = sniff_file(path, 5)
    if not magic.startswith(PAGED_MAGIC):
        yield _Item(path, None, None, path)
        return
    for page in iter_pages(path, pages=args.pages, dpi=args.dpi, limits=limits):
        if magic.startswith(PAGED_MAGIC[0]) or page.page_count > 1:
            yield _Item(path, page.number, page.page_count, page.image)
        else:
            yield _Item(path, None, None, page.image)


def _progress_total(expanded: Sequence[tuple[str, str | None]]) -> int | None:
    """Pages to read, for the progress bar: the input count, or unknown when some input may hold pages."""
    inputs = [path for path, problem in expanded if problem is None]
    if any(Path(path).suffix.lower() in (".pdf", ".tif", ".tiff") for path in inputs):
        return None
    return len(inputs)


def _reason(exc: BaseException, path: str) -> str:
    """The error line after `ptocr: error: `, naming the path once."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{path}: {exc.strerror[:1].lower() + exc.strerror[1:]}"
    message = str(exc) or type(exc).__name__
    return message if path in message else f"{path}: {message}"


class _OutputError(Exception):
    """Writing an output (a file, the PDF, a --vis picture) failed: the run stops with this message."""


class _NoProgress:
    def update(self, count: int) -> None:
        pass

    def close(self) -> None:
        pass


class _Outputs:
    """The run's outputs: the chosen format to stdout / -o, --vis pictures, and the progress bar (stderr, only
    on a terminal and without --quiet)."""

    def __init__(self, args: argparse.Namespace, total: int | None) -> None:
        from .pipeline.image_io import load_image
        from .render.output import OutputSink, VisWriter

        self.sink = OutputSink(args.format, args.output, load_image)
        self.vis = VisWriter(args.vis, load_image) if args.vis is not None else None
        if self.vis is not None and not args.quiet:
            print(f"ptocr: --vis font: {self.vis.font.describe()}", file=sys.stderr, flush=True)
        self.progress: Any = _NoProgress()
        if not args.quiet and (total is None or total > 1) and sys.stderr.isatty():
            try:
                from tqdm import tqdm
            except ImportError:  # progress bars are a nicety: without tqdm, none
                pass
            else:
                self.progress = tqdm(total=total, unit="page", file=sys.stderr, dynamic_ncols=True)

    def add(self, item: _Item, result: Any) -> None:
        from .pipeline.results import Page

        page = Page(
            index=0 if item.number is None else item.number - 1, width=result.image_width,
            height=result.image_height, lines=result.lines, source=item.path, page_count=item.count,
        )  # fmt: skip
        image = item.source if item.count is not None else None  # a document page: its pixels are here
        try:
            self.sink.add(page, image)
            if self.vis is not None:
                self.vis.add(page, image)
        except BrokenPipeError:  # stdout closed by its reader: `main` stops the run quietly (141)
            raise
        except (OSError, ValueError, PtocrError) as exc:
            raise _OutputError(_reason(exc, self.sink.target or item.path)) from exc
        self.progress.update(1)

    def close(self) -> None:
        self.progress.close()
        try:
            self.sink.close()
        except BrokenPipeError:
            raise
        except (OSError, ValueError, PtocrError) as exc:
            raise _OutputError(_reason(exc, self.sink.target or "output")) from exc


if __name__ == "__main__":
    raise SystemExit(main())
