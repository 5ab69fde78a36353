"""Typed OCR results that serialise to plain JSON (Python floats, no numpy scalars)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

Point = tuple[float, float]
Quad = tuple[Point, Point, Point, Point]


def _as_quad(box: object) -> Quad:
    points = np.asarray(box, dtype=np.float64)
    if points.shape != (4, 2):
        raise ValueError(f"a text box must be 4 (x, y) points, got shape {points.shape}")
    if not np.isfinite(points).all():
        raise ValueError(f"a text box must have finite coordinates, got {points.tolist()}")
    p0, p1, p2, p3 = ((float(x), float(y)) for x, y in points)
    return p0, p1, p2, p3


def _as_score(value: object) -> float:
    score = float(value)  # type: ignore[arg-type]
    if not math.isfinite(score):
        raise ValueError(f"score must be finite, got {value!r}")
    return score


def _check_text(text: object) -> None:
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")


@dataclass(frozen=True)
class Word:
    """One word of a line (or one character, for scripts written without spaces: CJK, kana, hangul).

    The box is 4 (x, y) points in pixels of the input image, clockwise from the word's top-left as it is
    read (for an upright line: the image's top-left); the score is the mean probability of its characters.
    """

    box: Quad
    text: str
    score: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "box", _as_quad(self.box))
        _check_text(self.text)
        object.__setattr__(self, "score", _as_score(self.score))

    def to_dict(self) -> dict[str, Any]:
        return {"box": [[x, y] for x, y in self.box], "text": self.text, "score": self.score}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Word:
        return cls(box=data["box"], text=data["text"], score=data["score"])


# The angle classifier's outcome for a line: "0" kept as cut, "180" turned before recognition.
ANGLES = ("0", "180")


@dataclass(frozen=True)
class TextLine:
    """One recognised line: its box (4 points clockwise from the top-left), text and score.

    The box is in pixels of the input image; any 4×2 array-like is accepted and stored as tuples of
    Python floats so the line is hashable and serialises as is. ``angle`` is "0" or "180" when the angle
    classifier ran ("180": the crop was turned before recognition), None when it did not; ``words`` holds
    the line's word boxes when they were asked for (``OCR.run(image, words=True)``), None otherwise.
    """

    box: Quad
    text: str
    score: float
    angle: str | None = None
    words: tuple[Word, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "box", _as_quad(self.box))
        _check_text(self.text)
        object.__setattr__(self, "score", _as_score(self.score))
        if self.angle is not None and self.angle not in ANGLES:
            raise ValueError(f"angle must be one of {ANGLES} or None, got {self.angle!r}")
        if self.words is not None:
            words = tuple(self.words)
            if not all(isinstance(word, Word) for word in words):
                raise TypeError("words must be Word objects")
            object.__setattr__(self, "words", words)

    def to_dict(self, include_angle: bool = False) -> dict[str, Any]:
        """``{"box": [[x, y] × 4], "text": ..., "score": ...}``, PaddleOCR's reference layout, with
        ``"words"`` when the line has word boxes and, with ``include_angle``, ``"angle"`` when it has one
        (the page and document dictionaries include it)."""
        data: dict[str, Any] = {"box": [[x, y] for x, y in self.box], "text": self.text, "score": self.score}
        if include_angle and self.angle is not None:
            data["angle"] = self.angle
        if self.words is not None:
            data["words"] = [word.to_dict() for word in self.words]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TextLine:
        words = data.get("words")
        return cls(
            box=data["box"],
            text=data["text"],
            score=data["score"],
            angle=data.get("angle"),
            words=None if words is None else tuple(Word.from_dict(word) for word in words),
        )


@dataclass(frozen=True)
class OCRResult:
    """All lines found on one image, in reading order, with optional per-stage timings (seconds)."""

    lines: tuple[TextLine, ...]
    image_height: int
    image_width: int
    timings: Mapping[str, float] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.lines))
        object.__setattr__(self, "timings", MappingProxyType(dict(self.timings)))

    def __len__(self) -> int:
        return len(self.lines)

    def __iter__(self) -> Iterator[TextLine]:
        return iter(self.lines)

    def __getitem__(self, index: int) -> TextLine:
        return self.lines[index]

    @property
    def texts(self) -> list[str]:
        return [line.text for line in self.lines]

    @property
    def text(self) -> str:
        """The lines' texts joined by newlines."""
        return "\n".join(self.texts)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "image_size": [self.image_height, self.image_width],
            "results": [line.to_dict() for line in self.lines],
        }
        if self.timings:
            data["timings"] = {name: float(seconds) for name, seconds in self.timings.items()}
        return data

    def to_json(self, indent: int | None = None) -> str:
        """JSON text, non-ASCII characters kept as they are."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    def to_page(self, index: int = 0, source: str | None = None, page_count: int | None = None) -> Page:
        """This result as page ``index`` (0-based) of a :class:`Document`; ``source`` names where it came from
        (a path, ``"scan.pdf"``…), ``page_count`` how many pages that source has when it is a document."""
        return Page(
            index=index,
            width=self.image_width,
            height=self.image_height,
            lines=self.lines,
            source=source,
            timings=self.timings,
            page_count=page_count,
        )


@dataclass(frozen=True)
class Page:
    """One page of a document: its 0-based ``index``, its size in pixels, where it came from and its lines in
    reading order (with optional per-stage ``timings``, seconds)."""

    index: int
    width: int
    height: int
    lines: tuple[TextLine, ...]
    source: str | None = None
    timings: Mapping[str, float] = field(default_factory=dict, compare=False)
    #: The number of pages of ``source`` when it is a document (a PDF, a multi-page TIFF); None for an image.
    page_count: int | None = None

    def __post_init__(self) -> None:
        for name in ("index", "width", "height"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
                raise ValueError(f"a page's {name} must be a non-negative int, got {value!r}")
            object.__setattr__(self, name, int(value))
        if self.page_count is not None and (
            isinstance(self.page_count, bool) or not isinstance(self.page_count, int) or self.page_count <= self.index
        ):
            raise ValueError(f"page_count must be an int above the index {self.index}, got {self.page_count!r}")
        object.__setattr__(self, "lines", tuple(self.lines))
        object.__setattr__(self, "timings", MappingProxyType(dict(self.timings)))

    @property
    def text(self) -> str:
        """The lines' texts in reading order, joined by newlines."""
        return "\n".join(line.text for line in self.lines)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "index": self.index,
            "width": self.width,
            "height": self.height,
            "source": self.source,
            "lines": [line.to_dict(include_angle=True) for line in self.lines],
        }
        if self.page_count is not None:
            data["page_count"] = self.page_count
        if self.timings:
            data["timings"] = {name: float(seconds) for name, seconds in self.timings.items()}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Page:
        return cls(
            index=data["index"],
            width=data["width"],
            height=data["height"],
            lines=tuple(TextLine.from_dict(line) for line in data["lines"]),
            source=data.get("source"),
            timings=data.get("timings", {}),
            page_count=data.get("page_count"),
        )


