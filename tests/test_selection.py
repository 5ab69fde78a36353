"""Choosing models by language and version, as PaddleOCR 2.x's PaddleOCR(lang=, ocr_version=) does."""

from __future__ import annotations

import pytest

from ptocr.errors import UnknownModelError
from ptocr.zoo import CATALOGUE, VERSIONS, choose_models, get_record, supported_languages
from ptocr.zoo.selection import MODEL_TABLE

# (lang, version) → (det, rec), worked out by hand from paddleocr.py 2.10's parse_lang / get_model_config.
CASES = {
    ("ch", "PP-OCRv4"): ("ch_PP-OCRv4_det", "ch_PP-OCRv4_rec"),
    ("en", "PP-OCRv4"): ("en_PP-OCRv3_det", "en_PP-OCRv4_rec"),
    ("fr", "PP-OCRv3"): ("en_PP-OCRv3_det", "latin_PP-OCRv3_rec"),
    ("french", "PP-OCR"): ("en_ppocr_mobile_v2.0_det", "latin_mobile_v2.0_rec"),  # french folds into latin
    ("german", "PP-OCRv4"): ("en_PP-OCRv3_det", "latin_PP-OCRv3_rec"),
    ("en", "PP-OCR"): ("en_ppocr_mobile_v2.0_det", "en_number_mobile_v2.0_rec"),
    ("en", "PP-OCRv2"): ("en_PP-OCRv3_det", "en_PP-OCRv4_rec"),  # PP-OCRv2 has no English: falls back to v4
    ("ch", "PP-OCRv2"): ("ch_PP-OCRv2_det", "ch_PP-OCRv2_rec"),
    ("ch", "PP-OCR"): ("ch_ppocr_mobile_v2.0_det", "ch_ppocr_mobile_v2.0_rec"),
    ("japan", "PP-OCR"): ("ml_PP-OCRv3_det", "japan_mobile_v2.0_rec"),  # no ml det in PP-OCR: v4's
    ("korean", "PP-OCRv4"): ("ml_PP-OCRv3_det", "korean_PP-OCRv4_rec"),
    ("chinese_cht", "PP-OCRv4"): ("ml_PP-OCRv3_det", "chinese_cht_PP-OCRv3_rec"),
    ("ru", "PP-OCRv4"): ("ml_PP-OCRv3_det", "cyrillic_PP-OCRv3_rec"),
    ("fa", "PP-OCRv3"): ("ml_PP-OCRv3_det", "arabic_PP-OCRv3_rec"),
    ("hi", "PP-OCR"): ("ml_PP-OCRv3_det", "devanagari_mobile_v2.0_rec"),
    ("ta", "PP-OCRv2"): ("ml_PP-OCRv3_det", "ta_PP-OCRv4_rec"),
}


@pytest.mark.parametrize(("lang", "version"), list(CASES))
def test_choice_matches_paddleocr(lang: str, version: str) -> None:
    choice = choose_models(lang, version)
    assert (choice.det, choice.rec) == CASES[(lang, version)]
    assert choice.cls == "ch_ppocr_mobile_v2.0_cls"


def test_every_table_entry_is_a_catalogue_model_of_its_task() -> None:
    for tasks in MODEL_TABLE.values():
        for task, table in tasks.items():
            for name in table.values():
                assert get_record(name).task == task, name


def test_every_language_and_version_gives_models_of_the_right_tasks() -> None:
    for lang in supported_languages():
        for version in VERSIONS:
            choice = choose_models(lang, version)
            assert [CATALOGUE[n].task for n in (choice.det, choice.rec, choice.cls)] == ["det", "rec", "cls"]


def test_unknown_language_lists_the_supported_ones() -> None:
    with pytest.raises(UnknownModelError, match=r"unsupported lang 'klingon'; supported: .*\bfr\b.*\bjapan\b"):
        choose_models("klingon")
    with pytest.raises(UnknownModelError, match="not supported: PP-OCRv4_server_rec_doc"):
        choose_models("ch_doc")
    with pytest.raises(UnknownModelError, match="unknown version 'PP-OCRv9'; versions: PP-OCR, PP-OCRv2"):
        choose_models("ch", "PP-OCRv9")
