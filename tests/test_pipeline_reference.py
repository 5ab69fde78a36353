"""The pipeline against PaddlePaddle's own intermediate tensors (../shared/reference/tensors).

Each stage is rebuilt from the previous stage's *reference* output, so a mismatch points at one stage;
the last test runs OCRSystem end to end with fake networks that replay the reference outputs.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import torch

from ptocr.pipeline import (
    ClsSettings,
    CTCDecoder,
    DBPostProcessor,
    DetSettings,
    OCRSettings,
    OCRSystem,
    RecSettings,
    aspect_ratio_order,
    build_cls_batch,
    build_rec_batch,
    filter_det_boxes,
    load_image,
    preprocess_det,
    rotate_crop,
    sort_boxes,
)

from .paths import SHARED

REFERENCE = SHARED / "reference"
TENSORS = REFERENCE / "tensors"
DICTIONARY = SHARED / "dicts" / "ppocr_keys_v1.txt"
IMAGES = ("imgs/11.jpg", "imgs_en/img_12.jpg", "imgs/1.jpg", "imgs/korean_1.jpg")
BATCH = 6

pytestmark = pytest.mark.skipif(
    not TENSORS.is_dir() or not DICTIONARY.is_file(),
    reason=f"reference tensors not found at {TENSORS} (the shared/ checkout is absent)",
)


def _npz_path(image: str) -> Path:
    return TENSORS / (image.rsplit(".", 1)[0].replace("/", "__") + ".npz")


@pytest.fixture(scope="module", params=IMAGES)
def ref(request: pytest.FixtureRequest) -> dict[str, Any]:
    path = _npz_path(request.param)
    if not path.is_file():
        pytest.skip(f"reference tensors for {request.param} not found at {path}")
    with np.load(path, allow_pickle=False) as data:
        arrays: dict[str, Any] = {key: data[key] for key in data.files}
    arrays["name"] = request.param
    return arrays


@pytest.fixture(scope="module")
def paddle_results() -> dict[str, dict[str, Any]]:
    with open(REFERENCE / "paddle_v4.jsonl", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return {row["image"]: row for row in rows}


@pytest.fixture(scope="module")
def decoder() -> CTCDecoder:
    return CTCDecoder.from_dictionary_file(DICTIONARY, use_space_char=True)


def _crops(ref: dict[str, Any]) -> list[np.ndarray]:
    return [ref[f"crop_{index:03d}"] for index in range(len(ref["boxes_all"]))]


def _crops_after_cls(ref: dict[str, Any]) -> list[np.ndarray]:
    return [
        cv2.rotate(crop, cv2.ROTATE_180) if flipped else crop
        for crop, flipped in zip(_crops(ref), ref["crop_rotated_by_cls"], strict=True)
    ]


def _batches(ref: dict[str, Any], prefix: str) -> Iterator[tuple[int, np.ndarray]]:
    index = 0
    while f"{prefix}_b{index}" in ref:
        yield index, ref[f"{prefix}_b{index}"]
        index += 1


def _unused_net(_: torch.Tensor) -> torch.Tensor:
    raise AssertionError("this network should not be called here")


def test_reference_image_is_what_load_image_decodes(ref: dict[str, Any]) -> None:
    image_path = SHARED / "images" / ref["name"]
    if not image_path.is_file():
        pytest.skip(f"{image_path} not found")
    assert np.array_equal(load_image(image_path), ref["image_bgr"])


def test_det_input_is_rebuilt_exactly(ref: dict[str, Any]) -> None:
    det_input, shape = preprocess_det(ref["image_bgr"], DetSettings())
    assert det_input.dtype == np.float32
    assert det_input.shape == ref["det_input"].shape
    assert float(np.abs(det_input - ref["det_input"]).max()) == 0.0
    assert np.array_equal(shape.as_array(), ref["det_shape_list"])


def test_db_postprocess_gives_reference_boxes(ref: dict[str, Any]) -> None:
    image = ref["image_bgr"]
    _, shape = preprocess_det(image, DetSettings())
    boxes, scores = DBPostProcessor(DetSettings())(ref["det_prob"], shape)
    assert len(scores) == len(boxes)
    assert np.all(scores >= DetSettings().box_thresh)
    final = sort_boxes(filter_det_boxes(boxes, image.shape[0], image.shape[1]))
    assert final.dtype == np.float32
    assert final.shape == ref["boxes_all"].shape
    assert np.array_equal(final, ref["boxes_all"])  # integer pixels: exact, not merely close


def test_crops_are_rebuilt_exactly(ref: dict[str, Any]) -> None:
    for index, box in enumerate(ref["boxes_all"]):
        crop = rotate_crop(ref["image_bgr"], box)
        expected = ref[f"crop_{index:03d}"]
        assert crop.shape == expected.shape, f"crop {index}"
        assert np.array_equal(crop, expected), f"crop {index}"


def test_cls_inputs_are_rebuilt_exactly(ref: dict[str, Any]) -> None:
    crops = _crops(ref)
    order = aspect_ratio_order(crops)
    assert np.array_equal(order, ref["cls_order"])
    batches = list(_batches(ref, "cls_input"))
    assert len(batches) == -(-len(crops) // BATCH)
    for index, expected in batches:
        members = order[index * BATCH : (index + 1) * BATCH]
        rebuilt = build_cls_batch([crops[i] for i in members], ClsSettings())
        assert rebuilt.shape == expected.shape
        assert float(np.abs(rebuilt - expected).max()) == 0.0, f"cls batch {index}"


def test_cls_decisions_and_rotations_match(ref: dict[str, Any], decoder: CTCDecoder) -> None:
    probs_by_batch = dict(_batches(ref, "cls_prob"))
    inputs_by_batch = dict(_batches(ref, "cls_input"))
    calls: list[int] = []

    def fake_cls(batch: torch.Tensor) -> torch.Tensor:
        index = len(calls)
        calls.append(index)
        assert torch.equal(batch, torch.from_numpy(inputs_by_batch[index]))
        return torch.from_numpy(probs_by_batch[index])

    settings = OCRSettings(cls=ClsSettings(batch_size=6))  # the recorded batches are PaddleOCR's
    system = OCRSystem(_unused_net, fake_cls, _unused_net, decoder, settings)
    crops = _crops(ref)
    rotated, decisions = system.classify(crops)
    assert len(calls) == len(probs_by_batch)
    assert [label for label, _ in decisions] == ref["cls_label"].tolist()
    assert [score for _, score in decisions] == [float(s) for s in ref["cls_score"]]
    for index, (before, after) in enumerate(zip(crops, rotated, strict=True)):
        flipped = bool(ref["crop_rotated_by_cls"][index])
        expected = cv2.rotate(before, cv2.ROTATE_180) if flipped else before
        assert np.array_equal(after, expected), f"crop {index} (flipped: {flipped})"


def test_rec_inputs_are_rebuilt_exactly(ref: dict[str, Any]) -> None:
    crops = _crops_after_cls(ref)
    order = aspect_ratio_order(crops)
    assert np.array_equal(order, ref["rec_order"])
    assert -(-len(crops) // BATCH) == int(ref["rec_n_batches_total"])
    batches = list(_batches(ref, "rec_input"))
    assert batches, "the reference should hold at least one rec batch"
    for index, expected in batches:
        members = order[index * BATCH : (index + 1) * BATCH]
        rebuilt = build_rec_batch([crops[i] for i in members], RecSettings())
        assert rebuilt.shape == expected.shape, f"rec batch {index}"
        assert float(np.abs(rebuilt - expected).max()) == 0.0, f"rec batch {index}"


def test_ctc_decode_reproduces_reference_texts(ref: dict[str, Any], decoder: CTCDecoder) -> None:
    order = ref["rec_order"]
    for index, probs in _batches(ref, "rec_prob"):
        members = order[index * BATCH : (index + 1) * BATCH]
        for crop_index, (text, score) in zip(members, decoder.decode(probs), strict=True):
            assert text == str(ref["rec_text_all"][crop_index]), f"crop {crop_index}"
            assert abs(score - float(ref["rec_score_all"][crop_index])) <= 1e-6, f"crop {crop_index}"


class _ReplayNet:
    """A fake network that accepts only the reference inputs and answers with the reference outputs.

    Batches are matched by content, each stored one used once: the system may run independent batches side
    by side, in any order. Batches past the stored ones (the reference keeps rec probabilities of the first two
    batches only) get an all-blank answer, which decodes to an empty line with score 0 that drop_score removes.
    """

    def __init__(self, inputs: list[np.ndarray], outputs: list[np.ndarray], classes: int = 0) -> None:
        self.inputs, self.outputs, self.classes = inputs, outputs, classes
        self.calls = 0
        self.replayed: set[int] = set()
        self._lock = threading.Lock()

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        assert batch.dtype == torch.float32 and batch.is_contiguous()
        with self._lock:
            self.calls += 1
            for index, stored in enumerate(self.inputs[: len(self.outputs)]):
                if index not in self.replayed and torch.equal(batch, torch.from_numpy(stored)):
                    self.replayed.add(index)
                    return torch.from_numpy(self.outputs[index])
        assert self.classes, f"a batch that is none of the {len(self.outputs)} stored ones"
        blank = torch.zeros((batch.shape[0], batch.shape[3] // 8, self.classes))
        blank[:, :, 0] = 1.0
        return blank


def test_ocr_system_end_to_end_with_replayed_outputs(
    ref: dict[str, Any], decoder: CTCDecoder, paddle_results: dict[str, dict[str, Any]]
) -> None:
    det = _ReplayNet([ref["det_input"]], [ref["det_prob"]])
    cls = _ReplayNet([a for _, a in _batches(ref, "cls_input")], [a for _, a in _batches(ref, "cls_prob")])
    rec = _ReplayNet(
        [a for _, a in _batches(ref, "rec_input")],
        [a for _, a in _batches(ref, "rec_prob")],
        classes=decoder.num_classes,
    )
    # The recorded classifier outputs come in PaddleOCR's batches of 6 (ptocr's default calls hold 24).
    settings = OCRSettings(cls=ClsSettings(batch_size=6))
    system = OCRSystem(det, cls, rec, decoder, settings, collect_timings=True)
    result = system.run(ref["image_bgr"])

    assert (det.calls, cls.calls) == (1, len(cls.outputs))
    assert rec.calls == int(ref["rec_n_batches_total"])
    for net in (det, cls, rec):
        assert net.replayed == set(range(len(net.outputs)))  # every stored batch came, exactly as stored
    assert {"det_net", "cls_net", "rec_net", "total"} <= set(result.timings)

    # Crops whose recognition the reference does not hold are left out of the comparison.
    replayed = {int(i) for i in ref["rec_order"][: len(rec.outputs) * BATCH]}
    row = paddle_results[ref["name"]]
    assert len(row["results_all"]) == len(ref["boxes_all"])
    assert row["results"] == [r for r in row["results_all"] if r["score"] >= 0.5]
    expected = [
        r for i, r in enumerate(row["results_all"]) if i in replayed and r["score"] >= OCRSettings().drop_score
    ]
    assert [line.text for line in result] == [r["text"] for r in expected]
    for line, want in zip(result, expected, strict=True):
        assert np.abs(np.array(line.box) - np.array(want["box"])).max() <= 1e-3, want["text"]
        assert abs(line.score - want["score"]) <= 1e-6, want["text"]
        assert line.to_dict()["box"] == want["box"]
    if replayed == set(range(len(ref["boxes_all"]))):
        assert [line.to_dict() for line in result] == row["results"]