@dataclass(frozen=True)
class Document:
    """Everything read from one input or one run: pages in order, each with its lines (and their words).

    ``to_json``/``from_json`` round-trip exactly: ``Document.from_json(doc.to_json()) == doc``.
    """

    pages: tuple[Page, ...]
    source: str | None = None

    def __post_init__(self) -> None:
        pages = tuple(self.pages)
        if not all(isinstance(page, Page) for page in pages):
            raise TypeError("pages must be Page objects")
        object.__setattr__(self, "pages", pages)

    @classmethod
    def from_results(
        cls,
        results: Iterable[OCRResult],
        source: str | None = None,
        page_sources: Sequence[str | None] | None = None,
        page_indices: Sequence[int] | None = None,
    ) -> Document:
        """A document of per-page results. Pages are numbered 0, 1, … unless ``page_indices`` gives each its
        own (e.g. the pages of a PDF that were read); each page's source is ``page_sources[i]``, else
        ``source``."""
        results = list(results)
        for name, given in (("page_sources", page_sources), ("page_indices", page_indices)):
            if given is not None and len(given) != len(results):
                raise ValueError(f"{name} has {len(given)} entries for {len(results)} results")
        pages = tuple(
            result.to_page(
                index=page_indices[position] if page_indices is not None else position,
                source=page_sources[position] if page_sources is not None else source,
            )
            for position, result in enumerate(results)
        )
        return cls(pages=pages, source=source)

    @property
    def lines(self) -> list[TextLine]:
        """Every page's lines, in page order."""
        return [line for page in self.pages for line in page.lines]

    @property
    def text(self) -> str:
        """The pages' texts, separated by a form feed line break."""
        return "\n\f".join(page.text for page in self.pages)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "pages": [page.to_dict() for page in self.pages]}

    def to_json(self, indent: int | None = None) -> str:
        """JSON text, non-ASCII characters kept as they are."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Document:
        return cls(pages=tuple(Page.from_dict(page) for page in data["pages"]), source=data.get("source"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Document:
        return cls.from_dict(json.loads(text))
