"""Fuzz targets for ptocr's model readers: each takes arbitrary bytes and must either succeed or raise a
`ptocr.errors.PtocrError`. Anything else (ValueError, MemoryError, a hang, a crash) is a finding.

The atheris harnesses (`fuzz/fuzz_<target>.py`) run these under coverage guidance; `tests/test_fuzz_smoke.py`
runs them on the seed corpus and seeded mutations in CI. Multi-file layouts take their files from one input
in a small container format (`pack_files` / `unpack_files`), so one fuzzed input mutates them all.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import math
import shutil
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ptocr.errors import PtocrError
from ptocr.formats import parse_paddlex_config, parse_program, read_tensor_stream, read_weights, safe_loads
from ptocr.formats.onnx_reader import onnx_weights_from_bytes
from ptocr.formats.pdparams import read_pdparams
from ptocr.formats.safetensors_file import safetensors_from_bytes

FUZZ_DIR = Path(__file__).resolve().parent
CORPUS_DIR = FUZZ_DIR / "corpus"
#: The interpreter target builds persistables of the declared shapes only up to this many elements in all
#: (zeros cost memory and time; the readers' own limits are exercised by the reader targets).
MAX_INTERPRETER_ELEMENTS = 1 << 20
#: Its input: a batch of one small image, the classifier seed's feed.
INTERPRETER_INPUT_SHAPE = (1, 3, 48, 64)
_MAX_FILES = 4096


def pack_files(files: list[bytes]) -> bytes:
    """Several files as one input: per file a u32 little-endian length and the bytes."""
    return b"".join(struct.pack("<I", len(data)) + data for data in files)


def unpack_files(data: bytes, count: int) -> list[bytes]:
    """The inverse of `pack_files`, forgiving: missing files are empty, lengths past the end are cut."""
    out: list[bytes] = []
    pos = 0
    while len(out) < count:
        if pos + 4 > len(data):
            out.append(b"")
            continue
        (size,) = struct.unpack_from("<I", data, pos)
        pos += 4
        out.append(data[pos : pos + size])
        pos += size
    return out


@functools.cache
def _scratch() -> Path:
    """A private folder for targets that read files from disk (one per process, removed at exit)."""
    folder = Path(tempfile.mkdtemp(prefix="ptocr-fuzz-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _fresh_folder(name: str) -> Path:
    folder = _scratch() / name
    if folder.exists():
        for entry in folder.iterdir():
            entry.unlink()
    else:
        folder.mkdir()
    return folder


@functools.cache
def tensor_stream_specs() -> list:
    """The persistable specs of the seed program (the v2.0 classifier), in stored order: the tensor-stream
    target reads its input against the first few of them, as a real `.pdiparams` is read against its program."""
    program = parse_program((CORPUS_DIR / "program" / "seed-cls.pdmodel").read_bytes())
    return [program.persistables[name] for name in program.stored_order()][:8]


def program(data: bytes) -> None:
    parsed = parse_program(data, what="fuzz.pdmodel")
    parsed.parameter_use_order()


def tensor_stream(data: bytes) -> None:
    read_tensor_stream(data, tensor_stream_specs(), what="fuzz.pdiparams")


def unpickler(data: bytes) -> None:
    """Both modes on every input: without numpy (`.pdiparams.info`) and with it (`.pdparams`)."""
    with contextlib.suppress(PtocrError):
        safe_loads(data, what="fuzz.pickle")
    safe_loads(data, allow_numpy=True, what="fuzz.pickle", encoding="latin1")


def pdparams(data: bytes) -> None:
    path = _fresh_folder("pdparams") / "fuzz.pdparams"
    path.write_bytes(data)
    read_pdparams(path)


def fluid_combined(data: bytes) -> None:
    """PaddleOCR 1.x's `model` + `params` (input: the two files packed)."""
    folder = _fresh_folder("combined")
    model, params = unpack_files(data, 2)
    (folder / "model").write_bytes(model)
    (folder / "params").write_bytes(params)
    read_weights(folder)


