"""Choosing PP-OCRv5 / PP-OCRv6 models (PaddleOCR 3.x, RapidOCR 3.10) and the settings they run with.

None of this needs the models' records: the names are checked against the catalogue in
test_paddleocr3_models.py, which skips while they are absent.
"""

from __future__ import annotations

import dataclasses

import pytest

from ptocr import cli, cli_tools
from ptocr.errors import UnknownModelError
from ptocr.ocr import settings_for
from ptocr.pipeline.settings import PADDLEOCR_3, TEXTLINE_CLS, OCRSettings
from ptocr.zoo import (
    ALL_VERSIONS,
    DetPreprocessing,
    FileDigest,
    LinePreprocessing,
    ModelFiles,
    ModelRecord,
    choose_models,
    supported_languages,
)
from ptocr.zoo.paddleocr3_selection import V6_LANGS, V6_TINY_LANGS, v5_languages

# (lang, size) → (det, rec, cls), worked out by hand from paddleocr 3.7's _get_ocr_model_names and OCR.yaml
# (server) and paddleocr 3.0.0's OCR.yaml (mobile).
V5 = {
    ("ch", "server"): ("PP-OCRv5_server_det", "PP-OCRv5_server_rec", "PP-LCNet_x1_0_textline_ori"),
    ("ch", None): ("PP-OCRv5_mobile_det", "PP-OCRv5_mobile_rec", "PP-LCNet_x0_25_textline_ori"),
    ("japan", None): ("PP-OCRv5_mobile_det", "PP-OCRv5_mobile_rec", "PP-LCNet_x0_25_textline_ori"),
    ("chinese_cht", "server"): ("PP-OCRv5_server_det", "PP-OCRv5_server_rec", "PP-LCNet_x1_0_textline_ori"),
    ("en", "server"): ("PP-OCRv5_server_det", "en_PP-OCRv5_mobile_rec", "PP-LCNet_x1_0_textline_ori"),
    ("fr", None): ("PP-OCRv5_mobile_det", "latin_PP-OCRv5_mobile_rec", "PP-LCNet_x0_25_textline_ori"),
    ("ku", None): ("PP-OCRv5_mobile_det", "latin_PP-OCRv5_mobile_rec", "PP-LCNet_x0_25_textline_ori"),  # latin 1st
    ("ca", "mobile"): ("PP-OCRv5_mobile_det", "latin_PP-OCRv5_mobile_rec", "PP-LCNet_x0_25_textline_ori"),
    ("ru", None): ("PP-OCRv5_mobile_det", "eslav_PP-OCRv5_mobile_rec", "PP-LCNet_x0_25_textline_ori"),
    ("uk", "server"): ("PP-OCRv5_server_det", "eslav_PP-OCRv5_mobile_rec", "PP-LCNet_x1_0_textline_ori"),
    ("bg", None): ("PP-OCRv5_mobile_det", "cyrillic_PP-OCRv5_mobile_rec", "PP-LCNet_x0_25_textline_ori"),
    ("kk", None): ("PP-OCRv5_mobile_det", "cyrillic_PP-OCRv5_mobile_rec", "PP-LCNet_x0_25_textline_ori"),
    ("ps", None): ("PP-OCRv5_mobile_det", "arabic_PP-OCRv5_mobile_rec", "PP-LCNet_x0_25_textline_ori"),
    ("hi", None): ("PP-OCRv5_mobile_det", "devanagari_PP-OCRv5_mobile_rec", "PP-LCNet_x0_25_textline_ori"),
    ("korean", None): ("PP-OCRv5_mobile_det", "korean_PP-OCRv5_mobile_rec", "PP-LCNet_x0_25_textline_ori"),
    ("th", None): ("PP-OCRv5_mobile_det", "th_PP-OCRv5_mobile_rec", "PP-LCNet_x0_25_textline_ori"),
    ("el", None): ("PP-OCRv5_mobile_det", "el_PP-OCRv5_mobile_rec", "PP-LCNet_x0_25_textline_ori"),
    ("ta", None): ("PP-OCRv5_mobile_det", "ta_PP-OCRv5_mobile_rec", "PP-LCNet_x0_25_textline_ori"),
    ("te", "server"): ("PP-OCRv5_server_det", "te_PP-OCRv5_mobile_rec", "PP-LCNet_x1_0_textline_ori"),
}


@pytest.mark.parametrize(("lang", "size"), list(V5))
def test_v5_choice(lang: str, size: str | None) -> None:
    choice = choose_models(lang, "PP-OCRv5", size)
    assert (choice.det, choice.rec, choice.cls) == V5[(lang, size)]


@pytest.mark.parametrize(
    ("size", "stem"), [(None, "small"), ("small", "small"), ("tiny", "tiny"), ("medium", "medium")]
)
def test_v6_choice(size: str | None, stem: str) -> None:
    for lang in ("ch", "en", "de", "chinese_cht"):
        choice = choose_models(lang, "PP-OCRv6", size)
        assert (choice.det, choice.rec) == (f"PP-OCRv6_{stem}_det", f"PP-OCRv6_{stem}_rec")
        assert choice.cls == "PP-LCNet_x1_0_textline_ori"  # paddleocr 3.7's OCR.yaml


