"""Exceptions raised by ptocr. Every failure a user can cause is one of these, with a readable message."""

from __future__ import annotations


class PtocrError(Exception):
    """Base class of every error ptocr raises on purpose."""


class ModelFormatError(PtocrError):
    """A model file is malformed, truncated, of an unknown kind, or refused as unsafe."""


class UnsupportedProgramError(ModelFormatError):
    """A Paddle program `ptocr.load_program` cannot run: an op type or attribute value it does not know,
    control flow (sub-blocks), a variable read before any op writes it, or an implausible declaration."""


class WeightsMismatchError(PtocrError):
    """Weights do not fit the architecture: missing, unexpected or wrongly shaped tensors."""


class UnknownModelError(PtocrError, KeyError):
    """A model name that is not in the registry."""

    def __str__(self) -> str:  # KeyError would print the message quoted
        return str(self.args[0]) if self.args else ""


class ModelStoreError(PtocrError):
    """Weights could not be found, fetched or verified."""


class ImageDecodeError(PtocrError):
    """An input image could not be read or decoded."""


class ExportError(PtocrError):
    """A network could not be exported (`ptocr.export`): an unknown format, or an exporter that refused it."""


class UnsupportedOptionError(PtocrError, ValueError):
    """An option ptocr cannot honour: an unknown PaddleOCR keyword (`ptocr.compat`), or a value of one that only
    PaddlePaddle implements."""
