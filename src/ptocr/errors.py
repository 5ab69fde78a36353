"""Exceptions raised by ptocr. Every failure a user can cause is one of these, with a readable message.

    PtocrError
    ├── ModelFormatError ── UnsupportedProgramError   a model file is malformed, unsafe or not runnable
    ├── WeightsMismatchError                          weights that do not fit the architecture
    ├── UnknownModelError (also KeyError)             a model, preset, language or version name not known
    ├── ModelChoiceError (also ValueError)            models or options that do not make a system together
    ├── ModelStoreError                               model files not found, fetched or verified
    ├── ImageDecodeError                              an input that cannot be read, decoded or is too large
    ├── PageSelectionError (also ValueError)          a page selection such as "1-3,5" that is malformed
    ├── ExportError                                   a network that could not be exported
    └── UnsupportedOptionError (also ValueError)      an option ptocr cannot honour

The CLI maps them to exit statuses (`ptocr --help`, README "Errors and exit codes"): ImageDecodeError is one
input's failure (status 1, the others are read), the model errors stop the run (status 3). The classes that
also derive from ValueError or KeyError are raised where Python code would expect those (a bad argument, a
missing key), so both `except ValueError` and `except PtocrError` catch them.
"""

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


class ModelChoiceError(PtocrError, ValueError):
    """Models or options that do not make a system together: a recogniser named as the detector, an angle
    classifier asked for where the system has none, a preset given with a language or version."""


class ModelStoreError(PtocrError):
    """Weights could not be found, fetched or verified."""


class ImageDecodeError(PtocrError):
    """An input image could not be read or decoded."""


class PageSelectionError(PtocrError, ValueError):
    """A page selection (``pages="1-3,5"``, ``--pages``) that is malformed or numbers no page from 1."""


class ExportError(PtocrError):
    """A network could not be exported (`ptocr.export`): an unknown format, or an exporter that refused it."""


class UnsupportedOptionError(PtocrError, ValueError):
    """An option ptocr cannot honour: an unknown PaddleOCR keyword (`ptocr.compat`), or a value of one that only
    PaddlePaddle implements."""
