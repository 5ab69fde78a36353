"""Networks as plain torch modules. Importing this package registers every architecture."""

from __future__ import annotations

from . import classification, detection, recognition
from .classification import AngleClassifier
from .detection import DBNet
from .mapping import TargetSlot, adopt_source_widths, load_by_structure, map_by_structure, parameter_use_order
from .recognition import CTCRecognizer
from .registry import build_architecture, list_architectures, register_architecture

__all__ = [
    "AngleClassifier",
    "CTCRecognizer",
    "DBNet",
    "TargetSlot",
    "adopt_source_widths",
    "build_architecture",
    "classification",
    "detection",
    "list_architectures",
    "load_by_structure",
    "map_by_structure",
    "parameter_use_order",
    "recognition",
    "register_architecture",
]
