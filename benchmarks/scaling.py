"""How end-to-end OCR time grows with image size and with the number of text lines: ptocr against RapidOCR.

    python benchmarks/scaling.py [--threads N] [--repeat R] [--plot benchmarks/scaling.png] [--json F]
                                 [--folder IMAGES] [--version PP-OCRv4] [--quick]

Two series of synthetic but deterministic test images, built from the real images under FOLDER
(default: the shared test images):

* size:  a 3×3 grid of the document photos in FOLDER/imgs (each letterboxed into a 4:3 cell), resized to
  0.25, 1, 4 and 16 megapixels (4:3). The content is the same at every size, only the resolution changes.
* lines: 1, 5, 20, 50 and 100 single-line crops from FOLDER/imgs_words and FOLDER/imgs_words_en pasted one
  per row onto a white canvas 960 px wide (48 px high rows, 24 px gaps); the canvas grows in height.

Each engine gets one warm-up call per image, then `--repeat` timed calls (median reported). All ptocr runs
come first, then all RapidOCR runs: the two engines' spinning worker threads disturb each other when
interleaved in one process. RapidOCR (`pip install -e .[bench]`) is configured as in benchmarks/e2e.py,
and made to honour its det limit of 960 (see e2e.rapidocr_engine); without it ptocr is timed alone.
`--plot` needs matplotlib (also in the `bench` extra).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np

SIZES_MP = (0.25, 1.0, 4.0, 16.0)
LINE_COUNTS = (1, 5, 20, 50, 100)
CANVAS_WIDTH, ROW_HEIGHT, ROW_GAP, MARGIN = 960, 48, 24, 32
NOTE = (
    "Note: PaddleOCR's detector resizes the longest side to 960 px (limit_type max), so detection cost "
    "saturates with image size, while decoding the full image, resizing it and cropping/recognising the lines "
    "found keep growing. The tall line-series canvases are likewise shrunk to 960 px high for detection, "
    "so small text may be missed at high line counts: compare 'lines found' with the lines pasted."
)
Case = tuple[str, float, np.ndarray]  # (series, size in megapixels or number of lines pasted, BGR image)


def _e2e() -> ModuleType:
    """benchmarks/e2e.py, whose engine factories this benchmark reuses."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    return importlib.import_module("e2e")


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png", ".bmp"})


def _letterbox(image: np.ndarray, width: int, height: int) -> np.ndarray:
    scale = min(width / image.shape[1], height / image.shape[0])
    w, h = max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale))
    cell = np.full((height, width, 3), 255, np.uint8)
    y, x = (height - h) // 2, (width - w) // 2
    cell[y : y + h, x : x + w] = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    return cell


def size_images(folder: Path, sizes: tuple[float, ...]) -> list[Case]:
    """A 3×3 grid of the first nine photos in `folder`, resized to about `sizes` megapixels at 4:3."""
    photos = [image for image in map(cv2.imread, map(str, _files(folder))) if image is not None][:9]
    if len(photos) < 9:
        raise FileNotFoundError(f"need 9 readable images under {folder}, found {len(photos)}")
    cells = [_letterbox(photo, 800, 600) for photo in photos]
    grid = np.vstack([np.hstack(cells[row * 3 : row * 3 + 3]) for row in range(3)])  # 2400 × 1800
    cases: list[Case] = []
    for mp in sizes:
        width = round((mp * 1e6 * 4 / 3) ** 0.5)
        height = round(mp * 1e6 / width)
        method = cv2.INTER_AREA if width < grid.shape[1] else cv2.INTER_LINEAR
        cases.append(("size", mp, cv2.resize(grid, (width, height), interpolation=method)))
    return cases


def line_images(folders: list[Path], counts: tuple[int, ...]) -> list[Case]:
    """`count` line crops pasted one per row on a white canvas CANVAS_WIDTH wide, cycling through the crops.

    Chinese and English crops come first (what the default models read); crops under 24 px high are skipped.
    """
    paths = sorted((p for folder in folders for p in _files(folder)), key=lambda p: (p.parent.name not in {
        "ch", "en", "imgs_words_en"}, str(p)))  # fmt: skip
    crops = [c for c in map(cv2.imread, map(str, paths)) if c is not None and c.shape[0] >= 24]
    if not crops:
        raise FileNotFoundError(f"no line images under {', '.join(map(str, folders))}")
    rows = []
    for crop in crops:
        scale = min(ROW_HEIGHT / crop.shape[0], (CANVAS_WIDTH - 2 * MARGIN) / crop.shape[1])
        size = (round(crop.shape[1] * scale), round(crop.shape[0] * scale))
        rows.append(cv2.resize(crop, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR))
    cases: list[Case] = []
    for count in counts:
        canvas = np.full((2 * MARGIN + count * ROW_HEIGHT + (count - 1) * ROW_GAP, CANVAS_WIDTH, 3), 255, np.uint8)
        for i in range(count):
            row = rows[i % len(rows)]
            y = MARGIN + i * (ROW_HEIGHT + ROW_GAP) + (ROW_HEIGHT - row.shape[0]) // 2
            canvas[y : y + row.shape[0], MARGIN : MARGIN + row.shape[1]] = row
        cases.append(("lines", count, canvas))
    return cases


