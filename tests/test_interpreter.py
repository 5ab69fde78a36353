"""The Paddle program interpreter (`ptocr.load_program`): parity with Paddle Inference on every fixture of
../shared/zoo and ../shared/zoo_v1, agreement with the native module built from the same files, programs
without weights, and refusal of malformed or hostile programs with ptocr errors.
"""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import fx

import ptocr
from ptocr.errors import ModelFormatError, UnsupportedProgramError
from ptocr.factory import architecture_kwargs
from ptocr.formats import PaddleProgram, parse_program, read_weights
from ptocr.formats import paddle_framework_pb2 as pb
from ptocr.interpreter import LoDTensor, build_program, supported_op_types
from ptocr.models import build_architecture, load_by_structure
from ptocr.zoo import LinePreprocessing, get_record

from .paths import shared_path
from .test_formats import _tensor_record
from .test_rec_families import LOOSER_FLOAT32

ZOO = [
    "ch_PP-OCRv2_det", "ch_PP-OCRv2_rec", "ch_PP-OCRv3_det", "ch_PP-OCRv3_rec", "ch_PP-OCRv4_det", "ch_PP-OCRv4_rec",
    "ch_ppocr_mobile_v2.0_cls", "ch_ppocr_mobile_v2.0_det", "ch_ppocr_mobile_v2.0_rec", "en_PP-OCRv3_rec",
    "en_PP-OCRv4_rec", "en_number_mobile_v2.0_rec", "french_mobile_v2.0_rec",
]  # fmt: skip
ZOO_V1_FLOAT = [
    "ch_det_mv3_db", "ch_ppocr_mobile_v1.1_cls", "ch_ppocr_mobile_v1.1_det", "ch_ppocr_mobile_v1.1_rec",
    "ch_rec_mv3_crnn", "french_ppocr_mobile_v1.1_rec",
]  # fmt: skip
ZOO_V1_QUANT = ["ch_ppocr_mobile_slim_v1.1_rec", "ch_ppocr_mobile_v1.1_cls_quant", "ch_ppocr_mobile_v1.1_det_quant"]
WITH_WEIGHTS = [("zoo", name) for name in ZOO] + [("zoo_v1", name) for name in ZOO_V1_FLOAT + ZOO_V1_QUANT]
#: Fixtures compared with the native module of the zoo model of the same name (the quantised detector fixture
#: is the network of the slim detector record: quantised, not pruned).
NATIVE_COMPARED = [("zoo", name) for name in ZOO] + [("zoo_v1", name) for name in ZOO_V1_FLOAT + ZOO_V1_QUANT]
_ZOO_MODEL_OF = {"ch_ppocr_mobile_v1.1_det_quant": "ch_ppocr_mobile_slim_v1.1_det"}
#: Fixtures that hold a program but no weights (they are kept outside ../shared or would be 45–100 MB).
PROGRAM_ONLY = [
    ("zoo", "ch_PP-OCRv4_server_det"), ("zoo", "ch_PP-OCRv4_server_rec"), ("zoo", "ch_ppocr_server_v2.0_det"),
    ("zoo", "ch_ppocr_server_v2.0_rec"), ("zoo_v1", "ch_det_r50_vd_db"), ("zoo_v1", "ch_ppocr_server_v1.1_det"),
    ("zoo_v1", "ch_ppocr_server_v1.1_rec"), ("zoo_v1", "ch_rec_r34_vd_crnn"),
]  # fmt: skip

# The bars against Paddle Inference: det maps 2e-5, rec/cls probabilities 1e-5, with the documented
# float32 allowance of the MobileNetV1Enhance recognisers (see test_rec_families.py).
DET_TOLERANCE, PROB_TOLERANCE = 2e-5, 1e-5
# Native module vs interpreter: the same float32 bars. The det maps need the det bar: the native modules
# fold and order some float32 operations differently (e.g. BatchNorm), and the random weights of the
# fixtures amplify that to at most 6.5e-6 (ch_PP-OCRv3_det).
NATIVE_TOLERANCE = {"det": 2e-5, "rec": 1e-5, "cls": 1e-5}


def _folder(group: str, name: str) -> Path:
    return shared_path(group, name)


@functools.cache
def _module(group: str, name: str) -> fx.GraphModule:
    return ptocr.load_program(_folder(group, name))


