"""Registry-driven checks over every model of `ptocr.list_models()`: each record is complete and consistent,
each network builds and gives outputs of the right shape (no weights needed)."""

from __future__ import annotations

from importlib import resources

import pytest
import torch

import ptocr
from ptocr.models import build_architecture, list_architectures
from ptocr.zoo import DetPreprocessing, LinePreprocessing, OfficialArchive, get_record

MODELS = ptocr.list_models()


def test_list_models_filters() -> None:
    assert len(MODELS) == 67
    assert ptocr.list_models(task="cls") == ["ch_ppocr_mobile_v2.0_cls"]
    assert ptocr.list_models(lang="korean") == ["korean_PP-OCRv3_rec", "korean_PP-OCRv4_rec", "korean_mobile_v2.0_rec"]
    assert ptocr.list_models(task="det", version="PP-OCRv4") == ["ch_PP-OCRv4_det", "ch_PP-OCRv4_server_det"]
    assert ptocr.list_models(version="PP-OCRv9") == []


@pytest.mark.parametrize("name", MODELS)
def test_record_is_complete(name: str) -> None:
    record = get_record(name)
    assert record.architecture in list_architectures()
    assert record.version in ("PP-OCR", "PP-OCRv2", "PP-OCRv3", "PP-OCRv4") and record.language
    archives = [s for s in record.weights["paddle"].sources if isinstance(s, OfficialArchive)]
    assert archives and all(a.url.startswith("https://paddleocr.bj.bcebos.com/") for a in archives)
    assert all(url.startswith("https://paddleocr.bj.bcebos.com/") for url in record.trained_urls)
    if record.task == "det":
        assert isinstance(record.preprocessing, DetPreprocessing)
        return
    assert isinstance(record.preprocessing, LinePreprocessing)
    height = record.preprocessing.image_shape[1]
    if record.task == "cls":
        assert record.labels == ("0", "180") and height == 48
        return
    # v2.0 and PP-OCRv2 recognisers read 32-pixel lines, PP-OCRv3/v4 48-pixel ones.
    assert height == (32 if record.version in ("PP-OCR", "PP-OCRv2") else 48)
    assert record.dictionary is not None and record.num_classes is not None
    text = resources.files("ptocr.dicts").joinpath(record.dictionary).read_text(encoding="utf-8")
    assert record.num_classes == 1 + len(text.splitlines()) + int(record.use_space_char)


@pytest.mark.parametrize("architecture", list_architectures())
def test_every_architecture_builds_and_runs(architecture: str) -> None:
    names = [n for n in MODELS if get_record(n).architecture == architecture]
    assert names, f"{architecture} is registered but no zoo model uses it"
    record = get_record(names[0])
    kwargs = {"num_classes": record.num_classes} if record.task == "rec" else {}
    net = build_architecture(architecture, deploy=True, **kwargs)
    if record.task == "det":
        x = torch.rand(1, 3, 96, 128)
        expected: tuple[int, ...] = (1, 1, 96, 128)
    elif record.task == "rec":
        assert isinstance(record.preprocessing, LinePreprocessing)
        x = torch.rand(2, 3, record.preprocessing.image_shape[1], 160)
        # CRNN backbones keep a quarter of the width as time steps, SVTR-neck models an eighth.
        steps = 160 // (8 if architecture.endswith("svtr_ctc") else 4)
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
