"""Hostile model files: not regular files, endless or oversized, shapes that overflow, unsafe archives.

Each must end promptly in a typed ptocr error naming the file (never block, never read gigabytes, never a
ValueError/OverflowError/MemoryError). Calls that could block run in a thread joined with a timeout, so a
regression fails the test instead of hanging the suite. Mutated copies of real files are in
test_hostile_files.py; this file covers what mutation cannot reach.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import shutil
import struct
import tarfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ptocr import create_model
from ptocr.errors import ModelFormatError, ModelStoreError, PtocrError, UnsupportedProgramError
from ptocr.formats import TensorSpec, files, parse_program, read_tensor_stream, read_weights
from ptocr.formats import paddle_framework_pb2 as pb
from ptocr.formats.pdparams import read_pdparams
from ptocr.formats.safetensors_file import safetensors_from_bytes
from ptocr.interpreter import build_program
from ptocr.store import ModelStore

from .paths import shared_path
from .weights import CLS

#: Seconds a refusal may take; a blocked open or an endless read is far slower.
PROMPT_S = 10.0

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need a POSIX system")


def _raises_promptly(call: Callable[[], object], error: type[BaseException] = PtocrError) -> BaseException:
    """Runs `call` in a thread; its exception, which must be an `error`, within PROMPT_S seconds."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            call()
        except BaseException as exc:  # handed to the test thread and checked there
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(PROMPT_S)
    assert not thread.is_alive(), f"still running after {PROMPT_S} s (blocked on a FIFO or reading without end?)"
    assert outcome and outcome[0] is not None, "no error raised"
    assert isinstance(outcome[0], error), f"{type(outcome[0]).__name__}: {outcome[0]}"
    return outcome[0]


def _unblock(fifo: Path) -> None:
    """Releases a reader a regression left blocked on `fifo`: opening the write end gives it end-of-file."""
    with contextlib.suppress(OSError):  # no reader waiting: nothing to release
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


def _cls_folder(tmp_path: Path) -> Path:
    source = shared_path("zoo", CLS)
    folder = tmp_path / "cls"
    folder.mkdir()
    for name in ("inference.pdmodel", "inference.pdiparams", "inference.pdiparams.info"):
        shutil.copyfile(source / name, folder / name)
    return folder


def _fluid_folder(tmp_path: Path) -> Path:
    source = shared_path("zoo_v1", "ch_ppocr_mobile_v1.1_cls")
    folder = tmp_path / "fluid"
    folder.mkdir()
    for name in ("model", "params"):
        shutil.copyfile(source / name, folder / name)
    return folder


def _tensor_record(array: np.ndarray, dims: list[int] | None = None) -> bytes:
    """One LoDTensor of a Paddle parameter stream; `dims` overrides the declared shape."""
    desc = pb.VarType.TensorDesc(
        data_type=pb.VarType.FP32, dims=list(array.shape) if dims is None else dims
    ).SerializeToString()
    return struct.pack("<IQIi", 0, 0, 0, len(desc)) + desc + array.astype("<f4").tobytes()


def _separate_folder(tmp_path: Path) -> tuple[Path, list[str]]:
    """The v2.0 classifier in fluid's `__model__` + one file per variable layout; its variable names."""
    source = shared_path("zoo", CLS)
    program = parse_program((source / "inference.pdmodel").read_bytes())
    names = program.stored_order()
    specs = [program.persistables[name] for name in names]
    tensors = read_tensor_stream((source / "inference.pdiparams").read_bytes(), specs)
    folder = tmp_path / "separate"
    folder.mkdir()
    shutil.copyfile(source / "inference.pdmodel", folder / "__model__")
    for name in names:
        (folder / name).write_bytes(_tensor_record(tensors[name]))
    return folder, names