@functools.cache
def _inputs(group: str, name: str) -> np.ndarray:
    return np.load(_folder(group, name) / "io.npz")["input"]


@functools.cache
def _run(group: str, name: str) -> tuple[torch.Tensor | LoDTensor, ...]:
    with torch.inference_mode():
        out = _module(group, name)(torch.from_numpy(_inputs(group, name)))
    return (out,) if isinstance(out, torch.Tensor | LoDTensor) else tuple(out)


def _expected_keys(group: str, name: str) -> list[str]:
    """io.npz keys of the Paddle outputs, in fetch order."""
    folder = _folder(group, name)
    if group == "zoo":
        return [f"ir_off__{fetch}" for fetch in _module(group, name).fetch_names]
    meaning = json.loads((folder / "ops.json").read_text())["fetch_order_meaning"]
    return [f"predictor__{m}" for m in meaning]


def _pairs(group: str, name: str) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray | None]]:
    """(key, ours, Paddle's, Paddle's LoD or None) for every fetch."""
    io = np.load(_folder(group, name) / "io.npz")
    rows = []
    for out, key in zip(_run(group, name), _expected_keys(group, name), strict=True):
        lod = io[f"{key}__lod0"] if f"{key}__lod0" in io.files else None
        if isinstance(out, LoDTensor):
            assert lod is not None and np.array_equal(out.lod.numpy(), lod), key
            out = out.values
        rows.append((key, out.numpy(), io[key], lod))
    return rows


def _is_det(key: str, array: np.ndarray) -> bool:
    return array.ndim == 4


@pytest.mark.parametrize(("group", "name"), [p for p in WITH_WEIGHTS if p[1] not in ZOO_V1_QUANT])
def test_interpreter_matches_paddle_inference(group: str, name: str) -> None:
    for key, ours, expected, _ in _pairs(group, name):
        assert ours.shape == expected.shape and ours.dtype == expected.dtype, key
        if not np.issubdtype(expected.dtype, np.floating):  # decoded labels, arg_max classes
            assert np.array_equal(ours, expected), key
            continue
        bar = DET_TOLERANCE if _is_det(key, expected) else LOOSER_FLOAT32.get(name, PROB_TOLERANCE)
        assert np.abs(ours - expected).max() <= bar, key


@pytest.mark.parametrize("name", ZOO_V1_QUANT)
def test_quantised_programs_round_as_paddle(name: str) -> None:
    """Activation rounding flips at .5 boundaries amplify any difference, so the bar is statistical: 99 % of
    the output elements within 1e-4 and a median |Δ| of at most 1e-6; decoded labels are identical."""
    for key, ours, expected, _ in _pairs("zoo_v1", name):
        assert ours.shape == expected.shape and ours.dtype == expected.dtype, key
        if not np.issubdtype(expected.dtype, np.floating):
            assert np.array_equal(ours, expected), key
            continue
        delta = np.abs(ours.astype(np.float64) - expected)
        assert (delta <= 1e-4).mean() >= 0.99, key
        assert np.median(delta) <= 1e-6, key


def _float_output(group: str, name: str) -> np.ndarray:
    """The output a native module computes: the probabilities or map (not the in-graph decoded labels)."""
    (ours,) = [ours for _, ours, expected, _ in _pairs(group, name) if np.issubdtype(expected.dtype, np.floating)]
    return ours


@pytest.mark.parametrize(("group", "name"), NATIVE_COMPARED)
def test_native_module_agrees_with_the_interpreted_program(group: str, name: str) -> None:
    model = _ZOO_MODEL_OF.get(name, name)
    net = ptocr.create_model(model, weights=_folder(group, name)).eval()
    with torch.inference_mode():
        native = net(torch.from_numpy(_inputs(group, name))).numpy()
    interpreted = _float_output(group, name)
    if native.ndim == 3 and interpreted.ndim == 2:  # a fluid recogniser fetches its LoD rows: N·T steps
        native = native.reshape(-1, native.shape[2])
    assert native.shape == interpreted.shape
    assert np.abs(native - interpreted).max() <= NATIVE_TOLERANCE[get_record(model).task]


# --- programs without weights -----------------------------------------------------------------------


