"""Builds the fuzzing seeds in `fuzz/corpus/<target>/` from real model files.

`python fuzz/make_corpus.py` reads ../shared/zoo, ../shared/zoo_v1 and the model store's cache (the ONNX
exports; `ptocr models pull` fills it). Seeds named `seed-*` are small (every tensor shrunk to one element per
dimension, the structure kept) and committed; whole real files are written as `real-*`, which git ignores,
because they are too large to commit. Sources that are absent are skipped with a note on stderr.
"""

from __future__ import annotations

import pickle
import struct
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ptocr.formats import paddle_framework_pb2 as pb
from ptocr.formats import parse_program, read_pdparams, read_tensor_stream

FUZZ_DIR = Path(__file__).resolve().parent
CORPUS_DIR = FUZZ_DIR / "corpus"
SHARED = FUZZ_DIR.parent.parent / "shared"
#: Committed seeds stay below this size each.
MAX_SEED_BYTES = 200 * 1024

sys.path.insert(0, str(FUZZ_DIR))
from targets import pack_files  # noqa: E402 - the fuzz folder is not a package


def _tensor_record(array: np.ndarray, data_type: int) -> bytes:
    desc = pb.VarType.TensorDesc(data_type=data_type, dims=list(array.shape)).SerializeToString()
    return struct.pack("<IQIi", 0, 0, 0, len(desc)) + desc + array.astype(array.dtype.newbyteorder("<")).tobytes()


_PADDLE_TYPE = {np.dtype(np.float32): pb.VarType.FP32, np.dtype(np.int64): pb.VarType.INT64}


