"""`OCR.run_many`: networks batched across images, with each image's result that of `OCR.run` on it alone.

What makes that hold, and what each case below exercises: detection batches only images whose detector
inputs have one size (two copies of one photo); classification inputs have a fixed width (crops of several
images share calls); each crop is recognised at the width of the batch PaddleOCR would give it on its own
image (an image with many lines, whose batches differ in width); an image without text yields an empty
result in its place; chunks do not have to divide the input.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import ptocr
from ptocr.pipeline import OCRResult
from ptocr.pipeline import system as system_module

from .paths import shared_path


@pytest.fixture(scope="module")
def ocr() -> ptocr.OCR:
    return ptocr.OCR(threads=2, collect_timings=True)


def _images() -> list[np.ndarray]:
    folder = shared_path("images", "imgs")
    names = ["11.jpg", "00009282.jpg", "11.jpg", "12.jpg"]
    images = [cv2.imread(str(folder / name)) for name in names]
    assert all(image is not None for image in images)
    blank = np.full((200, 300, 3), 255, np.uint8)
    return [*images[:3], blank, *images[3:]]


def _assert_same(single: OCRResult, batched: OCRResult) -> None:
    assert batched.texts == single.texts
    assert (batched.image_height, batched.image_width) == (single.image_height, single.image_width)
    for one, many in zip(single.lines, batched.lines, strict=True):
        assert np.abs(np.asarray(one.box) - np.asarray(many.box)).max() <= 1.0
        # Larger batches may change float32 summation order inside the networks; nothing else differs.
        assert abs(one.score - many.score) <= 1e-4


def test_run_many_gives_each_image_its_own_result(ocr: ptocr.OCR) -> None:
    images = _images()
    singles = [ocr.run(image) for image in images]
    batched = list(ocr.run_many(images, chunk_size=3))
    assert len(batched) == len(images)
    assert len(singles[3]) == 0 and len(batched[3]) == 0  # the blank page
    assert sum(len(result) for result in singles) > 40
    for single, many in zip(singles, batched, strict=True):
        _assert_same(single, many)


def test_fixed_size_batches_change_nothing(ocr: ptocr.OCR) -> None:
    """On a GPU, short batches are padded with zero rows to fixed sizes; forced here on the CPU."""
    images = _images()[:2]
    expected = [ocr.run(image) for image in images]
    ocr.system.fixed_batches = True
    try:
        padded = [ocr.run(images[0]), *ocr.run_many(images, chunk_size=2)]
    finally:
        ocr.system.fixed_batches = False
    for single, other in zip([expected[0], *expected], padded, strict=True):
        _assert_same(single, other)


def test_run_many_timings_share_the_chunk(ocr: ptocr.OCR) -> None:
    images = _images()[3:]
    results = list(ocr.run_many(images, chunk_size=2))
    for result in results:
        assert {"load", "det_pre", "det_net", "det_post", "crop", "cls_net", "rec_net", "decode"} <= set(result.timings)
    assert results[0].timings == results[1].timings
    single = ocr.run(images[1]).timings
    assert single["total"] >= single["det_net"] + single["rec_net"] > 0


def test_a_chunk_ends_at_its_pixel_budget(ocr: ptocr.OCR, monkeypatch: pytest.MonkeyPatch) -> None:
    images = _images()  # 500×500, 350×350, 500×500, 300×200, 1150×720
    chunks: list[list[int]] = []
    run_chunk = ocr.system._run_chunk

    def spy(pages: list[np.ndarray], started: float, words: bool = False) -> list[OCRResult]:
        chunks.append([page.shape[0] * page.shape[1] for page in pages])
        return run_chunk(pages, started, words)

    monkeypatch.setattr(ocr.system, "_run_chunk", spy)
    monkeypatch.setattr(system_module, "_MANY_MAX_PIXELS", 400_000)
    results = list(ocr.run_many(images, chunk_size=4))
    # A chunk takes images until it holds the budget: the image that reaches it is the chunk's last.
    assert chunks == [[250_000, 122_500, 250_000], [60_000, 828_000]]
    assert [result.texts for result in results] == [ocr.run(image).texts for image in images]


def test_run_many_checks_its_arguments(ocr: ptocr.OCR) -> None:
    with pytest.raises(ValueError, match="chunk_size must be a positive int"):
        ocr.run_many([np.zeros((40, 40, 3), np.uint8)], chunk_size=0)  # at the call, before any image
    assert list(ocr.run_many([])) == []


def test_no_tensorfloat32_while_the_networks_run_on_cuda() -> None:
    """cuDNN's default TF32 convolutions moved scores by up to 0.09 on an H100: exact mode turns them off, for
    the networks' calls only (the flags are process-wide; this checks them without needing a GPU)."""
    import torch

    from ptocr.pipeline.system import _full_float32

    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    before = (cudnn.allow_tf32, matmul.allow_tf32, cudnn.benchmark)
    cudnn.benchmark = True
    try:
        with _full_float32(torch.device("cuda")):
            assert (cudnn.allow_tf32, matmul.allow_tf32, cudnn.benchmark) == (False, False, True)
        with _full_float32(torch.device("cpu")):
            assert cudnn.allow_tf32 == before[0]
        assert (cudnn.allow_tf32, matmul.allow_tf32) == before[:2]
    finally:
        cudnn.benchmark = before[2]
