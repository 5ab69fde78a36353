"""PaddleOCR 1.1's slim models: quantised programs run as Paddle runs them, pruned programs at their own widths."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import torch

import ptocr
from ptocr.errors import ModelFormatError, WeightsMismatchError
from ptocr.formats import paddle_framework_pb2 as pb
from ptocr.formats import read_weights
from ptocr.formats.paddle import read_paddle_inference
from ptocr.models.fusion import fuse_for_inference
from ptocr.models.mapping import parameter_use_order
from ptocr.models.quantisation import QuantisedConv2d, is_quantised, round_half_away_from_zero
from ptocr.ocr import _decoder_for
from ptocr.pipeline.ctc import CTCDecoder
from ptocr.store import ModelStore, TrustOnFirstUseWarning
from ptocr.zoo import OfficialArchive, get_record

from .paths import shared_path
from .test_formats import _tensor_record
from .test_store import FakeFetcher, write_tar

SLIM_MODELS = [
    "ch_ppocr_mobile_slim_v1.1_det", "ch_ppocr_mobile_slim_v1.1_rec", "en_ppocr_mobile_slim_v1.1_rec",
    "ch_ppocr_mobile_v1.1_cls_quant",
]  # fmt: skip
#: Quantised fixture → (zoo model whose network it is, fetch name of its probabilities).
QUANTISED_FIXTURES = {
    "ch_ppocr_mobile_v1.1_det_quant": ("ch_ppocr_mobile_slim_v1.1_det", "maps"),
    "ch_ppocr_mobile_slim_v1.1_rec": ("ch_ppocr_mobile_slim_v1.1_rec", "predicts"),
    "ch_ppocr_mobile_v1.1_cls_quant": ("ch_ppocr_mobile_v1.1_cls_quant", "predict"),
}


def _fixture(name: str) -> Path:
    return shared_path("zoo_v1", name)


def _run(model: torch.nn.Module, folder: Path, fetch: str) -> tuple[np.ndarray, np.ndarray]:
    io = np.load(folder / "io.npz")
    with torch.inference_mode():
        output = model(torch.from_numpy(io["input"])).numpy()
    expected = io[f"predictor__{fetch}"]
    return output.reshape(expected.shape), expected


def test_the_slim_models_are_registered() -> None:
    for name in SLIM_MODELS:
        record = get_record(name)
        assert record.version == "PP-OCR-v1.1" and name in ptocr.list_models(version="PP-OCR-v1.1")
        assert "slim" in record.description
    det, cls = get_record("ch_ppocr_mobile_slim_v1.1_det"), get_record("ch_ppocr_mobile_v1.1_cls_quant")
    assert det.pruned and not det.quantised and cls.quantised and not cls.pruned
    assert get_record("en_ppocr_mobile_slim_v1.1_rec").dictionary == get_record("en_ppocr_mobile_v1.1_rec").dictionary


@pytest.mark.parametrize("fixture", sorted(QUANTISED_FIXTURES))
def test_quantised_programs_match_paddle_inference(fixture: str) -> None:
    name, fetch = QUANTISED_FIXTURES[fixture]
    folder = _fixture(fixture)
    weights = read_weights(folder)
    # The scales are not weights of the network: they say how its convolutions and products quantise.
    assert weights.quantisation and len(weights.tensors) + len(
        {q for q in weights.program.persistables if q.endswith("@scale") or q.startswith("channel_scale")}
    ) == len(weights.program.persistables)
    model = ptocr.create_model(name, folder)
    assert is_quantised(model)
    for net in (model, fuse_for_inference(model)):  # the fusion pass leaves quantised layers as they are
        output, expected = _run(net, folder, fetch)
        error = np.abs(output - expected)
        # The bar for programs that round activations; the emulation is exact to float rounding here.
        assert (error <= 1e-4).mean() >= 0.99 and np.median(error) <= 1e-6
        assert error.max() <= 2e-6, error.max()


def test_quantised_arithmetic_differs_from_the_float_network() -> None:
    folder = _fixture("ch_ppocr_mobile_v1.1_det_quant")
    model = ptocr.create_model("ch_ppocr_mobile_slim_v1.1_det", folder)
    expected = np.load(folder / "io.npz")["predictor__maps"]
    for layer in model.modules():
        if isinstance(layer, QuantisedConv2d):  # the same weights without the input rounding
            quantiser = layer.quantiser
            quantiser.quantise = lambda x, q=quantiser: x * q.input_factor  # type: ignore[method-assign]
    unrounded, _ = _run(model, folder, "maps")
    assert np.abs(unrounded - expected).max() > 1e-2  # what a float emulation would be off by


def test_the_slim_recogniser_decodes_as_paddle_does() -> None:
    folder = _fixture("ch_ppocr_mobile_slim_v1.1_rec")
    model = ptocr.create_model("ch_ppocr_mobile_slim_v1.1_rec", folder)
    io = np.load(folder / "io.npz")
    with torch.inference_mode():
        probs = model(torch.from_numpy(io["input"])).numpy()
    labels, bounds = io["predictor__decoded_out"][:, 0], io["predictor__decoded_out__lod0"]
    decoder = CTCDecoder([chr(0x4E00 + index) for index in range(6624)], blank_last=True)
    texts = [text for text, _ in decoder.decode(probs)]
    assert [[ord(c) - 0x4E00 for c in text] for text in texts] == [
        labels[start:end].tolist() for start, end in pairwise(bounds)
    ]


def test_the_quantised_classifier_decides_as_paddle_does() -> None:
    folder = _fixture("ch_ppocr_mobile_v1.1_cls_quant")
    output, _ = _run(ptocr.create_model("ch_ppocr_mobile_v1.1_cls_quant", folder), folder, "predict")
    assert output.argmax(1).tolist() == np.load(folder / "io.npz")["predictor__decoded_out"].reshape(-1).tolist()


def test_rounding_sends_ties_away_from_zero() -> None:
    x = torch.tensor([0.5, -0.5, 1.5, 2.5, -2.5, 0.49999997, -0.49999997, 126.5, 3.2, -3.7])
    assert round_half_away_from_zero(x).tolist() == [1, -1, 2, 3, -3, 0, -0, 127, 3, -4]


def _edit_program(folder: Path, target: Path, edit) -> None:
    """Copies a fluid fixture with `edit(program_desc, tensors)` applied; params re-written in stored order."""
    desc = pb.ProgramDesc.FromString((folder / "model").read_bytes())
    tensors = dict(read_paddle_inference(folder / "model", folder / "params")[1])  # scales included
    edit(desc, tensors)
    target.mkdir()
    (target / "model").write_bytes(desc.SerializeToString())
    (target / "params").write_bytes(b"".join(_tensor_record(tensors[name]) for name in sorted(tensors)))


def _set_dims(desc: pb.ProgramDesc, tensors: dict[str, np.ndarray], name: str, array: np.ndarray) -> None:
    (var,) = [v for v in desc.blocks[0].vars if v.name == name]
    del var.type.lod_tensor.tensor.dims[:]
    var.type.lod_tensor.tensor.dims.extend(array.shape)
    tensors[name] = array


# Channels removed from three layers of the v1.1 mobile detector: two inverted-residual expansions (with their
# depthwise convs) and the DB head's first conv.
_PRUNED = {"conv3": [1, 4, 5, 9, 17, 30], "conv8": list(range(0, 60, 3))}
_HEAD_PRUNED = [0, 5, 6]


def _prune(desc: pb.ProgramDesc, tensors: dict[str, np.ndarray]) -> None:
    for block, removed in _PRUNED.items():
        keep = np.setdiff1d(np.arange(tensors[f"{block}_expand_weights"].shape[0]), removed)
        for part in ("expand", "depthwise"):
            _set_dims(desc, tensors, f"{block}_{part}_weights", tensors[f"{block}_{part}_weights"][keep])
            for stat in ("scale", "offset", "mean", "variance"):
                name = f"{block}_{part}_bn_{stat}"
                _set_dims(desc, tensors, name, tensors[name][keep])
        linear = f"{block}_linear_weights"
        _set_dims(desc, tensors, linear, tensors[linear][:, keep])
        for op in desc.blocks[0].ops:
            if op.type == "depthwise_conv2d" and any(f"{block}_depthwise_weights" in v.arguments for v in op.inputs):
                (groups,) = [a for a in op.attrs if a.name == "groups"]
                groups.i = len(keep)
    head_conv, head_bn, head_deconv = _head_names(desc)
    keep = np.setdiff1d(np.arange(tensors[head_conv].shape[0]), _HEAD_PRUNED)
    _set_dims(desc, tensors, head_conv, tensors[head_conv][keep])
    for name in head_bn:
        _set_dims(desc, tensors, name, tensors[name][keep])
    _set_dims(desc, tensors, head_deconv, tensors[head_deconv][keep])


def _head_names(desc: pb.ProgramDesc) -> tuple[str, list[str], str]:
    """The DB head's first conv, its batch norm's tensors and the first transposed conv, from the op list."""
    ops = list(desc.blocks[0].ops)
    first_deconv = next(i for i, op in enumerate(ops) if op.type == "conv2d_transpose")
    conv = next(op for op in reversed(ops[:first_deconv]) if op.type == "conv2d")
    bn = next(op for op in reversed(ops[:first_deconv]) if op.type == "batch_norm")

    def arg(op: pb.OpDesc, slot: str) -> str:
        return next(v.arguments[0] for v in op.inputs if v.parameter == slot)

    bn_names = [arg(bn, slot) for slot in ("Scale", "Bias", "Mean", "Variance")]
    return arg(conv, "Filter"), bn_names, arg(ops[first_deconv], "Filter")


def _zero_pruned_channels(model: torch.nn.Module, folder: Path) -> torch.nn.Module:
    """The unpruned network whose removed channels output zero: what pruning them leaves."""
    weights = read_weights(folder)
    slots = parameter_use_order(model, torch.zeros(model.example_input_shape))
    placed = {name: slot.key for name, slot in zip(weights.tensors, slots, strict=True)}
    state = model.state_dict()
    head_conv, head_bn, _ = _head_names(pb.ProgramDesc.FromString((folder / "model").read_bytes()))
    zeroed = {f"{block}_{part}_{what}": removed for block, removed in _PRUNED.items()
              for part in ("expand", "depthwise") for what in ("weights", "bn_offset", "bn_mean")}  # fmt: skip
    zeroed |= {head_conv: _HEAD_PRUNED, head_bn[1]: _HEAD_PRUNED, head_bn[2]: _HEAD_PRUNED}
    with torch.no_grad():
        for name, channels in zeroed.items():
            state[placed[name]][channels] = 0
    model.load_state_dict(state)
    return model


def test_a_pruned_detector_runs_at_the_widths_its_program_declares(tmp_path: Path) -> None:
    folder = _fixture("ch_ppocr_mobile_v1.1_det")
    pruned_folder = tmp_path / "pruned"
    _edit_program(folder, pruned_folder, _prune)
    pruned = ptocr.create_model("ch_ppocr_mobile_slim_v1.1_det", pruned_folder)
    expected = _zero_pruned_channels(ptocr.create_model("ch_ppocr_mobile_v1.1_det", folder), folder)
    x = torch.from_numpy(np.load(folder / "io.npz")["input"])
    with torch.inference_mode():
        assert np.abs(pruned(x).numpy() - expected(x).numpy()).max() <= 1e-5
        assert np.abs(fuse_for_inference(pruned)(x).numpy() - expected(x).numpy()).max() <= 1e-5
    # A record of the full network keeps its widths and says which tensor differs.
    with pytest.raises(WeightsMismatchError, match="conv3_expand_weights"):
        ptocr.create_model("ch_ppocr_mobile_v1.1_det", pruned_folder)


def test_pruning_changes_widths_not_kernels(tmp_path: Path) -> None:
    folder = _fixture("ch_ppocr_mobile_v1.1_det")

    def other_kernel(desc: pb.ProgramDesc, tensors: dict[str, np.ndarray]) -> None:
        _set_dims(desc, tensors, "conv3_expand_weights", np.zeros((32, 8, 3, 3), np.float32))

    _edit_program(folder, tmp_path / "odd", other_kernel)
    with pytest.raises(WeightsMismatchError, match="do not fit a Conv2d"):
        ptocr.create_model("ch_ppocr_mobile_slim_v1.1_det", tmp_path / "odd")

    def unchained(desc: pb.ProgramDesc, tensors: dict[str, np.ndarray]) -> None:  # the next conv not pruned
        _set_dims(desc, tensors, "conv3_expand_weights", tensors["conv3_expand_weights"][:16])

    _edit_program(folder, tmp_path / "unchained", unchained)
    with pytest.raises(WeightsMismatchError, match="channel counts do not make a working network"):
        ptocr.create_model("ch_ppocr_mobile_slim_v1.1_det", tmp_path / "unchained")


def _quantised_op(desc: pb.ProgramDesc, op_type: str) -> pb.OpDesc:
    return next(op for op in desc.blocks[0].ops if op.type == op_type)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("round_type", "round_type 0"),
        ("fractional_weight", "does not hold integers"),
        ("other_scheme", "quantize_linear are not supported"),
        ("wrong_scale", "does not use its input's scale"),
    ],
)
def test_quantised_programs_that_cannot_be_run_exactly_are_refused(tmp_path: Path, edit: str, message: str) -> None:
    folder = _fixture("ch_ppocr_mobile_v1.1_cls_quant")

    def change(desc: pb.ProgramDesc, tensors: dict[str, np.ndarray]) -> None:
        quantise = _quantised_op(desc, "fake_quantize_moving_average_abs_max")
        dequantise = _quantised_op(desc, "fake_channel_wise_dequantize_max_abs")
        if edit == "round_type":
            next(a for a in quantise.attrs if a.name == "round_type").i = 0
        elif edit == "fractional_weight":
            tensors["conv1_weights"] = tensors["conv1_weights"] + np.float32(0.25)
        elif edit == "other_scheme":
            quantise.type = "quantize_linear"
        else:
            scales = next(v for v in dequantise.inputs if v.parameter == "Scales")
            scales.arguments[1] = scales.arguments[0]

    _edit_program(folder, tmp_path / "edited", change)
    with pytest.raises(ModelFormatError, match=message):
        ptocr.create_model("ch_ppocr_mobile_v1.1_cls_quant", tmp_path / "edited")


@pytest.mark.parametrize("name", ["ch_ppocr_mobile_v1.1_cls_quant", "ch_ppocr_mobile_slim_v1.1_rec"])
def test_a_slim_model_from_its_official_archive(tmp_path: Path, name: str) -> None:
    record = get_record(name)
    (archive,) = [s for s in record.weights["paddle"].sources if isinstance(s, OfficialArchive)]
    assert archive.url.endswith("_quant_infer.tar")
    folder = _fixture(name)
    members = {f"{archive.member_dir}/{file}": (folder / file).read_bytes() for file in ("model", "params")}
    store = ModelStore(tmp_path / "home", FakeFetcher({archive.url: write_tar(tmp_path / "a.tar", members)}))
    with pytest.warns(TrustOnFirstUseWarning, match="publishes no sha256"):
        store.pull(name)
    model = ptocr.create_model(name, store=store)
    assert is_quantised(model)
    if record.task == "rec":
        decoder = _decoder_for(record, model)
        assert decoder.blank_index == decoder.num_classes - 1 == 6624
    _, fetch = QUANTISED_FIXTURES[name]
    output, expected = _run(model, folder, fetch)
    assert np.median(np.abs(output - expected)) <= 1e-6


def test_a_slim_model_is_not_converted_to_safetensors(tmp_path: Path) -> None:
    with pytest.raises(ModelFormatError, match=r"a quantised \(slim\) model cannot be converted"):
        ptocr.convert(_fixture("ch_ppocr_mobile_v1.1_cls_quant"), tmp_path, "ch_ppocr_mobile_v1.1_cls_quant")
