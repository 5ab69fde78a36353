"""MobileNetV3 as PaddleOCR builds it for recognition and angle classification."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .layers import MOBILENETV3_HARDSIGMOID_SLOPE, ConvBNAct, SqueezeExcite, make_divisible

Stride = int | tuple[int, int]


class ResidualUnit(nn.Module):
    """Expand 1×1 → depthwise k×k (stride) → optional SE → project 1×1, residual when shapes allow."""

    def __init__(
        self,
        in_channels: int,
        mid_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: Stride,
        use_se: bool,
        act: str,
    ) -> None:
        super().__init__()
        self.expand_conv = ConvBNAct(in_channels, mid_channels, 1, padding=0, act=act)
        self.bottleneck_conv = ConvBNAct(
            mid_channels, mid_channels, kernel_size, stride, (kernel_size - 1) // 2, mid_channels, act
        )
        self.mid_se = SqueezeExcite(mid_channels, 4, MOBILENETV3_HARDSIGMOID_SLOPE) if use_se else None
        self.linear_conv = ConvBNAct(mid_channels, out_channels, 1, padding=0)
        self.residual = in_channels == out_channels and stride == 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bottleneck_conv(self.expand_conv(x))
        if self.mid_se is not None:
            y = self.mid_se(y)
        y = self.linear_conv(y)
        return x + y if self.residual else y


@dataclass(frozen=True)
class UnitSpec:
    kernel: int
    expand: int
    out: int
    use_se: bool
    act: str
    stride: Stride


def small_config(strides: tuple[int, int, int, int] = (2, 2, 2, 2)) -> tuple[UnitSpec, ...]:
    """The "small" table; the recognition/classification variant strides only vertically."""
    s = strides
    rows = [
        (3, 16, 16, True, "relu", (s[0], 1)),
        (3, 72, 24, False, "relu", (s[1], 1)),
        (3, 88, 24, False, "relu", 1),
        (5, 96, 40, True, "hardswish", (s[2], 1)),
        (5, 240, 40, True, "hardswish", 1),
        (5, 240, 40, True, "hardswish", 1),
        (5, 120, 48, True, "hardswish", 1),
        (5, 144, 48, True, "hardswish", 1),
        (5, 288, 96, True, "hardswish", (s[3], 1)),
        (5, 576, 96, True, "hardswish", 1),
        (5, 576, 96, True, "hardswish", 1),
    ]
    return tuple(UnitSpec(*row) for row in rows)


class MobileNetV3(nn.Module):
    """Stem conv → residual units → 1×1 conv → 2×2 max pool."""

    def __init__(self, units: tuple[UnitSpec, ...], last_channels: int, scale: float) -> None:
        super().__init__()
        channels = make_divisible(16 * scale, 8)
        self.conv1 = ConvBNAct(3, channels, 3, stride=2, padding=1, act="hardswish")
        blocks = []
        for unit in units:
            out = make_divisible(scale * unit.out, 8)
            mid = make_divisible(scale * unit.expand, 8)
            blocks.append(ResidualUnit(channels, mid, out, unit.kernel, unit.stride, unit.use_se, unit.act))
            channels = out
        self.blocks = nn.Sequential(*blocks)
        self.out_channels = make_divisible(scale * last_channels, 8)
        self.conv2 = ConvBNAct(channels, self.out_channels, 1, padding=0, act="hardswish")
        self.pool = nn.MaxPool2d(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.conv2(self.blocks(self.conv1(x))))
