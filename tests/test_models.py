"""Networks: parity with PaddlePaddle's own inference, re-parameterisation, strict structural loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ptocr import create_model
from ptocr.errors import WeightsMismatchError
from ptocr.formats import read_weights
from ptocr.models import build_architecture, load_by_structure, map_by_structure, parameter_use_order
from ptocr.models.fusion import fuse_for_inference

from .paths import shared_path
from .weights import CLS, DET, REC, published

ARCHITECTURE = {DET: "det_pplcnetv3_rsefpn_db", REC: "rec_pplcnetv3_svtr_ctc", CLS: "cls_mobilenetv3_small_x035"}
# Largest |Δ| from Paddle Inference (IR optimisation off) on the random-weight fixtures.
FIXTURE_TOLERANCE = {DET: 2e-5, REC: 1e-5, CLS: 1e-5}
# Largest |Δ| from PaddlePaddle 3.3.1 on real images with the published weights (the bar).
REFERENCE_TOLERANCE = {"det": 1e-4, "cls": 1e-4, "rec": 5e-4}
# Folded and channels-last (`fuse_for_inference`, what `OCR` runs): other kernels, other float32 rounding. The
# speed issue's exact-mode bars; texts and boxes stay identical on the 93 images (test_system_reference.py).
FUSED_REFERENCE_TOLERANCE = {"det": 2e-4, "cls": 1e-4, "rec": 5e-4}
REFERENCE_IMAGES = ["imgs__1", "imgs__11", "imgs__korean_1", "imgs_en__img_12"]


@pytest.mark.parametrize("model", [DET, REC, CLS])
def test_random_weight_fixture_matches_paddle_inference(model: str) -> None:
    folder = shared_path("zoo", model)
    io = np.load(folder / "io.npz", allow_pickle=False)
    (expected_key,) = [k for k in io.files if k.startswith("ir_off__")]
    net = create_model(model, weights=folder)
    with torch.inference_mode():
        out = net(torch.from_numpy(io["input"])).numpy()
    assert out.shape == io[expected_key].shape
    assert np.abs(out - io[expected_key]).max() <= FIXTURE_TOLERANCE[model]


def _batches(ref: np.lib.npyio.NpzFile, stem: str, target: str) -> list[tuple[np.ndarray, np.ndarray]]:
    pairs = []
    k = 0
    while f"{stem}_b{k}" in ref.files and f"{target}_b{k}" in ref.files:
        pairs.append((ref[f"{stem}_b{k}"], ref[f"{target}_b{k}"]))
        k += 1
    return pairs


@pytest.fixture(scope="module", params=["paddle", "onnx", "paddle-fused"])
def published_nets(request: pytest.FixtureRequest) -> dict[str, torch.nn.Module]:
    """The published networks as loaded, and as `OCR` runs them (folded, channels-last)."""
    fmt, _, fused = request.param.partition("-")
    nets = {name: create_model(name, weights=published(name, fmt)) for name in (DET, REC, CLS)}
    if fused:
        nets = {name: fuse_for_inference(net) for name, net in nets.items()}
    return nets


@pytest.mark.parametrize("image", REFERENCE_IMAGES)
def test_published_weights_match_paddlepaddle(image: str, published_nets: dict[str, torch.nn.Module]) -> None:
    ref = np.load(shared_path("reference", "tensors", f"{image}.npz"), allow_pickle=False)
    worst = {}
    with torch.inference_mode():
        det = published_nets[DET](torch.from_numpy(ref["det_input"])).numpy()
        worst["det"] = float(np.abs(det - ref["det_prob"]).max())
        cls_pairs = _batches(ref, "cls_input", "cls_prob")
        rec_pairs = _batches(ref, "rec_input", "rec_prob")
        assert cls_pairs and rec_pairs
        worst["cls"] = max(
            float(np.abs(published_nets[CLS](torch.from_numpy(x)).numpy() - y).max()) for x, y in cls_pairs
        )
        worst["rec"] = max(
            float(np.abs(published_nets[REC](torch.from_numpy(x)).numpy() - y).max()) for x, y in rec_pairs
        )
    fused = published_nets[DET].memory_format == torch.channels_last
    for task, value in worst.items():
        bar = (FUSED_REFERENCE_TOLERANCE if fused else REFERENCE_TOLERANCE)[task]
        assert value <= bar, f"{task}: max |Δ| {value:.3g}"


def test_both_generations_of_structured_names_load() -> None:
    """The real v4 files and PaddleOCR-code fixtures persist the same tensors under different names."""
    for model in (DET, REC):
        real = read_weights(published(model))
        fixture = read_weights(shared_path("zoo", model))
        assert [a.shape for a in real.tensors.values()] == [a.shape for a in fixture.tensors.values()]
        real_names = [real.structured_names.get(n) for n in real.tensors]
        fixture_names = [fixture.structured_names.get(n) for n in fixture.tensors]
        differing = sum(a != b for a, b in zip(real_names, fixture_names, strict=True))
        assert differing >= len(real_names) // 3, "expected the two code generations to name tensors differently"
        for weights in (real, fixture):
            net = build_architecture(ARCHITECTURE[model], deploy=True)
            load_by_structure(net, weights.tensors, torch.zeros(net.example_input_shape))


def _randomise_batch_norms(net: torch.nn.Module, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                n = module.num_features
                module.weight.copy_(0.5 + torch.rand(n, generator=generator))
                module.bias.copy_(0.2 * torch.randn(n, generator=generator))
                module.running_mean.copy_(0.2 * torch.randn(n, generator=generator))
                module.running_var.copy_(0.5 + torch.rand(n, generator=generator))


@pytest.mark.parametrize(
    ("architecture", "shape"),
    [("det_pplcnetv3_rsefpn_db", (1, 3, 96, 128)), ("rec_pplcnetv3_svtr_ctc", (2, 3, 48, 96))],
)
def test_reparameterize_preserves_outputs_and_matches_deploy_layout(architecture: str, shape: tuple) -> None:
    # In float64 the fused form must agree to rounding: this checks the algebra, not float32 noise.
    torch.manual_seed(0)
    net = build_architecture(architecture)
    _randomise_batch_norms(net, seed=1)
    net.double()
    x = torch.randn(shape, dtype=torch.float64)
    with torch.inference_mode():
        before = net(x)
    net.reparameterize()
    with torch.inference_mode():
        after = net(x)
    assert (after - before).abs().max().item() <= 1e-9
    deploy = build_architecture(architecture, deploy=True)
    assert list(net.state_dict()) == list(deploy.state_dict())
    deploy.load_state_dict(net.state_dict(), strict=True)


def test_structural_mapping_is_strict() -> None:
    net = build_architecture("cls_mobilenetv3_small_x035")
    slots = parameter_use_order(net, torch.zeros(net.example_input_shape))
    source = {f"p{i}": np.zeros(s.shape[::-1] if s.transposed_source else s.shape, np.float32)
              for i, s in enumerate(slots)}
    assert set(map_by_structure(source, slots)) == {s.key for s in slots}
    extra = dict(source, extra=np.zeros(3, np.float32))
    with pytest.raises(WeightsMismatchError, match="unexpected: extra"):
        map_by_structure(extra, slots)
    short = dict(list(source.items())[:-2])
    with pytest.raises(WeightsMismatchError, match=r"missing: head\.fc\.weight, head\.fc\.bias"):
        map_by_structure(short, slots)
    wrong = dict(source)
    wrong["p0"] = np.zeros((1, 2, 3, 3), np.float32)
    with pytest.raises(WeightsMismatchError, match="tensor #0"):
        map_by_structure(wrong, slots)


def test_weights_of_another_model_are_refused() -> None:
    with pytest.raises(WeightsMismatchError):
        create_model(DET, weights=published(CLS))


def test_unused_layers_cannot_be_placed_from_an_inference_program() -> None:
    net = build_architecture("det_pplcnetv3_rsefpn_db", deploy=True, with_threshold=True)
    with pytest.raises(WeightsMismatchError, match=r"never uses: head\.thresh"):
        parameter_use_order(net, torch.zeros(net.example_input_shape))


def test_create_model_contract(tmp_path: Path) -> None:
    det = create_model(DET)
    assert not det.training
    with torch.inference_mode():
        assert det(torch.zeros(2, 3, 64, 96)).shape == (2, 1, 64, 96)
        assert create_model(REC)(torch.zeros(3, 3, 48, 320)).shape == (3, 40, 6625)
        probs = create_model(CLS)(torch.zeros(4, 3, 48, 192))
    assert probs.shape == (4, 2)
    torch.testing.assert_close(probs.sum(1), torch.ones(4))
