"""Edge cases of the pipeline pieces, on synthetic data (no shared/ files needed)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from ptocr.pipeline import (
    ClsSettings,
    CTCDecoder,
    DBPostProcessor,
    DetSettings,
    OCRResult,
    OCRSettings,
    OCRSystem,
    RecSettings,
    TextLine,
    build_rec_batch,
    det_resize_target,
    filter_det_boxes,
    order_points_clockwise,
    preprocess_det,
    reading_order,
    rec_batch_width,
    resize_norm_crop,
    rotate_crop,
    sort_boxes,
)
from ptocr.pipeline.db_postprocess import polygon_area_and_perimeter
from ptocr.pipeline.preprocess import DetShape

# --- detection preprocessing -------------------------------------------------------------------


def test_tiny_image_is_padded_to_at_least_32() -> None:
    det_input, shape = preprocess_det(np.full((5, 5, 3), 200, dtype=np.uint8), DetSettings())
    assert det_input.shape == (1, 3, 32, 32) and det_input.dtype == np.float32
    assert shape == DetShape(5, 5, 1.0, 1.0)
    # The padding is black (0 before normalisation), the image sits at the top-left.
    assert det_input[0, 0, 0, 0] != det_input[0, 0, 31, 31]
    assert det_input[0, 0, 31, 31] == pytest.approx((0 - 0.485) / 0.229, abs=1e-6)


@pytest.mark.parametrize(
    ("size", "limit_type", "expected"),
    [
        ((100, 200), "max", (96, 192)),
        ((48, 80), "max", (64, 64)),  # 1.5 and 2.5 multiples of 32 round half to even
        ((1048, 1680), "max", (608, 960)),
        ((3, 2000), "max", (32, 960)),  # never below 32
        ((161, 1920), "max", (64, 960)),  # 161 * 0.5 = 80.5 is truncated to 80 before rounding 2.5 to 2
        ((100, 200), "min", (960, 1920)),
        ((1000, 2000), "min", (992, 1984)),  # ratio 1; 2000 / 32 = 62.5 rounds to even 62
        ((100, 200), "resize_long", (480, 960)),
    ],
)
def test_det_resize_rule(size: tuple[int, int], limit_type: str, expected: tuple[int, int]) -> None:
    assert det_resize_target(*size, 960, limit_type) == expected


def test_det_normalisation_uses_bgr_order_and_float32() -> None:
    image = np.zeros((32, 32, 3), dtype=np.uint8)
    image[..., 0], image[..., 1], image[..., 2] = 10, 128, 255
    det_input, _ = preprocess_det(image, DetSettings())
    scale = np.float32(1 / 255)
    channels = zip((10, 128, 255), (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), strict=True)
    for channel, (value, mean, std) in enumerate(channels):
        want = (np.float32(value) * scale - np.float32(mean)) / np.float32(std)
        assert np.all(det_input[0, channel] == want)


# --- DB post-processing ------------------------------------------------------------------------


def _shape(height: int, width: int) -> DetShape:
    return DetShape(height, width, 1.0, 1.0)


def test_empty_probability_map_gives_no_boxes() -> None:
    boxes, scores = DBPostProcessor()(np.zeros((64, 64), dtype=np.float32), _shape(64, 64))
    assert boxes.shape == (0, 4, 2) and scores.shape == (0,)
    assert filter_det_boxes(boxes, 64, 64).shape == (0, 4, 2)
    assert sort_boxes(boxes).shape == (0, 4, 2)


def _block_map() -> np.ndarray:
    prob = np.zeros((64, 96), dtype=np.float32)
    prob[20:30, 10:60] = 0.9
    return prob


@pytest.mark.parametrize(
    ("settings", "score"),
    [
        (DetSettings(), 0.9),
        (DetSettings(score_mode="slow"), 0.9),
        (DetSettings(use_dilation=True), 0.9 * 10 * 50 / (11 * 51)),  # the grown box adds a zero rim
    ],
    ids=["fast", "slow", "dilation"],
)
def test_a_block_gives_one_grown_box(settings: DetSettings, score: float) -> None:
    boxes, scores = DBPostProcessor(settings)(_block_map()[None, None], _shape(64, 96))
    assert boxes.shape == (1, 4, 2) and boxes.dtype == np.float32
    assert scores[0] == pytest.approx(score, abs=1e-6)
    box = boxes[0]
    assert np.array_equal(box, np.round(box))  # integer pixels
    # Unclipping grows the 50x10 block by area * 1.5 / perimeter = 6.25 px on each side.
    assert box[:, 0].min() < 10 - 4 and box[:, 0].max() > 59 + 4
    assert box[:, 1].min() < 20 - 4 and box[:, 1].max() > 29 + 4


def test_boxes_are_scaled_back_to_the_source_image() -> None:
    boxes, _ = DBPostProcessor()(_block_map(), DetShape(128, 192, 0.5, 0.5))
    direct, _ = DBPostProcessor()(_block_map(), _shape(64, 96))
    assert np.abs(boxes - 2 * direct).max() <= 1


def test_low_scoring_and_thin_regions_are_dropped() -> None:
    prob = np.zeros((64, 64), dtype=np.float32)
    prob[10:20, 10:50] = 0.5  # above thresh 0.3 but below box_thresh 0.6
    prob[40:42, 10:50] = 0.9  # 2 px thin: short side < 3
    boxes, _ = DBPostProcessor()(prob, _shape(64, 64))
    assert len(boxes) == 0


def test_polygon_area_and_perimeter_match_shapely() -> None:
    geometry = pytest.importorskip("shapely.geometry")
    rng = np.random.default_rng(2)
    for _ in range(200):
        center = rng.uniform(0, 500, 2)
        rect = (tuple(center), tuple(rng.uniform(1, 200, 2)), float(rng.uniform(-90, 90)))
        corners = cv2.boxPoints(rect)
        polygon = geometry.Polygon(corners)
        assert polygon_area_and_perimeter(corners) == (polygon.area, polygon.length)


def test_order_points_clockwise_and_filter() -> None:
    box = np.array([[50, 40], [10, 12], [52, 10], [8, 38]], dtype=np.float32)
    ordered = order_points_clockwise(box)
    assert ordered.tolist() == [[10, 12], [52, 10], [50, 40], [8, 38]]
    out_of_image = np.array([[[-5.0, -3.0], [120.0, -3.0], [120.0, 30.5], [-5.0, 30.5]]], dtype=np.float32)
    assert filter_det_boxes(out_of_image, 30, 100).tolist() == [[[0, 0], [99, 0], [99, 29], [0, 29]]]
    thin = np.array([[[0, 0], [3, 0], [3, 20], [0, 20]]], dtype=np.float32)
    assert filter_det_boxes(thin, 30, 100).shape == (0, 4, 2)


def _box_at(x: float, y: float) -> np.ndarray:
    return np.array([[x, y], [x + 20, y], [x + 20, y + 10], [x, y + 10]], dtype=np.float32)


def test_reading_order_bubbles_same_line_boxes_left() -> None:
    # Sorted by y: a (y 0), b (y 5), c (y 8). All within 10 px of each other, so the insertion pass
    # moves c past b and then past a, down to position 0 (PaddleOCR 2.6+'s range(i, -1, -1)).
    a, b, c, below = _box_at(100, 0), _box_at(50, 5), _box_at(0, 8), _box_at(0, 40)
    boxes = np.stack([below, a, c, b])
    assert reading_order(boxes) == [2, 3, 1, 0]
    assert np.array_equal(sort_boxes(boxes), np.stack([c, b, a, below]))


def test_reading_order_keeps_distinct_lines() -> None:
    boxes = np.stack([_box_at(0, 30), _box_at(50, 0), _box_at(10, 12)])
    assert reading_order(boxes) == [1, 2, 0]


# --- crops --------------------------------------------------------------------------------------


def _gradient_image() -> np.ndarray:
    y, x = np.mgrid[0:80, 0:120]
    return np.stack([x * 2 % 256, y * 3 % 256, (x + y) % 256], axis=2).astype(np.uint8)


def test_axis_aligned_crop_is_the_exact_sub_image() -> None:
    image = _gradient_image()
    crop = rotate_crop(image, np.array([[10, 20], [50, 20], [50, 45], [10, 45]], dtype=np.float32))
    assert np.array_equal(crop, image[20:45, 10:50])


def test_tall_crop_is_rotated_a_quarter_counter_clockwise() -> None:
    image = _gradient_image()
    tall = rotate_crop(image, np.array([[10, 5], [30, 5], [30, 35], [10, 35]], dtype=np.float32))
    assert tall.shape == (20, 30, 3)  # h / w = 1.5 -> rotated
    assert np.array_equal(tall, np.rot90(image[5:35, 10:30]))
    assert tall.flags["C_CONTIGUOUS"]
    not_tall = rotate_crop(image, np.array([[10, 5], [30, 5], [30, 34], [10, 34]], dtype=np.float32))
    assert not_tall.shape == (29, 20, 3)  # h / w = 1.45 -> kept


def test_degenerate_box_is_refused() -> None:
    with pytest.raises(ValueError, match="degenerate"):
        rotate_crop(_gradient_image(), np.zeros((4, 2), dtype=np.float32))


# --- cls / rec inputs ---------------------------------------------------------------------------


def test_resize_norm_crop_keeps_ratio_and_pads_with_zeros() -> None:
    crop = np.full((10, 25, 3), 255, dtype=np.uint8)
    out = resize_norm_crop(crop, 48, 192)
    assert out.shape == (3, 48, 192) and out.dtype == np.float32
    assert np.all(out[:, :, :120] == 1.0) and np.all(out[:, :, 120:] == 0.0)  # ceil(48 * 2.5) = 120
    wide = resize_norm_crop(np.zeros((10, 100, 3), dtype=np.uint8), 48, 192)
    assert np.all(wide == -1.0)  # capped at the full width


def test_rec_batch_width_grows_with_the_widest_crop() -> None:
    narrow = np.zeros((48, 100, 3), dtype=np.uint8)
    wide = np.zeros((10, 100, 3), dtype=np.uint8)
    assert rec_batch_width([narrow], RecSettings()) == 320
    assert rec_batch_width([narrow, wide], RecSettings()) == 480
    assert build_rec_batch([narrow, wide], RecSettings()).shape == (2, 3, 48, 480)


# --- CTC ----------------------------------------------------------------------------------------


def _one_hot_steps(indices: list[int], classes: int, prob: float = 0.9) -> np.ndarray:
    steps = np.full((len(indices), classes), (1 - prob) / (classes - 1), dtype=np.float32)
    steps[np.arange(len(indices)), indices] = prob
    return steps


def test_ctc_collapses_repeats_and_drops_blanks() -> None:
    decoder = CTCDecoder(["a", "b", "c"])
    steps = _one_hot_steps([1, 1, 0, 1, 2, 2, 0, 0, 3], decoder.num_classes)
    steps[0, 1], steps[3, 1], steps[4, 2], steps[8, 3] = 0.7, 0.8, 0.95, 0.6
    empty = _one_hot_steps([0, 0, 0, 0, 0, 0, 0, 0, 0], decoder.num_classes)
    (text, score), (empty_text, empty_score) = decoder.decode(np.stack([steps, empty]))
    assert text == "aabc"
    assert score == float(np.mean(np.array([0.7, 0.8, 0.95, 0.6], dtype=np.float32)))
    assert (empty_text, empty_score) == ("", 0.0)


def test_ctc_rejects_a_class_count_mismatch() -> None:
    with pytest.raises(ValueError, match="classes"):
        CTCDecoder(["a", "b"]).decode(np.zeros((1, 4, 5), dtype=np.float32))


def test_dictionary_file_layout(tmp_path: Path) -> None:
    path = tmp_path / "dict.txt"
    path.write_bytes("a\r\n \nб\n字".encode())
    decoder = CTCDecoder.from_dictionary_file(path)
    assert decoder.characters == ("a", " ", "б", "字", " ")
    assert decoder.num_classes == 6 and not decoder.reverse
    assert CTCDecoder.from_dictionary_file(path, use_space_char=False).num_classes == 5


def test_arabic_dictionaries_reverse_the_text(tmp_path: Path) -> None:
    path = tmp_path / "arabic_dict.txt"
    path.write_text("\n".join(["ا", "ب", "1", "2"]), encoding="utf-8")
    decoder = CTCDecoder.from_dictionary_file(path)
    assert decoder.reverse
    steps = _one_hot_steps([1, 2, 3, 4], decoder.num_classes)
    assert decoder.decode(steps[None])[0][0] == "12با"


# --- settings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("factory", "fragment"),
    [
        (lambda: DetSettings(limit_type="middle"), "limit_type"),
        (lambda: DetSettings(limit_side_len=0), "limit_side_len"),
        (lambda: DetSettings(thresh=1.5), "thresh"),
        (lambda: DetSettings(unclip_ratio=0), "unclip_ratio"),
        (lambda: DetSettings(score_mode="medium"), "score_mode"),
        (lambda: DetSettings(std=(0.2, 0.0, 0.2)), "std"),
        (lambda: DetSettings(use_dilation=1), "use_dilation"),
        (lambda: ClsSettings(batch_size=0), "batch_size"),
        (lambda: ClsSettings(batch_size=True), "batch_size"),
        (lambda: ClsSettings(labels="0180"), "labels"),
        (lambda: ClsSettings(labels=("0", "0")), "unique"),
        (lambda: RecSettings(image_shape=(1, 48, 320)), "3 channels"),
        (lambda: RecSettings(image_shape=(3, 48)), "image_shape"),
        (lambda: OCRSettings(drop_score=-0.1), "drop_score"),
        (lambda: OCRSettings(det=RecSettings()), "det"),
    ],
)
def test_invalid_settings_raise(factory: object, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        factory()  # type: ignore[operator]


def test_settings_defaults_are_frozen_and_normalised() -> None:
    settings = OCRSettings()
    assert (settings.det.limit_side_len, settings.det.box_thresh, settings.drop_score) == (960, 0.6, 0.5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.drop_score = 0.1  # type: ignore[misc]
    assert RecSettings(image_shape=[3, 32, 320]).image_shape == (3, 32, 320)  # type: ignore[arg-type]
    assert hash(DetSettings(mean=[0.5, 0.5, 0.5])) == hash(DetSettings(mean=(0.5, 0.5, 0.5)))  # type: ignore[arg-type]


# --- results ------------------------------------------------------------------------------------


def test_text_line_and_result_serialise_to_plain_json() -> None:
    box = np.array([[1, 2], [3, 2], [3, 4], [1, 4]], dtype=np.float32)
    line = TextLine(box=box, text="文字", score=np.float32(0.75))  # type: ignore[arg-type]
    data = line.to_dict()
    assert data == {"box": [[1.0, 2.0], [3.0, 2.0], [3.0, 4.0], [1.0, 4.0]], "text": "文字", "score": 0.75}
    assert all(type(v) is float for point in data["box"] for v in point) and type(data["score"]) is float
    assert TextLine.from_dict(data) == line
    result = OCRResult(lines=(line,), image_height=10, image_width=20)
    assert json.loads(result.to_json()) == {"image_size": [10, 20], "results": [data]}
    assert "文字" in result.to_json() and result.text == "文字" and len(result) == 1
    with pytest.raises(ValueError, match="4"):
        TextLine(box=box[:3], text="x", score=1.0)  # type: ignore[arg-type]


# --- OCRSystem ----------------------------------------------------------------------------------


class _BlockDetector(torch.nn.Module):
    """Answers every image with a map holding one block where the text is said to be."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        prob = torch.zeros((x.shape[0], 1, x.shape[2], x.shape[3]))
        prob[:, :, 20:30, 10:60] = 0.9
        return prob


