"""Trained checkpoints (`*.pdparams`): reading, the key rules, distillation, strictness, and `convert`."""

from __future__ import annotations

import json
import os
import pickle
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import ptocr
from ptocr import create_model
from ptocr.errors import ModelFormatError, UnknownModelError, WeightsMismatchError
from ptocr.formats import read_pdparams, read_weights
from ptocr.models import build_architecture
from ptocr.models.checkpoint import (
    load_trained_checkpoint,
    paddle_state_keys,
    paddle_to_torch,
    select_submodel,
)
from ptocr.models.layers import ConvBNAct
from ptocr.models.pplcnetv3 import RepLayer
from ptocr.zoo import get_record

from .paths import SHARED, shared_path
from .test_hostile_files import load_or_refuse

CLS, DET_V4 = "ch_ppocr_mobile_v2.0_cls", "ch_PP-OCRv4_det"
# Largest |Δ| from Paddle Inference (IR optimisation off), as for the inference files (tests/test_models.py).
TOLERANCE = {"det": 2e-5, "rec": 1e-5, "cls": 1e-5}
# ch_PP-OCRv2_rec: float32 rounding through two BiLSTM layers and a 6625-way softmax. Against a float64 run
# of the same network Paddle is 7.3e-6 off and torch 4.9e-6, so the two float32 results differ by up to
# 1.2e-5; the inference-files path gives the very same 1.18e-5.
FIXTURE_TOLERANCE = {"ch_PP-OCRv2_rec": 1.5e-5}
# What the rules may drop from a plain (non-distillation) checkpoint of the zoo's architectures.
EXPECTED_DROP_RULES = {"multihead-training-heads", "lstm-alias", "lcnetv3-stride2-activation", "db-threshold-branch"}


def _fixtures(file: str) -> list[str]:
    zoo = SHARED / "zoo"
    found = sorted(p.parent.name for p in zoo.glob(f"*/{file}")) if zoo.is_dir() else []
    return found or ["(../shared/zoo missing)"]


WITH_CHECKPOINT = _fixtures("model.pdparams")
WITH_MANIFEST = _fixtures("trained_manifest.json")


def _architecture(fixture: str) -> tuple[str, str, dict[str, Any]]:
    """`(task, architecture, builder kwargs)` of a fixture, skipping where the architecture is not built yet."""
    folder = shared_path("zoo", fixture)
    config = json.loads((folder / "config.json").read_text())
    record = get_record(fixture)
    kwargs: dict[str, Any] = {}
    if record.task == "rec":
        kwargs["num_classes"] = config["num_classes_ctc"]
    elif record.task == "cls":
        kwargs["num_classes"] = 2
    try:
        build_architecture(record.architecture, **kwargs)
    except UnknownModelError as exc:
        pytest.skip(f"{record.architecture} is not implemented yet: {exc}")
    return record.task, record.architecture, kwargs


