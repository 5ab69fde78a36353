"""GPU execution (runs only where CUDA is available; CI has none, so it is exercised by hand on a GPU host)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ptocr

from .paths import shared_path

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")


def test_gpu_system_gives_the_cpu_lines() -> None:
    image = shared_path("images", "imgs", "11.jpg")
    cpu = ptocr.OCR()(image)
    gpu = ptocr.OCR(device="cuda")(image)
    assert [line.text for line in gpu] == [line.text for line in cpu]
    for a, b in zip(gpu, cpu, strict=True):
        assert np.abs(np.asarray(a.box) - np.asarray(b.box)).max() <= 1.0
        assert abs(a.score - b.score) <= 1e-3
