"""PaddleOCR 1.x systems: the 1.x pipeline rules as settings, model choice by version / preset, and the whole
flow on the random-weight v1 fixtures.

Every expected number is worked out by hand from the code of the `paddleocr==1.1.1` wheel (v1.1) and of
`paddleocr==0.0.3.1` (v1.0, the package of the ch_det_mv3_db / ch_rec_mv3_crnn_enhance models); the file and
function are named at each test.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

import ptocr
from ptocr import cli
from ptocr.errors import UnknownModelError
from ptocr.ocr import settings_for
from ptocr.pipeline.crop import rotate_crop
from ptocr.pipeline.ctc import CTCDecoder
from ptocr.pipeline.db_postprocess import (
    DBPostProcessor,
    _to_source_pixels,
    _to_source_pixels_via_ratio,
    filter_det_boxes,
    reading_order,
)
from ptocr.pipeline.preprocess import DetShape, det_resize_target, rec_batch_width, resize_for_det
from ptocr.pipeline.results import OCRResult, TextLine
from ptocr.pipeline.settings import (
    PADDLEOCR_1_0,
    PADDLEOCR_1_1,
    DetSettings,
    OCRSettings,
    RecSettings,
    generation_settings,
)
from ptocr.zoo import PRESETS, choose_models, choose_preset, get_record

from .paths import shared_path

V11, V10 = PADDLEOCR_1_1, PADDLEOCR_1_0


# -- detector input size: db_process.py DBProcessTest.resize_image_type0 -------------------------------------


@pytest.mark.parametrize(
    ("size", "v2", "v11", "v10"),
    [
        ((500, 500), (512, 512), (480, 480), (448, 448)),  # 500 = 15·32 + 20: round 16, floor 15, 1.0: 14
        ((1150, 720), (960, 608), (960, 576), (960, 544)),  # ratio 960/1150: w int(601.04) = 601 → 19 / 18 / 17
        ((4000, 3000), (960, 704), (960, 704), (960, 672)),  # w 720 = 22.5·32: round-half-even 22, floor 22, 21
        ((1000, 70), (960, 64), (960, 64), (960, 32)),  # w int(67.2) = 67: 1.0 gives (2 − 1)·32
        ((40, 100), (32, 96), (32, 96), (32, 64)),  # h 40 // 32 = 1 → 32 in every rule
        ((10, 20), (32, 32), (32, 32), (32, 32)),  # tiny: sides below 64 become 32
    ],
)
def test_det_resize_rules(size: tuple[int, int], v2: tuple[int, int], v11: tuple[int, int], v10: tuple[int, int]):
    assert det_resize_target(*size, 960, "max") == v2
    assert det_resize_target(*size, 960, "max", V11.det.resize_rounding) == v11
    assert det_resize_target(*size, 960, "max", V10.det.resize_rounding) == v10


def test_tiny_images_are_stretched_not_padded_in_v1() -> None:
    image = np.full((10, 20, 3), 200, dtype=np.uint8)
    resized, shape = resize_for_det(image, V11.det)
    assert resized.shape == (32, 32, 3) and resized.min() == 200  # cv2.resize of the image itself
    assert shape == DetShape(10, 20, 32 / 10.0, 32 / 20.0)  # ratio_h = resize_h / float(h)
    padded, shape2 = resize_for_det(image, DetSettings())  # 2.x: zero-padded to 32×32 first
    assert padded[20:].max() == 0 and shape2 == DetShape(10, 20, 1.0, 1.0)


# -- DB post-processing: db_postprocess.py DBPostProcess, predict_det.py filter_tag_det_res ------------------


def _two_blobs() -> np.ndarray:
    prob = np.zeros((40, 64), dtype=np.float32)
    prob[10:20, 8:30] = 0.9
    prob[10:20, 31:56] = 0.9  # one empty column (30) between them
    return prob


def test_dilation_joins_regions_one_pixel_apart() -> None:
    shape = DetShape(40, 64, 1.0, 1.0)
    joined, _ = DBPostProcessor(V11.det)(_two_blobs(), shape)  # cv2.dilate with [[1, 1], [1, 1]] always on
    apart, _ = DBPostProcessor(dataclasses.replace(V11.det, use_dilation=False))(_two_blobs(), shape)
    assert (len(joined), len(apart)) == (1, 2)
    assert V10.det.use_dilation is False  # 0.0.3.1's DBPostProcess had no dilation


def test_v1_maps_boxes_through_the_resize_ratio() -> None:
    # 1.x: np.round in map pixels (10.4 → 10, 20.6 → 21), int16, then / ratio and truncated into int16:
    # 10 / 0.64 = 15.625 → 15, 21 / 0.64 = 32.8 → 32. 2.x scales first: round(10.4 / 64 · 100) = 16, round(32.19) = 32.
    corners = np.array([[10.4, 20.6], [30.0, 20.6], [30.0, 40.0], [10.4, 40.0]], dtype=np.float32)
    shape = DetShape(100, 100, 0.64, 0.64)
    assert _to_source_pixels_via_ratio(corners, 64, 64, shape)[0].tolist() == [15, 32]
    assert _to_source_pixels(corners, 64, 64, shape)[0].tolist() == [16, 32]


def test_v1_drops_a_box_whose_score_equals_box_thresh() -> None:
    prob = np.zeros((40, 64), dtype=np.float32)
    prob[10:20, 10:40] = 0.5  # box_score_fast = 0.5 exactly; 1.x keeps only tmp_scores[k] > box_thresh
    shape = DetShape(40, 64, 1.0, 1.0)
    settings = dataclasses.replace(V11.det, use_dilation=False)
    assert len(DBPostProcessor(settings)(prob, shape)[0]) == 0
    assert len(DBPostProcessor(dataclasses.replace(settings, strict_box_thresh=False))(prob, shape)[0]) == 1


def test_v1_corner_order_sorts_by_x() -> None:
    diamond = np.array([[[50, 0], [100, 50], [50, 100], [0, 50]]], dtype=np.float32)
    # order_points_clockwise of 1.1.1: left pair (0,50), (50,0) by y → tl (50,0), bl (0,50); right pair
    # (50,100), (100,50) by y → tr (100,50), br (50,100).
    v1 = filter_det_boxes(diamond, 200, 200, V11.det.corner_order)
    assert v1[0].tolist() == [[50, 0], [100, 50], [50, 100], [0, 50]]
    # 2.x: min / max of x + y (first of ties: (50,0), (100,50)), then arg-min / arg-max of y − x over the other
    # two, which tie at 50, so both pick (50,100).
    v2 = filter_det_boxes(diamond, 200, 200)
    assert v2[0].tolist() == [[50, 0], [50, 100], [100, 50], [50, 100]]


def test_v1_reading_order_is_one_pass() -> None:
    # Top-left corners A (x 30, y 0), B (20, 5), C (10, 8): all one line (|Δy| < 10), right to left.
    boxes = np.zeros((3, 4, 2), dtype=np.float32)
    boxes[:, 0] = [[30, 0], [20, 5], [10, 8]]
    # sorted_boxes of 1.1.1: i = 0 swaps A, B; i = 1 swaps A, C → B, C, A. 2.x keeps moving C left → C, B, A.
    assert reading_order(boxes, V11.det.reading_order) == [1, 2, 0]
    assert reading_order(boxes) == [2, 1, 0]


def test_crop_of_a_rotated_box_is_the_direct_warp() -> None:
    # predict_system.py get_rotate_crop_image of 1.1.1 (and 0.0.3.1): the bounding-rectangle cut is commented
    # out; the box is warped straight from the image, exactly as 2.x does. Width int(max(|p0p1|, |p2p3|)) =
    # int(100.5) = 100, height int(max(|p0p3|, |p1p2|)) = int(30.07) = 30.
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (80, 160, 3), dtype=np.uint8)
    box = np.array([[10, 20], [110, 10], [112, 40], [12, 50]], dtype=np.float32)
    crop = rotate_crop(image, box)
    target = np.float32([[0, 0], [100, 0], [100, 30], [0, 30]])
    expected = cv2.warpPerspective(
        image, cv2.getPerspectiveTransform(box, target), (100, 30),
        borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC,
    )  # fmt: skip
    assert crop.shape == (30, 100, 3) and np.array_equal(crop, expected)


# -- recognition: predict_rec.py TextRecognizer -------------------------------------------------------------


def test_rec_batch_width() -> None:
    short, long_ = np.zeros((20, 60, 3), np.uint8), np.zeros((10, 150, 3), np.uint8)  # w/h 3 and 15
    # 1.1: imgW = int(32 · max(max_wh_ratio, 320 / 32)).
    assert rec_batch_width([short], V11.rec) == 320
    assert rec_batch_width([short, long_], V11.rec) == 480
    # 1.0 (0.0.3.1): imgW = int(32 · max_wh_ratio), max_wh_ratio starting at 0: no minimum.
    assert rec_batch_width([short], V10.rec) == 96
    assert rec_batch_width([short, long_], V10.rec) == 480
    assert (V11.rec.batch_size, V11.rec.image_shape) == (30, (3, 32, 320))


def _probs(steps: list[tuple[int, float]], classes: int = 4) -> np.ndarray:
    """1×T×C probabilities whose arg-max at each step is the given class with the given probability."""
    probs = np.zeros((1, len(steps), classes), dtype=np.float32)
    for t, (index, p) in enumerate(steps):
        probs[0, t, :] = (1 - p) / (classes - 1)
        probs[0, t, index] = p
    return probs


def test_v1_score_counts_every_non_blank_step() -> None:
    decoder = CTCDecoder(["a", "b", "c"], blank_last=True)  # blank = class 3, the last
    probs = _probs([(0, 0.9), (0, 0.7), (3, 0.8), (1, 0.6), (1, 0.5), (3, 0.9)])
    # 1.x: np.mean(probs[valid_ind, ind[valid_ind]]) over steps whose arg-max != blank: 0.9, 0.7, 0.6, 0.5.
    ((text, score),) = decoder.decode(probs, score=V11.rec.ctc_score)
    assert text == "ab" and score == pytest.approx(0.675, rel=1e-6)
    ((text2, score2),) = decoder.decode(probs)  # 2.x: the kept steps 0.9 and 0.6
    assert text2 == "ab" and score2 == pytest.approx(0.75, rel=1e-6)


def test_v1_empty_line_is_empty_with_score_zero() -> None:
    decoder = CTCDecoder(["a", "b", "c"], blank_last=True)
    # No valid step: predict_rec.py `continue`s and the line stays ['', 0.0].
    assert decoder.decode(_probs([(3, 0.9), (3, 0.8)]), score="non_blank_steps") == [("", 0.0)]


def test_v1_settings_and_unknown_values() -> None:
    assert generation_settings("PP-OCR-v1.1") is V11 and generation_settings("PP-OCR-v1.0") is V10
    assert generation_settings("PP-OCRv4") == OCRSettings()
    det = V11.det
    assert (det.thresh, det.box_thresh, det.unclip_ratio, det.max_candidates, det.score_mode) == (
        0.3, 0.5, 2.0, 1000, "fast"
    )  # fmt: skip
    assert (V11.cls.image_shape, V11.cls.thresh) == ((3, 48, 192), 0.9)
    assert (V11.use_angle_cls, V10.use_angle_cls) == (True, False)
    with pytest.raises(ValueError, match=r"resize_rounding"):
        DetSettings(resize_rounding="ceil")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"ctc_score"):
        RecSettings(ctc_score="mean")  # type: ignore[arg-type]


# -- model choice: paddleocr.py model_urls -----------------------------------------------------------------

V11_REC = {
    "ch": "ch_ppocr_mobile_v1.1_rec", "en": "en_ppocr_mobile_v1.1_rec", "french": "french_ppocr_mobile_v1.1_rec",
    "german": "german_ppocr_mobile_v1.1_rec", "korean": "korean_ppocr_mobile_v1.1_rec",
    "japan": "japan_ppocr_mobile_v1.1_rec",
}  # fmt: skip


@pytest.mark.parametrize("lang", sorted(V11_REC))
def test_choose_v1_1_models(lang: str) -> None:
    chosen = choose_models(lang, "PP-OCR-v1.1")
    expected = ("ch_ppocr_mobile_v1.1_det", V11_REC[lang], "ch_ppocr_mobile_v1.1_cls")
    assert (chosen.det, chosen.rec, chosen.cls) == expected
    assert {get_record(name).version for name in (chosen.det, chosen.rec, chosen.cls)} == {"PP-OCR-v1.1"}


def test_choose_v1_0_models_and_presets() -> None:
    assert choose_models("ch", "PP-OCR-v1.0") == ptocr.zoo.ModelChoice("ch_det_mv3_db", "ch_rec_mv3_crnn_enhance", None)
    assert choose_preset("chinese_db_crnn_mobile") == ptocr.zoo.ModelChoice("ch_det_mv3_db", "ch_rec_mv3_crnn", None)
    assert choose_preset("chinese_db_crnn_server") == ptocr.zoo.ModelChoice(
        "ch_det_r50_vd_db", "ch_rec_r34_vd_crnn", None
    )
    for name, chosen in PRESETS.items():
        records = [get_record(model) for model in (chosen.det, chosen.rec, chosen.cls) if model is not None]
        assert {record.version for record in records} <= {"PP-OCR-v1.0", "PP-OCR-v1.1"}, name
        assert [record.task for record in records] == ["det", "rec", "cls"][: len(records)]


def test_unknown_v1_choices_list_the_valid_ones() -> None:
    with pytest.raises(UnknownModelError, match=r"PP-OCR-v1.1 has no recogniser for lang 'fr'; its languages: ch, en, "
                       "french, german, korean, japan"):  # fmt: skip
        choose_models("fr", "PP-OCR-v1.1")
    with pytest.raises(UnknownModelError, match=r"PP-OCR-v1.0 has no recogniser for lang 'en'; its languages: ch$"):
        choose_models("en", "PP-OCR-v1.0")
    unknown = r"unknown version 'PP-OCR-v1.2'; versions: .*PP-OCRv4, PP-OCRv5, PP-OCRv6, PP-OCR-v1.0, "
    with pytest.raises(UnknownModelError, match=unknown):
        choose_models("ch", "PP-OCR-v1.2")
    with pytest.raises(UnknownModelError, match=r"unknown preset 'chinese'; presets: chinese_db_crnn_mobile, "):
        choose_preset("chinese")


def test_each_stage_follows_its_model_generation() -> None:
    v11 = settings_for(*(get_record(n) for n in ("ch_ppocr_mobile_v1.1_det", "ch_ppocr_mobile_v1.1_rec",
                                                "ch_ppocr_mobile_v1.1_cls")))  # fmt: skip
    assert v11 == V11
    v10 = settings_for(get_record("ch_det_mv3_db"), get_record("ch_rec_mv3_crnn"), None)
    assert v10 == V10
    mixed = settings_for(get_record("ch_ppocr_mobile_v1.1_det"), get_record("ch_PP-OCRv4_rec"), None)
    assert mixed.det == V11.det and mixed.rec == RecSettings() and not mixed.use_angle_cls


def test_preset_and_version_conflicts_are_errors() -> None:
    with pytest.raises(ValueError, match=r"give lang/version or preset, not both"):
        ptocr.OCR(preset="chinese_db_crnn_mobile", version="PP-OCR-v1.0")
    with pytest.raises(ValueError, match=r"PP-OCR-v1.0 has no angle classifier"):
        ptocr.OCR(version="PP-OCR-v1.0", use_angle_cls=True)


# -- the whole system on the random-weight fixtures ----------------------------------------------------------


def _weights(*models: str) -> dict[str, str]:
    root = shared_path("zoo_v1")
    folders = {task: root / name for task, name in zip(("det", "rec", "cls"), models, strict=False)}
    for folder in folders.values():
        if not (folder / "params").exists():
            pytest.skip(f"{folder} holds no weights")
    return {f"{task}_weights": str(folder) for task, folder in folders.items()}


V11_MODELS = ("ch_ppocr_mobile_v1.1_det", "ch_ppocr_mobile_v1.1_rec", "ch_ppocr_mobile_v1.1_cls")


@pytest.fixture(scope="module")
def v11_ocr() -> ptocr.OCR:
    return ptocr.OCR(version="PP-OCR-v1.1", threads=1, **_weights(*V11_MODELS))


def _image() -> Path:
    return shared_path("images", "imgs", "11.jpg")


def test_v1_1_system_end_to_end(v11_ocr: ptocr.OCR) -> None:
    assert v11_ocr.models == dict(zip(("det", "rec", "cls"), V11_MODELS, strict=True))
    assert v11_ocr.settings == V11
    result = v11_ocr.run(str(_image()))
    assert isinstance(result, OCRResult) and (result.image_height, result.image_width) == (500, 500)
    assert all(isinstance(line, TextLine) and line.score >= 0.5 for line in result.lines)
    json.dumps(result.to_dict())
    # Random weights find no text, so crop, classify and recognise two hand-placed boxes of the same image.
    system = v11_ocr.system
    inputs: list[tuple[int, ...]] = []
    rec_net = system.rec_net
    system.rec_net = lambda batch: inputs.append(tuple(batch.shape)) or rec_net(batch)
    try:
        boxes = np.array([[[40, 40], [440, 40], [440, 72], [40, 72]], [[60, 100], [160, 100], [160, 132], [60, 132]]],
                         dtype=np.float32)  # fmt: skip
        crops, decisions = system.classify(system.crop(str(_image()), boxes))
        recognized = system.recognize(crops)
    finally:
        system.rec_net = rec_net
    assert [label for label, _ in decisions] <= ["0", "180"] * 2 and all(isinstance(s, float) for _, s in decisions)
    assert inputs == [(2, 3, 32, 400)]  # one batch (30 a call), int(32 · max(10, 400 / 32))
    assert [(type(text), type(score)) for text, score in recognized] == [(str, float)] * 2


def test_v1_0_preset_end_to_end() -> None:
    ocr = ptocr.OCR(preset="chinese_db_crnn_mobile", threads=1, **_weights("ch_det_mv3_db", "ch_rec_mv3_crnn"))
    assert ocr.models == {"det": "ch_det_mv3_db", "rec": "ch_rec_mv3_crnn", "cls": None}
    assert ocr.settings == V10 and ocr.system.cls_net is None
    result = ocr.run(str(_image()))
    assert isinstance(result, OCRResult) and all(isinstance(line, TextLine) for line in result.lines)


def test_cli_with_the_v1_version(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[Any] = []

    def engine(**kwargs: Any) -> ptocr.OCR:
        built.append(kwargs)
        return functools.partial(ptocr.ocr.OCR, **_weights(*V11_MODELS))(**kwargs)

    monkeypatch.setattr(ptocr, "OCR", engine, raising=False)
    image = _image()
    code = cli.main(["--version", "PP-OCR-v1.1", "--lang", "ch", "--threads", "1", str(image)])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert json.loads(out) == {"image": str(image), "results": []}  # random weights: no text
    assert (built[0]["version"], built[0]["lang"], built[0]["use_angle_cls"]) == ("PP-OCR-v1.1", "ch", True)


def test_cli_preset_and_its_conflicts(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[dict[str, Any]] = []

    class Engine:
        def __init__(self, **kwargs: Any) -> None:
            built.append(kwargs)

        def run(self, image: str) -> OCRResult:
            return OCRResult(lines=(), image_height=1, image_width=1, timings={})

    monkeypatch.setattr(ptocr, "OCR", Engine, raising=False)
    image = str(_image())
    assert cli.main(["--preset", "chinese_db_crnn_server", image]) == 0
    assert built[0]["preset"] == "chinese_db_crnn_server" and built[0]["use_angle_cls"] is False
    assert "lang" not in built[0] and "version" not in built[0]
    assert cli.main(["--version", "PP-OCR-v1.0", image]) == 0  # 1.0 has no classifier: not asked for
    assert (built[1]["version"], built[1]["use_angle_cls"]) == ("PP-OCR-v1.0", False)
    capsys.readouterr()
    assert cli.main(["--preset", "chinese_db_crnn_mobile", "--lang", "en", image]) == 2
    assert "give --lang/--version or --preset, not both" in capsys.readouterr().err
