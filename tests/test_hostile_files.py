"""Corrupted model files must end in a ptocr error (never another exception, never a hang)."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
import torch

from ptocr import create_model
from ptocr.errors import PtocrError

from .paths import shared_path
from .weights import CLS, published


def _mutations(data: bytes, seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        buf = bytearray(data)
        kind = rng.choice(("flip", "truncate", "splice"))
        if kind == "flip":
            for _ in range(rng.randint(1, 16)):
                buf[rng.randrange(len(buf))] = rng.randrange(256)
        elif kind == "truncate":
            del buf[rng.randrange(1, len(buf)) :]
        else:
            start = rng.randrange(len(buf))
            buf[start : start + 64] = rng.randbytes(64)
        out.append(bytes(buf))
    return out


def load_or_refuse(path: Path) -> None:
    try:
        net = create_model(CLS, weights=path)
    except PtocrError:
        return
    with torch.inference_mode():  # a mutation that only changed values still gives a working network
        assert net(torch.zeros(1, 3, 48, 192)).shape == (1, 2)


@pytest.mark.parametrize("member", ["inference.pdmodel", "inference.pdiparams", "inference.pdiparams.info"])
def test_corrupted_paddle_files_fail_cleanly(member: str, tmp_path: Path) -> None:
    source = shared_path("zoo", "ch_ppocr_mobile_v2.0_cls")
    for index, data in enumerate(_mutations((source / member).read_bytes(), seed=len(member), count=25)):
        folder = tmp_path / f"m{index}"
        folder.mkdir()
        for name in ("inference.pdmodel", "inference.pdiparams", "inference.pdiparams.info"):
            shutil.copyfile(source / name, folder / name)
        (folder / member).write_bytes(data)
        load_or_refuse(folder)


def test_corrupted_onnx_fails_cleanly(tmp_path: Path) -> None:
    data = published(CLS, "onnx").read_bytes()
    for index, mutated in enumerate(_mutations(data, seed=7, count=25)):
        path = tmp_path / f"m{index}.onnx"
        path.write_bytes(mutated)
        load_or_refuse(path)
