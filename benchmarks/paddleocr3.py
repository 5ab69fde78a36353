"""PaddleOCR 3.x's generation end to end: ptocr's PP-OCRv5 / PP-OCRv6 systems beside PP-OCRv4, and the PP-OCRv6
small system beside RapidOCR 3.10 running the same ONNX files with the same settings.

    python benchmarks/paddleocr3.py [FOLDER] [--show N]

Every system reads every image of the folder (default ../shared/images). The PaddleOCR 3.x systems run without
the text-line orientation classifier (`use_angle_cls=False`): its files are published only in PaddleX's archives
and on ModelScope. Printed: lines and characters found per system, how many lines each newer system reads with
the same text as v4 at the same place (box corners within 4 px), and the first N lines of a few images side by side.

RapidOCR 3.10 (`pip install rapidocr==3.10.0`, in the `bench` extra) keeps rules of PaddleOCR 2.x's pipeline that it
cannot switch off (box filtering, plain quadrilateral crops, its own line grouping, no 3200-px cap, float64
normalisation), so its lines are paired with ptocr's by nearest box and counted: identical text, corners within 1 px.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from e2e import DEFAULT_FOLDER, read_folder

SYSTEMS: dict[str, dict[str, object]] = {
    "PP-OCRv4": {"version": "PP-OCRv4"},
    "PP-OCRv5 mobile": {"version": "PP-OCRv5", "size": "mobile", "use_angle_cls": False},
    "PP-OCRv6 tiny": {"version": "PP-OCRv6", "size": "tiny", "use_angle_cls": False},
    "PP-OCRv6 small": {"version": "PP-OCRv6", "size": "small", "use_angle_cls": False},
}
IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def rapidocr_v6_small() -> object:
    """RapidOCR 3.10 with PP-OCRv6 small (the files its wheel ships) and PaddleOCR 3.x's settings where it has them."""
    from rapidocr import RapidOCR

    return RapidOCR(params={
        "Global.use_preprocess_img": False, "Global.use_vertical_padding": False, "Global.text_score": 0.0,
        "Global.use_cls": False, "Global.log_level": "error",
        "Det.limit_side_len": 64, "Det.limit_type": "min", "Det.mean": IMAGENET_MEAN, "Det.std": IMAGENET_STD,
        "Det.thresh": 0.3, "Det.box_thresh": 0.6, "Det.unclip_ratio": 1.5, "Det.max_candidates": 3000,
        "Det.use_dilation": False,
    })  # fmt: skip


def paired(ours: list[tuple[np.ndarray, str]], theirs: list[tuple[np.ndarray, str]], within: float) -> tuple[int, int]:
    """(same text, box within `within` px) after pairing each of `theirs` with its nearest unused line of ours."""
    unused = list(range(len(ours)))
    same_text = close = 0
    for box, text in theirs:
        if not unused:
            break
        nearest = min(unused, key=lambda i: float(np.abs(ours[i][0] - box).max()))
        unused.remove(nearest)
        near = float(np.abs(ours[nearest][0] - box).max()) <= within
        close += near
        same_text += near and ours[nearest][1] == text
    return same_text, close


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--show", type=int, default=5, help="lines shown per sample image")
    args = parser.parse_args(argv)

    import ptocr

    paths, images = read_folder(args.folder)
    results: dict[str, list[list[tuple[np.ndarray, str]]]] = {}
    for label, options in SYSTEMS.items():
        ocr = ptocr.OCR(**options)  # type: ignore[arg-type]
        started = time.perf_counter()
        results[label] = [[(np.asarray(line.box, dtype=np.float64), line.text) for line in ocr(image)]
                          for image in images]  # fmt: skip
        seconds = time.perf_counter() - started
        lines = sum(map(len, results[label]))
        chars = sum(len(text) for page in results[label] for _, text in page)
        models = " + ".join(str(ocr.models[task]) for task in ("det", "rec") if ocr.models.get(task))
        print(f"{label:<16} {models:<44} {lines:4d} lines, {chars:5d} characters, {seconds:6.1f} s", flush=True)
    for label in list(SYSTEMS)[1:]:
        same = sum(paired(v4, new, 4.0)[0] for v4, new in zip(results["PP-OCRv4"], results[label], strict=True))
        print(f"{label:<16} lines with v4's text at v4's place: {same} of {sum(map(len, results[label]))}")

    try:
        rapid = rapidocr_v6_small()
    except ImportError:
        print("rapidocr 3.10 is not installed (pip install -e .[bench]): no RapidOCR comparison", file=sys.stderr)
    else:
        theirs_count = same_text = close = 0
        for image, ours in zip(images, results["PP-OCRv6 small"], strict=True):
            out = rapid(image)
            theirs = [] if out.boxes is None else [(np.asarray(b, dtype=np.float64), t)
                                                   for b, t in zip(out.boxes, out.txts, strict=True)]  # fmt: skip
            theirs_count += len(theirs)
            text, box = paired(ours, theirs, 1.0)
            same_text, close = same_text + text, close + box
        ours_count = sum(map(len, results["PP-OCRv6 small"]))
        print(f"PP-OCRv6 small vs RapidOCR 3.10: ptocr {ours_count} lines, RapidOCR {theirs_count}; box within 1 px "
              f"{close}, and with identical text {same_text} ({same_text / max(theirs_count, 1):.1%})")

    for index in (0, len(images) // 2, len(images) - 1):
        print(f"\n{paths[index].relative_to(args.folder)}")
        for label in SYSTEMS:
            texts = [text for _, text in results[label][index][: args.show]]
            print(f"  {label:<16} {' | '.join(texts)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
