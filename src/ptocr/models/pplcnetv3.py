"""PP-LCNetV3, the backbone of PP-OCRv4 mobile detection and recognition.

Blocks are MobileOne-style re-parameterisable layers: in the trainable form a layer sums several
conv+BN branches (and a BN identity); `reparameterize()` folds them into one conv with bias, which is
the form PaddleOCR's published inference files store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .layers import (
    PADDLE_HARDSIGMOID_SLOPE,
    ConvBNAct,
    Hardswish,
    SqueezeExcite,
    fuse_conv_bn,
    make_divisible,
)

Stride = int | tuple[int, int]


class LearnableAffine(nn.Module):
    """`scale * x + bias` with scalar learnable scale and bias.

    With `inplace=True` the input is overwritten when no gradient is being recorded: the same two
    float32 operations, without allocating a new feature map (a third of PP-LCNetV3's inference time
    goes to these element-wise passes). Only for inputs that are temporaries of the caller.
    """

    def __init__(self, scale: float = 1.0, bias: float = 0.0, inplace: bool = False) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.full((1,), scale))
        self.bias = nn.Parameter(torch.full((1,), bias))
        self.inplace = inplace

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.inplace and not torch.is_grad_enabled():
            return x.mul_(self.scale).add_(self.bias)
        return self.scale * x + self.bias


class AffineHardswish(nn.Module):
    """Hardswish followed by a learnable affine: PP-LCNetV3's activation. `inplace` as in LearnableAffine."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.act = Hardswish(inplace=inplace)
        self.lab = LearnableAffine(inplace=inplace)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lab(self.act(x))


class RepLayer(nn.Module):
    """Sum of `num_branches` k×k conv+BN branches, a 1×1 conv+BN branch (k > 1) and a BN identity
    (same shape in and out), then a learnable affine and (unless the stride is exactly 2) the activation.

    With `deploy=True` the layer holds only the fused conv.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: Stride = 1,
        groups: int = 1,
        num_branches: int = 4,
        deploy: bool = False,
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.groups = groups
        self.padding = (kernel_size - 1) // 2
        self.deploy = deploy
        if deploy:
            self.fused = nn.Conv2d(in_channels, out_channels, kernel_size, stride, self.padding, groups=groups)
        else:
            has_identity = out_channels == in_channels and stride == 1
            self.identity = nn.BatchNorm2d(in_channels) if has_identity else None
            self.conv_kxk = nn.ModuleList(
                ConvBNAct(in_channels, out_channels, kernel_size, stride, self.padding, groups)
                for _ in range(num_branches)
            )
            self.conv_1x1 = (
                ConvBNAct(in_channels, out_channels, 1, stride, 0, groups) if kernel_size > 1 else None
            )
        # Both act on the layer's own temporaries, so they may work in place during inference.
        self.lab = LearnableAffine(inplace=True)
        # PaddleOCR skips the activation only for the integer stride 2; a (2, 1) stride keeps it.
        self.act = AffineHardswish(inplace=True) if stride != 2 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.deploy:
            out = self.fused(x)
        else:
            out = sum(branch(x) for branch in self.conv_kxk)
            if self.conv_1x1 is not None:
                out = out + self.conv_1x1(x)
            if self.identity is not None:
                out = out + self.identity(x)
        out = self.lab(out)
        return self.act(out) if self.act is not None else out

    @torch.no_grad()
    def reparameterize(self) -> None:
        """Folds all branches into one conv; outputs are unchanged up to float rounding."""
        if self.deploy:
            return
        kernel = torch.zeros_like(self.conv_kxk[0].conv.weight)
        bias = torch.zeros(self.out_channels, dtype=kernel.dtype, device=kernel.device)
        for branch in self.conv_kxk:
            k, b = fuse_conv_bn(branch.conv.weight, branch.bn)
            kernel += k
            bias += b
        centre = self.kernel_size // 2
        if self.conv_1x1 is not None:
            k, b = fuse_conv_bn(self.conv_1x1.conv.weight, self.conv_1x1.bn)
            kernel[:, :, centre : centre + 1, centre : centre + 1] += k
            bias += b
        if self.identity is not None:
            per_group = self.in_channels // self.groups
            eye = torch.zeros_like(kernel)
            channels = torch.arange(self.in_channels)
            eye[channels, channels % per_group, centre, centre] = 1.0
            k, b = fuse_conv_bn(eye, self.identity)
            kernel += k
            bias += b
        fused = nn.Conv2d(
            self.in_channels, self.out_channels, self.kernel_size, self.stride, self.padding, groups=self.groups
        ).to(device=kernel.device, dtype=kernel.dtype)
        fused.weight.copy_(kernel)
        fused.bias.copy_(bias)
        # Keep `fused` registered before `lab`/`act`, matching the deploy build's parameter order.
        lab, act = self.lab, self.act
        del self.conv_kxk, self.conv_1x1, self.identity, self.lab, self.act
        self.fused, self.lab, self.act = fused, lab, act
        self.deploy = True


class LCNetV3Block(nn.Module):
    """Depthwise rep layer → optional SE → pointwise rep layer."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: Stride,
        dw_kernel: int,
        use_se: bool,
        num_branches: int,
        deploy: bool,
    ) -> None:
        super().__init__()
        self.dw_conv = RepLayer(in_channels, in_channels, dw_kernel, stride, in_channels, num_branches, deploy)
        self.se = SqueezeExcite(in_channels, 4, PADDLE_HARDSIGMOID_SLOPE) if use_se else None
        self.pw_conv = RepLayer(in_channels, out_channels, 1, 1, 1, num_branches, deploy)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.dw_conv(x)
        if self.se is not None:
            x = self.se(x)
        return self.pw_conv(x)