def random_weights(program: PaddleProgram, seed: int) -> dict[str, np.ndarray]:
    """Seeded stand-ins of every persistable's declared shape (positive where a variance is expected)."""
    rng = np.random.default_rng(seed)
    variances = {name for op in program.ops if op.type == "batch_norm" for name in op.inputs.get("Variance", ())}
    weights = {}
    for name, spec in program.persistables.items():
        if name in variances:
            weights[name] = rng.uniform(0.5, 1.5, spec.shape).astype(spec.dtype)
        else:
            weights[name] = (0.05 * rng.standard_normal(spec.shape, dtype=np.float32)).astype(spec.dtype)
    return weights


def _program_file(folder: Path) -> Path:
    return folder / ("inference.pdmodel" if (folder / "inference.pdmodel").is_file() else "model")


@pytest.mark.parametrize(("group", "name"), PROGRAM_ONLY)
def test_program_only_fixtures_build_and_run(group: str, name: str) -> None:
    """Random weights of the declared shapes: the interpreted program's output has the native module's shape."""
    program = parse_program(_program_file(_folder(group, name)).read_bytes())
    weights = random_weights(program, seed=3)
    record = get_record(name)
    height = record.preprocessing.image_shape[1] if isinstance(record.preprocessing, LinePreprocessing) else 64
    x = torch.from_numpy(np.random.default_rng(5).uniform(-1, 1, (2, 3, height, 96)).astype(np.float32))
    with torch.inference_mode():
        out = build_program(program, weights)(x)
    first = out if isinstance(out, torch.Tensor | LoDTensor) else out[0]
    if name == "ch_PP-OCRv4_server_det":
        assert len(out) == 2  # cbn_maps, maps
    net = build_architecture(record.architecture, deploy=True, **architecture_kwargs(record))
    load_by_structure(net, {n: weights[n] for n in program.parameter_use_order()}, torch.zeros(1, 3, height, 64))
    with torch.inference_mode():
        native = net.eval()(x)
    if isinstance(out, tuple) and len(out) == 2 and record.task == "rec" and group == "zoo_v1":
        first = out[1]  # (decoded labels, probabilities)
    values = first.values if isinstance(first, LoDTensor) else first
    assert values.numel() == native.numel() and values.shape[-1] == native.shape[-1]
    assert torch.isfinite(values).all()


# --- the op set and users' programs -----------------------------------------------------------------


def test_every_op_of_the_seed_zoo_is_supported() -> None:
    summary = json.loads(shared_path("zoo", "OPS_SUMMARY.json").read_text())
    types = set(summary["union_op_counts"])
    for sequence in shared_path("zoo_v1").glob("*/ops_sequence.json"):
        types |= {op["type"] for op in json.loads(sequence.read_text())}
    assert types - {"feed", "fetch"} <= set(supported_op_types())


def test_a_user_loads_a_program_and_runs_it_at_any_size(tmp_path: Path) -> None:
    folder = _folder("zoo_v1", "ch_ppocr_mobile_v1.1_det")
    module = ptocr.load_program(folder)  # declared for 640×640; the data decides
    x = torch.rand(1, 3, 96, 128)
    with torch.inference_mode():
        maps = module(x)
        assert maps.shape == (1, 1, 96, 128)
        assert torch.equal(ptocr.load_program(folder / "model")(x), maps)
        # fluid's other layout: __model__ and one file per persistable variable
        separate = tmp_path / "separate"
        separate.mkdir()
        shutil.copyfile(folder / "model", separate / "__model__")
        program = parse_program((folder / "model").read_bytes())
        weights = read_weights(folder).tensors  # use order, the same arrays as the variables by name
        for name, array in zip(program.parameter_use_order(), weights.values(), strict=True):
            (separate / name).write_bytes(_tensor_record(array))
        assert torch.equal(ptocr.load_program(separate)(x), maps)
    rec = ptocr.load_program(_folder("zoo", "ch_ppocr_mobile_v2.0_rec") / "inference.pdmodel")
    with torch.inference_mode():
        assert rec(torch.rand(1, 3, 32, 200)).shape == (1, 50, 6625)


# --- malformed and hostile programs -----------------------------------------------------------------


