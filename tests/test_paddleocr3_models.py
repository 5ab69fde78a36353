"""The PP-OCRv5 / PP-OCRv6 choices against the catalogue's records, and a v6 system end to end.

The records of these models come with their architectures; until they are in the catalogue these tests skip.
"""

from __future__ import annotations

import pytest

import ptocr
from ptocr.compat import PaddleOCR
from ptocr.ocr import settings_for
from ptocr.pipeline.settings import DB_DEFAULTS, PADDLEOCR_3
from ptocr.zoo import CATALOGUE, choose_models, get_record, supported_languages
from ptocr.zoo.paddleocr3_selection import SIZES_BY_VERSION

from .paths import shared_path

SYSTEMS = [(version, size) for version, sizes in SIZES_BY_VERSION.items() for size in sizes]


def _need(*names: str) -> None:
    missing = [name for name in names if name not in CATALOGUE]
    if missing:
        pytest.skip(f"not in the catalogue yet: {', '.join(missing)}")


@pytest.mark.parametrize(("version", "size"), SYSTEMS)
def test_every_choice_is_a_catalogue_model_of_its_task(version: str, size: str) -> None:
    for lang in supported_languages(version, size):
        choice = choose_models(lang, version, size)
        _need(choice.det, choice.rec, choice.cls)  # type: ignore[arg-type]
        assert [CATALOGUE[name].task for name in (choice.det, choice.rec, choice.cls)] == ["det", "rec", "cls"]
        assert CATALOGUE[choice.det].version == CATALOGUE[choice.rec].version == version, (lang, choice)


@pytest.mark.parametrize(("version", "size"), SYSTEMS)
def test_chosen_records_run_with_paddleocr_3_settings(version: str, size: str) -> None:
    choice = choose_models("en", version, size)
    _need(choice.det, choice.rec, choice.cls)  # type: ignore[arg-type]
    settings = settings_for(get_record(choice.det), get_record(choice.rec), get_record(choice.cls))  # type: ignore[arg-type]
    det = settings.det
    assert (det.limit_side_len, det.limit_type, det.max_side_limit) == (64, "min", 4000)
    assert (det.thresh, det.box_thresh, det.unclip_ratio) == (0.3, 0.6, 1.5)
    assert det.max_candidates == DB_DEFAULTS[choice.det].max_candidates
    assert (settings.rec.crop_width, settings.rec.max_width, settings.drop_score) == ("own", 3200, 0.0)
    cls = settings.cls
    assert (cls.resize, cls.channel_order, cls.decision, cls.image_shape) == ("stretch", "RGB", "argmax", (3, 80, 160))
    assert settings.crop == PADDLEOCR_3.crop and settings.use_angle_cls


def test_v6_small_reads_a_shared_page_and_compat_maps_the_version() -> None:
    choice = choose_models("en", "PP-OCRv6")
    _need(choice.det, choice.rec)
    image = shared_path("images", "imgs_en", "img_12.jpg")
    ocr = ptocr.OCR(lang="en", version="PP-OCRv6", use_angle_cls=False, threads=2)
    assert (ocr.models["det"], ocr.models["rec"]) == ("PP-OCRv6_small_det", "PP-OCRv6_small_rec")
    assert ocr.settings.drop_score == 0.0 and ocr.settings.det.max_candidates == 3000
    result = ocr.run(image)
    texts = [line.text for line in result.lines]
    assert len(texts) >= 5 and sum(len(text) for text in texts) >= 50, texts
    legacy = PaddleOCR(lang="en", ocr_version="PP-OCRv6", show_log=False, use_gpu=False)
    assert legacy.engine.models["rec"] == "PP-OCRv6_small_rec"
    assert legacy.engine.settings.det == ocr.settings.det