@dataclass(frozen=True)
class BlockSpec:
    kernel: int
    in_channels: int
    out_channels: int
    stride: Stride
    use_se: bool


def _stage(*rows: tuple[int, int, int, Stride, bool]) -> tuple[BlockSpec, ...]:
    return tuple(BlockSpec(*row) for row in rows)


# Stages 2–6 for detection: every down-sampling stride is 2 in both directions.
DET_STAGES: tuple[tuple[BlockSpec, ...], ...] = (
    _stage((3, 16, 32, 1, False)),
    _stage((3, 32, 64, 2, False), (3, 64, 64, 1, False)),
    _stage((3, 64, 128, 2, False), (3, 128, 128, 1, False)),
    _stage((3, 128, 256, 2, False), *[(5, 256, 256, 1, False)] * 4),
    _stage((5, 256, 512, 2, True), (5, 512, 512, 1, True), (5, 512, 512, 1, False), (5, 512, 512, 1, False)),
)
# For recognition the height shrinks faster than the width, keeping a long horizontal sequence.
REC_STAGES: tuple[tuple[BlockSpec, ...], ...] = (
    _stage((3, 16, 32, 1, False)),
    _stage((3, 32, 64, 1, False), (3, 64, 64, 1, False)),
    _stage((3, 64, 128, (2, 1), False), (3, 128, 128, 1, False)),
    _stage((3, 128, 256, (1, 2), False), *[(5, 256, 256, 1, False)] * 4),
    _stage(
        (5, 256, 512, (2, 1), True), (5, 512, 512, 1, True), (5, 512, 512, (2, 1), False), (5, 512, 512, 1, False)
    ),
)
# Channels of the four detection outputs before scaling.
DET_OUTPUT_CHANNELS = (16, 24, 56, 480)


class PPLCNetV3(nn.Module):
    """The backbone. `det=True` returns four feature maps (1/4 … 1/32, projected by 1×1 convs);
    otherwise one map pooled by 3×2 for the recognition neck.
    """

    def __init__(self, scale: float, det: bool, num_branches: int = 4, deploy: bool = False) -> None:
        super().__init__()
        self.det = det
        stages = DET_STAGES if det else REC_STAGES
        self.conv1 = ConvBNAct(3, make_divisible(16 * scale, 16), 3, stride=2, padding=1)
        for index, specs in enumerate(stages, start=2):
            blocks = [
                LCNetV3Block(
                    make_divisible(spec.in_channels * scale, 16),
                    make_divisible(spec.out_channels * scale, 16),
                    spec.stride,
                    spec.kernel,
                    spec.use_se,
                    num_branches,
                    deploy,
                )
                for spec in specs
            ]
            self.add_module(f"blocks{index}", nn.Sequential(*blocks))
        if det:
            stage_channels = [make_divisible(stage[-1].out_channels * scale, 16) for stage in stages[1:]]
            self.out_channels: Sequence[int] | int = [int(c * scale) for c in DET_OUTPUT_CHANNELS]
            self.layer_list = nn.ModuleList(
                nn.Conv2d(c_in, c_out, 1) for c_in, c_out in zip(stage_channels, self.out_channels, strict=True)
            )
        else:
            self.out_channels = make_divisible(512 * scale, 16)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor] | torch.Tensor:
        x = self.blocks2(self.conv1(x))
        features = []  # only the detector keeps its stage outputs: they are a recogniser's largest tensors
        for stage in (self.blocks3, self.blocks4, self.blocks5, self.blocks6):
            x = stage(x)
            if self.det:
                features.append(x)
        if self.det:
            return [proj(f) for proj, f in zip(self.layer_list, features, strict=True)]
        # PaddleOCR pools adaptively to width 40 while training but exports this fixed pool.
        return F.avg_pool2d(x, (3, 2))

    def reparameterize(self) -> None:
        for module in self.modules():
            if isinstance(module, RepLayer):
                module.reparameterize()