def _constant_net(rows: list[list[float]]) -> object:
    def net(x: torch.Tensor) -> torch.Tensor:
        return torch.tensor(rows[: x.shape[0]], dtype=torch.float32)

    return net


def test_ocr_system_flow_on_a_synthetic_image() -> None:
    decoder = CTCDecoder(["a", "b"])
    seen_rec_inputs: list[torch.Tensor] = []

    def rec(x: torch.Tensor) -> torch.Tensor:
        seen_rec_inputs.append(x.clone())
        steps = _one_hot_steps([1, 1, 0, 2], decoder.num_classes, prob=0.8)
        return torch.from_numpy(np.repeat(steps[None], x.shape[0], axis=0))

    detector = _BlockDetector().train()
    image = _gradient_image()[:64, :96]
    system = OCRSystem(detector, _constant_net([[0.05, 0.95]]), rec, decoder, collect_timings=True)
    assert not detector.training  # put in eval mode
    result = system.run(image)
    assert [line.text for line in result] == ["ab"]
    assert result[0].score == pytest.approx(0.8, abs=1e-6)
    assert {"det_net", "det_post", "cls_net", "rec_net", "decode", "total"} <= set(result.timings)
    # The classifier said "180" with 0.95 > 0.9: the recogniser must have seen the flipped crop.
    crop = rotate_crop(image, np.array(result[0].box, dtype=np.float32))
    flipped = build_rec_batch([cv2.rotate(crop, cv2.ROTATE_180)], RecSettings())
    assert torch.equal(seen_rec_inputs[0], torch.from_numpy(flipped))
    assert system(image) == list(result.lines)


