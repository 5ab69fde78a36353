"""Registry-driven checks over every model of `ptocr.list_models()`: each record is complete and consistent,
each network builds and gives outputs of the right shape (no weights needed)."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import torch

import ptocr
from ptocr.errors import WeightsMismatchError
from ptocr.models import build_architecture, list_architectures
from ptocr.zoo import PIR_VERSIONS, DetPreprocessing, LinePreprocessing, OfficialArchive, get_record

from .paths import shared_path

MODELS = ptocr.list_models()
PADDLEX = "https://paddle-model-ecology.bj.bcebos.com/paddlex/official_inference_model/"


def test_list_models_filters() -> None:
    assert len([n for n in MODELS if get_record(n).version not in PIR_VERSIONS]) == 87  # PaddleOCR 1.x and 2.x
    assert ptocr.list_models(task="cls") == [
        "PP-LCNet_x0_25_textline_ori", "PP-LCNet_x1_0_textline_ori",
        "ch_ppocr_mobile_v1.1_cls", "ch_ppocr_mobile_v1.1_cls_quant", "ch_ppocr_mobile_v2.0_cls",
    ]  # fmt: skip
    assert ptocr.list_models(version="PP-OCR-v1.1", task="rec") == [
        "ch_ppocr_mobile_slim_v1.1_rec", "ch_ppocr_mobile_v1.1_rec", "ch_ppocr_server_v1.1_rec",
        "en_ppocr_mobile_slim_v1.1_rec", "en_ppocr_mobile_v1.1_rec", "french_ppocr_mobile_v1.1_rec",
        "german_ppocr_mobile_v1.1_rec", "japan_ppocr_mobile_v1.1_rec", "korean_ppocr_mobile_v1.1_rec",
    ]  # fmt: skip
    v11_detectors = ["ch_ppocr_mobile_slim_v1.1_det", "ch_ppocr_mobile_v1.1_det", "ch_ppocr_server_v1.1_det"]
    assert ptocr.list_models(version="PP-OCR-v1.1", task="det") == v11_detectors
    assert ptocr.list_models(lang="korean") == [
        "korean_PP-OCRv3_rec", "korean_PP-OCRv4_rec", "korean_PP-OCRv5_mobile_rec", "korean_mobile_v2.0_rec",
        "korean_ppocr_mobile_v1.1_rec",
    ]  # fmt: skip
    assert ptocr.list_models(task="det", version="PP-OCRv4") == ["ch_PP-OCRv4_det", "ch_PP-OCRv4_server_det"]
    assert ptocr.list_models(version="PP-OCRv9") == []


@pytest.mark.parametrize("name", MODELS)
def test_record_is_complete(name: str) -> None:
    record = get_record(name)
    assert record.architecture in list_architectures()
    assert record.version in ("PP-OCR-v1.0", "PP-OCR-v1.1", "PP-OCR", "PP-OCRv2", "PP-OCRv3", "PP-OCRv4", *PIR_VERSIONS)
    assert record.language
    archives = [s for s in record.weights["paddle"].sources if isinstance(s, OfficialArchive)]
    # PaddleOCR 3.x's models are published as PaddleX's archives.
    host = "https://paddle-model-ecology.bj.bcebos.com/paddlex/" if record.version in PIR_VERSIONS else (
        "https://paddleocr.bj.bcebos.com/"
    )
    assert archives and all(a.url.startswith(host) for a in archives)
    assert all(url.startswith(host) for url in record.trained_urls)
    if record.task == "det":
        assert isinstance(record.preprocessing, DetPreprocessing)
        return
    assert isinstance(record.preprocessing, LinePreprocessing)
    height = record.preprocessing.image_shape[1]
    if record.task == "cls":
        # PaddleX's text-line orientation classifiers stretch lines to 160×80; PaddleOCR 2.x's pad to 48 high.
        paddlex = record.version in PIR_VERSIONS
        assert record.labels == ("0", "180") and height == (80 if paddlex else 48)
        assert record.preprocessing.resize == ("stretch" if paddlex else "keep_ratio")
        return
    # v2.0 and PP-OCRv2 recognisers read 32-pixel lines, PP-OCRv3/v4 48-pixel ones.
    assert height == (32 if record.version in ("PP-OCR-v1.0", "PP-OCR-v1.1", "PP-OCR", "PP-OCRv2") else 48)
    assert record.dictionary is not None and record.num_classes is not None
    text = resources.files("ptocr.dicts").joinpath(record.dictionary).read_text(encoding="utf-8")
    assert record.num_classes == 1 + len(text.splitlines()) + int(record.use_space_char)


def test_every_architecture_serves_a_zoo_model() -> None:
    assert {get_record(n).architecture for n in MODELS} == set(list_architectures())


@pytest.mark.parametrize("name", MODELS)
def test_every_model_builds_and_runs(name: str) -> None:
    record = get_record(name)
    architecture = record.architecture
    kwargs = {"num_classes": record.num_classes} if record.task == "rec" else {}
    net = build_architecture(architecture, deploy=True, **kwargs)
    if record.task == "det":
        x = torch.rand(1, 3, 96, 128)
        expected: tuple[int, ...] = (1, 1, 96, 128)
    elif record.task == "rec":
        assert isinstance(record.preprocessing, LinePreprocessing)
        x = torch.rand(2, 3, record.preprocessing.image_shape[1], 160)
        # CRNN (LSTM-neck) backbones keep a quarter of the width as time steps, the others an eighth.
        steps = 160 // (4 if "lstm" in architecture else 8)
        expected = (2, steps, record.num_classes or 0)
    else:
        x = torch.rand(3, 3, 48, 192)
        expected = (3, 2)
    with torch.inference_mode():
        out = net(x)
    assert tuple(out.shape) == expected
    assert torch.all((out >= 0) & (out <= 1))
    if record.task != "det":
        torch.testing.assert_close(out.sum(-1), torch.ones(out.shape[:-1]))


def _fixture_without_info(fixture: str, tmp_path: Path) -> Path:
    folder = tmp_path / fixture
    folder.mkdir()
    for name in ("inference.pdmodel", "inference.pdiparams"):
        shutil.copy(shared_path("zoo", fixture, name), folder / name)
    return folder


@pytest.mark.parametrize("fixture", ["ch_PP-OCRv3_det", "french_mobile_v2.0_rec"])
def test_inference_files_without_info_load_by_structure(fixture: str, tmp_path: Path) -> None:
    io = np.load(shared_path("zoo", fixture, "io.npz"), allow_pickle=False)
    expected = io[next(k for k in io.files if k.startswith("ir_off__"))]
    net = ptocr.create_model(fixture, weights=_fixture_without_info(fixture, tmp_path))
    with torch.inference_mode():
        assert np.abs(net(torch.from_numpy(io["input"])).numpy() - expected).max() <= 2e-5


def test_a_head_that_does_not_fit_the_dictionary_names_both_counts(tmp_path: Path) -> None:
    folder = _fixture_without_info("en_number_mobile_v2.0_rec", tmp_path)  # 97 classes: en_dict + space
    with pytest.raises(WeightsMismatchError, match=r"head has 97 classes, but korean_mobile_v2\.0_rec's dictionary "
                       r"korean_dict\.txt gives 3689"):  # fmt: skip
        ptocr.create_model("korean_mobile_v2.0_rec", weights=folder)


def test_the_space_class_of_ambiguous_v2_recognisers_is_read_from_the_head() -> None:
    french = get_record("french_mobile_v2.0_rec")
    assert french.space_char_from_weights and not french.use_space_char
    assert french.accepts_head_width(137) and french.accepts_head_width(138)
    assert not french.accepts_head_width(139)
    assert not get_record("it_mobile_v2.0_rec").accepts_head_width(121)