def time_engine(run: Callable[[np.ndarray], int], cases: list[Case], repeat: int) -> list[dict]:
    """Per case: one warm-up call, then `repeat` timed calls; times in ms and the lines found."""
    results = []
    for _, _, image in cases:
        found = run(image)
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            found = run(image)
            times.append((time.perf_counter() - start) * 1000)
        results.append({"lines_found": found, "ms": times, "median_ms": statistics.median(times)})
    return results


def markdown_table(cases: list[Case], timings: dict[str, list[dict]]) -> str:
    rapid = timings.get("rapidocr")
    lines = [
        "| series | size / lines pasted | pixels (w×h) | lines found ptocr | lines found RapidOCR "
        "| ptocr ms | RapidOCR ms | ratio RapidOCR/ptocr |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for i, (series, x, image) in enumerate(cases):
        ours = timings["ptocr"][i]
        label = f"{x:g} MP" if series == "size" else f"{x:g} lines"
        theirs = (str(rapid[i]["lines_found"]), f"{rapid[i]['median_ms']:.0f}",
                  f"{rapid[i]['median_ms'] / ours['median_ms']:.2f}") if rapid else ("—", "—", "—")  # fmt: skip
        lines.append(
            f"| {series} | {label} | {image.shape[1]}×{image.shape[0]} | {ours['lines_found']} | {theirs[0]} "
            f"| {ours['median_ms']:.0f} | {theirs[1]} | {theirs[2]} |"
        )
    return "\n".join(lines)


def plot(cases: list[Case], timings: dict[str, list[dict]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    panels = (("size", "image size (megapixels)"), ("lines", "text lines pasted"))
    for ax, (series, xlabel) in zip(axes, panels, strict=True):
        index = [i for i, case in enumerate(cases) if case[0] == series]
        xs = [cases[i][1] for i in index]
        for name, label in (("ptocr", "ptocr"), ("rapidocr", "RapidOCR (onnxruntime)")):
            if name in timings:
                ax.plot(xs, [timings[name][i]["median_ms"] for i in index], "o-", label=label)
        t0 = timings["ptocr"][index[0]]["median_ms"]
        ax.plot(xs, [t0 * x / xs[0] for x in xs], "--", color="grey", label="linear growth (through ptocr's first)")
        ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel="median time per image (ms)")
        ax.set_xticks(xs, [f"{x:g}" for x in xs], minor=False)
        ax.set_xticks([], minor=True)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    e2e = _e2e()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, default=e2e.DEFAULT_FOLDER, help="folder with imgs/, imgs_words*/")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for both engines (default 2)")
    parser.add_argument("--repeat", type=int, default=3, help="timed calls per image, median taken (default 3)")
    parser.add_argument("--version", default="PP-OCRv4", choices=["PP-OCRv4", "PP-OCRv3", "PP-OCRv2"])
    parser.add_argument("--plot", type=Path, metavar="PATH.png", help="write a two-panel plot (needs matplotlib)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="dump the raw numbers as JSON")
    parser.add_argument("--quick", action="store_true", help="smoke test: two smallest points per series, repeat 1")
    args = parser.parse_args(argv)
    if args.threads < 1 or args.repeat < 1:
        parser.error("--threads and --repeat must be at least 1")
    if args.plot is not None and importlib.util.find_spec("matplotlib") is None:
        print("--plot needs matplotlib: pip install matplotlib (or pip install -e .[bench])", file=sys.stderr)
        return 2
    sizes, counts, repeat = (SIZES_MP[:2], LINE_COUNTS[:2], 1) if args.quick else (SIZES_MP, LINE_COUNTS, args.repeat)
    try:
        cases = size_images(args.folder / "imgs", sizes)
        cases += line_images([args.folder / "imgs_words", args.folder / "imgs_words_en"], counts)
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 2

    ours, models = e2e.make_ptocr(args.threads, args.version)
    timings = {"ptocr": time_engine(ours, cases, repeat)}  # every ptocr run first, then every RapidOCR run
    del ours
    rapid = e2e.make_rapidocr(args.threads, models)
    if rapid is None:
        print("rapidocr_onnxruntime is not installed: timing ptocr alone", file=sys.stderr)
    else:
        timings["rapidocr"] = time_engine(rapid, cases, repeat)

    title = (f"{args.version} ({models['det']} + {models['cls']} + {models['rec']}), {args.threads} threads, "
             f"median of {repeat}")  # fmt: skip
    print(title + "\n")
    print(markdown_table(cases, timings))
    print("\nratio > 1 means ptocr is faster. " + NOTE)
    if args.plot is not None:
        plot(cases, timings, args.plot, title)
        print(f"plot written to {args.plot}")
    if args.json is not None:
        rows = [
            {"series": s, "x": x, "width": im.shape[1], "height": im.shape[0], **{n: t[i] for n, t in timings.items()}}
            for i, (s, x, im) in enumerate(cases)
        ]
        raw = {"version": args.version, "models": models, "threads": args.threads, "repeat": repeat, "cases": rows}
        args.json.write_text(json.dumps(raw, indent=2))
        print(f"raw numbers written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
