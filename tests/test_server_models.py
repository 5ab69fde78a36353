"""PP-OCRv4 server detector and recogniser (PP-HGNet) against their Paddle inference programs.

The fixtures hold the exported programs but no weights or expected outputs, so the checks are:
- the program's persistables map strictly, by structure, onto the torch module (every tensor, every shape);
- with seeded random weights, the torch module computes what the program computes, as run op by op by
  ptocr's program interpreter (`ptocr.interpreter`, independent of the native modules);
- the trainable form's state dict has exactly PaddleOCR's trained-checkpoint keys and shapes.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from ptocr.formats import PaddleProgram, parse_program
from ptocr.interpreter import build_program
from ptocr.models import build_architecture, load_by_structure, parameter_use_order

from .paths import shared_path
from .program_weights import calibrate, random_persistables

DET = "ch_PP-OCRv4_server_det"
REC = "ch_PP-OCRv4_server_rec"
ARCHITECTURE = {DET: "det_pphgnet_lkpan_pfhead", REC: "rec_pphgnet_svtr_ctc"}
# Small inputs keep the float64 runs fast; non-square and batched to catch axis mix-ups.
INPUT_SHAPE = {DET: (1, 3, 64, 96), REC: (2, 3, 48, 64)}
# Std of the last weighted layer's output after calibration: unsaturated det maps, peaked CTC rows.
FINAL_STD = {DET: 2.0, REC: 4.0}
# float64 module vs float64 interpreter. The rec program stores SVTR's attention scale as the float32
# attribute 0.2581989 where torch uses 15 ** -0.5 exactly (relative 4e-8): with that constant patched the
# two agree to 4e-15, so the bound below is that constant's effect, not slack.
FLOAT64_TOLERANCE = {DET: 1e-11, REC: 1e-7}
FLOAT32_TOLERANCE = 2e-5


def _program(model: str) -> PaddleProgram:
    return parse_program((shared_path("zoo", model) / "inference.pdmodel").read_bytes())


def _trained_keys(model: str) -> list[tuple[str, tuple[int, ...]]]:
    manifest = json.loads((shared_path("zoo", model) / "trained_manifest.json").read_text())
    return [(key, tuple(shape)) for key, shape, _ in manifest["state_dict"]]


def _paddle_style_state(net: torch.nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    """The module's state dict as Paddle names and lays it out: BN statistics `_mean` / `_variance`,
    no step counters, Linear weights [in, out]."""
    linear = {name for name, m in net.named_modules() if isinstance(m, torch.nn.Linear)}
    rows = []
    for key, tensor in net.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        layer, _, local = key.rpartition(".")
        shape = tuple(tensor.shape)
        if layer in linear and local == "weight":
            shape = shape[::-1]
        local = {"running_mean": "_mean", "running_var": "_variance"}.get(local, local)
        rows.append((f"{layer}.{local}", shape))
    return rows


@pytest.mark.parametrize("model", [DET, REC])
def test_inference_program_maps_strictly_onto_the_module(model: str) -> None:
    program = _program(model)
    order = program.parameter_use_order()
    assert len(order) == len(program.persistables)
    zeros = {name: np.zeros(program.persistables[name].shape, np.float32) for name in order}
    net = build_architecture(ARCHITECTURE[model], deploy=True)
    example = torch.zeros(net.example_input_shape)
    assert len(parameter_use_order(net, example)) == len(order)
    load_by_structure(net, zeros, example)


@dataclass(frozen=True)
class ProgramRun:
    model: str
    x: np.ndarray
    outputs: list[np.ndarray]  # the interpreter's, in fetch order
    net: torch.nn.Module  # float64, loaded by structure with the same weights


@pytest.fixture(scope="module", params=[DET, REC])
def program_run(request: pytest.FixtureRequest) -> ProgramRun:
    model = request.param
    program = _program(model)
    x = np.random.default_rng(7).uniform(-1.0, 1.0, INPUT_SHAPE[model])
    weights = calibrate(program, random_persistables(program, seed=2024), [x], final_std=FINAL_STD[model])
    with torch.inference_mode():
        fetched = build_program(program, weights).double()(torch.from_numpy(x))
    outputs = [t.numpy() for t in (fetched if isinstance(fetched, tuple) else (fetched,))]
    net = build_architecture(ARCHITECTURE[model], deploy=True).double()
    ordered = {name: weights[name] for name in program.parameter_use_order()}
    load_by_structure(net, ordered, torch.zeros(net.example_input_shape, dtype=torch.float64))
    return ProgramRun(model, x, outputs, net)


def test_outputs_are_not_saturated(program_run: ProgramRun) -> None:
    # A comparison on saturated sigmoids / flat softmaxes would prove little.
    first = program_run.outputs[0]
    if program_run.model == DET:
        assert first.min() < 0.05 and first.max() > 0.95 and first.std() > 0.1
    else:
        assert first.max(axis=2).mean() > 0.1
        assert np.allclose(first.sum(axis=2), 1.0)


def test_float64_module_computes_the_program(program_run: ProgramRun) -> None:
    model, net, expected = program_run.model, program_run.net, program_run.outputs
    x = torch.from_numpy(program_run.x)
    with torch.inference_mode():
        out = net(x).numpy()
    assert out.shape == expected[0].shape
    assert np.abs(out - expected[0]).max() <= FLOAT64_TOLERANCE[model]
    if model == DET:
        # Output 1, `maps`, is the mean of the shrink map and `cbn_maps` (output 0, what forward returns).
        assert len(expected) == 2
        with torch.inference_mode():
            shrink, _ = net.head.binarize.forward_with_features(net.neck(net.backbone(x)))
        maps = (0.5 * (shrink + torch.from_numpy(out))).numpy()
        assert np.abs(maps - expected[1]).max() <= FLOAT64_TOLERANCE[model]


def test_float32_module_matches_the_program(program_run: ProgramRun) -> None:
    net = copy.deepcopy(program_run.net).float()
    with torch.inference_mode():
        out = net(torch.from_numpy(program_run.x.astype(np.float32))).double().numpy()
    assert np.abs(out - program_run.outputs[0]).max() <= FLOAT32_TOLERANCE


def test_trainable_detector_has_the_trained_checkpoint_keys() -> None:
    net = build_architecture(ARCHITECTURE[DET], with_threshold=True)
    assert _paddle_style_state(net) == _trained_keys(DET)  # same keys, shapes and order


def test_recogniser_has_the_trained_checkpoint_keys_under_the_neck_head_renaming() -> None:
    # PaddleOCR nests the SVTR neck and CTC head in its MultiHead; its ConvBN layers call BN `norm`.
    # The NRTR/GTC branch is training-only.
    expected = []
    for key, shape in _trained_keys(REC):
        if key.startswith(("head.before_gtc.", "head.gtc_head.")):
            continue
        key = re.sub(r"^head\.ctc_encoder\.encoder\.", "neck.", key)
        key = re.sub(r"^head\.ctc_head\.", "head.", key)
        key = re.sub(r"^(neck\.conv(?:1|2|3|4|1x1))\.norm\.", r"\1.bn.", key)
        expected.append((key, shape))
    assert _paddle_style_state(build_architecture(ARCHITECTURE[REC])) == expected


def test_lkpan_and_pfhead_refuse_unbuilt_modes() -> None:
    from ptocr.models.heads import PFHeadLocal
    from ptocr.models.lkpan import LKPAN

    with pytest.raises(ValueError, match="lite"):
        LKPAN([256, 512, 768, 1024], 256, mode="lite")
    with pytest.raises(ValueError, match="tiny"):
        PFHeadLocal(256, mode="tiny")