def _expected_output(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    io = np.load(folder / "io.npz", allow_pickle=False)
    (key,) = [k for k in io.files if k.startswith("ir_off__")]
    return io["input"], io[key]


def _paddle_save(path: Path, tensors: dict[str, Any], protocol: int = 4) -> Path:
    """What `paddle.save(state_dict)` writes: the arrays plus the structured-name table."""
    saved = dict(tensors)
    saved["StructuredToParameterName@@"] = {k: f"var_{i}" for i, k in enumerate(tensors)}
    path.write_bytes(pickle.dumps(saved, protocol=protocol))
    return path


# --- the reader --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", WITH_CHECKPOINT)
def test_reader_matches_the_manifest(fixture: str) -> None:
    folder = shared_path("zoo", fixture)
    tensors = read_pdparams(folder / "model.pdparams")
    manifest = json.loads((folder / "trained_manifest.json").read_text())["state_dict"]
    assert [(k, list(a.shape), str(a.dtype)) for k, a in tensors.items()] == [tuple(e) for e in manifest]


def test_protocol_2_tuple_form_and_split_arrays_read_alike(tmp_path: Path) -> None:
    tensors = read_pdparams(shared_path("zoo", CLS, "model.pdparams"))

    class PaddleTensor:  # paddle 2.1's generic pickler writes a tensor as (variable name, array)
        def __init__(self, name: str, array: np.ndarray) -> None:
            self.name, self.array = name, array

        def __reduce__(self) -> tuple:
            return (tuple, ((self.name, self.array),))

    for protocol in (2, 4):
        plain = read_pdparams(_paddle_save(tmp_path / f"p{protocol}.pdparams", tensors, protocol))
        wrapped = {k: PaddleTensor(f"v{i}", a) for i, (k, a) in enumerate(tensors.items())}
        as_tuples = read_pdparams(_paddle_save(tmp_path / f"t{protocol}.pdparams", wrapped, protocol))
        for read in (plain, as_tuples):
            assert list(read) == list(tensors)
            assert all(np.array_equal(read[k], tensors[k]) for k in tensors)

    # Protocol 2/3 files split arrays over 2**30 bytes into `key@@.i` slices; a small one stands in.
    weight = np.arange(12, dtype=np.float32).reshape(4, 3)
    split = {
        "a": np.ones(2, np.float32),
        "w@@.0": weight.reshape(-1)[:7],
        "w@@.1": weight.reshape(-1)[7:],
        "z": np.zeros(1, np.float32),
        "UnpackBigParamInfor@@": {"w": {"OriginShape": (4, 3), "slices": ["w@@.0", "w@@.1"]}},
    }
    joined = read_pdparams(_paddle_save(tmp_path / "split.pdparams", split, protocol=2))
    assert list(joined) == ["a", "w", "z"]
    np.testing.assert_array_equal(joined["w"], weight)


class _Evil:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


class _Reduce:
    """Pickles as an arbitrary call, to forge what a hostile file could hold."""

    def __init__(self, func: Any, args: tuple) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple:
        return (self.func, self.args)


def test_hostile_and_wrong_files_are_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    cases: dict[str, tuple[bytes, str]] = {
        "evil": (pickle.dumps({"w": _Evil(str(marker))}), "refusing to load global posix.system|refusing"),
        "non_arrays": (pickle.dumps({"w": "not a tensor", "b": 3}), "entry 'w' is a str, not a tensor"),
        "nested": (pickle.dumps({"model": {"w": np.zeros(2, np.float32)}}), "nested dict"),
        "optimizer": (pickle.dumps({"LR_Scheduler": {"last_epoch": 3}}), "optimizer state"),
        "list": (pickle.dumps([np.zeros(2, np.float32)]), "holds a list, not a state dict"),
        "empty": (pickle.dumps({"StructuredToParameterName@@": {}}), "holds no tensors"),
        "objects": (pickle.dumps({"w": np.array([1, "x"], dtype=object)}), "refusing numpy dtype 'O8'"),
        "big_alloc": (
            pickle.dumps({"w": _Reduce(_checked_reconstruct_target(), (np.ndarray, (10**12,), b"b"))}),
            "unusual numpy array reconstruction",
        ),
        "truncated": (shared_path("zoo", CLS, "model.pdparams").read_bytes()[:-1000], "not a safe or valid pickle"),
        "zip": (b"PK\x03\x04" + b"\x00" * 64, "zip archive"),
        "text": (b"hello", "not a paddle.save"),
    }
    for name, (data, message) in cases.items():
        path = tmp_path / f"{name}.pdparams"
        path.write_bytes(data)
        with pytest.raises(ModelFormatError, match=message) as caught:
            read_pdparams(path)
        assert str(path) in str(caught.value)
    assert not marker.exists()
    for suffix, message in ((".pdopt", "optimizer state"), (".states", "training state")):
        path = tmp_path / f"best_accuracy{suffix}"
        path.write_bytes(pickle.dumps({"w": np.zeros(2, np.float32)}))
        with pytest.raises(ModelFormatError, match=f"{message}.*ignores them"):
            read_weights(path)


def _checked_reconstruct_target() -> Any:
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]
    return _reconstruct


def test_mutated_checkpoints_fail_cleanly(tmp_path: Path) -> None:
    data = shared_path("zoo", CLS, "model.pdparams").read_bytes()
    rng = random.Random(3)
    for index in range(25):
        buf = bytearray(data)
        if index % 2:
            for _ in range(rng.randint(1, 16)):
                buf[rng.randrange(len(buf))] = rng.randrange(256)
        else:
            del buf[rng.randrange(1, len(buf)) :]
        path = tmp_path / f"m{index}.pdparams"
        path.write_bytes(bytes(buf))
        load_or_refuse(path)