def _hostile(tmp_path: Path, edit: object) -> Path:
    """The v1.1 angle classifier's folder with its program edited by `edit(ProgramDesc)`."""
    source = _folder("zoo_v1", "ch_ppocr_mobile_v1.1_cls")
    desc = pb.ProgramDesc.FromString((source / "model").read_bytes())
    edit(desc)  # type: ignore[operator]
    folder = tmp_path / "hostile"
    folder.mkdir(exist_ok=True)
    (folder / "model").write_bytes(desc.SerializeToString())
    shutil.copyfile(source / "params", folder / "params")
    return folder


def _ops(desc: pb.ProgramDesc) -> list[pb.OpDesc]:
    return [op for op in desc.blocks[0].ops if op.type not in ("feed", "fetch")]


def test_an_unknown_op_type_is_named(tmp_path: Path) -> None:
    def edit(desc: pb.ProgramDesc) -> None:
        _ops(desc)[3].type = "frobnicate2d"

    with pytest.raises(UnsupportedProgramError, match="does not implement: frobnicate2d"):
        ptocr.load_program(_hostile(tmp_path, edit))


def test_a_variable_nothing_writes_is_refused(tmp_path: Path) -> None:
    def edit(desc: pb.ProgramDesc) -> None:
        _ops(desc)[5].inputs[0].arguments[0] = "nowhere.tmp_0"

    with pytest.raises(UnsupportedProgramError, match=r"'nowhere\.tmp_0' before any op writes it"):
        ptocr.load_program(_hostile(tmp_path, edit))


def test_cyclic_dataflow_is_refused(tmp_path: Path) -> None:
    def edit(desc: pb.ProgramDesc) -> None:  # op 2 reads what op 6 writes, which depends on op 2
        ops = _ops(desc)
        slot = next(v for v in ops[2].inputs if v.parameter in ("X", "Input"))
        slot.arguments[0] = ops[6].outputs[0].arguments[0]

    with pytest.raises(UnsupportedProgramError, match="dangling or cyclic"):
        ptocr.load_program(_hostile(tmp_path, edit))


def test_control_flow_is_refused(tmp_path: Path) -> None:
    def edit(desc: pb.ProgramDesc) -> None:
        desc.blocks.add(idx=1, parent_idx=0)
        op = _ops(desc)[4]
        attr = op.attrs.add(name="sub_block", type=pb.BLOCK)
        attr.block_idx = 1

    with pytest.raises(UnsupportedProgramError, match="control flow: 2 blocks"):
        ptocr.load_program(_hostile(tmp_path, edit))


def test_absurd_shapes_are_refused(tmp_path: Path) -> None:
    def edit(desc: pb.ProgramDesc) -> None:
        var = next(v for v in desc.blocks[0].vars if v.persistable and v.name.endswith("weights"))
        del var.type.lod_tensor.tensor.dims[:]
        var.type.lod_tensor.tensor.dims.extend([1 << 20, 1 << 20, 3, 3])

    with pytest.raises(ModelFormatError, match="declares"):
        ptocr.load_program(_hostile(tmp_path, edit))
    # Without a weight file to contradict it, the declaration itself is refused before any allocation.
    program = parse_program((_hostile(tmp_path, edit) / "model").read_bytes())
    with pytest.raises(UnsupportedProgramError, match="implausible shape"):
        build_program(program, {})


def test_missing_weights_and_garbage_are_refused(tmp_path: Path) -> None:
    source = _folder("zoo_v1", "ch_ppocr_mobile_v1.1_cls")
    only_program = tmp_path / "only_program"
    only_program.mkdir()
    shutil.copyfile(source / "model", only_program / "model")
    with pytest.raises(ModelFormatError, match="no parameter file"):
        ptocr.load_program(only_program)
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "model").write_bytes(np.random.default_rng(0).bytes(4096))
    shutil.copyfile(source / "params", garbage / "params")
    with pytest.raises(ModelFormatError):
        ptocr.load_program(garbage)
    with pytest.raises(ModelFormatError, match="no such file"):
        ptocr.load_program(tmp_path / "absent")
    with pytest.raises(ModelFormatError, match="not a Paddle program"):
        ptocr.load_program(tmp_path)


# --- kernels the fixtures do not reach --------------------------------------------------------------