def fluid_separate(data: bytes) -> None:
    """fluid's `__model__` + one file per variable (input: the program, then each variable file in the program's
    stored order, packed)."""
    folder = _fresh_folder("separate")
    (model,) = unpack_files(data, 1)
    (folder / "__model__").write_bytes(model)
    try:
        names = parse_program(model).stored_order()[:_MAX_FILES]
    except PtocrError:
        names = []
    for name, file_data in zip(names, unpack_files(data, 1 + len(names))[1:], strict=True):
        if name and name not in (".", "..") and "/" not in name and "\0" not in name:
            (folder / name).write_bytes(file_data)
    read_weights(folder)


def pir(data: bytes) -> None:
    """A PaddlePaddle 3 folder: `inference.json` + `inference.pdiparams` (input: the two files packed)."""
    folder = _fresh_folder("pir")
    program, params = unpack_files(data, 2)
    (folder / "inference.json").write_bytes(program)
    (folder / "inference.pdiparams").write_bytes(params)
    read_weights(folder)


def paddlex_config(data: bytes) -> None:
    parse_paddlex_config(data, what="fuzz.yml")


def onnx(data: bytes) -> None:
    onnx_weights_from_bytes(data, what="fuzz.onnx")


def safetensors(data: bytes) -> None:
    safetensors_from_bytes(data, what="fuzz.safetensors")


def interpreter(data: bytes) -> None:
    """A fuzzed program, built with zero persistables of its declared shapes, run on a small image."""
    import torch

    from ptocr.interpreter import build_program

    torch.set_num_threads(1)  # one fuzzing process per core

    parsed = parse_program(data, what="fuzz.pdmodel")
    total = 0
    tensors: dict[str, np.ndarray] = {}
    for name, spec in parsed.persistables.items():
        if any(d < 0 for d in spec.shape) or math.prod(max(d, 1) for d in spec.shape) > MAX_INTERPRETER_ELEMENTS:
            # Negative or absurd (possibly empty) shapes: no array can have them, and validation refuses them.
            tensors[name] = np.zeros(0, spec.dtype)
            continue
        count = math.prod(spec.shape)
        total += count
        if total > MAX_INTERPRETER_ELEMENTS:
            return  # too large to build here; the readers bound real files
        tensors[name] = np.zeros(spec.shape, spec.dtype)
    module = build_program(parsed, tensors)
    with torch.inference_mode():
        module(torch.zeros(INTERPRETER_INPUT_SHAPE), *([torch.zeros(1)] * (len(parsed.feed_names) - 1)))


#: Target name → function; the corpus of each is `fuzz/corpus/<name>/`.
TARGETS: dict[str, Callable[[bytes], None]] = {
    "program": program,
    "tensor_stream": tensor_stream,
    "unpickler": unpickler,
    "pdparams": pdparams,
    "fluid_combined": fluid_combined,
    "fluid_separate": fluid_separate,
    "pir": pir,
    "paddlex_config": paddlex_config,
    "onnx": onnx,
    "safetensors": safetensors,
    "interpreter": interpreter,
}


def run_one(name: str, data: bytes) -> None:
    """Runs target `name` on `data`, accepting only ptocr's typed errors."""
    with contextlib.suppress(PtocrError):
        TARGETS[name](data)


def seeds(name: str) -> list[bytes]:
    """The seed inputs of target `name` (committed seeds and any `make_corpus.py` added), sorted by file name."""
    folder = CORPUS_DIR / name
    return [p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()] if folder.is_dir() else []


def limit_memory(megabytes: int) -> None:
    """Caps the process's address space, so that an unbounded allocation fails (as MemoryError, a finding)
    instead of taking the machine."""
    import resource

    limit = megabytes * 1024**2
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))


__all__ = ["TARGETS", "limit_memory", "pack_files", "run_one", "seeds", "unpack_files"]