# --- parity with Paddle ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", WITH_CHECKPOINT)
def test_trained_checkpoint_matches_paddle_inference(fixture: str) -> None:
    task, _architecture_name, _kwargs = _architecture(fixture)
    folder = shared_path("zoo", fixture)
    net = create_model(fixture, weights=folder / "model.pdparams")
    assert not net.training
    x, expected = _expected_output(folder)
    with torch.inference_mode():
        out = net(torch.from_numpy(x)).numpy()
    assert out.shape == expected.shape
    worst = float(np.abs(out - expected).max())
    assert worst <= FIXTURE_TOLERANCE.get(fixture, TOLERANCE[task]), f"max |Δ| {worst:.3g}"
    # The deploy module is the one the inference files give: same keys, in the same order.
    assert list(net.state_dict()) == list(create_model(fixture, weights=folder).state_dict())


@pytest.mark.parametrize("fixture", WITH_MANIFEST)
def test_trainable_keys_map_back_to_the_manifest(fixture: str) -> None:
    """Reverse check: the trainable module named the Paddle way is the manifest, less what the rules drop."""
    _task, architecture, kwargs = _architecture(fixture)
    manifest = json.loads(shared_path("zoo", fixture, "trained_manifest.json").read_text())["state_dict"]
    entries = [(key, tuple(shape)) for key, shape, _dtype in manifest]
    with_threshold = any(key.startswith("head.thresh.") for key, _ in entries)
    net = build_architecture(architecture, **kwargs, **({"with_threshold": True} if with_threshold else {}))
    mapping = paddle_to_torch({k: np.zeros(s, np.float32) for k, s in entries}, net)
    dropped = {d.key for d in mapping.dropped}
    assert {d.rule for d in mapping.dropped} <= EXPECTED_DROP_RULES
    multihead = any(key.startswith("head.ctc_head.") for key, _ in entries)
    assert paddle_state_keys(net, multihead=multihead) == [e for e in entries if e[0] not in dropped]


