"""The inference fusion pass (`ptocr.models.fusion`): generic over every architecture, exact in float64."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from ptocr.models import build_architecture, fusion, list_architectures
from ptocr.models.fusion import (
    FusedConv2d,
    Shift,
    fold_affines,
    fold_input_affines,
    fuse_activations,
    fuse_for_inference,
)
from ptocr.models.layers import Hardswish, PooledConv1x1, SqueezeExcite
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
    """A randomised float64 network and an input of its zoo models' kind (a detector's without a record)."""
    record = next((r for r in CATALOGUE.values() if r.architecture == architecture), None)
    kwargs = {"num_classes": record.num_classes} if record is not None and record.task == "rec" else {}
    net = build_architecture(architecture, deploy=True, **kwargs).double()
    _randomise(net, seed=1)
    if record is not None and isinstance(record.preprocessing, LinePreprocessing):
        x = torch.rand(1, 3, record.preprocessing.image_shape[1], 96, dtype=torch.float64)
    else:
        assert net.task == "det", f"{architecture}: a line model needs a catalogue record for its input height"
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


def test_pplcnetv3_keeps_only_the_affines_that_a_non_conv_reads() -> None:
    net, _ = _net_and_input("rec_pplcnetv3_svtr_ctc")
    before = sum(isinstance(m, LearnableAffine) for m in net.modules())
    fuse_for_inference(net)
    modules = dict(net.named_modules())
    left = [name for name, m in modules.items() if isinstance(m, LearnableAffine)]
    assert before > len(left) > 0
    # Only where an SE block reads the activation (pooling and scaling are not convs) or the backbone ends.
    for name in left[:-1]:
        block = name.removesuffix(".dw_conv.act.lab")
        assert isinstance(modules.get(block + ".se"), SqueezeExcite), name
    assert left[-1] == "backbone.blocks6.3.pw_conv.act.lab"
    shifts = [m for m in net.modules() if isinstance(m, Shift)]
    assert shifts and all(m.inplace for m in shifts)  # before a padded depthwise conv: the shift stays
    assert not [m for m in net.modules() if type(m) is Hardswish]  # every one runs inside its conv
    fused = [m for m in net.modules() if isinstance(m, FusedConv2d)]
    assert {m.activation for m in fused} == {"hardswish", "swish"}


class _ConvActivationResidual(nn.Module):
    """conv → ReLU, plus a residual that reads the raw conv output: the ReLU must not move into the conv."""

    example_input_shape = (1, 3, 6, 6)

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.act = nn.ReLU()
        self.conv2 = nn.Conv2d(3, 3, 1)
        self.act2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return self.act2(self.conv2(self.act(y) + y))


def test_an_activation_moves_into_its_conv_only_when_nothing_else_reads_the_conv_output() -> None:
    net = _ConvActivationResidual().double()
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    with torch.inference_mode():
        before = net(x)
    fuse_for_inference(net)
    assert type(net.conv) is nn.Conv2d and isinstance(net.act, nn.ReLU)
    assert isinstance(net.conv2, FusedConv2d) and net.conv2.activation == "relu"
    assert isinstance(net.act2, nn.Identity)
    with torch.inference_mode():
        assert torch.allclose(net(x), before, rtol=0, atol=1e-12)


class _AffineIntoConvs(nn.Module):
    """A scalar affine read by a padded and an unpadded conv, and one read by a conv and a sum."""

    example_input_shape = (1, 4, 7, 7)

    def __init__(self) -> None:
        super().__init__()
        self.affine = LearnableAffine(scale=1.7, bias=-0.4, inplace=True)
        self.padded = nn.Conv2d(4, 4, 3, stride=2, padding=1, groups=4)
        self.unpadded = nn.Conv2d(4, 2, 1)
        self.kept = LearnableAffine(scale=0.6, bias=0.3)
        self.conv = nn.Conv2d(4, 4, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        y = self.affine(x + 1.0)  # `+ 1.0` hands the affine a temporary it may overwrite
        z = self.kept(x)
        return self.padded(y), self.unpadded(y), self.conv(z) + z.sum()


@pytest.mark.parametrize("shift", [-0.4, 0.0])
def test_a_scalar_affine_folds_into_every_conv_that_reads_it(shift: float) -> None:
    net = _AffineIntoConvs().double()
    with torch.no_grad():
        net.affine.bias.fill_(shift)
    x = torch.randn(2, 4, 7, 7, dtype=torch.float64)
    with torch.inference_mode():
        before = net(x)
    fuse_for_inference(net)
    # A padded reader pads with zeros where Paddle padded the affine's output: the shift stays, the scale goes.
    assert isinstance(net.affine, Shift if shift else nn.Identity)
    assert isinstance(net.kept, LearnableAffine)  # a sum reads it too
    with torch.inference_mode():
        after = net(x)
    for a, b in zip(after, before, strict=True):
        assert torch.allclose(a, b, rtol=0, atol=1e-12)


@pytest.mark.skipif(fusion._POINTWISE_CONV is None, reason="this torch build has no oneDNN fused convolution")
@pytest.mark.parametrize("activation", ["relu", "hardswish", "swish"])
def test_the_onednn_post_op_computes_the_same_as_conv_then_activation(activation: str) -> None:
    torch.manual_seed(0)
    conv = FusedConv2d(8, 16, 3, stride=(2, 1), padding=1, activation=activation).eval()
    x = torch.randn(3, 8, 20, 33).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        fused = conv(x)  # no autograd, float32, CPU: the oneDNN path
    with torch.no_grad(), torch.enable_grad():
        reference = conv(x).detach()  # with autograd: convolution, then the torch activation
    assert fused.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(fused, reference, rtol=1e-5, atol=1e-5)


def test_fusing_twice_changes_nothing() -> None:
    net, x = _net_and_input("det_pplcnetv3_rsefpn_db")
    fuse_for_inference(net)
    with torch.inference_mode():
        once = net(x)
    example = torch.zeros(net.example_input_shape, dtype=torch.float64)
    assert [rewrite(net, example) for rewrite in (fold_affines, fuse_activations, fold_input_affines)] == [0, 0, 0]
    with torch.inference_mode():
        assert torch.equal(net(x), once)


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


@pytest.mark.parametrize("activation", [None, "relu", "hardswish", "swish"])
def test_a_pointwise_conv_runs_as_a_matrix_product_with_the_same_result(activation: str | None) -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(12, 20, 1).eval()
    fused = FusedConv2d.from_conv(conv)
    fused.activation = activation
    assert fused.pointwise and fused.weight is conv.weight
    x = torch.randn(2, 12, 9, 31).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        out = fused(x)
        reference = conv(x)
        if activation is not None:
            reference = {"relu": F.relu, "hardswish": F.hardswish, "swish": F.silu}[activation](reference)
    assert out.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(out, reference, rtol=1e-5, atol=1e-5)


def test_every_plain_pointwise_conv_of_a_detector_becomes_a_matrix_product() -> None:
    net, _ = _net_and_input("det_pplcnetv3_rsefpn_db")
    fuse_for_inference(net)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d) and not isinstance(m, PooledConv1x1)]
    pointwise = [m for m in convs if m.kernel_size == (1, 1) and m.stride == (1, 1) and m.groups == 1]
    assert pointwise and all(isinstance(m, FusedConv2d) and m.pointwise for m in pointwise)
    assert not [m for m in convs if m not in pointwise and isinstance(m, FusedConv2d) and m.pointwise]