def test_v6_languages_are_rapidocrs() -> None:
    assert len(V6_LANGS) == 52
    assert V6_LANGS - {"japan"} == V6_TINY_LANGS
    assert {"japan", "qu", "rm", "lb", "gl", "eu", "fi", "ca"} <= V6_LANGS and "pi" not in V6_LANGS
    assert choose_models("japan", "PP-OCRv6").rec == "PP-OCRv6_small_rec"
    with pytest.raises(UnknownModelError, match=r"PP-OCRv6 tiny has no model for lang 'japan'; its languages: af,"):
        choose_models("japan", "PP-OCRv6", "tiny")
    for lang in ("pi", "ru", "korean", "ar"):
        with pytest.raises(UnknownModelError, match=f"lang '{lang}'"):
            choose_models(lang, "PP-OCRv6")
    assert supported_languages("PP-OCRv6", "tiny") == sorted(V6_TINY_LANGS)
    assert supported_languages("PP-OCRv5") == sorted(v5_languages())
    assert "tab" in supported_languages("PP-OCRv5") and "japan" in supported_languages("PP-OCRv5")


def test_sizes_and_versions_are_checked() -> None:
    with pytest.raises(UnknownModelError, match="PP-OCRv5 has no size 'tiny'; its sizes: mobile, server"):
        choose_models("ch", "PP-OCRv5", "tiny")
    with pytest.raises(UnknownModelError, match="PP-OCRv6 has no size 'server'; its sizes: small, tiny, medium"):
        choose_models("ch", "PP-OCRv6", "server")
    with pytest.raises(UnknownModelError, match="PP-OCRv4 has one size"):
        choose_models("ch", "PP-OCRv4", "server")
    with pytest.raises(UnknownModelError, match="PP-OCRv5 has no recogniser for lang 'ka'"):
        choose_models("ka", "PP-OCRv5")
    assert {"PP-OCRv5", "PP-OCRv6"} <= set(ALL_VERSIONS)
    assert choose_models().det == "ch_PP-OCRv4_det"  # the 2.x default stays


TEXTLINE_INPUT = LinePreprocessing(
    (3, 80, 160), mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), resize="stretch", channel_order="RGB"
)


def _record(name: str, task: str, version: str, preprocessing: object, **extra: object) -> ModelRecord:
    files = ModelFiles("onnx", (FileDigest("model.onnx", None),), ())
    return ModelRecord(
        name=name, task=task, architecture="x", description="", version=version, language="ch",  # type: ignore[arg-type]
        weights={"onnx": files}, preprocessing=preprocessing, **extra,  # type: ignore[arg-type]
    )  # fmt: skip


def test_settings_for_v6_models_keep_the_pipeline_resize() -> None:
    det = _record("PP-OCRv6_tiny_det", "det", "PP-OCRv6", DetPreprocessing(limit_side_len=960, limit_type="max"))
    rec = _record("PP-OCRv6_tiny_rec", "rec", "PP-OCRv6", LinePreprocessing((3, 48, 320)), dictionary="d",
                  num_classes=6906)  # fmt: skip
    cls = _record("PP-LCNet_x1_0_textline_ori", "cls", "PP-OCRv5", TEXTLINE_INPUT, labels=("0_degree", "180_degree"))
    settings = settings_for(det, rec, cls)
    assert (settings.det.limit_side_len, settings.det.limit_type, settings.det.max_side_limit) == (64, "min", 4000)
    assert settings.det.max_candidates == 3000 and settings.det.thresh == 0.3
    assert settings.cls == dataclasses.replace(TEXTLINE_CLS, labels=("0_degree", "180_degree"))
    assert settings.rec == PADDLEOCR_3.rec and settings.drop_score == 0.0 and settings.crop == "min_area_rect"
    assert settings.use_angle_cls
    no_cls = settings_for(det, rec, None)
    assert not no_cls.use_angle_cls
    # A 2.x detector with a v6 recogniser: each stage its own generation's.
    v4_det = _record("ch_PP-OCRv4_det", "det", "PP-OCRv4", DetPreprocessing())
    assert settings_for(v4_det, rec, cls).det == OCRSettings().det
    # A textline classifier under another version string still runs as PaddleX runs it.
    odd = _record("PP-LCNet_x0_25_textline_ori", "cls", "PP-LCNet", TEXTLINE_INPUT, labels=("0", "180"))
    v4_rec = _record("r", "rec", "PP-OCRv4", LinePreprocessing((3, 48, 320)), dictionary="d", num_classes=3)
    assert settings_for(v4_det, v4_rec, odd).cls == TEXTLINE_CLS
    # The record's input settings are the classifier's: one that keeps the ratio in BGR is read so.
    plain_input = LinePreprocessing((3, 80, 160))
    plain = _record("PP-LCNet_x0_25_textline_ori", "cls", "PP-OCRv5", plain_input, labels=("0", "180"))
    keep = settings_for(det, rec, plain).cls
    assert (keep.resize, keep.channel_order, keep.mean, keep.decision) == ("keep_ratio", "BGR", (0.5,) * 3, "argmax")


def test_cli_size_option() -> None:
    args = cli._ocr_parser().parse_args(["x.png", "--version", "PP-OCRv6", "--size", "tiny"])
    assert (args.ocr_version, args.size) == ("PP-OCRv6", "tiny")
    with pytest.raises(SystemExit):
        cli._ocr_parser().parse_args(["x.png", "--size", "huge"])
    assert "--size" in cli._ocr_parser().format_help() and "PP-OCRv6" in cli._ocr_parser().format_help()
    assert cli_tools._serve_parser().parse_args(["--size", "server"]).size == "server"


def test_cli_refuses_preset_with_size(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli._ocr(["x.png", "--preset", "ch_ppocr_mobile_v1.1", "--size", "tiny"])
    assert exit_info.value.code == 2 and "--preset names the models itself" in capsys.readouterr().err