def shrunk_paddle_model(program_bytes: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
    """The program with every persistable shrunk to one element per dimension (rank kept), and its variables'
    tensor records (zeros) in stored order: a small model that every reader accepts like the original."""
    desc = pb.ProgramDesc.FromString(program_bytes)
    for var in desc.blocks[0].vars:
        if var.persistable and var.type.type == pb.VarType.LOD_TENSOR:
            tensor = var.type.lod_tensor.tensor
            rank = len(tensor.dims)
            del tensor.dims[:]
            tensor.dims.extend([1] * rank)
    shrunk = desc.SerializeToString()
    program = parse_program(shrunk)
    records = []
    for name in program.stored_order():
        spec = program.persistables[name]
        array = np.zeros(spec.shape, spec.dtype)
        records.append((name, _tensor_record(array, _PADDLE_TYPE.get(spec.dtype, pb.VarType.FP32))))
    return shrunk, records


def truncated_program(program_bytes: bytes, op_count: int) -> bytes:
    """The program's feed and first `op_count` ops, fetching the last op's first output: a real prefix of the
    network that the interpreter builds and runs in milliseconds instead of a fifth of a second."""
    desc = pb.ProgramDesc.FromString(program_bytes)
    block = desc.blocks[0]
    ops = list(block.ops)
    feeds = [op for op in ops if op.type == "feed"]
    body = [op for op in ops if op.type not in ("feed", "fetch")][:op_count]
    fetch = next(op for op in ops if op.type == "fetch")
    fetch.inputs[0].arguments[:] = [body[-1].outputs[0].arguments[0]]
    del block.ops[:]
    block.ops.extend([*feeds, *body, fetch])
    return desc.SerializeToString()


def shrunk_onnx(data: bytes) -> bytes:
    """The ONNX model with every tensor (initializers and Constant values) shrunk to one element per dimension."""
    import onnx
    from onnx import numpy_helper

    model = onnx.ModelProto.FromString(data)

    def shrink(tensor: onnx.TensorProto) -> None:
        array = numpy_helper.to_array(tensor)
        small = np.zeros([1] * array.ndim, array.dtype) if array.size > 1 else array
        tensor.CopyFrom(numpy_helper.from_array(small, tensor.name))

    for tensor in model.graph.initializer:
        shrink(tensor)
    for node in model.graph.node:
        for attribute in node.attribute:
            if attribute.name == "value" and attribute.HasField("t"):
                shrink(attribute.t)
    return model.SerializeToString()


def _small_pdparams(path: Path, count: int, protocol: int) -> bytes:
    tensors = read_pdparams(path)
    state: dict[str, object] = {key: tensors[key][(slice(0, 2),) * tensors[key].ndim] for key in list(tensors)[:count]}
    state["StructuredToParameterName@@"] = {key: f"param_{i}" for i, key in enumerate(state)}
    return pickle.dumps(state, protocol=protocol)


def _split_pdparams() -> bytes:
    """paddle 2.0's protocol-2 splitting of a big tensor into slices, in miniature."""
    whole = np.arange(12, dtype=np.float32)
    state = {
        "w@@.0": whole[:5],
        "w@@.1": whole[5:],
        "UnpackBigParamInfor@@": {"w": {"OriginShape": [3, 4], "slices": ["w@@.0", "w@@.1"]}},
    }
    return pickle.dumps(state, protocol=2)


def _safetensors(tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> bytes:
    from safetensors.numpy import save

    return save(tensors, metadata=metadata)


def seeds() -> Iterator[tuple[str, str, bytes]]:
    """(target, file name, bytes) for every seed whose source is present."""
    cls = SHARED / "zoo" / "ch_ppocr_mobile_v2.0_cls"
    cls_v1 = SHARED / "zoo_v1" / "ch_ppocr_mobile_v1.1_cls"
    cls_quant = SHARED / "zoo_v1" / "ch_ppocr_mobile_v1.1_cls_quant"
    if cls.is_dir():
        program_bytes = (cls / "inference.pdmodel").read_bytes()
        params = (cls / "inference.pdiparams").read_bytes()
        yield "program", "seed-cls.pdmodel", program_bytes
        for op_count in (3, 12):
            yield "interpreter", f"seed-cls-first{op_count}.pdmodel", truncated_program(program_bytes, op_count)
        program = parse_program(program_bytes)
        specs = [program.persistables[name] for name in program.stored_order()][:8]
        yield "tensor_stream", "seed-cls-head.pdiparams", _stream_head(params, specs)
        yield "unpickler", "seed-cls.pdiparams.info", (cls / "inference.pdiparams.info").read_bytes()
        for protocol in (2, 4):
            small = _small_pdparams(cls / "model.pdparams", 12, protocol)
            yield "unpickler", f"seed-cls-p{protocol}.pickle", small
            yield "pdparams", f"seed-cls-p{protocol}.pdparams", small
        yield "pdparams", "seed-split.pdparams", _split_pdparams()
        yield "pdparams", "real-cls.pdparams", (cls / "model.pdparams").read_bytes()
        shrunk, records = shrunk_paddle_model(program_bytes)
        yield "fluid_separate", "seed-cls-shrunk", pack_files([shrunk, *(record for _, record in records)])
        tensors = {f"w{i}": np.full((2, 3), i, np.float32) for i in range(4)}
        yield "safetensors", "seed-small.safetensors", _safetensors(tensors, {"ptocr.architecture": "x"})
    for name, folder in (("cls_v1", cls_v1), ("cls_quant", cls_quant)):
        if folder.is_dir():
            model = (folder / "model").read_bytes()
            shrunk, records = shrunk_paddle_model(model)
            yield "fluid_combined", f"seed-{name}-shrunk", pack_files([shrunk, b"".join(r for _, r in records)])
            yield "fluid_combined", f"real-{name}", pack_files([model, (folder / "params").read_bytes()])
            yield "program", f"seed-{name}.model", model
    cache = Path.home() / ".cache" / "ptocr" / "models"
    for model_name in ("ch_ppocr_mobile_v2.0_cls", "ch_ppocr_mobile_v2.0_rec"):
        path = cache / model_name / "onnx" / "model.onnx"
        if path.is_file():
            data = path.read_bytes()
            yield "onnx", f"seed-{model_name}-shrunk.onnx", shrunk_onnx(data)
            yield "onnx", f"real-{model_name}.onnx", data


def _stream_head(params: bytes, specs: list) -> bytes:
    """The bytes of the first tensors of a combined parameter stream (the records of `specs`)."""
    head = params[: _head_length(params, specs)]
    read_tensor_stream(head, specs, what="seed head")  # exactly those records, nothing cut or left over
    return head


def _head_length(params: bytes, specs: list) -> int:
    position = 0
    for spec in specs:
        position += 4
        (lod_levels,) = struct.unpack_from("<Q", params, position)
        position += 8
        for _ in range(lod_levels):
            (size,) = struct.unpack_from("<Q", params, position)
            position += 8 + size
        position += 4
        (desc_size,) = struct.unpack_from("<i", params, position)
        position += 4 + desc_size
        position += int(np.prod(spec.shape)) * spec.dtype.itemsize
    return position


def main() -> None:
    written = 0
    for target, name, data in seeds():
        if name.startswith("seed-") and len(data) > MAX_SEED_BYTES:
            raise SystemExit(f"{target}/{name}: {len(data)} bytes, over the {MAX_SEED_BYTES} committed-seed limit")
        folder = CORPUS_DIR / target
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
        written += 1
        print(f"{target}/{name}: {len(data)} bytes")
    if not written:
        print(f"no sources found under {SHARED} or the model cache", file=sys.stderr)


if __name__ == "__main__":
    main()
