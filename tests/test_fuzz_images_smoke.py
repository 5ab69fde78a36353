"""The CI smoke run of the image/PDF fuzz harness (fuzz/fuzz_images.py, which needs atheris and runs outside CI):
a deterministic mutation loop over its seeds, and every input the fuzzer ever found, replayed. Each must decode
into well-formed pages or fail with a PtocrError, quickly."""

from __future__ import annotations

import random
import time
from pathlib import Path

import numpy as np
import pytest

from ptocr.errors import PtocrError
from ptocr.pipeline.image_io import InputLimits, load_pages

FUZZ = Path(__file__).resolve().parents[1] / "fuzz"
SEEDS = sorted((FUZZ / "seeds" / "images").iterdir())
FOUND = sorted((FUZZ / "regressions" / "images").iterdir())
#: The harness's limits: small, so that every refusal path is reachable and each input is cheap.
LIMITS = InputLimits(max_bytes=1 << 20, max_pixels=4_000_000, max_pages=8)
MUTANTS_PER_SEED = 150
# Values that make sizes, counts and offsets extreme when written over a header field.
EXTREMES = [b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"\x00\x00\x00\x00", b"\x80\x00", b"\xff\xff", b"\x00\x01"]


def check(data: bytes) -> None:
    try:
        pages = load_pages(data, dpi=72, limits=LIMITS)
    except PtocrError:
        return
    for page in pages:
        image = page.image
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3 and image.flags["C_CONTIGUOUS"]
        assert image.shape[0] * image.shape[1] <= LIMITS.max_pixels


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to three of libFuzzer's kinds of change, biased to the first 64 bytes, where headers are."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        where = rng.randrange(min(len(out), 64) if rng.random() < 0.7 else len(out)) if out else 0
        kind = rng.randrange(6)
        if kind == 0 and out:
            out[where] ^= 1 << rng.randrange(8)
        elif kind == 1 and out:
            out[where] = rng.choice((0, 0xFF, 0x7F, 0x80, rng.randrange(256)))
        elif kind == 2:
            value = rng.choice(EXTREMES)
            out[where : where + len(value)] = value
        elif kind == 3:
            del out[rng.randrange(len(out) + 1) :]
        elif kind == 4:
            out[where:where] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        else:
            other = rng.choice(SEEDS).read_bytes()
            start = rng.randrange(len(other))
            out[where : where + 32] = other[start : start + 32]
    return bytes(out)


def test_there_are_seeds_of_every_kind() -> None:
    suffixes = {path.suffix for path in SEEDS}
    assert {".png", ".jpg", ".gif", ".tif", ".bmp", ".webp", ".pdf", ".hdr", ".pam", ".pfm", ".ppm"} <= suffixes
    for seed in SEEDS:
        assert load_pages(seed, limits=LIMITS, dpi=72)  # each seed itself decodes


@pytest.mark.parametrize("found", FOUND, ids=[path.name for path in FOUND])
def test_every_finding_stays_fixed(found: Path) -> None:
    started = time.perf_counter()
    with pytest.raises(PtocrError):
        load_pages(found.read_bytes(), dpi=72, limits=LIMITS)
    assert time.perf_counter() - started < 2


@pytest.mark.parametrize("seed", SEEDS, ids=[path.name for path in SEEDS])
def test_mutated_seeds_decode_or_fail_typed(seed: Path) -> None:
    rng = random.Random(seed.name)  # the same mutants on every run
    data = seed.read_bytes()
    started = time.perf_counter()
    for _ in range(MUTANTS_PER_SEED):
        check(mutate(data, rng))
    assert time.perf_counter() - started < 10
