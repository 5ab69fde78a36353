"""The stages on their own (`OCR.detect`, `crop`, `classify`/`upright`, `recognize`) give what `OCR.run` gives."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import ptocr

from .paths import shared_path


@pytest.fixture(scope="module")
def ocr() -> ptocr.OCR:
    return ptocr.OCR(threads=1)


def test_stages_compose_to_run(ocr: ptocr.OCR) -> None:
    path = shared_path("images", "imgs_en", "img623.jpg")
    result = ocr.run(path)
    boxes = ocr.detect(path)
    assert boxes.dtype == np.float32 and boxes.ndim == 3 and boxes.shape[1:] == (4, 2)
    crops = ocr.crop(path, boxes)
    assert len(crops) == len(boxes)
    rotated, decisions = ocr.upright(crops)
    assert ocr.classify(crops) == decisions
    assert all(label in ("0", "180") and 0.0 <= score <= 1.0 for label, score in decisions)
    recognized = ocr.recognize(rotated)
    kept = [(box, text, score) for box, (text, score) in zip(boxes, recognized, strict=True) if score >= 0.5]
    assert [text for _, text, _ in kept] == result.texts and len(kept) > 3
    for (box, _, score), line in zip(kept, result.lines, strict=True):
        assert np.array_equal(box, np.asarray(line.box, dtype=np.float32))
        assert score == line.score


def test_single_crops_paths_and_lists(ocr: ptocr.OCR, tmp_path) -> None:
    word = shared_path("images", "imgs_words_en", "word_10.png")
    image = cv2.imread(str(word))
    from_path = ocr.recognize(word)
    assert len(from_path) == 1 and from_path[0][0]
    assert ocr.recognize(image) == from_path
    pair = ocr.recognize([image, str(word)])  # one call of two rows: the same up to float rounding
    assert [text for text, _ in pair] == [from_path[0][0]] * 2
    assert [score for _, score in pair] == pytest.approx([from_path[0][1]] * 2, abs=1e-5)
    assert ocr.classify(image) == ocr.classify([word])
    assert ocr.recognize([]) == []


def test_classify_needs_the_classifier() -> None:
    ocr = ptocr.OCR(use_angle_cls=False, threads=1)
    with pytest.raises(ValueError, match="without the angle classifier"):
        ocr.classify(np.zeros((32, 100, 3), np.uint8))
