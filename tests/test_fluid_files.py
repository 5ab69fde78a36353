"""PaddleOCR 1.x's fluid inference files: `model` + `params`, and `__model__` + one file per variable.

The fixtures of ../shared/zoo_v1 were saved by PaddleOCR's own v1.x code; their outputs were recorded from
Paddle Inference. The v1.1 angle classifier is the v2.0 one's architecture (MobileNetV3-small ×0.35), so it
loads into that module by structure, which is what a user with a v1.1 archive does today.
"""

from __future__ import annotations

import json
import pickle
import shutil
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import torch

import ptocr
from ptocr.errors import ModelFormatError, ModelStoreError
from ptocr.factory import architecture_kwargs
from ptocr.formats import paddle_framework_pb2 as pb
from ptocr.formats import parse_program, read_weights
from ptocr.formats.paddle import read_paddle_inference
from ptocr.models import build_architecture, load_by_structure
from ptocr.models.fusion import fuse_for_inference
from ptocr.models.layers import PaddleMaxPool2d, upsample_nearest
from ptocr.ocr import _decoder_for
from ptocr.pipeline.ctc import CTCDecoder
from ptocr.store import ModelStore, TrustOnFirstUseWarning
from ptocr.zoo import OfficialArchive, get_record

from .paths import shared_path
from .test_formats import _tensor_record
from .test_store import FakeFetcher, write_tar

CLS_ARCHITECTURE = "cls_mobilenetv3_small_x035"


def _fixture(name: str) -> Path:
    return shared_path("zoo_v1", name)


def _predict(model: torch.nn.Module, folder: Path, fetch: str = "predict") -> tuple[np.ndarray, np.ndarray]:
    io = np.load(folder / "io.npz")
    with torch.inference_mode():
        output = model(torch.from_numpy(io["input"])).numpy()
    expected = io[f"predictor__{fetch}"]
    if output.ndim == 3 and expected.ndim == 2:  # a recogniser: the program's LoD rows are N·T steps
        assert np.array_equal(io[f"predictor__{fetch}__lod0"], np.arange(len(output) + 1) * output.shape[1])
        output = output.reshape(-1, output.shape[2])
    return output, expected


def _separate_files(tmp_path: Path, folder: Path) -> Path:
    """The fixture re-saved in fluid's other layout: `__model__` and a file per persistable variable."""
    target = tmp_path / "separate"
    target.mkdir()
    shutil.copyfile(folder / "model", target / "__model__")
    for name, array in read_weights(folder).tensors.items():
        (target / name).write_bytes(_tensor_record(array))
    return target


def test_a_v1_folder_of_model_and_params_loads_at_paddle_parity() -> None:
    folder = _fixture("ch_ppocr_mobile_v1.1_cls")
    weights = read_weights(folder)
    assert weights.format == "paddle-inference" and weights.program is not None
    assert len(weights) == len(weights.program.persistables) == 213
    output, expected = _predict(ptocr.create_model(CLS_ARCHITECTURE, weights=folder), folder)
    assert output.shape == expected.shape == (2, 2)
    assert np.abs(output - expected).max() <= 1e-5
    for file in ("model", "params"):  # either file names its folder
        assert list(read_weights(folder / file).tensors) == list(weights.tensors)


def test_one_file_per_variable_loads_the_same(tmp_path: Path) -> None:
    folder = _fixture("ch_ppocr_mobile_v1.1_cls")
    separate = _separate_files(tmp_path, folder)
    combined, split = read_weights(folder), read_weights(separate)
    assert list(split.tensors) == list(combined.tensors)
    assert all(np.array_equal(split.tensors[name], array) for name, array in combined.tensors.items())
    output, expected = _predict(ptocr.create_model(CLS_ARCHITECTURE, weights=separate / "__model__"), folder)
    assert np.abs(output - expected).max() <= 1e-5


def test_a_missing_variable_file_is_named(tmp_path: Path) -> None:
    separate = _separate_files(tmp_path, _fixture("ch_ppocr_mobile_v1.1_cls"))
    (separate / "conv1_weights").unlink()
    with pytest.raises(ModelFormatError, match=r"no file for the program's variable 'conv1_weights' either"):
        read_weights(separate)


