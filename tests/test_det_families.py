"""DB detectors on MobileNetV3 (v2.0 mobile, PP-OCRv2, PP-OCRv3) and ResNet18_vd (v2.0 server).

Checked against the reference fixtures: outputs of Paddle Inference, the exported programs (mapped
strictly by structure and, through the fixtures' parameter maps, onto the right names), and the keys
and shapes of PaddleOCR's trained state dicts.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ptocr import create_model
from ptocr.formats import parse_program, safe_loads
from ptocr.models import build_architecture, load_by_structure, parameter_use_order

from .paths import shared_path

ARCHITECTURE = {
    "ch_ppocr_mobile_v2.0_det": "det_mobilenetv3_dbfpn_db",
    "ch_PP-OCRv2_det": "det_mobilenetv3_dbfpn_db",
    "ch_PP-OCRv3_det": "det_mobilenetv3_rsefpn_db",
    "ch_ppocr_server_v2.0_det": "det_resnet18vd_dbfpn_db",
}
WITH_WEIGHTS = ["ch_ppocr_mobile_v2.0_det", "ch_PP-OCRv2_det", "ch_PP-OCRv3_det"]
TOLERANCE = 2e-5


def _paddle_key(torch_key: str) -> str:
    """Paddle's state-dict name for a torch key: only BatchNorm statistics are named differently."""
    return torch_key.replace("running_mean", "_mean").replace("running_var", "_variance")


def _paddle_style_state(net: torch.nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    return [
        (_paddle_key(key), tuple(value.shape))
        for key, value in net.state_dict().items()
        if not key.endswith("num_batches_tracked")
    ]


@pytest.mark.parametrize("model", WITH_WEIGHTS)
def test_fixture_matches_paddle_inference(model: str) -> None:
    folder = shared_path("zoo", model)
    io = np.load(folder / "io.npz", allow_pickle=False)
    (expected_key,) = [k for k in io.files if k.startswith("ir_off__")]
    net = create_model(ARCHITECTURE[model], weights=folder)
    with torch.inference_mode():
        out = net(torch.from_numpy(io["input"])).numpy()
    assert out.shape == io[expected_key].shape
    assert np.abs(out - io[expected_key]).max() <= TOLERANCE


@pytest.mark.parametrize("model", list(ARCHITECTURE))
def test_program_maps_strictly_onto_the_module_and_onto_the_right_names(model: str) -> None:
    """Every persistable of the exported program fills one slot, shapes agree, and each pairing is the
    one PaddleOCR made: the fixture's parameter map names the same layer on both sides.
    """
    folder = shared_path("zoo", model)
    program = parse_program((folder / "inference.pdmodel").read_bytes())
    variables = program.parameter_use_order()
    net = build_architecture(ARCHITECTURE[model], deploy=True)
    example = torch.zeros(net.example_input_shape)
    arrays = {name: np.zeros(program.persistables[name].shape, np.float32) for name in variables}
    load_by_structure(net, arrays, example)

    param_map = json.loads((folder / "inference_param_map.json").read_text())["map"]
    variable_of = {key: entry[0] for key, entry in param_map.items()}
    slots = parameter_use_order(net, example)
    assert [variable_of[_paddle_key(slot.key)] for slot in slots] == variables


@pytest.mark.parametrize("model", list(ARCHITECTURE))
def test_trainable_form_has_paddleocr_state_dict_keys(model: str) -> None:
    manifest = json.loads(shared_path("zoo", model, "trained_manifest.json").read_text())
    expected = [(key, tuple(shape)) for key, shape, _dtype in manifest["state_dict"]]
    net = build_architecture(ARCHITECTURE[model], with_threshold=True)
    assert _paddle_style_state(net) == expected


@pytest.mark.parametrize("model", WITH_WEIGHTS)
def test_trained_checkpoint_loads_by_name(model: str) -> None:
    folder: Path = shared_path("zoo", model)
    checkpoint = safe_loads((folder / "model.pdparams").read_bytes(), allow_numpy=True, what="model.pdparams")
    net = build_architecture(ARCHITECTURE[model], with_threshold=True)
    state = {
        key: value if key.endswith("num_batches_tracked") else torch.from_numpy(checkpoint[_paddle_key(key)])
        for key, value in net.state_dict().items()
    }
    net.load_state_dict(state, strict=True)
    io = np.load(folder / "io.npz", allow_pickle=False)
    with torch.inference_mode():
        out = net(torch.from_numpy(io["input"])).numpy()
    assert np.abs(out - io["dygraph__maps"]).max() <= TOLERANCE


def test_server_backbone_output_sizes_follow_odd_inputs() -> None:
    # The vd shortcut pools with ceil_mode, so sides that are not multiples of 32 still line up.
    net = build_architecture("det_resnet18vd_dbfpn_db")
    with torch.inference_mode():
        features = net.backbone(torch.zeros(1, 3, 100, 132))
    assert [tuple(f.shape[1:]) for f in features] == [(64, 25, 33), (128, 13, 17), (256, 7, 9), (512, 4, 5)]
