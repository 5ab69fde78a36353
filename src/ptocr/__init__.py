"""ptocr: PaddleOCR's PP-OCR models in pure PyTorch, loading PaddleOCR's own files."""

from __future__ import annotations

from .factory import create_model, list_models

__all__ = ["create_model", "list_models"]
__version__ = "0.1.0"
