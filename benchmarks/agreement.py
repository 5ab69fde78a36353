"""How closely ptocr's PP-OCR systems agree with RapidOCR (onnxruntime) running the same published files.

    python benchmarks/agreement.py [--version PP-OCRv4 PP-OCRv3 PP-OCRv2] [FOLDER]

For each version, ptocr's system (`OCR(version=...)`, the Chinese models) and RapidOCR configured like
PaddleOCR 2.x on the ONNX files of the same models read every image of the folder; RapidOCR's lines are
paired with ptocr's nearest boxes and counted: identical text, box corners within 1 px. RapidOCR's own
pipeline differs from PaddleOCR's in small ways, so even ptocr's v4 system, which matches PaddleOCR's output
line for line, agrees with it on ~93 % of texts: that is the yardstick for the older generations.
Needs `pip install -e .[bench]`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from e2e import DEFAULT_FOLDER, rapidocr_engine, read_folder


def agreement(version: str, images: list[np.ndarray]) -> str:
    import ptocr

    ocr = ptocr.OCR(version=version)
    rapid = rapidocr_engine(2, (ocr.models["det"], "ch_ppocr_mobile_v2.0_cls", ocr.models["rec"]))
    if rapid is None:
        raise SystemExit("rapidocr_onnxruntime is not installed: pip install -e .[bench]")
    ours_count = theirs_count = same_text = close_box = 0
    for image in images:
        ours, theirs = ocr(image), rapid(image)
        ours_count += len(ours)
        theirs_count += len(theirs)
        unused = list(range(len(ours)))
        for box, text, _score in theirs:
            if not unused:
                continue
            want = np.asarray(box, dtype=np.float64)
            nearest = min(unused, key=lambda i: np.abs(np.asarray(ours[i].box) - want).max())
            unused.remove(nearest)
            close_box += np.abs(np.asarray(ours[nearest].box) - want).max() <= 1.0
            same_text += ours[nearest].text == text
    models = f"{ocr.models['det']} + {ocr.models['rec']}"
    return (
        f"{version:<9} {models:<40} ptocr {ours_count} lines, RapidOCR {theirs_count}; identical text "
        f"{same_text} ({same_text / max(theirs_count, 1):.1%}), box within 1 px {close_box}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--version", nargs="+", default=["PP-OCRv4", "PP-OCRv3", "PP-OCRv2"])
    args = parser.parse_args(argv)

    _paths, images = read_folder(args.folder)
    for version in args.version:
        print(agreement(version, images), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