def test_ocr_system_drops_low_scores_and_skips_empty_images() -> None:
    decoder = CTCDecoder(["a"])

    def low(x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(np.repeat(_one_hot_steps([1], 2, prob=0.49)[None], x.shape[0], axis=0))

    settings = OCRSettings(use_angle_cls=False)
    assert OCRSystem(_BlockDetector(), None, low, decoder, settings).run(_gradient_image()).lines == ()

    def never(_: torch.Tensor) -> torch.Tensor:
        raise AssertionError("no crops, so no cls / rec call")

    def empty_map(x: torch.Tensor) -> torch.Tensor:
        return torch.zeros((1, 1, x.shape[2], x.shape[3]))

    assert OCRSystem(empty_map, never, never, decoder).run(_gradient_image()).lines == ()


def test_ocr_system_checks_its_arguments_and_network_outputs() -> None:
    decoder = CTCDecoder(["a"])
    with pytest.raises(ValueError, match="cls_net"):
        OCRSystem(_BlockDetector(), None, _constant_net([[1.0]]), decoder)

    def wrong_size(x: torch.Tensor) -> torch.Tensor:
        return torch.zeros((1, 1, 8, 8))

    with pytest.raises(ValueError, match="detector"):
        OCRSystem(wrong_size, None, wrong_size, decoder, OCRSettings(use_angle_cls=False)).detect(_gradient_image())
    system = OCRSystem(_BlockDetector(), _constant_net([[0.5, 0.3, 0.2]]), _BlockDetector(), decoder)
    with pytest.raises(ValueError, match="classifier"):
        system.classify([np.zeros((10, 30, 3), dtype=np.uint8)])
