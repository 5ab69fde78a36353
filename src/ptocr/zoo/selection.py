"""Choosing det / rec / cls models from ``lang`` and ``version`` exactly as PaddleOCR 2.x's ``PaddleOCR()`` does.

PaddleOCR (paddleocr.py, 2.10) first folds many language codes into four script groups (``fr`` → ``latin``,
``fa`` → ``arabic``, …), rejects codes its default version does not know, and picks the detector language
(``ch``, ``en`` or the multilingual ``ml``). For each task it then looks the language up in the requested
version's table and, where that version has no model for it, falls back to the default version, PP-OCRv4.
The tables below name the models PaddleOCR's URLs point at; unlike PaddleOCR, which sets the recogniser
input height from the *requested* version, ptocr uses the height of the model actually chosen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ..errors import UnknownModelError

VERSIONS: tuple[str, ...] = ("PP-OCR", "PP-OCRv2", "PP-OCRv3", "PP-OCRv4")
DEFAULT_VERSION = "PP-OCRv4"

# Script groups: a language code listed here is served by its group's models.
_GROUPS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "latin": ("af", "az", "bs", "cs", "cy", "da", "de", "es", "et", "fr", "ga", "hr", "hu", "id", "is", "it",
              "ku", "la", "lt", "lv", "mi", "ms", "mt", "nl", "no", "oc", "pi", "pl", "pt", "ro", "rs_latin",
              "sk", "sl", "sq", "sv", "sw", "tl", "tr", "uz", "vi", "french", "german"),
    "arabic": ("ar", "fa", "ug", "ur"),
    "cyrillic": ("ru", "rs_cyrillic", "be", "bg", "uk", "mn", "abq", "ady", "kbd", "ava", "dar", "inh", "che",
                 "lbe", "lez", "tab"),
    "devanagari": ("hi", "mr", "ne", "bh", "mai", "ang", "bho", "mah", "sck", "new", "gom", "sa", "bgc"),
})  # fmt: skip
_GROUP_OF = MappingProxyType({code: group for group, codes in _GROUPS.items() for code in codes})

_V4_REC = {
    "ch": "ch_PP-OCRv4_rec", "en": "en_PP-OCRv4_rec", "korean": "korean_PP-OCRv4_rec",
    "japan": "japan_PP-OCRv4_rec", "chinese_cht": "chinese_cht_PP-OCRv3_rec", "ta": "ta_PP-OCRv4_rec",
    "te": "te_PP-OCRv4_rec", "ka": "ka_PP-OCRv4_rec", "latin": "latin_PP-OCRv3_rec",
    "arabic": "arabic_PP-OCRv4_rec", "cyrillic": "cyrillic_PP-OCRv3_rec", "devanagari": "devanagari_PP-OCRv4_rec",
}  # fmt: skip
_V3_REC = {lang: f"{lang}_PP-OCRv3_rec" for lang in _V4_REC}
_V2_0_REC = {
    "ch": "ch_ppocr_mobile_v2.0_rec", "en": "en_number_mobile_v2.0_rec", "french": "french_mobile_v2.0_rec",
    "german": "german_mobile_v2.0_rec", "korean": "korean_mobile_v2.0_rec", "japan": "japan_mobile_v2.0_rec",
    "chinese_cht": "chinese_cht_mobile_v2.0_rec", "ta": "ta_mobile_v2.0_rec", "te": "te_mobile_v2.0_rec",
    "ka": "ka_mobile_v2.0_rec", "latin": "latin_mobile_v2.0_rec", "arabic": "arabic_mobile_v2.0_rec",
    "cyrillic": "cyrillic_mobile_v2.0_rec", "devanagari": "devanagari_mobile_v2.0_rec",
}  # fmt: skip
_CLS = {"ch": "ch_ppocr_mobile_v2.0_cls"}

#: version → task → language key → model name (PaddleOCR 2.10's MODEL_URLS["OCR"], by model name).
MODEL_TABLE: Mapping[str, Mapping[str, Mapping[str, str]]] = MappingProxyType({
    "PP-OCRv4": {"det": {"ch": "ch_PP-OCRv4_det", "en": "en_PP-OCRv3_det", "ml": "ml_PP-OCRv3_det"},
                 "rec": _V4_REC, "cls": _CLS},
    "PP-OCRv3": {"det": {"ch": "ch_PP-OCRv3_det", "en": "en_PP-OCRv3_det", "ml": "ml_PP-OCRv3_det"},
                 "rec": _V3_REC, "cls": _CLS},
    "PP-OCRv2": {"det": {"ch": "ch_PP-OCRv2_det"}, "rec": {"ch": "ch_PP-OCRv2_rec"}, "cls": _CLS},
    "PP-OCR": {"det": {"ch": "ch_ppocr_mobile_v2.0_det", "en": "en_ppocr_mobile_v2.0_det"},
               "rec": _V2_0_REC, "cls": _CLS},
})  # fmt: skip

#: Languages PaddleOCR lists but ptocr cannot run yet, and why.
UNSUPPORTED: Mapping[str, str] = MappingProxyType({
    "ch_doc": "PP-OCRv4_server_rec_doc is published only in Paddle 3's new program format (inference.json)",
    "structure": "table-structure models are outside PP-OCR's det/cls/rec system",
})  # fmt: skip


@dataclass(frozen=True)
class ModelChoice:
    """The models PaddleOCR would load for one ``lang`` × ``version``."""

    det: str
    rec: str
    cls: str


def supported_languages() -> list[str]:
    """Every ``lang`` value :func:`choose_models` accepts: the recogniser keys and the grouped codes."""
    return sorted(set(MODEL_TABLE[DEFAULT_VERSION]["rec"]) | set(_GROUP_OF))


def _rec_language(lang: str) -> str:
    key = _GROUP_OF.get(lang, lang)
    if key in UNSUPPORTED:
        raise UnknownModelError(f"lang {lang!r} is not supported: {UNSUPPORTED[key]}")
    if key not in MODEL_TABLE[DEFAULT_VERSION]["rec"]:
        raise UnknownModelError(
            f"unsupported lang {lang!r}; supported: {', '.join(supported_languages())}"
        )
    return key


def _det_language(rec_lang: str) -> str:
    if rec_lang == "ch":
        return "ch"
    return "en" if rec_lang in ("en", "latin") else "ml"


def _pick(version: str, task: str, lang: str) -> str:
    table = MODEL_TABLE[version][task]
    if lang in table:
        return table[lang]
    return MODEL_TABLE[DEFAULT_VERSION][task][lang]  # PaddleOCR falls back to its default version


def choose_models(lang: str = "ch", version: str = DEFAULT_VERSION) -> ModelChoice:
    """The det, rec and cls models of PaddleOCR 2.x's ``PaddleOCR(lang=lang, ocr_version=version)``.

    Raises UnknownModelError for a language or version PaddleOCR 2.x does not support, listing the valid ones.
    """
    if version not in VERSIONS:
        raise UnknownModelError(f"unknown version {version!r}; versions: {', '.join(VERSIONS)}")
    rec_lang = _rec_language(lang)
    return ModelChoice(
        det=_pick(version, "det", _det_language(rec_lang)),
        rec=_pick(version, "rec", rec_lang),
        cls=_pick(version, "cls", "ch"),
    )
