"""Word and character boxes: the inverse crop transform on synthetic crops, and word boxes on real images."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import ptocr
from ptocr.pipeline.crop import crop_shape, crop_to_image, reading_corners, rotate_crop
from ptocr.pipeline.ctc import CharSteps, CTCDecoder
from ptocr.pipeline.words import group_words, line_words

from .paths import shared_path


def _gradient_image() -> np.ndarray:
    """Each pixel's colour encodes its position, so sampling a point tells where it came from."""
    ys, xs = np.mgrid[0:240, 0:320]
    return np.stack([xs * 255 // 319, ys * 255 // 239, (xs + ys) % 256], axis=2).astype(np.uint8)


@pytest.mark.parametrize(
    "box",
    [
        [[40, 60], [260, 80], [255, 130], [35, 110]],  # slanted, wide
        [[150, 20], [190, 24], [186, 220], [146, 216]],  # tall: turned a quarter before recognition
    ],
)
@pytest.mark.parametrize("turned", [False, True])
def test_crop_points_map_back_to_where_they_were_sampled(box: list[list[int]], turned: bool) -> None:
    image = _gradient_image()
    quad = np.array(box, dtype=np.float32)
    crop = rotate_crop(image, quad)
    if turned:
        crop = cv2.rotate(crop, cv2.ROTATE_180)
    assert crop.shape[:2] == crop_shape(quad)
    height, width = crop.shape[:2]
    rng = np.random.default_rng(0)
    points = np.stack([rng.uniform(2, width - 3, 50), rng.uniform(2, height - 3, 50)], axis=1)
    back = crop_to_image(points + 0.5, quad, turned)  # a pixel's centre
    for (x, y), (ix, iy) in zip(points.astype(int), back, strict=True):
        # The crop's pixel shows the image at the mapped point (the gradient is ~0.8 levels per pixel).
        expected = image[round(iy - 0.5), round(ix - 0.5)].astype(int)
        assert np.abs(crop[y, x].astype(int)[:2] - expected[:2]).max() <= 3
    corners = reading_corners(quad, turned)
    assert {tuple(point) for point in np.round(corners, 3)} == {tuple(point) for point in quad.astype(float)}


def test_group_words_splits_spaces_and_cjk_characters() -> None:
    assert group_words(list("ab cd")) == [[0, 1], [3, 4]]
    assert group_words(list("Hi中文 x")) == [[0, 1], [2], [3], [5]]
    assert group_words(list("  ")) == []


def test_word_boxes_follow_the_steps_through_a_turned_crop() -> None:
    box = np.array([[0, 0], [200, 0], [200, 20], [0, 20]], dtype=np.float32)  # crop 20×200 → input 48×480
    steps = CharSteps(
        characters=tuple("ab cd"), first_steps=(5, 10, 30, 50, 55), last_steps=(5, 11, 30, 50, 55),
        probabilities=(0.9, 0.8, 0.7, 0.6, 0.5), steps=60,
    )  # fmt: skip
    upright = line_words(steps, box, batch_width=480, target_height=48)
    assert [word.text for word in upright] == ["ab", "cd"]
    assert upright[0].score == pytest.approx(0.85) and upright[1].score == pytest.approx(0.55)
    left, right = upright[0].box[0][0], upright[0].box[1][0]
    assert left < 5 * 8 / 2.4 + 1e-6 and right > 12 * 8 / 2.4 - 1e-6  # covers its steps' columns (÷2.4 to the crop)
    assert upright[0].box[1][0] <= upright[1].box[0][0]  # words do not overlap
    turned = line_words(steps, box, batch_width=480, target_height=48, turned=True)
    # Read upside down, the first word is at the right of the image and its corners start at the bottom-right.
    assert turned[0].box[0][0] == pytest.approx(200 - upright[0].box[0][0])
    assert turned[0].box[0][1] == pytest.approx(20.0)


def test_right_to_left_words_are_reversed_alike() -> None:
    decoder = CTCDecoder(["\u0633", "\u0644", " "], reverse=True)  # seen, lam, space
    probs = np.zeros((1, 6, 4), dtype=np.float32)
    for step, index in enumerate([1, 2, 0, 3, 2, 0]):  # left to right in the crop: seen lam, space, lam
        probs[0, step, index] = 1.0
    ((text, _, steps),) = decoder.decode_with_steps(probs)
    box = np.array([[0, 0], [100, 0], [100, 10], [0, 10]], dtype=np.float32)
    words = line_words(steps, box, batch_width=60, target_height=10, reverse=True)
    assert text == "\u0644 \u0644\u0633"
    assert " ".join(word.text for word in words) == text  # words in reading order, each reversed like the line
    assert words[0].box[0][0] > words[1].box[0][0]  # read first, found right


@pytest.fixture(scope="module")
def ocr() -> ptocr.OCR:
    return ptocr.OCR()


def _inside(point: tuple[float, float], quad: np.ndarray, tolerance: float = 1.0) -> bool:
    return cv2.pointPolygonTest(quad.astype(np.float32), (float(point[0]), float(point[1])), True) >= -tolerance


@pytest.mark.parametrize("name", ["ger_1.jpg", "00018069.jpg"])
def test_word_boxes_on_real_images(ocr: ptocr.OCR, name: str) -> None:
    path = shared_path("images", "imgs", name)
    plain = ocr.run(str(path))
    with_words = ocr.run(str(path), words=True)
    assert [(line.text, line.score, line.box) for line in with_words] == [
        (line.text, line.score, line.box) for line in plain
    ]  # words change nothing else
    assert all(line.words is None for line in plain)
    spaced = cjk = 0
    for line in with_words:
        assert line.words, line.text
        quad = np.asarray(line.box)
        for word in line.words:
            assert all(_inside(point, quad) for point in word.box), (line.text, word.text, word.box, line.box)
            assert 0.0 <= word.score <= 1.0
        assert "".join(word.text for word in line.words) == line.text.replace(" ", "")
        spaced += " " in line.text
        cjk += any("\u4e00" <= char <= "\u9fff" for char in line.text)
        if any("\u4e00" <= char <= "\u9fff" for char in line.text):
            assert all(len(word.text) == 1 for word in line.words if "\u4e00" <= word.text[0] <= "\u9fff")
    assert spaced or cjk  # each image exercises one of the two ways of splitting
    # Words keep reading order: left to right along upright lines.
    for line in with_words:
        if line.angle == "0" and len(line.words) > 1:
            lefts = [word.box[0][0] for word in line.words]
            assert lefts == sorted(lefts), line.text


def test_run_many_gives_the_same_words(ocr: ptocr.OCR) -> None:
    paths = [str(shared_path("images", "imgs", name)) for name in ("ger_1.jpg", "japan_1.jpg")]
    many = list(ocr.run_many(paths, chunk_size=2, words=True))
    for path, result in zip(paths, many, strict=True):
        single = ocr.run(path, words=True)
        assert [line.words for line in result] == [line.words for line in single]
        assert [line.angle for line in result] == [line.angle for line in single]
