"""ptocr: PaddleOCR's PP-OCR models in pure PyTorch, loading PaddleOCR's own files.

>>> import ptocr
>>> ocr = ptocr.OCR()
>>> for line in ocr("photo.jpg"):
...     print(line.text, line.score, line.box)

The public names are resolved lazily so that `ptocr.store`, `ptocr.zoo` and the `ptocr models` CLI
commands work without importing torch.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

# oneDNN keeps up to 1024 prepared convolutions (with their scratch memory) by default. The detector meets a
# new input size with nearly every image, so most entries are never used again: on the 93 shared images peak
# memory went from 839 to 791 MiB with 256 entries at the same speed (64: 659 MiB, but 13 % slower). Read by
# oneDNN when it first runs, so set here, before any model does; a value the user set wins.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "256")

__version__ = "0.1.0"
__all__ = [
    "OCR",
    "Document",
    "OCRSettings",
    "Page",
    "TextLine",
    "Word",
    "convert",
    "create_model",
    "list_models",
    "load_program",
]

_LAZY = {
    "OCR": "ptocr.ocr",
    "convert": "ptocr.conversion",
    "create_model": "ptocr.factory",
    "list_models": "ptocr.factory",
    "load_program": "ptocr.interpreter",
    "OCRSettings": "ptocr.pipeline.settings",
    "TextLine": "ptocr.pipeline.results",
    "Document": "ptocr.pipeline.results",
    "Page": "ptocr.pipeline.results",
    "Word": "ptocr.pipeline.results",
}

if TYPE_CHECKING:
    from .conversion import convert
    from .factory import create_model, list_models
    from .interpreter import load_program
    from .ocr import OCR
    from .pipeline.results import Document, Page, TextLine, Word
    from .pipeline.settings import OCRSettings


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ptocr' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