@pytest.mark.parametrize("hostile", ["../outside", "/etc/passwd", ".."])
def test_a_variable_name_cannot_leave_the_folder(tmp_path: Path, hostile: str) -> None:
    separate = _separate_files(tmp_path, _fixture("ch_ppocr_mobile_v1.1_cls"))
    program = pb.ProgramDesc.FromString((separate / "__model__").read_bytes())
    (variable,) = [v for v in program.blocks[0].vars if v.name == "conv1_weights"]
    variable.name = hostile
    (separate / "__model__").write_bytes(program.SerializeToString())
    (tmp_path / "outside").write_bytes(_tensor_record(np.zeros((1,), np.float32)))
    with pytest.raises(ModelFormatError, match="cannot be a file name"):
        read_weights(separate)


def test_a_fluid_program_without_its_weights_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "only_model"
    folder.mkdir()
    shutil.copyfile(_fixture("ch_ppocr_mobile_v1.1_cls") / "model", folder / "model")
    with pytest.raises(ModelFormatError, match=r"no parameter file beside model \(params, __params__"):
        read_weights(folder)


def test_fluid_upsampling_aligns_the_corners() -> None:
    x = torch.arange(3.0).reshape(1, 1, 1, 3)
    # source index int(i * 2/5 + 0.5) for i in 0..5: here the same as floor(i / 2); at x4 they differ
    assert upsample_nearest(x, 2, align_corners=True)[0, 0, 0].tolist() == [0, 0, 1, 1, 2, 2]
    assert upsample_nearest(x, 2)[0, 0, 0].tolist() == [0, 0, 1, 1, 2, 2]
    x = torch.arange(5.0).reshape(1, 1, 1, 5)
    assert upsample_nearest(x, 4, align_corners=True)[0, 0, 0].tolist() == [
        0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3, 4, 4, 4
    ]  # fmt: skip
    assert upsample_nearest(x, 4)[0, 0, 0].tolist() == [i // 4 for i in range(20)]


@pytest.mark.parametrize(
    ("fixture", "architecture"),
    [("ch_ppocr_mobile_v1.1_det", "det_mobilenetv3_dbfpn_db_v1"), ("ch_det_mv3_db", "det_mobilenetv3se_dbfpn_db_v1")],
)
def test_v1_detectors_match_paddle_inference(fixture: str, architecture: str) -> None:
    folder = _fixture(fixture)
    model = ptocr.create_model(architecture, weights=folder)
    output, expected = _predict(model, folder, "maps")
    assert output.shape == expected.shape == (1, 1, 160, 224)
    assert np.abs(output - expected).max() <= 2e-5
    fused, _ = _predict(fuse_for_inference(model), folder, "maps")
    assert np.abs(fused - expected).max() <= 2e-5


def test_v2_upsampling_would_not_match_a_v1_detector() -> None:
    folder = _fixture("ch_ppocr_mobile_v1.1_det")
    output, expected = _predict(ptocr.create_model("det_mobilenetv3_dbfpn_db", weights=folder), folder, "maps")
    assert np.abs(output - expected).max() > 0.1  # the same weights in v2.0's graph: the rule makes the network


def _official_archive(tmp_path: Path, name: str) -> Path:
    """What PaddleOCR published for a v1.1 model: `<name>_infer.tar` holding `<name>_infer/model` and `params`."""
    folder = _fixture(name)
    members = {f"{name}_infer/{file}": (folder / file).read_bytes() for file in ("model", "params")}
    return write_tar(tmp_path / f"{name}_infer.tar", members)


_FETCH = {"det": "maps", "rec": "predicts", "cls": "predict"}


@pytest.mark.parametrize(
    "name",
    [
        "ch_ppocr_mobile_v1.1_cls", "ch_ppocr_mobile_v1.1_det", "ch_det_mv3_db", "ch_ppocr_mobile_v1.1_rec",
        "french_ppocr_mobile_v1.1_rec", "ch_rec_mv3_crnn",
    ],
)
def test_a_v1_zoo_model_from_its_official_archive(tmp_path: Path, name: str) -> None:
    record = get_record(name)
    assert record.version in ("PP-OCR-v1.0", "PP-OCR-v1.1")
    assert [f.name for f in record.weights["paddle"].files] == ["model", "params"]
    (archive,) = [s for s in record.weights["paddle"].sources if isinstance(s, OfficialArchive)]
    store = ModelStore(tmp_path / "home", FakeFetcher({archive.url: _official_archive(tmp_path, name)}))
    # No digests are published for 1.x files: the first download is checked by mapping it onto the network.
    with pytest.warns(TrustOnFirstUseWarning, match="publishes no sha256"):
        folder = store.pull(name)
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == ["model", "params"]
    model = ptocr.create_model(name, store=store)
    if record.task == "rec":  # its vendored 1.x dictionary fits the published head, blank last
        decoder = _decoder_for(record, model)
        assert decoder.num_classes == model.head.num_classes and decoder.blank_index == decoder.num_classes - 1
    output, expected = _predict(model, _fixture(name), _FETCH[record.task])
    assert np.abs(output - expected).max() <= (2e-5 if record.task == "det" else 1e-5)


def test_a_v1_archive_of_another_model_is_refused(tmp_path: Path) -> None:
    (archive,) = get_record("ch_ppocr_mobile_v1.1_det").weights["paddle"].sources
    assert isinstance(archive, OfficialArchive)
    wrong = _official_archive(tmp_path, "ch_det_mv3_db")  # the v1.0 detector, with SE blocks
    store = ModelStore(tmp_path / "home", FakeFetcher({archive.url: wrong}))
    with pytest.raises(ModelStoreError, match=r"not a working ch_ppocr_mobile_v1\.1_det model"):
        store.pull("ch_ppocr_mobile_v1.1_det")


def test_the_v1_recogniser_and_its_blank_last_decoding_match_paddle() -> None:
    folder = _fixture("ch_ppocr_mobile_v1.1_rec")
    model = ptocr.create_model("rec_mobilenetv3_fluidlstm_ctc_v1", weights=folder)
    probs, expected = _predict(model, folder, "predicts")
    assert probs.shape == expected.shape == (80, 6625)
    assert np.abs(probs - expected).max() <= 1e-5
    # The program decodes in-graph (top_k, then ctc_align with blank 6624): the same labels, sample by sample.
    io = np.load(folder / "io.npz")
    labels, bounds = io["predictor__decoded_out"][:, 0], io["predictor__decoded_out__lod0"]
    characters = [chr(0x4E00 + index) for index in range(6624)]  # one distinct character per class
    decoder = CTCDecoder(characters, blank_last=True)
    texts = [text for text, _ in decoder.decode(probs.reshape(2, 40, 6625))]
    assert [[ord(c) - 0x4E00 for c in text] for text in texts] == [
        labels[start:end].tolist() for start, end in pairwise(bounds)
    ]
    assert sum(len(text) for text in texts) == len(labels) > 0


def test_blank_last_decoding() -> None:
    probs = np.zeros((1, 6, 3), np.float32)  # classes: "a", "b", blank
    for step, winner in enumerate([0, 0, 2, 0, 1, 2]):
        probs[0, step, winner] = 0.9
    assert CTCDecoder(["a", "b"], blank_last=True).decode(probs)[0][0] == "aab"
    assert CTCDecoder(["a", "b"]).decode(probs)[0][0] == "bab"  # the same steps read with the blank first
    decoder = CTCDecoder(["a", "b"], blank_last=True)
    assert decoder.num_classes == 3 and decoder.blank_index == 2


def test_paddle_pooling_keeps_a_row_shorter_than_its_window() -> None:
    x = torch.tensor([[[[1.0, 5.0, 2.0, 7.0, 3.0]]]])  # one row, five columns
    assert PaddleMaxPool2d(2, 2)(x).tolist() == [[[[5.0, 7.0]]]]
    with pytest.raises(RuntimeError, match="too small"):  # torch's rule leaves no row at all
        torch.nn.MaxPool2d(2, 2)(x)
    y = torch.arange(20.0).reshape(1, 1, 4, 5)
    assert torch.equal(PaddleMaxPool2d(2, 2)(y), torch.nn.MaxPool2d(2, 2)(y))  # otherwise the same


@pytest.mark.parametrize(
    ("fixture", "name"),
    [
        ("ch_ppocr_server_v1.1_det", "ch_ppocr_server_v1.1_det"),
        ("ch_ppocr_server_v1.1_rec", "ch_ppocr_server_v1.1_rec"),
        ("ch_ppocr_server_v1.1_rec", "ch_rec_r34_vd_crnn_enhance"),  # the same program, the README says
        ("ch_rec_r34_vd_crnn", "ch_rec_r34_vd_crnn"),
        ("ch_det_r50_vd_db", "ch_det_r50_vd_db"),
    ],
)
def test_program_only_fixtures_map_strictly_onto_their_models(fixture: str, name: str) -> None:
    """These fixtures hold no weights (45–100 MB): the program's declared tensors, in use order, must fill
    the zoo model's module exactly, every shape checked."""
    program = parse_program((_fixture(fixture) / "model").read_bytes())
    tensors = {n: np.zeros(program.persistables[n].shape, np.float32) for n in program.parameter_use_order()}
    record = get_record(name)
    model = build_architecture(record.architecture, deploy=True, **architecture_kwargs(record))
    load_by_structure(model, tensors, torch.zeros(1, 3, 32, 64))
    assert len(tensors) == len(model.state_dict()) - sum(k.endswith("num_batches_tracked") for k in model.state_dict())


def _fluid_trained_archive(tmp_path: Path, fixture: str) -> Path:
    """What fluid's `save(train_program, "best_accuracy")` writes for a fixture's network: the parameters by
    variable name (`.pdparams`, pickle protocol 2), the optimizer state (`.pdopt`) and the training program
    (`.pdmodel`): the forward ops, then a gradient op and a momentum update per parameter, with their own
    persistable variables (velocities, learning rate)."""
    folder = _fixture(fixture)
    names = [name for name, _shape in json.loads((folder / "trained_manifest.json").read_text())["vars"]]
    _, tensors = read_paddle_inference(folder / "model", folder / "params")
    assert sorted(tensors) == sorted(names)
    desc = pb.ProgramDesc.FromString((folder / "model").read_bytes())
    block = desc.blocks[0]
    template = next(v for v in block.vars if v.persistable and v.type.type == pb.VarType.LOD_TENSOR)

    def declare(name: str, shape: tuple[int, ...]) -> None:
        var = block.vars.add()
        var.CopyFrom(template)
        var.name = name
        del var.type.lod_tensor.tensor.dims[:]
        var.type.lod_tensor.tensor.dims.extend(shape)

    declare("learning_rate_0", (1,))
    optimizer_state = {"learning_rate_0": np.full(1, 1e-3, np.float32)}
    for name in reversed(names):  # backward ops run in reverse, after the whole forward pass
        declare(f"{name}_velocity_0", tensors[name].shape)
        optimizer_state[f"{name}_velocity_0"] = np.zeros_like(tensors[name])
        op = block.ops.add(type="momentum")
        for slot, argument in (("Param", name), ("Grad", f"{name}@GRAD"), ("Velocity", f"{name}_velocity_0"),
                               ("LearningRate", "learning_rate_0")):  # fmt: skip
            op.inputs.add(parameter=slot, arguments=[argument])
        op.outputs.add(parameter="ParamOut", arguments=[name])
    target = tmp_path / f"{fixture}_train"
    target.mkdir()
    (target / "best_accuracy.pdmodel").write_bytes(desc.SerializeToString())
    (target / "best_accuracy.pdparams").write_bytes(pickle.dumps({n: tensors[n] for n in names}, protocol=2))
    (target / "best_accuracy.pdopt").write_bytes(pickle.dumps(optimizer_state, protocol=2))
    return target


@pytest.mark.parametrize(
    ("fixture", "name", "fetch"),
    [("ch_ppocr_mobile_v1.1_det", "ch_ppocr_mobile_v1.1_det", "maps"),
     ("ch_ppocr_mobile_v1.1_rec", "ch_ppocr_mobile_v1.1_rec", "predicts")],
)  # fmt: skip
def test_a_v1_trained_archive_loads_by_its_training_program(
    tmp_path: Path, fixture: str, name: str, fetch: str
) -> None:
    archive = _fluid_trained_archive(tmp_path, fixture)
    for weights in (archive, archive / "best_accuracy.pdparams"):  # the folder or its .pdparams
        model = ptocr.create_model(name, weights)
        output, expected = _predict(model, _fixture(fixture), fetch)
        assert np.abs(output - expected).max() <= (2e-5 if fetch == "maps" else 1e-5)
    with pytest.raises(ModelFormatError, match="optimizer state"):
        ptocr.create_model(name, archive / "best_accuracy.pdopt")


def test_a_v1_trained_archive_of_another_program_is_refused(tmp_path: Path) -> None:
    archive = _fluid_trained_archive(tmp_path, "ch_ppocr_mobile_v1.1_cls")
    parameters = archive / "best_accuracy.pdparams"
    tensors = pickle.loads(parameters.read_bytes())
    other = _fluid_trained_archive(tmp_path, "ch_ppocr_mobile_v1.1_det")
    shutil.copyfile(other / "best_accuracy.pdparams", parameters)
    with pytest.raises(ModelFormatError, match="does not declare: not the parameters of this program"):
        read_weights(archive)
    tensors["conv1_weights"] = tensors["conv1_weights"][:2]
    parameters.write_bytes(pickle.dumps(tensors, protocol=2))
    with pytest.raises(ModelFormatError, match=r"'conv1_weights' has shape \[2, 3, 3, 3\]"):
        read_weights(archive)
