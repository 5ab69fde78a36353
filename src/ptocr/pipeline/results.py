"""Typed OCR results that serialise to plain JSON (Python floats, no numpy scalars)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
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


@dataclass(frozen=True)
class TextLine:
    """One recognised line: its box (4 points clockwise from the top-left), text and score.

    The box is in pixels of the input image; any 4×2 array-like is accepted and stored as tuples of
    Python floats so the line is hashable and serialises as is.
    """

    box: Quad
    text: str
    score: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "box", _as_quad(self.box))
        if not isinstance(self.text, str):
            raise TypeError(f"text must be a str, got {type(self.text).__name__}")
        score = float(self.score)
        if not math.isfinite(score):
            raise ValueError(f"score must be finite, got {self.score!r}")
        object.__setattr__(self, "score", score)

    def to_dict(self) -> dict[str, Any]:
        """``{"box": [[x, y] × 4], "text": ..., "score": ...}``, PaddleOCR's reference layout."""
        return {"box": [[x, y] for x, y in self.box], "text": self.text, "score": self.score}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TextLine:
        return cls(box=data["box"], text=data["text"], score=data["score"])


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
