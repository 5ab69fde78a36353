"""The inference fold pass (`ptocr.models.fusion`): generic over every architecture, exact in float64."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ptocr.models import build_architecture, list_architectures
from ptocr.models.fusion import fold_affines, fuse_for_inference
from ptocr.models.pplcnetv3 import LearnableAffine
from ptocr.zoo import CATALOGUE, LinePreprocessing


def _randomise(net: nn.Module, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)

    def rand(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=generator, dtype=torch.float64)

    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.BatchNorm2d):
                n = module.num_features
                module.weight.copy_(0.5 + rand(n))
                module.bias.copy_(rand(n) - 0.5)
                module.running_mean.copy_(rand(n) - 0.5)
                module.running_var.copy_(0.5 + rand(n))
            elif isinstance(module, LearnableAffine):
                module.scale.copy_(0.5 + rand(1))
                module.bias.copy_(rand(1) - 0.5)


def _net_and_input(architecture: str) -> tuple[nn.Module, torch.Tensor]:
    record = next(r for r in CATALOGUE.values() if r.architecture == architecture)
    kwargs = {"num_classes": record.num_classes} if record.task == "rec" else {}
    net = build_architecture(architecture, deploy=True, **kwargs).double()
    _randomise(net, seed=1)
    if isinstance(record.preprocessing, LinePreprocessing):
        x = torch.rand(2, 3, record.preprocessing.image_shape[1], 160, dtype=torch.float64)
    else:
        x = torch.rand(1, 3, 96, 128, dtype=torch.float64)
    return net, x


@pytest.mark.parametrize("architecture", list_architectures())
def test_folding_is_exact_and_leaves_no_batchnorm(architecture: str) -> None:
    net, x = _net_and_input(architecture)
    with torch.inference_mode():
        before = net(x)
    fuse_for_inference(net)
    assert not [name for name, m in net.named_modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.inference_mode():
        after = net(x)
    scale = float(before.abs().max())
    assert float((after - before).abs().max()) <= 1e-12 * max(scale, 1.0)
    assert fold_affines(net, torch.zeros(net.example_input_shape, dtype=torch.float64)) == 0  # idempotent


def test_pplcnetv3_affines_after_convs_fold_but_not_those_after_activations() -> None:
    net, _ = _net_and_input("rec_pplcnetv3_svtr_ctc")
    before = sum(isinstance(m, LearnableAffine) for m in net.modules())
    fuse_for_inference(net)
    left = [name for name, m in net.named_modules() if isinstance(m, LearnableAffine)]
    assert before > len(left) > 0
    assert all(name.endswith(".act.lab") for name in left)  # after a hardswish: nothing to fold into


def test_an_affine_that_does_not_read_a_conv_output_is_kept() -> None:
    class ConvReluBN(nn.Module):
        example_input_shape = (1, 2, 5, 5)

        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(2, 3, 3, padding=1)
            self.act = nn.ReLU()
            self.bn = nn.BatchNorm2d(3).eval()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.bn(self.act(self.conv(x)))

    net = ConvReluBN()
    fuse_for_inference(net)
    assert isinstance(net.bn, nn.BatchNorm2d)
