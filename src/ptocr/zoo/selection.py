"""Choosing det / rec / cls models from ``lang`` and ``version`` exactly as PaddleOCR 2.x's ``PaddleOCR()`` does.

PaddleOCR (paddleocr.py, 2.10) first folds many language codes into four script groups (``fr`` → ``latin``,
``fa`` → ``arabic``, …), rejects codes its default version does not know, and picks the detector language
(``ch``, ``en`` or the multilingual ``ml``). For each task it then looks the language up in the requested
version's table and, where that version has no model for it, falls back to the default version, PP-OCRv4.
The tables below name the models PaddleOCR's URLs point at; unlike PaddleOCR, which sets the recogniser
input height from the *requested* version, ptocr uses the height of the model actually chosen.

"PP-OCRv5" and "PP-OCRv6" are chosen as PaddleOCR 3.x and RapidOCR 3.10 choose them, in sizes
(:mod:`ptocr.zoo.paddleocr3_selection`). The PaddleOCR 1.x generations are chosen as their own packages chose:
"PP-OCR-v1.1" as paddleocr 1.1.1's ``PaddleOCR(lang=)`` (one detector and classifier, a recogniser for ch, en,
french, german, korean, japan; no fallback), "PP-OCR-v1.0" as paddleocr 0.0.x's ``PaddleOCR()`` (ch only, the
space-reading "enhance" recogniser, no angle classifier). :data:`PRESETS` name whole systems by their release names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ..errors import UnknownModelError
from .paddleocr3_selection import SIZES_BY_VERSION, choose_paddleocr3_models, languages
from .records import FLUID_VERSIONS, PIR_VERSIONS

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

#: PaddleOCR 1.x: version → task → lang → model (paddleocr 1.1.1's and 0.0.x's model_urls). A cls of None: that
#: release had no angle classifier.
V1_MODEL_TABLE: Mapping[str, Mapping[str, Mapping[str, str | None]]] = MappingProxyType({
    "PP-OCR-v1.1": {
        "det": {"*": "ch_ppocr_mobile_v1.1_det"},
        "rec": {"ch": "ch_ppocr_mobile_v1.1_rec", "en": "en_ppocr_mobile_v1.1_rec",
                "french": "french_ppocr_mobile_v1.1_rec", "german": "german_ppocr_mobile_v1.1_rec",
                "korean": "korean_ppocr_mobile_v1.1_rec", "japan": "japan_ppocr_mobile_v1.1_rec"},
        "cls": {"*": "ch_ppocr_mobile_v1.1_cls"},
    },
    "PP-OCR-v1.0": {
        "det": {"*": "ch_det_mv3_db"}, "rec": {"ch": "ch_rec_mv3_crnn_enhance"}, "cls": {"*": None},
    },
})  # fmt: skip

#: Every version :func:`choose_models` accepts: PaddleOCR 2.x's, PaddleOCR 3.x's, then the 1.x generations.
ALL_VERSIONS: tuple[str, ...] = (*VERSIONS, *PIR_VERSIONS, *FLUID_VERSIONS)

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
    cls: str | None  # None: the generation had no angle classifier (PP-OCR-v1.0)


#: Whole systems under their release names: PaddleOCR 1.0's two "OCR model list" entries, each its det model and
#: its recogniser (the release's "rec" column; the space-reading "_enhance" recogniser of the same row is
#: `rec_model="ch_rec_mv3_crnn_enhance"` / `"ch_rec_r34_vd_crnn_enhance"`); and PaddleOCR 1.1's mobile and server
#: systems (det + cls + rec of one size).
PRESETS: Mapping[str, ModelChoice] = MappingProxyType({
    "chinese_db_crnn_mobile": ModelChoice("ch_det_mv3_db", "ch_rec_mv3_crnn", None),
    "chinese_db_crnn_server": ModelChoice("ch_det_r50_vd_db", "ch_rec_r34_vd_crnn", None),
    "ch_ppocr_mobile_v1.1": ModelChoice("ch_ppocr_mobile_v1.1_det", "ch_ppocr_mobile_v1.1_rec",
                                        "ch_ppocr_mobile_v1.1_cls"),
    "ch_ppocr_server_v1.1": ModelChoice("ch_ppocr_server_v1.1_det", "ch_ppocr_server_v1.1_rec",
                                        "ch_ppocr_mobile_v1.1_cls"),
})  # fmt: skip


def choose_preset(name: str) -> ModelChoice:
    """The det, rec and cls models of the system ``name`` (:data:`PRESETS`); UnknownModelError lists them."""
    if name not in PRESETS:
        raise UnknownModelError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}")
    return PRESETS[name]


def supported_languages(version: str | None = None, size: str | None = None) -> list[str]:
    """Every ``lang`` value :func:`choose_models` accepts: the recogniser keys and the grouped codes of PaddleOCR
    2.x (``version`` None or a 2.x one), or those of "PP-OCRv5" / "PP-OCRv6" (at ``size``)."""
    if version in PIR_VERSIONS:
        return languages(version, size)
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


def choose_models(lang: str = "ch", version: str = DEFAULT_VERSION, size: str | None = None) -> ModelChoice:
    """The det, rec and cls models of PaddleOCR 2.x's ``PaddleOCR(lang=lang, ocr_version=version)``.

    For "PP-OCRv5" and "PP-OCRv6", those of PaddleOCR 3.x's system of ``size`` (v5: "mobile", the default, or
    "server"; v6: "small", the default, "tiny" or "medium"; :mod:`ptocr.zoo.paddleocr3_selection` says why these
    defaults). For "PP-OCR-v1.1" and "PP-OCR-v1.0", the models of PaddleOCR 1.1.1's / 0.0.x's
    ``PaddleOCR(lang=lang)`` (see :data:`V1_MODEL_TABLE`). Raises UnknownModelError for a language, version or
    size PaddleOCR does not support, listing the valid ones.
    """
    if size is not None and version not in SIZES_BY_VERSION:
        sized = " and ".join(SIZES_BY_VERSION)
        raise UnknownModelError(f"{version} has one size of models; a size is chosen for {sized} only")
    if version in SIZES_BY_VERSION:
        det, rec, cls = choose_paddleocr3_models(lang, version, size)
        return ModelChoice(det=det, rec=rec, cls=cls)
    if version in V1_MODEL_TABLE:
        return _choose_v1(lang, version)
    if version not in VERSIONS:
        raise UnknownModelError(f"unknown version {version!r}; versions: {', '.join(ALL_VERSIONS)}")
    rec_lang = _rec_language(lang)
    return ModelChoice(
        det=_pick(version, "det", _det_language(rec_lang)),
        rec=_pick(version, "rec", rec_lang),
        cls=_pick(version, "cls", "ch"),
    )


def _choose_v1(lang: str, version: str) -> ModelChoice:
    table = V1_MODEL_TABLE[version]
    if lang not in table["rec"]:
        raise UnknownModelError(
            f"{version} has no recogniser for lang {lang!r}; its languages: {', '.join(table['rec'])}"
        )
    det, rec, cls = table["det"]["*"], table["rec"][lang], table["cls"]["*"]
    assert det is not None and rec is not None
    return ModelChoice(det=det, rec=rec, cls=cls)