def _pool(x: torch.Tensor, kind: str, size: int, stride: int, pad: int, **overrides: bool) -> torch.Tensor:
    from ptocr.interpreter import kernels

    flags = {"global_pooling": False, "adaptive": False, "exclusive": True, "ceil_mode": False, **overrides}
    return kernels.pool2d(
        x, pooling_type=kind, ksize=(size, size), strides=(stride, stride), paddings=(pad, pad),
        padding_algorithm="EXPLICIT", **flags,
    )  # fmt: skip


def test_paddle_pooling_rules() -> None:
    x = torch.arange(1.0, 26.0).reshape(1, 1, 5, 5)
    # avg 3×3 stride 2 pad 1: exclusive divides by the pixels inside, otherwise by the clipped window (9 here)
    exclusive, inclusive = _pool(x, "avg", 3, 2, 1), _pool(x, "avg", 3, 2, 1, exclusive=False)
    assert exclusive[0, 0, 0, 0] == (1 + 2 + 6 + 7) / 4 and inclusive[0, 0, 0, 0] == (1 + 2 + 6 + 7) / 9
    torch.testing.assert_close(exclusive, torch.nn.functional.avg_pool2d(x, 3, 2, 1, count_include_pad=False))
    ceil = _pool(x, "max", 2, 2, 0, ceil_mode=True)  # the partial window at the end; padding never wins a max
    assert ceil.shape == (1, 1, 3, 3) and ceil[0, 0, 2, 2] == 25
    # a one-row map under a 2×2 window keeps its row (C++ truncating division), as Paddle does
    assert _pool(x[:, :, :1], "max", 2, 2, 0).tolist() == [[[[2.0, 4.0]]]]


def test_same_and_valid_convolution_padding() -> None:
    from ptocr.interpreter import kernels

    x, w = torch.randn(1, 2, 7, 8), torch.randn(3, 2, 3, 3)

    def conv(algorithm: str) -> torch.Tensor:
        return kernels.conv2d(
            x, w, None, strides=(2, 2), paddings=(5, 5), dilations=(1, 1), groups=1, padding_algorithm=algorithm
        )

    same = conv("SAME")  # out = ceil(in / stride), the odd padding at the end; the attribute is ignored
    assert same.shape == (1, 3, 4, 4)
    torch.testing.assert_close(same, torch.nn.functional.conv2d(torch.nn.functional.pad(x, (0, 1, 1, 1)), w, None, 2))
    torch.testing.assert_close(conv("VALID"), torch.nn.functional.conv2d(x, w, None, 2))


def test_quantise_rounds_halves_as_paddle() -> None:
    from ptocr.interpreter import kernels

    scale = torch.tensor([127.0])  # 127/s = 1: the input is rounded as is
    x = torch.tensor([0.5, 1.5, 2.5, -0.5, -2.5, 0.49999997, 200.0, -300.0])
    away = kernels.fake_quantize(x, scale, bit_length=8, round_type=1)  # clip to ±s, then std::round
    assert away.tolist() == [1.0, 2.0, 3.0, -1.0, -3.0, 0.0, 127.0, -127.0]
    even = kernels.fake_quantize(x, scale, bit_length=8, round_type=0)  # round half to even, then clip
    assert even.tolist() == [0.0, 2.0, 2.0, -0.0, -2.0, 0.0, 127.0, -128.0]


def test_malformed_attributes_and_uncomputed_outputs_are_refused(tmp_path: Path) -> None:
    def drop_ksize(desc: pb.ProgramDesc) -> None:
        pool = next(op for op in _ops(desc) if op.type == "pool2d")
        keep = [a for a in pool.attrs if a.name != "ksize"]
        del pool.attrs[:]
        pool.attrs.extend(keep)

    with pytest.raises(UnsupportedProgramError, match=r"\('pool2d'\): malformed attributes"):
        ptocr.load_program(_hostile(tmp_path, drop_ksize))

    def read_saved_mean(desc: pb.ProgramDesc) -> None:  # a training-only output of batch_norm
        ops = _ops(desc)
        norm = next(i for i, op in enumerate(ops) if op.type == "batch_norm")
        saved = next(v for v in ops[norm].outputs if v.parameter == "SavedMean").arguments[0]
        ops[norm + 1].inputs[0].arguments[0] = saved

    with pytest.raises(UnsupportedProgramError, match="inference does not compute"):
        ptocr.load_program(_hostile(tmp_path, read_saved_mean))
