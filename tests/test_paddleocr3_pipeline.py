"""PaddleOCR 3.x's pipeline rules (PaddleX's OCR pipeline, `settings.PADDLEOCR_3`), each on synthetic data.

Every expected value here is worked out from PaddleX 3.7's code by hand (or with the small formula it states), and
each test also shows that PaddleOCR 2.x's rule gives something else, so a rule that silently falls back fails.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pyclipper
import pytest
import torch

from ptocr.pipeline import CTCDecoder, DetSettings, OCRSettings, OCRSystem, RecSettings
from ptocr.pipeline.crop import can_crop, crop_quad, rotate_crop, turn_180
from ptocr.pipeline.db_postprocess import _to_source_pixels, _to_source_pixels_by_factor, unclip
from ptocr.pipeline.preprocess import (
    DetShape,
    aspect_ratio_order,
    build_cls_batch,
    build_rec_batch,
    det_resize_target,
    normalize_for_det,
    rec_batch_width,
    rec_crop_width,
)
from ptocr.pipeline.settings import (
    DB_DEFAULTS,
    PADDLEOCR_3,
    PADDLEOCR_3_0,
    TEXTLINE_CLS,
    ClsSettings,
    generation_settings,
)

V3 = PADDLEOCR_3

# --- the preset -------------------------------------------------------------------------------------------------


def test_preset_holds_paddleocr_3_values() -> None:
    det, cls, rec = V3.det, V3.cls, V3.rec
    assert (det.limit_side_len, det.limit_type, det.max_side_limit) == (64, "min", 4000)
    assert (det.thresh, det.box_thresh, det.unclip_ratio, det.max_candidates) == (0.3, 0.6, 1.5, 1000)
    assert (det.use_dilation, det.score_mode, det.filter_boxes) == (False, "fast", False)
    assert (cls.image_shape, cls.resize, cls.channel_order, cls.decision, cls.turn) == (
        (3, 80, 160), "stretch", "RGB", "argmax", "affine",
    )  # fmt: skip
    assert (cls.mean, cls.std) == ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    assert (rec.image_shape, rec.crop_width, rec.max_width, rec.ratio_sort) == ((3, 48, 320), "own", 3200, "stable")
    assert (V3.drop_score, V3.use_angle_cls, V3.crop) == (0.0, True, "min_area_rect")
    assert PADDLEOCR_3_0.det.limit_side_len == 736
    assert dataclasses.replace(PADDLEOCR_3_0.det, limit_side_len=64) == V3.det


def test_generation_settings_per_detector() -> None:
    assert generation_settings("PP-OCRv4") == OCRSettings()
    assert generation_settings("PP-OCRv5").det.max_candidates == 1000
    for name in ("PP-OCRv6_tiny_det", "PP-OCRv6_small_det", "PP-OCRv6_medium_det"):
        det = generation_settings("PP-OCRv6", det_model=name).det
        # PaddleOCR 3.x passes its pipeline's thresholds to every detector; candidates come from inference.yml.
        assert (det.thresh, det.box_thresh, det.unclip_ratio, det.max_candidates) == (0.3, 0.6, 1.5, 3000)
    assert generation_settings("PP-OCRv6").det.max_candidates == 3000
    tiny = generation_settings("PP-OCRv6", "PP-OCRv6_tiny_det", det_postprocess="model").det
    small = generation_settings("PP-OCRv6", "PP-OCRv6_small_det", det_postprocess="model").det
    assert (tiny.thresh, tiny.box_thresh, tiny.unclip_ratio) == (0.2, 0.4, 1.4)
    assert (small.thresh, small.box_thresh, small.unclip_ratio) == (0.2, 0.45, 1.4)
    v5 = generation_settings("PP-OCRv5", "PP-OCRv5_server_det", det_postprocess="model").det
    assert (v5.thresh, v5.box_thresh, v5.unclip_ratio, v5.max_candidates) == (0.3, 0.6, 1.5, 1000)
    assert set(DB_DEFAULTS) == {"PP-OCRv5_mobile_det", "PP-OCRv5_server_det", "PP-OCRv6_tiny_det",
                                "PP-OCRv6_small_det", "PP-OCRv6_medium_det"}  # fmt: skip
    with pytest.raises(ValueError, match="det_postprocess"):
        generation_settings("PP-OCRv6", det_postprocess="yml")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: DetSettings(max_side_limit=16), "max_side_limit"),
        (lambda: DetSettings(normalization="paddlex"), "normalization"),
        (lambda: DetSettings(box_scaling="scaled"), "box_scaling"),
        (lambda: DetSettings(unclip_measure="geos"), "unclip_measure"),
        (lambda: DetSettings(filter_boxes=0), "filter_boxes"),
        (lambda: ClsSettings(resize="crop"), "resize"),
        (lambda: ClsSettings(channel_order="GBR"), "channel_order"),
        (lambda: ClsSettings(std=(0.2, 0.0, 0.2)), "std"),
        (lambda: ClsSettings(decision="vote"), "decision"),
        (lambda: ClsSettings(turn="flip"), "turn"),
        (lambda: RecSettings(crop_width="auto"), "crop_width"),
        (lambda: RecSettings(max_width=100), "max_width"),
        (lambda: RecSettings(ratio_sort="quick"), "ratio_sort"),
        (lambda: OCRSettings(crop="poly"), "crop"),
    ],
)
def test_new_settings_are_validated(build: object, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        build()  # type: ignore[operator]


# --- detection ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "limit", "cap", "expected"),
    [
        ((3000, 6000), 64, 4000, (1984, 4000)),  # capped: 2000 × 4000, then 62.5 rounds to even 62
        ((3000, 6000), 64, None, (3008, 6016)),  # 2.x: no cap
        ((40, 100), 64, 4000, (64, 160)),  # short side raised to 64
        ((600, 800), 736, 4000, (736, 992)),  # PaddleOCR 3.0.0: int(800 × 736 / 600) = 981 → 992
        ((700, 9000), 736, 4000, (320, 4000)),  # 736 × 9462: both scaled by 4000 / 9462 and truncated, 311 → 320
    ],
)
def test_det_resize_caps_the_long_side(
    size: tuple[int, int], limit: int, cap: int | None, expected: tuple[int, int]
) -> None:
    assert det_resize_target(*size, limit, "min", "round", cap) == expected


def test_det_normalization_scale_shift_is_paddlex_float32_arithmetic() -> None:
    image = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, axis=2)
    got = normalize_for_det(image, V3.det)[0]
    mean, std = V3.det.mean, V3.det.std
    for channel in range(3):
        values = image[:, :, channel].astype(np.float32)
        values *= (1.0 / 255.0) / std[channel]  # PaddleX's NormalizeImage: in place, a float64 factor
        values += -mean[channel] / std[channel]
        assert np.array_equal(got[channel], values)
    two_x = normalize_for_det(image, DetSettings())[0]
    assert not np.array_equal(two_x, got) and np.abs(two_x - got).max() < 1e-5  # last-bit differences only


def test_box_scaling_by_factor_rounds_the_float64_product() -> None:
    # A 96-column map of a 300-pixel row: corner 4 maps to exactly 12.5 in float64 (PaddleX: half to even, 12),
    # while 2.x's float32 4 / 96 is a little above 1/24 and its product rounds up to 13.
    corners = np.array([[4, 10], [50, 10], [50, 20], [4, 20]], dtype=np.float32)
    shape = DetShape(src_height=96, src_width=300, ratio_h=1.0, ratio_w=96 / 300)
    assert _to_source_pixels_by_factor(corners, 96, 96, shape)[0].tolist() == [12, 10]
    assert _to_source_pixels(corners, 96, 96, shape)[0].tolist() == [13, 10]
    # Clipped to [0, side], not to the last pixel.
    far = np.array([[95, 0], [97, 0], [97, 96], [95, 96]], dtype=np.float32)
    assert _to_source_pixels_by_factor(far, 96, 96, shape)[:, 0].max() == 300


def test_unclip_measure_opencv_uses_contour_area_and_arc_length() -> None:
    corners = np.array([[10.5, 3.25], [60.75, 4.0], [60.0, 17.5], [10.0, 16.75]], dtype=np.float32)
    distance = cv2.contourArea(corners) * 1.5 / cv2.arcLength(corners, True)
    offset = pyclipper.PyclipperOffset()
    offset.AddPath(corners, pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    expected = np.array(offset.Execute(distance)[0])
    assert np.array_equal(unclip(corners, 1.5, "opencv"), expected)
    with pytest.raises(ValueError, match="unclip measure"):
        unclip(corners, 1.5, "geos")


class _Blocks:
    """A detector whose map holds the given blocks (rows, columns in map pixels)."""

    def __init__(self, *blocks: tuple[slice, slice]) -> None:
        self.blocks = blocks

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        prob = torch.zeros((x.shape[0], 1, x.shape[2], x.shape[3]))
        for rows, cols in self.blocks:
            prob[:, :, rows, cols] = 0.9
        return prob


def _never(_: torch.Tensor) -> torch.Tensor:
    raise AssertionError("not called")


def _detect(settings: OCRSettings, detector: _Blocks, image: np.ndarray) -> np.ndarray:
    no_cls = dataclasses.replace(settings, use_angle_cls=False)
    return OCRSystem(detector, None, _never, CTCDecoder(["a"]), no_cls).detect(image)


def test_paddleocr_3_keeps_boxes_2x_filters_out() -> None:
    # A 20 × 40 image is raised to a 64 × 128 map (ratio 3.2): a 4-pixel block there is under 3 image pixels tall
    # after unclipping, which 2.x's filter_tag_det_res drops and PaddleX keeps.
    image = np.full((20, 40, 3), 255, dtype=np.uint8)
    small = _Blocks((slice(30, 34), slice(20, 80)))
    kept = _detect(V3, small, image)
    assert len(kept) == 1 and kept[0, :, 1].max() - kept[0, :, 1].min() <= 3
    two_x = dataclasses.replace(V3, det=dataclasses.replace(V3.det, filter_boxes=True))
    assert len(_detect(two_x, small, image)) == 0


def test_paddleocr_3_boxes_reach_the_image_edge() -> None:
    image = np.full((96, 192, 3), 255, dtype=np.uint8)  # map = image: ratio 1
    edge = _Blocks((slice(20, 40), slice(150, 192)))
    box = _detect(V3, edge, image)[0]
    assert box[:, 0].max() == 192  # DB's clip to [0, width]
    two_x = dataclasses.replace(V3, det=dataclasses.replace(V3.det, filter_boxes=True))
    assert _detect(two_x, edge, image)[0][:, 0].max() == 191  # 2.x: to the last column


# --- crops --------------------------------------------------------------------------------------------------------


def test_min_area_rect_crop_warps_the_rectangle_of_the_integer_corners() -> None:
    trapezoid = np.array([[0.6, 0.9], [100.4, 0.2], [90.0, 20.7], [10.0, 20.7]], dtype=np.float32)
    rect = crop_quad(trapezoid, "min_area_rect")
    # The int32 corners' minimum-area rectangle: here their bounding rectangle (cv2.boxPoints leaves ~1e-15).
    assert np.allclose(rect, [[0, 0], [100, 0], [100, 20], [0, 20]], atol=1e-4)
    image = np.random.default_rng(0).integers(0, 256, (40, 120, 3), dtype=np.uint8)
    assert rotate_crop(image, rect).shape == (20, 100, 3)
    assert rotate_crop(image, crop_quad(trapezoid, "quad")).shape == (22, 99, 3)  # 2.x: the quad's own edges
    assert not can_crop(crop_quad(np.array([[5, 5], [60, 5], [60, 5], [5, 5]], np.float32), "min_area_rect"))


@pytest.mark.parametrize(("height", "width"), [(5, 7), (48, 300), (31, 123), (80, 1), (1, 9)])
def test_affine_turn_is_paddlex_rotate_image(height: int, width: int) -> None:
    crop = np.random.default_rng(height * width).integers(0, 256, (height, width, 3), dtype=np.uint8)
    # PaddleX's rotate_image(crop, 180): the matrix about (w/2, h/2), the output size from |cos| and |sin|.
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), 180, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_w, new_h = int(height * sin + width * cos), int(height * cos + width * sin)
    matrix[0, 2] += (new_w - width) / 2
    matrix[1, 2] += (new_h - height) / 2
    expected = cv2.warpAffine(crop, matrix, (new_w, new_h), flags=cv2.INTER_CUBIC)
    assert np.array_equal(turn_180(crop, "affine"), expected)
    if height > 1 and width > 1:
        assert not np.array_equal(turn_180(crop, "rotate"), expected)


# --- textline orientation -----------------------------------------------------------------------------------------


def test_textline_input_is_stretched_rgb_with_imagenet_normalisation() -> None:
    crop = np.zeros((10, 100, 3), dtype=np.uint8)
    crop[:, :, 0] = 255  # pure blue in BGR
    crop[:, 50:, 2] = 128  # red on the right half
    batch = build_cls_batch([crop], TEXTLINE_CLS)
    assert batch.shape == (1, 3, 80, 160)
    resized = cv2.resize(crop, (160, 80))  # stretched over the whole input: no zero padding on the right
    for channel, source in enumerate((2, 1, 0)):  # R, G, B
        mean, std = TEXTLINE_CLS.mean[channel], TEXTLINE_CLS.std[channel]
        values = resized[:, :, source].astype(np.float32)
        values *= (1.0 / 255.0) / std
        values += -mean / std
        assert np.array_equal(batch[0, channel], values)
    assert batch[0, 2, 0, 0] == pytest.approx((1 - 0.406) / 0.225, abs=1e-6)  # blue, third input channel
    square = np.full((40, 40, 3), 200, dtype=np.uint8)
    assert build_cls_batch([square], TEXTLINE_CLS)[0, :, :, 80:].min() > 0.0
    two_x = build_cls_batch([square], ClsSettings(image_shape=(3, 80, 160)))
    assert two_x[0, :, :, :80].min() > 0.0 and two_x[0, :, :, 80:].max() == 0.0  # 2.x keeps the ratio and pads


def _classify(settings: ClsSettings, probabilities: list[list[float]]) -> list[bool]:
    def cls_net(x: torch.Tensor) -> torch.Tensor:
        return torch.tensor(probabilities[: x.shape[0]], dtype=torch.float32)

    system = OCRSystem(_Blocks(), cls_net, _never, CTCDecoder(["a"]), dataclasses.replace(V3, cls=settings))
    crops = [np.full((10, 40, 3), i, dtype=np.uint8) for i in range(len(probabilities))]
    _, decisions = system.classify(crops)
    return [system._turns(label, score) for label, score in decisions]


def test_textline_decision_is_the_arg_max_without_threshold() -> None:
    probabilities = [[0.6, 0.4], [0.45, 0.55], [0.5, 0.5], [0.05, 0.95]]
    assert _classify(TEXTLINE_CLS, probabilities) == [False, True, True, True]  # a tie goes to 180 (the last)
    threshold = dataclasses.replace(TEXTLINE_CLS, decision="threshold")
    assert _classify(threshold, probabilities) == [False, False, False, True]


def test_turned_crops_are_turned_as_paddlex_does() -> None:
    crop = np.random.default_rng(1).integers(0, 256, (12, 40, 3), dtype=np.uint8)

    def upside_down(x: torch.Tensor) -> torch.Tensor:
        return torch.tensor([[0.1, 0.9]] * x.shape[0])

    system = OCRSystem(_Blocks(), upside_down, _never, CTCDecoder(["a"]), V3)
    rotated, _ = system.classify([crop])
    assert np.array_equal(rotated[0], turn_180(crop, "affine"))
    many, turned = system._classify_many([[crop]])
    assert turned == [[True]] and np.array_equal(many[0][0], rotated[0])


# --- recognition ----------------------------------------------------------------------------------------------------


def test_rec_crop_width_own_against_batch() -> None:
    own, batch = V3.rec, RecSettings()
    # 10 × 101: 48 · 10.1 = 484.8. In a batch widened to 960 by a 10 × 200 crop, 2.x resizes it to ceil = 485
    # columns, PaddleX to its own int(484.8) = 484.
    assert rec_crop_width(10, 101, 960, batch) == 485
    assert rec_crop_width(10, 101, 960, own) == 484
    assert rec_crop_width(48, 100, 960, own) == rec_crop_width(48, 100, 960, batch) == 100  # narrower than 320
    wide, narrow = np.full((10, 200, 3), 200, np.uint8), np.full((10, 101, 3), 200, np.uint8)
    stacked = build_rec_batch([wide, narrow], own)
    assert stacked.shape == (2, 3, 48, 960)
    assert (stacked[1, 0, 0] != 0).sum() == 484 and stacked[1, 0, 0, 484:].max() == 0.0
    assert (build_rec_batch([wide, narrow], batch)[1, 0, 0] != 0).sum() == 485


def test_rec_width_is_capped_at_3200_by_stretching() -> None:
    long_line = np.random.default_rng(2).integers(1, 256, (10, 1000, 3), dtype=np.uint8)
    assert rec_batch_width([long_line], V3.rec) == 3200
    assert rec_batch_width([long_line], RecSettings()) == 4800
    batch = build_rec_batch([long_line], V3.rec)
    expected = cv2.resize(long_line, (3200, 48)).astype(np.float32) / 255
    expected = (expected - 0.5) / 0.5
    assert batch.shape == (1, 3, 48, 3200) and np.array_equal(batch[0], expected.transpose(2, 0, 1))


def test_ratio_sort_stable_keeps_ties_in_order() -> None:
    crops = [np.zeros((10, 20, 3), np.uint8)] * 20 + [np.zeros((10, 10, 3), np.uint8)] * 5
    stable = aspect_ratio_order(crops, "stable").tolist()
    assert stable == sorted(range(25), key=lambda i: crops[i].shape[1] / crops[i].shape[0])  # PaddleX's sorted
    assert aspect_ratio_order(crops).tolist() != stable  # numpy's default sort reorders these ties


def test_recognition_batches_follow_the_stable_order_and_run_many_agrees() -> None:
    # Crops 0-19 are 10 × 20, 20-24 are 10 × 10; each is filled with its index, which the recogniser reads back.
    crops = [np.full((10, 20 if i < 20 else 10, 3), i, np.uint8) for i in range(25)]
    values = (np.arange(25, dtype=np.float32) / 255 - 0.5) / 0.5
    seen: list[list[int]] = []
    decoder = CTCDecoder([chr(ord("A") + i) for i in range(25)])

    def rec(x: torch.Tensor) -> torch.Tensor:
        firsts = [int(np.abs(values - float(v)).argmin()) for v in x[:, 0, 0, 0]]
        seen.append(firsts)
        probs = torch.zeros((x.shape[0], 4, decoder.num_classes))
        for row, index in enumerate(firsts):
            probs[row, :, index + 1] = 0.9
        return probs

    system = OCRSystem(_Blocks(), None, rec, decoder, dataclasses.replace(V3, use_angle_cls=False))
    texts = [text for text, _ in system.recognize(crops)]
    assert texts == [chr(ord("A") + i) for i in range(25)]
    order = [20, 21, 22, 23, 24, *range(20)]
    assert seen == [order[i : i + 6] for i in range(0, 25, 6)]
    many = system._recognize_many([crops])[0]
    assert [text for text, _, _ in many] == texts


def test_score_filter_keeps_every_line() -> None:
    decoder = CTCDecoder(["a"])

    def blank_rec(x: torch.Tensor) -> torch.Tensor:
        probs = torch.zeros((x.shape[0], 4, 2))
        probs[:, :, 0] = 1.0  # blank only: text "" with score 0.0
        return probs

    image = np.full((96, 192, 3), 255, dtype=np.uint8)
    settings = dataclasses.replace(V3, use_angle_cls=False)
    lines = OCRSystem(_Blocks((slice(20, 40), slice(20, 120))), None, blank_rec, decoder, settings).run(image).lines
    assert [(line.text, line.score) for line in lines] == [("", 0.0)]
    two_x = dataclasses.replace(settings, drop_score=0.5)
    assert OCRSystem(_Blocks((slice(20, 40), slice(20, 120))), None, blank_rec, decoder, two_x).run(image).lines == ()
