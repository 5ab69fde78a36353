"""CI's short run of the model-reader fuzz targets (fuzz/targets.py): each committed seed, then seeded random
mutations of it. Every input must load or end in a ptocr error; the long coverage-guided runs are atheris'
(fuzz/README.md), which needs a process of its own."""

from __future__ import annotations

import random
import struct
import sys
from pathlib import Path

import pytest

from ptocr.errors import PtocrError

FUZZ_DIR = Path(__file__).resolve().parents[1] / "fuzz"
sys.path.insert(0, str(FUZZ_DIR))
import targets  # noqa: E402 - fuzz/ is a folder of scripts, not a package

#: Mutations per target: a few seconds in all (the interpreter builds and runs a torch graph per input).
MUTATIONS = {"interpreter": 30, "fluid_separate": 40, "fluid_combined": 60, "program": 120}
DEFAULT_MUTATIONS = 300
#: Values that tend to break size fields: zero, one, sign bits, all ones.
_INTERESTING = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 2**63, 2**64 - 1]


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One deterministic mutation: byte flips, a truncation, a random splice, an interesting integer written
    over a size field, or a duplicated chunk."""
    buf = bytearray(data or b"\0")
    kind = rng.randrange(5)
    if kind == 0:
        for _ in range(rng.randint(1, 8)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
    elif kind == 1:
        del buf[rng.randrange(len(buf)) :]
    elif kind == 2:
        start = rng.randrange(len(buf))
        buf[start : start + rng.randint(1, 64)] = rng.randbytes(rng.randint(0, 64))
    elif kind == 3:
        value = rng.choice(_INTERESTING)
        width = 8 if value > 0xFFFFFFFF else rng.choice((1, 2, 4, 8))
        start = rng.randrange(len(buf))
        buf[start : start + width] = struct.pack("<Q", value)[:width]
    else:
        start = rng.randrange(len(buf))
        chunk = buf[start : start + rng.randint(1, 256)]
        buf[start:start] = chunk
    return bytes(buf)


def committed_seeds(target: str) -> list[tuple[str, bytes]]:
    folder = targets.CORPUS_DIR / target
    return [(p.name, p.read_bytes()) for p in sorted(folder.glob("seed-*"))]


@pytest.mark.parametrize("target", sorted(targets.TARGETS))
def test_fuzz_target_accepts_only_typed_errors(target: str) -> None:
    seeds = committed_seeds(target)
    assert seeds, f"fuzz/corpus/{target}/ has no committed seed (python fuzz/make_corpus.py)"
    function = targets.TARGETS[target]
    for _name, data in seeds:
        function(data)  # a seed is a real (or shrunk real) file: it loads
    rng = random.Random(f"ptocr-fuzz-{target}")
    for index in range(MUTATIONS.get(target, DEFAULT_MUTATIONS)):
        name, data = seeds[index % len(seeds)]
        mutated = mutate(data, rng)
        try:
            function(mutated)
        except PtocrError:
            pass
        except Exception as exc:  # a finding: name the input so it can be replayed
            raise AssertionError(
                f"{target}: mutation {index} of {name} raised {type(exc).__name__}: {exc}"
            ) from exc


def test_pack_files_round_trips() -> None:
    files = [b"", b"abc", bytes(300)]
    assert targets.unpack_files(targets.pack_files(files), 3) == files
    assert targets.unpack_files(b"\xff\xff\xff\xff" + b"xy", 2) == [b"xy", b""]
