"""Shared pytest set-up.

Tests marked ``network`` download model files into a fresh, temporary model store; they run by default
(pip's registry is reachable wherever ptocr is developed and tested) and ``--offline`` skips them.
Other tests that need the published weights use the regular cache (`$PTOCR_HOME`), filled on first use.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--offline", action="store_true", help="skip tests that download into a fresh model store")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "network: downloads model files into a fresh store (skipped by --offline)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--offline"):
        return
    skip = pytest.mark.skip(reason="--offline: downloads real model files")
    for item in items:
        if "network" in item.keywords:
            item.add_marker(skip)
