"""Older PP-OCR systems read the 93 shared images about as well as PP-OCRv4.

`OCR(version="PP-OCRv3")` and `OCR(version="PP-OCRv2")` pick PaddleOCR's Chinese models of that generation
(the ONNX exports PyPI wheels ship, through the model store, where PaddleOCR's servers cannot be reached).
Reported per system: the lines read, and the share of PaddleOCR's PP-OCRv4 lines (paddle_v4.jsonl) whose
text the older system reads identically. These are different networks, so identity is not expected; the
bounds guard against regressions (measured: v3 493 lines, 58.5 % identical; v2 478 lines, 46.5 %). The
same systems agree with RapidOCR running the same files as closely as ptocr's v4 system, which matches
PaddleOCR exactly, does (`benchmarks/agreement.py`).
"""

from __future__ import annotations

import json

import pytest

import ptocr

from .paths import shared_path
from .test_system_reference import Agreement, compare

# version → (models chosen, fewest lines, smallest share of v4 texts read identically)
EXPECTED = {
    "PP-OCRv3": (("ch_PP-OCRv3_det", "ch_PP-OCRv3_rec"), 480, 0.55),
    "PP-OCRv2": (("ch_PP-OCRv2_det", "ch_PP-OCRv2_rec"), 465, 0.43),
}


@pytest.mark.parametrize("version", list(EXPECTED))
def test_older_generation_reads_the_shared_images(version: str) -> None:
    models, fewest_lines, min_identical = EXPECTED[version]
    reference = shared_path("reference", "paddle_v4.jsonl")
    images = shared_path("images")
    rows = [json.loads(line) for line in reference.read_text(encoding="utf-8").splitlines() if line.strip()]
    ocr = ptocr.OCR(version=version)
    assert (ocr.models["det"], ocr.models["rec"]) == models
    tally = Agreement()
    read = 0
    for row in rows:
        lines = ocr(images / row["image"])
        read += len(lines)
        compare(row["image"], lines, row["results"], tally)
    identical = tally.same_text / tally.lines
    print(f"\n{version}: {read} lines read (PP-OCRv4: {tally.lines}); {tally.same_text} ({identical:.1%}) "
          f"of PP-OCRv4's texts read identically")  # fmt: skip
    assert read >= fewest_lines
    assert identical >= min_identical
