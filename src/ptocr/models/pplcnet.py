"""PP-LCNet (v1), the network of PaddleX's text-line orientation classifiers (`PP-LCNet_x0_25_textline_ori`,
`PP-LCNet_x1_0_textline_ori`).

A 3×3 stem, then depthwise-separable blocks (depthwise k×k conv+BN+hard swish, an optional squeeze-and-excite
gated by Paddle's default hard sigmoid, pointwise conv+BN+hard swish). The classification tail pools globally,
widens to 1280 channels with a bias-free 1×1 conv and hard swish, and ends in a linear layer and a softmax
(PaddleClas appends it when exporting). PaddleClas's dropout before the linear layer is "downscale in infer":
inference multiplies by the keep probability 1 − p, which the head does too. The text-line variants stride
every stage after the stem vertically only ((2, 1)), so the 80×160 input keeps 80 columns to the end.
Attribute names follow PaddleClas's `pp_lcnet.py`, so trained state dicts load by name.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .layers import PADDLE_HARDSIGMOID_SLOPE, ConvBNAct, SqueezeExcite, make_divisible

Stride = int | tuple[int, int]


class DepthwiseSeparable(nn.Module):
    """Depthwise k×k conv+BN+hard swish (stride) → optional SE → pointwise conv+BN+hard swish."""

    def __init__(self, in_channels: int, out_channels: int, stride: Stride, dw_size: int, use_se: bool) -> None:
        super().__init__()
        self.dw_conv = ConvBNAct(in_channels, in_channels, dw_size, stride, groups=in_channels, act="hardswish")
        self.se = SqueezeExcite(in_channels, 4, PADDLE_HARDSIGMOID_SLOPE) if use_se else None
        self.pw_conv = ConvBNAct(in_channels, out_channels, 1, act="hardswish")

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
    use_se: bool


def _stage(*rows: tuple[int, int, int, bool]) -> tuple[BlockSpec, ...]:
    return tuple(BlockSpec(*row) for row in rows)


# Stages blocks2 … blocks6 before scaling; the first block of each stage carries the stage's stride.
STAGES: tuple[tuple[BlockSpec, ...], ...] = (
    _stage((3, 16, 32, False)),
    _stage((3, 32, 64, False), (3, 64, 64, False)),
    _stage((3, 64, 128, False), (3, 128, 128, False)),
    _stage((3, 128, 256, False), *[(5, 256, 256, False)] * 5),
    _stage((5, 256, 512, True), (5, 512, 512, True)),
)
#: Strides of the stem and of stages blocks3 … blocks6 in PaddleX's text-line orientation configuration
#: (`stride_list`); blocks2 never strides.
TEXTLINE_STRIDES: tuple[Stride, ...] = (2, (2, 1), (2, 1), (2, 1), (2, 1))


class PPLCNet(nn.Module):
    """The backbone: stem conv, then blocks2 … blocks6; returns the last feature map."""

    def __init__(self, scale: float, strides: tuple[Stride, ...] = TEXTLINE_STRIDES) -> None:
        super().__init__()
        if len(strides) != len(STAGES):
            raise ValueError(f"PP-LCNet takes {len(STAGES)} strides (stem, blocks3 … blocks6), got {len(strides)}")
        self.conv1 = ConvBNAct(3, make_divisible(16 * scale, 8), 3, stride=strides[0], act="hardswish")
        stage_strides: tuple[Stride, ...] = (1, *strides[1:])
        for index, (specs, stride) in enumerate(zip(STAGES, stage_strides, strict=True), start=2):
            blocks = [
                DepthwiseSeparable(
                    make_divisible(spec.in_channels * scale, 8),
                    make_divisible(spec.out_channels * scale, 8),
                    stride if i == 0 else 1,
                    spec.kernel,
                    spec.use_se,
                )
                for i, spec in enumerate(specs)
            ]
            self.add_module(f"blocks{index}", nn.Sequential(*blocks))
        self.out_channels = make_divisible(STAGES[-1][-1].out_channels * scale, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        for stage in (self.blocks2, self.blocks3, self.blocks4, self.blocks5, self.blocks6):
            x = stage(x)
        return x


class LCNetClsHead(nn.Module):
    """Global average pool → 1×1 conv (no bias) to `class_expand` → hard swish → × (1 − dropout) → linear →
    softmax."""

    def __init__(self, in_channels: int, num_classes: int, class_expand: int = 1280, dropout: float = 0.2) -> None:
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.last_conv = nn.Conv2d(in_channels, class_expand, 1, bias=False)
        self.act = nn.Hardswish()
        self.keep = 1.0 - dropout
        self.fc = nn.Linear(class_expand, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.last_conv(self.avg_pool(x))) * self.keep
        return torch.softmax(self.fc(torch.flatten(x, 1)), dim=1)


def pplcnet_textline(scale: float, num_classes: int = 2) -> tuple[PPLCNet, LCNetClsHead]:
    """Backbone and head of PaddleX's `PP-LCNet_x<scale>_textline_ori` (two classes: 0°, 180°)."""
    backbone = PPLCNet(scale, TEXTLINE_STRIDES)
    return backbone, LCNetClsHead(backbone.out_channels, num_classes)
