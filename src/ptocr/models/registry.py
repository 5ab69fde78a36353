"""Architecture registry: a name → builder table filled by `@register_architecture` decorators.

Architectures are network shapes (random weights); the model zoo (`ptocr.zoo`) names published
models and says which architecture and settings each one uses.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any, TypeVar

from torch import nn

from ..errors import UnknownModelError

Builder = TypeVar("Builder", bound=Callable[..., nn.Module])

_ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {}


def register_architecture(builder: Builder) -> Builder:
    """Registers a builder under its function name."""
    name = builder.__name__
    if name in _ARCHITECTURES:
        raise ValueError(f"architecture {name!r} registered twice")
    _ARCHITECTURES[name] = builder
    return builder


def list_architectures() -> list[str]:
    return sorted(_ARCHITECTURES)


def build_architecture(name: str, **kwargs: Any) -> nn.Module:
    """A freshly initialised network of the named architecture, in eval mode."""
    try:
        builder = _ARCHITECTURES[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(_ARCHITECTURES), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UnknownModelError(f"unknown architecture {name!r}{hint}") from None
    return builder(**kwargs).eval()
