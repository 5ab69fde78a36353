"""onnxruntime as the yardstick of the published-export tests: one cached session per file, the largest gap."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest
import torch

ort = pytest.importorskip("onnxruntime")


@functools.cache
def ort_session(path: Path) -> ort.InferenceSession:
    """A CPU session on the file at `path`, two threads (as the CI machine has)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def worst_gap(net: torch.nn.Module, path: Path, batches: Iterable[np.ndarray]) -> float:
    """The largest |Δ| between `net` and onnxruntime running `path`, over `batches` (shapes must agree)."""
    session = ort_session(path)
    feed = session.get_inputs()[0].name
    worst = 0.0
    for batch in batches:
        expected = session.run(None, {feed: batch})[0]
        with torch.inference_mode():
            got = net(torch.from_numpy(batch)).numpy()
        assert got.shape == expected.shape, (got.shape, expected.shape)
        worst = max(worst, float(np.abs(got - expected).max()))
    return worst