def _randomise(net: nn.Module, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                n = module.num_features
                module.weight.copy_(0.5 + torch.rand(n, generator=generator))
                module.bias.copy_(0.2 * torch.randn(n, generator=generator))
                module.running_mean.copy_(0.2 * torch.randn(n, generator=generator))
                module.running_var.copy_(0.5 + torch.rand(n, generator=generator))


@pytest.mark.parametrize("fixture", WITH_MANIFEST)
def test_synthetic_checkpoint_in_the_manifest_layout_round_trips(fixture: str) -> None:
    """A checkpoint laid out exactly as the manifest (training-only heads, LSTM aliases, stride-2
    activations included), filled from a trainable module, loads into a deploy module that computes what
    the trainable one does. Covers the models whose real checkpoints are too large for the fixtures."""
    _task, architecture, kwargs = _architecture(fixture)
    folder = shared_path("zoo", fixture)
    manifest = json.loads((folder / "trained_manifest.json").read_text())["state_dict"]
    with_threshold = any(key.startswith("head.thresh.") for key, _shape, _dtype in manifest)
    torch.manual_seed(0)
    trainable = build_architecture(architecture, **kwargs, **({"with_threshold": True} if with_threshold else {}))
    _randomise(trainable, seed=1)
    multihead = any(key.startswith("head.ctc_head.") for key, _shape, _dtype in manifest)
    state = {k: v.numpy() for k, v in trainable.state_dict().items() if not k.endswith("num_batches_tracked")}
    modules = dict(trainable.named_modules())
    values = {}
    for (paddle_key, _shape), key in zip(paddle_state_keys(trainable, multihead=multihead), state, strict=True):
        linear = isinstance(modules[key.rpartition(".")[0]], nn.Linear) and key.endswith(".weight")
        values[paddle_key] = state[key].T if linear else state[key]
    rng = np.random.default_rng(2)
    tensors = {}
    for key, shape, _dtype in manifest:
        if key in values:
            tensors[key] = values[key]
            continue
        alias = _lstm_canonical(key)
        tensors[key] = values[alias] if alias in values else rng.standard_normal(shape).astype(np.float32)
    assert all(np.shape(tensors[k]) == tuple(s) for k, s, _ in manifest)
    deploy, report = load_trained_checkpoint(architecture, tensors, source=fixture, **kwargs)
    assert {d.rule for d in report.dropped} <= EXPECTED_DROP_RULES
    shape = json.loads((folder / "fixture_summary.json").read_text())["input_shape"]
    x = torch.rand(1, *shape[1:], generator=torch.Generator().manual_seed(3), dtype=torch.float64) * 2 - 1
    # In float64 only the one rounding of fused weights to float32 separates the two: exactly 0 where nothing
    # is fused, up to ~2e-5 through PP-LCNetV3 with random batch norms. A misplaced tensor costs O(1).
    with torch.inference_mode():
        expected = trainable.double()(x)
        got = deploy.double()(x)
    assert float((got - expected).abs().max()) <= 1e-4 * max(float(expected.abs().max()), 1.0)


def _lstm_canonical(key: str) -> str:
    import re

    match = re.fullmatch(r"(.+)\.(\d+)\.(cell|cell_fw|cell_bw)\.(weight_ih|weight_hh|bias_ih|bias_hh)", key)
    if match is None:
        return key
    suffix = "_reverse" if match[3] == "cell_bw" else ""
    return f"{match[1]}.{match[4]}_l{match[2]}{suffix}"


# --- distillation ------------------------------------------------------------------------------------------


def _distillation_file(tmp_path: Path, prefixes: tuple[str, ...] = ("Student", "Student2", "Teacher")) -> Path:
    """The ch_PP-OCRv4_det fixture as PaddleOCR's CML distillation checkpoint: Student (the fixture),
    Student2 (perturbed) and a Teacher of another architecture (the first tensors of the real layout)."""
    folder = shared_path("zoo", DET_V4)
    student = read_pdparams(folder / "model.pdparams")
    manifest = json.loads((folder / "distill_manifest.json").read_text())["state_dict"]
    teacher = [(k, s) for k, s, _ in manifest if k.startswith("Teacher.")][:40]
    rng = np.random.default_rng(0)
    tensors: dict[str, np.ndarray] = {}
    for prefix in prefixes:
        if prefix == "Teacher":
            tensors.update({k: rng.standard_normal(s).astype(np.float32) for k, s in teacher})
        else:
            scale = np.float32(1.0 if prefix == "Student" else 1.1)
            tensors.update({f"{prefix}.{k}": a * scale for k, a in student.items()})
    return _paddle_save(tmp_path / "best_accuracy.pdparams", tensors)


def test_distillation_checkpoint_loads_the_student(tmp_path: Path) -> None:
    _architecture(DET_V4)
    path = _distillation_file(tmp_path)
    x, expected = _expected_output(shared_path("zoo", DET_V4))
    with torch.inference_mode():
        student = create_model(DET_V4, weights=path)(torch.from_numpy(x)).numpy()
        student2 = create_model(DET_V4, weights=path, submodel="Student2")(torch.from_numpy(x)).numpy()
    assert np.abs(student - expected).max() <= TOLERANCE["det"]
    assert np.abs(student2 - expected).max() > 1e-3  # another sub-model, really loaded
    with pytest.raises(WeightsMismatchError, match=r"first mismatching tensor 'backbone\.conv1\.conv\.weight'"):
        create_model(DET_V4, weights=path, submodel="Teacher")
    with pytest.raises(WeightsMismatchError, match=r"no sub-model 'Nope'.*Student \(905 tensors\), Student2.*Teacher"):
        create_model(DET_V4, weights=path, submodel="Nope")


def test_distillation_selection_rules() -> None:
    a = np.zeros(1, np.float32)
    plain = {"backbone.w": a, "head.b": a}
    assert select_submodel(plain) == (plain, None, ())
    with pytest.raises(WeightsMismatchError, match="plain checkpoint"):
        select_submodel(plain, "Student")
    odd = {"student_model.backbone.w": a, "teacher_model.backbone.w": a}
    with pytest.raises(WeightsMismatchError, match=r"no sub-model 'Student'.*student_model.*not a PaddleOCR"):
        select_submodel(odd)
    chosen = select_submodel(odd, "student_model")
    assert chosen == ({"backbone.w": a}, "student_model", ("student_model", "teacher_model"))
    with pytest.raises(WeightsMismatchError, match="neither a model key"):
        select_submodel({"conv2d_0.w_0": a})
    with pytest.raises(WeightsMismatchError, match="mixes plain keys"):
        select_submodel({"backbone.w": a, "Student.backbone.w": a})


# --- strictness and the rules one by one -------------------------------------------------------------------


def test_checkpoint_of_another_architecture_names_the_first_mismatching_tensor() -> None:
    _architecture(DET_V4)
    cls_checkpoint = shared_path("zoo", CLS, "model.pdparams")
    with pytest.raises(
        WeightsMismatchError,
        match=r"first mismatching tensor 'backbone\.conv1\.conv\.weight'.*file shape \[8, 3, 3, 3\], "
        r"module shape \[16, 3, 3, 3\]",
    ):
        create_model(DET_V4, weights=cls_checkpoint)
    tensors = read_pdparams(cls_checkpoint)
    del tensors["head.fc.bias"]
    tensors["head.extra"] = np.zeros(2, np.float32)
    with pytest.raises(WeightsMismatchError, match=r"'head\.fc\.bias': not in the file.*1 missing, 1 unexpected"):
        load_trained_checkpoint("cls_mobilenetv3_small_x035", tensors, num_classes=2)


class _Toy(nn.Module):
    """One module of each kind the rules look at, under misleading names."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Conv2d(2, 3, 1)  # named like a Linear, is not one
        self.conv = nn.Linear(2, 3)  # named like a conv, is a Linear
        self.block = ConvBNAct(2, 3, 1)
        self.norm = nn.LayerNorm(3)
        self.lstm = nn.LSTM(2, 3, num_layers=1, bidirectional=True)
        self.down = RepLayer(4, 4, 3, stride=2, groups=4)
        self.down_h = RepLayer(4, 4, 3, stride=(2, 1), groups=4)


def test_rules_decide_by_module_type() -> None:
    toy = _Toy()
    rng = np.random.default_rng(0)
    file = {}
    for key, shape in paddle_state_keys(toy):
        file[key] = rng.standard_normal(shape).astype(np.float32)
    # PaddleOCR's SVTR ConvBNLayer calls its BatchNorm `norm`.
    file = {k.replace("block.bn.", "block.norm."): v for k, v in file.items()}
    for direction, suffix in (("cell_fw", ""), ("cell_bw", "_reverse")):
        for param in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            file[f"lstm.0.{direction}.{param}"] = file[f"lstm.{param}_l0{suffix}"]
    file["down.act.lab.scale"] = np.ones(1, np.float32)
    file["down.act.lab.bias"] = np.zeros(1, np.float32)
    mapping = paddle_to_torch(file, toy)
    assert mapping.state_dict["conv.weight"].shape == (3, 2)  # transposed: the module is a Linear
    assert mapping.state_dict["fc.weight"].shape == (3, 2, 1, 1)
    assert "block.bn.running_mean" in mapping.state_dict and "block.bn.running_var" in mapping.state_dict
    assert "norm.weight" in mapping.state_dict  # a LayerNorm called norm stays
    assert "down_h.act.lab.scale" in mapping.state_dict  # stride (2, 1) keeps its activation
    rules = {}
    for item in mapping.dropped:
        rules.setdefault(item.rule, []).append(item.key)
    assert sorted(rules) == ["lcnetv3-stride2-activation", "lstm-alias"]
    assert len(rules["lstm-alias"]) == 8
    assert sorted(rules["lcnetv3-stride2-activation"]) == ["down.act.lab.bias", "down.act.lab.scale"]
    assert set(mapping.state_dict) == {k for k in toy.state_dict() if not k.endswith("num_batches_tracked")}
    file["lstm.0.cell_bw.bias_hh"] = file["lstm.0.cell_bw.bias_hh"] + 1
    with pytest.raises(ModelFormatError, match=r"differs from 'lstm\.bias_hh_l0_reverse'"):
        paddle_to_torch(file, toy)


# --- create_model and convert ------------------------------------------------------------------------------


def test_checkpoint_folder_and_submodel_arguments(tmp_path: Path) -> None:
    source = shared_path("zoo", CLS, "model.pdparams")
    folder = tmp_path / "ch_ppocr_mobile_v2.0_cls_train"
    folder.mkdir()
    shutil.copyfile(source, folder / "best_accuracy.pdparams")
    (folder / "best_accuracy.pdopt").write_bytes(b"optimizer")
    (folder / "best_accuracy.states").write_bytes(b"states")
    x = torch.zeros(1, 3, 48, 192)
    with torch.inference_mode():
        torch.testing.assert_close(create_model(CLS, weights=folder)(x), create_model(CLS, weights=source)(x))
    with pytest.raises(WeightsMismatchError, match="plain checkpoint"):
        create_model(CLS, weights=folder, submodel="Student")
    with pytest.raises(ModelFormatError, match="submodel= applies to distillation checkpoints"):
        create_model(CLS, weights=shared_path("zoo", CLS), submodel="Student")
    shutil.copyfile(source, folder / "student.pdparams")
    with pytest.raises(ModelFormatError, match="several checkpoints"):
        create_model(CLS, weights=folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "latest.pdopt").write_bytes(b"x")
    with pytest.raises(ModelFormatError, match=r"latest\.pdopt hold training state"):
        read_weights(empty)


@pytest.mark.parametrize("fixture", [CLS, DET_V4])
def test_convert_round_trips(fixture: str, tmp_path: Path) -> None:
    _task, architecture, _kwargs = _architecture(fixture)
    folder = shared_path("zoo", fixture)
    x = torch.from_numpy(_expected_output(folder)[0])
    for source in (folder, folder / "model.pdparams"):
        out = ptocr.convert(source, tmp_path / "out.safetensors", model_name=fixture)
        assert out == tmp_path / "out.safetensors"
        with torch.inference_mode():
            want = create_model(fixture, weights=source)(x)
            assert torch.equal(create_model(fixture, weights=out)(x), want)
            assert torch.equal(create_model(architecture, weights=out)(x), want)
    weights = read_weights(out)
    assert weights.format == "safetensors"
    assert weights.metadata["ptocr.architecture"] == architecture
    assert weights.metadata["ptocr.version"] == ptocr.__version__
    assert weights.metadata["ptocr.source_format"] == "paddle-checkpoint"
    assert json.loads(weights.metadata["ptocr.record"])["name"] == fixture
    assert not any(k.endswith("num_batches_tracked") for k in weights.tensors)
    # The model name is taken from a zoo-named folder; a folder as destination gets `<model>.safetensors`.
    assert ptocr.convert(folder, tmp_path) == tmp_path / f"{fixture}.safetensors"


def test_converted_files_load_strictly(tmp_path: Path) -> None:
    _architecture(DET_V4)
    out = ptocr.convert(shared_path("zoo", CLS), tmp_path / "cls.safetensors")
    with pytest.raises(WeightsMismatchError, match="architecture 'cls_mobilenetv3_small_x035', not 'det_pplcnetv3"):
        create_model(DET_V4, weights=out)
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(out.read_bytes()[:-100])
    with pytest.raises(ModelFormatError, match="not a valid safetensors file"):
        create_model(CLS, weights=truncated)
    from safetensors.numpy import save_file

    bare = tmp_path / "bare.safetensors"
    save_file({"w": np.zeros(2, np.float32)}, str(bare))
    with pytest.raises(ModelFormatError, match=r"not written by ptocr\.convert"):
        create_model(CLS, weights=bare)
    with pytest.raises(ModelFormatError, match=r"must be a \.safetensors file"):
        ptocr.convert(shared_path("zoo", CLS), tmp_path / "x.bin")
    with pytest.raises(UnknownModelError, match="pass model_name"):
        ptocr.convert(shared_path("zoo", CLS, "model.pdparams").parent.parent, tmp_path)


def test_ptocr_convert_is_the_function_even_after_its_module_is_imported() -> None:
    import importlib

    # The function lives in `ptocr.conversion`, so importing that module never shadows `ptocr.convert`.
    module = importlib.import_module("ptocr.conversion")
    assert ptocr.convert is module.convert
