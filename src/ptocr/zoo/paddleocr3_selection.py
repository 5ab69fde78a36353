"""Choosing PP-OCRv5 / PP-OCRv6 models from ``lang`` and a size, as PaddleOCR 3.x and RapidOCR 3.10 do.

PP-OCRv5 (PaddleOCR 3.7's ``PaddleOCR._get_ocr_model_names`` with ``ocr_version="PP-OCRv5"``): one detector for
every language, a recogniser per script. ``ch``, ``chinese_cht`` and ``japan`` are read by the Chinese recogniser
(it reads all three), ``en`` by the English one, and other codes fold into PaddleOCR 3.x's script groups (its
``_utils/langs.py``: latin, eslav for ru / be / uk, arabic, cyrillic, devanagari; korean, th, el, te and ta are
their own). PaddleOCR 3.1 and later choose ``PP-OCRv5_server_det`` and, for ch / chinese_cht / japan,
``PP-OCRv5_server_rec``, with ``PP-LCNet_x1_0_textline_ori``; the other scripts have mobile recognisers only.
ptocr's default size is "mobile" instead: PaddleOCR 3.0.0's default system (``PP-OCRv5_mobile_det`` /
``_rec`` with ``PP-LCNet_x0_25_textline_ori``), and the files PyPI's wheels carry with published digests; the
server files are published only in Baidu's PaddlePaddle 3 archives. ``size="server"`` gives PaddleOCR 3.1's
choice.

PP-OCRv6 (RapidOCR 3.10's ``default_models.yaml``; PaddleOCR 3.7 alike): one multilingual detector and
recogniser per size for ch, chinese_cht, en, japan and PaddleOCR 3.x's latin codes except ``pi``; the tiny
recogniser's dictionary has no kana, so tiny has no ``japan``. ptocr's default size is "small", as RapidOCR 3.9+'s
(PaddleOCR 3.7 chooses medium, whose files are published only in Baidu's archives); the textline classifier is
PaddleOCR 3.7's, ``PP-LCNet_x1_0_textline_ori``, for every size.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ..errors import UnknownModelError

# PaddleOCR 3.x's script groups (paddleocr/_utils/langs.py, 3.7). Where a code is in two groups, the first
# group tested wins: latin before arabic (ku), eslav before cyrillic (ru, be, uk).
LATIN_LANGS = frozenset({
    "af", "az", "bs", "cs", "cy", "da", "de", "es", "et", "fr", "ga", "hr", "hu", "id", "is", "it", "ku", "la",
    "lt", "lv", "mi", "ms", "mt", "nl", "no", "oc", "pi", "pl", "pt", "ro", "rs_latin", "sk", "sl", "sq", "sv",
    "sw", "tl", "tr", "uz", "vi", "french", "german", "fi", "eu", "gl", "lb", "rm", "ca", "qu",
})  # fmt: skip
ARABIC_LANGS = frozenset({"ar", "fa", "ug", "ur", "ps", "ku", "sd", "bal"})
ESLAV_LANGS = frozenset({"ru", "be", "uk"})
CYRILLIC_LANGS = frozenset({
    "ru", "rs_cyrillic", "be", "bg", "uk", "mn", "abq", "ady", "kbd", "ava", "dar", "inh", "che", "lbe", "lez",
    "tab", "kk", "ky", "tg", "mk", "tt", "cv", "ba", "mhr", "mo", "udm", "kv", "os", "bua", "xal", "tyv", "sah",
    "kaa",
})  # fmt: skip
DEVANAGARI_LANGS = frozenset({"hi", "mr", "ne", "bh", "mai", "ang", "bho", "mah", "sck", "new", "gom", "sa", "bgc"})
_GROUPS: tuple[tuple[str, frozenset[str]], ...] = (
    ("latin", LATIN_LANGS), ("eslav", ESLAV_LANGS), ("arabic", ARABIC_LANGS), ("cyrillic", CYRILLIC_LANGS),
    ("devanagari", DEVANAGARI_LANGS),
)  # fmt: skip
# Read by the Chinese recogniser, and the scripts with a recogniser of their own.
_CHINESE = frozenset({"ch", "chinese_cht", "japan"})
_OWN_SCRIPT = frozenset({"en", "korean", "th", "el", "te", "ta"})

#: Languages of the PP-OCRv6 models (RapidOCR 3.10's ppocrv6_langs / ppocrv6_tiny_langs; PaddleOCR 3.7's
#: _PPOCRV6_LANGS), by size.
V6_LANGS = frozenset({"ch", "chinese_cht", "en", "japan"}) | (LATIN_LANGS - {"pi"})
V6_TINY_LANGS = V6_LANGS - {"japan"}

#: Each version's sizes, ptocr's default first.
SIZES_BY_VERSION: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "PP-OCRv5": ("mobile", "server"),
    "PP-OCRv6": ("small", "tiny", "medium"),
})  # fmt: skip
_TEXTLINE_CLS = MappingProxyType({"mobile": "PP-LCNet_x0_25_textline_ori", "server": "PP-LCNet_x1_0_textline_ori"})


def v5_languages() -> frozenset[str]:
    """Every ``lang`` PP-OCRv5 reads."""
    return _CHINESE | _OWN_SCRIPT | frozenset().union(*(codes for _, codes in _GROUPS))


def languages(version: str, size: str | None = None) -> list[str]:
    """The ``lang`` codes ``version`` (at ``size``; None: its default) reads, sorted."""
    if version == "PP-OCRv5":
        return sorted(v5_languages())
    return sorted(V6_TINY_LANGS if size == "tiny" else V6_LANGS)


def _size(version: str, size: str | None) -> str:
    sizes = SIZES_BY_VERSION[version]
    if size is None:
        return sizes[0]
    if size not in sizes:
        raise UnknownModelError(f"{version} has no size {size!r}; its sizes: {', '.join(sizes)}")
    return size


def _v5_rec_language(lang: str) -> str:
    if lang in _CHINESE:
        return "ch"
    if lang in _OWN_SCRIPT:
        return lang
    for group, codes in _GROUPS:
        if lang in codes:
            return group
    known = ", ".join(languages("PP-OCRv5"))
    raise UnknownModelError(f"PP-OCRv5 has no recogniser for lang {lang!r}; its languages: {known}")


def choose_paddleocr3_models(lang: str, version: str, size: str | None = None) -> tuple[str, str, str]:
    """(det, rec, cls) names of PaddleOCR 3.x's ``lang`` × ``version`` system at ``size`` (see the module's text).
    Raises UnknownModelError for a language or size the version does not have, listing those it has."""
    size = _size(version, size)
    if version == "PP-OCRv5":
        rec_lang = _v5_rec_language(lang)
        # Only the Chinese recogniser comes in both sizes.
        rec = f"PP-OCRv5_{size}_rec" if rec_lang == "ch" else f"{rec_lang}_PP-OCRv5_mobile_rec"
        return f"PP-OCRv5_{size}_det", rec, _TEXTLINE_CLS[size]
    if lang not in (V6_TINY_LANGS if size == "tiny" else V6_LANGS):
        known = ", ".join(languages(version, size))
        raise UnknownModelError(f"PP-OCRv6 {size} has no model for lang {lang!r}; its languages: {known}")
    return f"PP-OCRv6_{size}_det", f"PP-OCRv6_{size}_rec", _TEXTLINE_CLS["server"]
