"""What `DetSettings.pad_to_aspect` (``ptocr --pad-to-aspect R``) does to single-line strips.

    python benchmarks/strip_padding.py [--folder ../shared] [--aspects 2,4,8] [--json F]

Two sets of strips, each read by the default system (ch_PP-OCRv4 det + rec, angle classifier on) once without
padding (PaddleOCR's behaviour) and once per aspect ratio R:

* crops: every line PaddlePaddle itself read in FOLDER/images/imgs and imgs_en (FOLDER/reference/paddle_v4.jsonl,
  score >= 0.9, at least 4 characters, nearly horizontal), cut out as its bounding rectangle with a margin of a
  quarter of the line height above and below and half a line height left and right: the kind of strip people get
  from cropping a line. The expected text is PaddlePaddle's reading of that line in the full image.
* rendered: 8 sentences of 37 to 86 characters drawn with OpenCV's Hershey font in black on white, each 12, 16,
  20, 28 and 40 px high, with margins of a quarter (above and below) and half (left and right) of the text
  height: aspect ratios 12 to 27.

A strip counts as *found* when the system returns at least one line, and as *read* when its lines, joined, equal
the expected text (compared without spaces and case). Character accuracy is 1 - edit distance / length.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

SENTENCES = (
    "Invoice 2024-117 total due 349.50 EUR",
    "The quick brown fox jumps over the lazy dog",
    "Order number 88213 shipped on 12 March",
    "Please keep this receipt for your records and returns",
    "Room 402 Building B opens at 08:30 every weekday morning",
    "Serial AX-5521-KQ firmware 3.14.159 build 2718 checksum 0xBEEF",
    "Thank you for shopping with us, see you again soon at our store",
    "All prices include VAT at 20 percent unless stated otherwise on the shelf label in store",
)
HEIGHTS = (12, 16, 20, 28, 40)


def squash(text: str) -> str:
    return "".join(text.split()).lower()


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def crop_strips(folder: Path) -> list[tuple[str, np.ndarray, str]]:
    strips = []
    reference = folder / "reference" / "paddle_v4.jsonl"
    for record in map(json.loads, reference.read_text(encoding="utf-8").splitlines()):
        if not record["image"].startswith(("imgs/", "imgs_en/")):
            continue
        image = cv2.imread(str(folder / "images" / record["image"]))
        for number, line in enumerate(record["results"]):
            box = np.asarray(line["box"], np.float32)
            left, top = box.min(axis=0)
            right, bottom = box.max(axis=0)
            height = bottom - top
            tilt = abs(float(box[1, 1] - box[0, 1])) / max(float(box[1, 0] - box[0, 0]), 1.0)
            if line["score"] < 0.9 or len(line["text"]) < 4 or tilt > 0.05 or height < 8:
                continue
            y0, y1 = int(max(0, top - height / 4)), int(min(image.shape[0], bottom + height / 4))
            x0, x1 = int(max(0, left - height / 2)), int(min(image.shape[1], right + height / 2))
            strips.append((f"{record['image']}#{number}", image[y0:y1, x0:x1].copy(), line["text"]))
    return strips


def rendered_strips() -> list[tuple[str, np.ndarray, str]]:
    strips = []
    for text in SENTENCES:
        for height in HEIGHTS:
            scale = cv2.getFontScaleFromHeight(cv2.FONT_HERSHEY_SIMPLEX, height, 2)
            (width, text_height), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
            margin_y, margin_x = max(2, text_height // 4), max(4, text_height // 2)
            canvas = np.full((text_height + baseline + 2 * margin_y, width + 2 * margin_x, 3), 255, np.uint8)
            cv2.putText(canvas, text, (margin_x, margin_y + text_height), cv2.FONT_HERSHEY_SIMPLEX, scale,
                        (0, 0, 0), 2, cv2.LINE_AA)  # fmt: skip
            strips.append((f"rendered h={height} '{text[:20]}…'", canvas, text))
    return strips


def measure(system: object, strips: list[tuple[str, np.ndarray, str]]) -> dict[str, float]:
    found = read = 0
    accuracy = []
    started = time.perf_counter()
    for _, strip, expected in strips:
        lines = system.run(strip).lines  # type: ignore[attr-defined]
        got = squash("".join(line.text for line in lines))
        want = squash(expected)
        found += bool(lines)
        read += got == want
        accuracy.append(max(0.0, 1 - edit_distance(got, want) / len(want)))
    return {
        "strips": len(strips),
        "found": found,
        "read": read,
        "char_accuracy": round(statistics.fmean(accuracy), 4),
        "seconds_per_strip": round((time.perf_counter() - started) / len(strips), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared")
    parser.add_argument("--aspects", default="2,4,8", help="pad_to_aspect values to try (default 2,4,8)")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args()

    import dataclasses

    import ptocr
    from ptocr.pipeline import OCRSystem

    ocr = ptocr.OCR(threads=2)
    sets = {"crops": crop_strips(args.folder), "rendered": rendered_strips()}
    for name, strips in sets.items():
        aspects = [s.shape[1] / s.shape[0] for _, s, _ in strips]
        print(f"{name}: {len(strips)} strips, aspect ratio median {statistics.median(aspects):.1f}, "
              f"range {min(aspects):.1f}–{max(aspects):.1f}")  # fmt: skip
    results: dict[str, dict[str, dict[str, float]]] = {}
    for aspect in [None, *(float(a) for a in args.aspects.split(","))]:
        det = dataclasses.replace(ocr.settings.det, pad_to_aspect=aspect)
        system = OCRSystem(
            det_net=ocr.system.det_net, cls_net=ocr.system.cls_net, rec_net=ocr.system.rec_net,
            decoder=ocr.system.decoder, settings=dataclasses.replace(ocr.settings, det=det), threads=2,
        )  # fmt: skip
        label = "off" if aspect is None else f"{aspect:g}"
        results[label] = {name: measure(system, strips) for name, strips in sets.items()}
        for name, numbers in results[label].items():
            print(f"pad_to_aspect={label:>4}  {name:<9} found {numbers['found']:>3}/{numbers['strips']}  "
                  f"read {numbers['read']:>3}/{numbers['strips']}  char accuracy {numbers['char_accuracy']:.3f}  "
                  f"{numbers['seconds_per_strip'] * 1000:.0f} ms/strip", flush=True)  # fmt: skip
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