def _model_file(kind: str, tmp_path: Path) -> tuple[Path, Callable[[], object]]:
    """A model whose file `kind` is to be replaced, and the call that reads it."""
    if kind in ("inference.pdmodel", "inference.pdiparams", "inference.pdiparams.info"):
        folder = _cls_folder(tmp_path)
        return folder / kind, lambda: create_model(CLS, weights=folder)
    if kind in ("model", "params"):
        folder = _fluid_folder(tmp_path)
        return folder / kind, lambda: read_weights(folder)
    if kind == "variable":
        folder, names = _separate_folder(tmp_path)
        return folder / names[len(names) // 2], lambda: read_weights(folder)
    path = tmp_path / f"weights{kind}"
    return path, lambda: read_weights(path)


MODEL_FILES = [
    "inference.pdmodel", "inference.pdiparams", "inference.pdiparams.info", "model", "params", "variable",
    ".onnx", ".pdparams", ".safetensors",
]  # fmt: skip


@needs_fifo
@pytest.mark.parametrize("kind", MODEL_FILES)
def test_a_fifo_named_like_a_model_file_is_refused_without_blocking(kind: str, tmp_path: Path) -> None:
    path, read = _model_file(kind, tmp_path)
    path.unlink(missing_ok=True)
    os.mkfifo(path)
    try:
        error = _raises_promptly(read, ModelFormatError)
    finally:
        _unblock(path)
    assert str(path) in str(error) and "named pipe" in str(error)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
@pytest.mark.parametrize("kind", MODEL_FILES)
def test_dev_zero_as_a_model_file_is_refused_at_once(kind: str, tmp_path: Path) -> None:
    path, read = _model_file(kind, tmp_path)
    path.unlink(missing_ok=True)
    path.symlink_to("/dev/zero")
    error = _raises_promptly(read, ModelFormatError)
    assert str(path) in str(error) and "character device" in str(error)


def test_a_folder_named_like_a_model_file_is_refused(tmp_path: Path) -> None:
    for suffix in (".onnx", ".pdparams", ".safetensors"):
        (tmp_path / f"w{suffix}").mkdir()
        with pytest.raises(ModelFormatError):
            read_weights(tmp_path / f"w{suffix}")
    folder, names = _separate_folder(tmp_path)
    (folder / names[0]).unlink()
    (folder / names[0]).mkdir()
    with pytest.raises(ModelFormatError, match="a folder, not a Paddle variable file"):
        read_weights(folder)


@pytest.mark.parametrize(
    ("kind", "limit"),
    [
        ("inference.pdmodel", files.MAX_PROGRAM_BYTES),
        ("inference.pdiparams", files.MAX_PARAMS_BYTES),
        ("inference.pdiparams.info", files.MAX_INFO_BYTES),
        ("params", files.MAX_PARAMS_BYTES),
        (".onnx", files.MAX_ONNX_BYTES),
        (".pdparams", files.MAX_PDPARAMS_BYTES),
        (".safetensors", files.MAX_SAFETENSORS_BYTES),
    ],
)
def test_a_file_over_its_kinds_limit_is_refused_before_it_is_read(kind: str, limit: int, tmp_path: Path) -> None:
    path, read = _model_file(kind, tmp_path)
    with open(path, "wb") as f:
        f.truncate(limit + 1)  # sparse: nothing is written, and nothing may be read
    started = time.perf_counter()
    error = _raises_promptly(read, ModelFormatError)
    assert time.perf_counter() - started < 5
    assert str(path) in str(error) and f"{limit + 1} bytes is larger than any" in str(error)


def test_a_variable_file_larger_than_its_declared_tensor_is_refused(tmp_path: Path) -> None:
    folder, names = _separate_folder(tmp_path)
    with open(folder / names[0], "ab") as f:
        f.truncate(64 * 1024**2)  # far more than a batch-norm vector's record can hold
    with pytest.raises(ModelFormatError, match=f"{names[0]}: 67108864 bytes is larger than any Paddle variable"):
        read_weights(folder)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux's /proc")
def test_bounded_read_stops_at_the_limit_even_if_the_size_lies() -> None:
    # /proc files report a size of 0 and hold more, like a file that grows between the stat and the read.
    status = Path("/proc/self/status")
    assert status.stat().st_size == 0
    with pytest.raises(ModelFormatError, match="grew past the 0 MiB limit for a Paddle program"):
        files.read_bounded(status, 100, "Paddle program")
    assert files.read_bounded(status, 1 << 20, "Paddle program").startswith(b"Name:")


def _overflowing_params_folder(tmp_path: Path, dims: list[int]) -> Path:
    """The v2.0 classifier with its first stored variable declared as `dims`, in program and parameter file."""
    folder = _cls_folder(tmp_path)
    source = shared_path("zoo", CLS)
    program = parse_program((source / "inference.pdmodel").read_bytes())
    specs = [program.persistables[name] for name in program.stored_order()]
    tensors = read_tensor_stream((source / "inference.pdiparams").read_bytes(), specs)
    victim = specs[0].name
    desc = pb.ProgramDesc.FromString((source / "inference.pdmodel").read_bytes())
    for var in desc.blocks[0].vars:
        if var.name == victim:
            del var.type.lod_tensor.tensor.dims[:]
            var.type.lod_tensor.tensor.dims.extend(dims)
    (folder / "inference.pdmodel").write_bytes(desc.SerializeToString())
    records = [
        _tensor_record(np.zeros(0, np.float32), dims) if s.name == victim else _tensor_record(tensors[s.name])
        for s in specs
    ]
    (folder / "inference.pdiparams").write_bytes(b"".join(records))
    return folder


@pytest.mark.parametrize(
    "dims",
    [
        [2**32, 2**32],  # 2**64 elements: numpy's int64 product wrapped to 0 and the reshape raised ValueError
        [2**62, 4, 1],
        [2**63 - 1, 2],
        [2**40, 2**40, 0],  # empty, yet no array of this shape can exist
        [-1, 8],
    ],
)
def test_shapes_that_overflow_int64_are_a_model_format_error(dims: list[int], tmp_path: Path) -> None:
    folder = _overflowing_params_folder(tmp_path, dims)
    with pytest.raises(ModelFormatError, match=r"inference\.pdiparams: tensor .*(implausibly large|negative dim)"):
        create_model(CLS, weights=folder)


def test_declared_shapes_larger_than_the_file_are_refused_before_allocating() -> None:
    big = _tensor_record(np.zeros(2, np.float32), [1 << 20, 1 << 10])  # 4 GiB claimed, 8 bytes held
    with pytest.raises(ModelFormatError, match="needs 4294967296 bytes but only 8 remain"):
        read_tensor_stream(big, [TensorSpec("w", (1 << 20, 1 << 10), np.dtype(np.float32))])
    lod = struct.pack("<IQQ", 0, 1, 2**63)  # one LoD level claiming 2**63 bytes
    with pytest.raises(ModelFormatError, match="a LoD level of 9223372036854775808 bytes"):
        read_tensor_stream(lod, [TensorSpec("w", (1,), np.dtype(np.float32))])


def _safetensors(header: dict, data: bytes = b"") -> bytes:
    import json

    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


@pytest.mark.parametrize(
    ("header", "data", "message"),
    [
        ({"w": {"dtype": "F32", "shape": [2**32, 2**32], "data_offsets": [0, 0]}}, b"", "implausibly large"),
        ({"w": {"dtype": "F32", "shape": [2**40, 2**40, 0], "data_offsets": [0, 0]}}, b"", "implausibly large"),
        ({"w": {"dtype": "F32", "shape": [-2, -2], "data_offsets": [0, 16]}}, bytes(16), "negative dimension"),
        ({"w": {"dtype": "F32", "shape": [1 << 30], "data_offsets": [0, 4]}}, bytes(4), "only 4 remain"),
        ({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 2**70]}}, bytes(4), "outside the file"),
        ({"w": {"dtype": "BF16", "shape": [1], "data_offsets": [0, 2]}}, bytes(2), "dtype 'BF16'"),
        ({"w": {"dtype": ["F32"], "shape": [1], "data_offsets": [0, 4]}}, bytes(4), r"dtype \['F32'\]"),  # fuzzing
        (
            {"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
             "b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}},
            bytes(4),
            "starts at data byte 0, expected 4",
        ),
        ({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, bytes(8), "4 data bytes belong to no tensor"),
        ({"__metadata__": {"k": 1}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, bytes(4), "strings"),
    ],
)  # fmt: skip
def test_safetensors_headers_are_checked_before_numpy_sees_them(header: dict, data: bytes, message: str) -> None:
    with pytest.raises(ModelFormatError, match=message):
        safetensors_from_bytes(_safetensors(header, data), what="x.safetensors")


def test_safetensors_header_length_is_bounded() -> None:
    with pytest.raises(ModelFormatError, match="a header of 18446744073709551615 bytes"):
        safetensors_from_bytes(b"\xff" * 8 + b"{}")
    tensors, metadata = safetensors_from_bytes(
        _safetensors({"__metadata__": {"a": "b"}, "w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}},
                     np.array([1, 2], "<f4").tobytes())
    )  # fmt: skip
    assert metadata == {"a": "b"} and tensors["w"].tolist() == [1.0, 2.0]


def test_pdparams_split_tensors_with_absurd_shapes_are_refused(tmp_path: Path) -> None:
    import pickle

    state = {
        "w@@.0": np.zeros(0, np.float32),
        "UnpackBigParamInfor@@": {"w": {"OriginShape": [2**40, 2**40, 0], "slices": ["w@@.0"]}},
    }
    path = tmp_path / "split.pdparams"
    path.write_bytes(pickle.dumps(state, protocol=4))
    with pytest.raises(ModelFormatError, match=r"split tensor 'w': shape .* is implausibly large"):
        read_pdparams(path)


def test_the_interpreter_refuses_absurd_empty_persistables() -> None:
    program = parse_program((shared_path("zoo", CLS) / "inference.pdmodel").read_bytes())
    name = program.stored_order()[0]
    spec = program.persistables[name]
    hostile = type(spec)(name, (2**40, 2**40, 0), spec.dtype)
    program = type(program)(
        program.ops, {**program.persistables, name: hostile}, program.feed_names, program.fetch_names
    )
    with pytest.raises(UnsupportedProgramError, match="implausible shape"):
        build_program(program, {})


# The store's import: an archive or file from a user.


def _tar_with(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


@needs_fifo
@pytest.mark.parametrize("name", ["ch_ppocr_mobile_v2.0_cls_infer.tar", "model.onnx", "inference.pdmodel"])
def test_store_import_refuses_a_fifo_without_blocking(name: str, tmp_path: Path) -> None:
    fifo = tmp_path / name
    os.mkfifo(fifo)
    store = ModelStore(tmp_path / "home")
    try:
        error = _raises_promptly(lambda: store.import_path(fifo), ModelStoreError)
    finally:
        _unblock(fifo)
    assert str(fifo) in str(error) and "named pipe" in str(error)
    dev_zero = tmp_path / "zero_infer.tar"
    dev_zero.symlink_to("/dev/zero")
    error = _raises_promptly(lambda: store.import_path(dev_zero), ModelStoreError)
    assert "character device" in str(error)


def test_store_import_refuses_huge_members_and_escaping_paths(tmp_path: Path, monkeypatch) -> None:
    import ptocr.transfer

    store = ModelStore(tmp_path / "home")
    monkeypatch.setattr(ptocr.transfer, "MAX_FILE_BYTES", 1024)
    huge = _tar_with(tmp_path / "huge_infer.tar", {"huge_infer/inference.pdiparams": bytes(1025)})
    with pytest.raises(ModelStoreError, match=r"member 'huge_infer/inference\.pdiparams' is larger than"):
        store.import_path(huge)
    escaping = _tar_with(tmp_path / "escape_infer.tar", {"x_infer/../../inference.pdmodel": b"x"})
    with pytest.raises(ModelStoreError, match="refusing unsafe member path"):
        store.import_path(escaping)
    assert not (tmp_path / "inference.pdmodel").exists()


# Regressions of what fuzzing found (fuzz/RESULTS.md).


def test_a_program_with_names_that_are_not_utf8_is_a_model_format_error() -> None:
    # protobuf returns a proto2 string field holding invalid UTF-8 as bytes; sorting names then raised TypeError.
    data = (shared_path("zoo", CLS) / "inference.pdmodel").read_bytes()
    name = parse_program(data).stored_order()[0].encode()
    hostile = data.replace(name, b"\xff" + name[1:])
    with pytest.raises(ModelFormatError, match="not UTF-8"):
        parse_program(hostile, what="x.pdmodel")


def test_a_pickle_naming_a_huge_memo_index_is_read_without_allocating_for_it() -> None:
    # The C unpickler sized its memo array by the index: LONG_BINPUT 10**9 took 60 s and gigabytes.
    from ptocr.formats import safe_loads

    payload = b"\x80\x02]r" + struct.pack("<I", 1_000_000_000) + b"."
    started = time.perf_counter()
    assert safe_loads(payload) == []
    claims_exabytes = b"\x80\x04\x8e" + struct.pack("<Q", 2**62) + b"xy."  # BINBYTES8 of 2**62 bytes, 2 held
    with pytest.raises(ModelFormatError, match="not a safe or valid pickle"):
        safe_loads(claims_exabytes)
    with pytest.raises(ModelFormatError, match="not a safe or valid pickle"):
        safe_loads(b"\x80\x02K")  # a truncated size field: struct.error inside the pure-Python unpickler
    assert time.perf_counter() - started < 2


class _ArrayState:
    """Pickles as numpy pickles an array, with the state given."""

    def __init__(self, state: tuple) -> None:
        self.state = state

    def __reduce__(self):
        reconstruct, arguments, _state = np.zeros(1).__reduce__()
        return reconstruct, arguments, self.state


def test_numpy_states_in_pickles_are_checked_before_numpy_sees_them() -> None:
    # A fuzzed .pdparams gave numpy's dtype.__setstate__ a state that made it raise SystemError.
    from ptocr.formats import safe_loads

    crash = Path(__file__).parent / "data" / "fuzz" / "unpickler-dtype-setstate.pickle"
    with pytest.raises(ModelFormatError, match="not a safe or valid pickle"):
        safe_loads(crash.read_bytes(), allow_numpy=True, encoding="latin1")
    good = np.arange(6, dtype=">f4").reshape(2, 3)
    assert np.array_equal(safe_loads(pickle.dumps(good, protocol=2), allow_numpy=True), good)
    little_endian = b"X\x01\x00\x00\x00<"  # the byte order in the dtype's state, as protocol 2 writes it
    assert little_endian in pickle.dumps(np.dtype("<f4"), protocol=2)
    bad_order = pickle.dumps(np.dtype("<f4"), protocol=2).replace(little_endian, b"X\x01\x00\x00\x00?")
    with pytest.raises(ModelFormatError, match="unusual numpy dtype state"):
        safe_loads(bad_order, allow_numpy=True)
    short_data = pickle.dumps(_ArrayState((1, (2, 3), np.dtype("<f4"), False, bytes(20))), protocol=4)
    with pytest.raises(ModelFormatError, match=r"array of shape \[2, 3\] with 20 bytes"):
        safe_loads(short_data, allow_numpy=True)
    with pytest.raises(ModelFormatError, match="refusing to set the state of a dict"):
        safe_loads(b"\x80\x02}}b.")


@pytest.mark.parametrize(("data_type", "dims"), [(65, [1]), (8, [1]), (1, [2**40, 2**40, 0])])  # unknown, string
def test_onnx_tensors_of_unknown_types_or_absurd_shapes_are_refused(data_type: int, dims: list[int]) -> None:
    # Fuzzing found data type 65 escaping onnx's numpy_helper as KeyError.
    import onnx
    from onnx import helper

    from ptocr.formats.onnx_reader import onnx_weights_from_bytes

    tensor = onnx.TensorProto(name="w", data_type=data_type, dims=dims, raw_data=b"\0\0\0\0")
    node = helper.make_node("Constant", [], ["w"], value=tensor)
    use = helper.make_node("Relu", ["w"], ["y"])
    graph = helper.make_graph([node, use], "g", [], [helper.make_tensor_value_info("y", 1, None)])
    data = helper.make_model(graph).SerializeToString()
    with pytest.raises(ModelFormatError, match=r"x\.onnx: tensor 'w'(: shape| has data type)"):
        onnx_weights_from_bytes(data, what="x.onnx")


def test_a_program_whose_shapes_do_not_fit_fails_to_run_with_a_typed_error() -> None:
    # Fuzzing found torch's RuntimeError escaping an interpreted program whose batch norm declares 8 channels
    # after a 16-channel convolution: validation cannot know the feed shapes, so running reports it.
    import torch

    program = parse_program((shared_path("zoo", CLS) / "inference.pdmodel").read_bytes())
    batch_norm = next(op for op in program.ops if op.type == "batch_norm")
    persistables = dict(program.persistables)
    for slot in ("Scale", "Bias", "Mean", "Variance"):
        name = batch_norm.inputs[slot][0]
        persistables[name] = TensorSpec(name, (3,), persistables[name].dtype)
    hostile = type(program)(program.ops, persistables, program.feed_names, program.fetch_names)
    module = build_program(hostile, {name: np.ones(spec.shape, spec.dtype) for name, spec in persistables.items()})
    with pytest.raises(UnsupportedProgramError, match=r"failed on feeds of shape \[1, 3, 48, 192\]"):
        module(torch.zeros(1, 3, 48, 192))


def test_quantisation_attributes_and_tensors_of_the_wrong_kind_are_model_format_errors() -> None:
    from dataclasses import replace

    from ptocr.formats.paddle import read_paddle_variables
    from ptocr.formats.quantisation import split_quantisation

    folder = shared_path("zoo_v1", "ch_ppocr_mobile_v1.1_cls_quant")
    program, tensors = read_paddle_variables(folder / "model", folder / "params")
    assert split_quantisation(program, tensors)[1]  # the real file is a quantised program
    quantise = next(i for i, op in enumerate(program.ops) if op.type == "fake_quantize_moving_average_abs_max")

    def with_op(index: int, **changes: object) -> object:
        ops = list(program.ops)
        ops[index] = replace(ops[index], **changes)
        return replace(program, ops=tuple(ops))

    odd_round = with_op(quantise, attrs={**program.ops[quantise].attrs, "round_type": "half"})
    with pytest.raises(ModelFormatError, match="'round_type' is 'half', not an integer"):
        split_quantisation(odd_round, tensors)
    quantised = program.ops[quantise].outputs["Out"][0]
    weight = next(op.inputs["Filter"][0] for op in program.ops if op.inputs.get("Input") == (quantised,))
    without_weight = {name: array for name, array in tensors.items() if name != weight}
    with pytest.raises(ModelFormatError, match=f"the weight '{weight}' is not a stored"):
        split_quantisation(program, without_weight)
