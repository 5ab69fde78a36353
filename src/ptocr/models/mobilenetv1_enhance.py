"""MobileNetV1Enhance: the PP-OCRv2 and PP-OCRv3 recognition backbone (PaddleOCR `rec_mv1_enhance.py`).

A stem conv and thirteen depthwise-separable blocks; the last two carry squeeze-excitation. Vertical
strides only (2, 1) keep the text line's width. Attribute names (`conv1`, `block_list`,
`_depthwise_conv`, `_se`, `_pointwise_conv`, `_conv`, `_batch_norm`) are PaddleOCR's, so trained
checkpoints line up key for key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from .layers import BN_EPS, PADDLE_HARDSIGMOID_SLOPE, SqueezeExcite

Stride = int | tuple[int, int]


class ConvBNLayer(nn.Module):
    """Conv (no bias) → BatchNorm → hard swish. Paddle fuses the activation into its BatchNorm layer."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, stride: Stride, padding: int, groups: int = 1
    ) -> None:
        super().__init__()
        self._conv = nn.Conv2d(
            in_channels, out_channels, kernel_size, stride=stride, padding=padding, groups=groups, bias=False
        )
        self._batch_norm = nn.BatchNorm2d(out_channels, eps=BN_EPS)
        self.act = nn.Hardswish()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self._batch_norm(self._conv(x)))


class DepthwiseSeparable(nn.Module):
    """Depthwise k×k (stride) → optional SE → pointwise 1×1."""

    def __init__(
        self, in_channels: int, mid_channels: int, out_channels: int, stride: Stride, kernel_size: int, use_se: bool
    ) -> None:
        super().__init__()
        self._depthwise_conv = ConvBNLayer(
            in_channels, mid_channels, kernel_size, stride, (kernel_size - 1) // 2, groups=mid_channels
        )
        # Paddle's SE here calls `hardsigmoid` with its default slope (1/6), unlike MobileNetV3's 0.2.
        self._se = SqueezeExcite(mid_channels, 4, PADDLE_HARDSIGMOID_SLOPE) if use_se else None
        self._pointwise_conv = ConvBNLayer(mid_channels, out_channels, 1, 1, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self._depthwise_conv(x)
        if self._se is not None:
            y = self._se(y)
        return self._pointwise_conv(y)


@dataclass(frozen=True)
class BlockSpec:
    """Channels before scaling: depthwise width (also its group count) and pointwise output."""

    mid: int
    out: int
    stride: Stride
    kernel: int
    use_se: bool


def mv1_enhance_blocks(last_conv_stride: Stride = 1) -> tuple[BlockSpec, ...]:
    """conv2_1 … conv6. PP-OCRv3 passes `last_conv_stride=(1, 2)` to halve the width once more."""
    rows: list[BlockSpec] = [
        BlockSpec(32, 64, 1, 3, False),
        BlockSpec(64, 128, 1, 3, False),
        BlockSpec(128, 128, 1, 3, False),
        BlockSpec(128, 256, (2, 1), 3, False),
        BlockSpec(256, 256, 1, 3, False),
        BlockSpec(256, 512, (2, 1), 3, False),
    ]
    rows += [BlockSpec(512, 512, 1, 5, False) for _ in range(5)]
    rows += [BlockSpec(512, 1024, (2, 1), 5, True), BlockSpec(1024, 1024, last_conv_stride, 5, True)]
    return tuple(rows)


class MobileNetV1Enhance(nn.Module):
    """Stem 3×3/2 → depthwise-separable blocks → 2×2 pool (max for PP-OCRv2, average for PP-OCRv3)."""

    def __init__(
        self,
        scale: float = 0.5,
        last_conv_stride: Stride = 1,
        last_pool_type: Literal["max", "avg"] = "max",
        last_pool_kernel_size: tuple[int, int] = (2, 2),
    ) -> None:
        super().__init__()
        # Paddle truncates scaled widths with int(), not MobileNetV3's make_divisible rounding.
        channels = int(32 * scale)
        self.conv1 = ConvBNLayer(3, channels, 3, 2, 1)
        blocks = []
        for spec in mv1_enhance_blocks(last_conv_stride):
            mid, out = int(spec.mid * scale), int(spec.out * scale)
            blocks.append(DepthwiseSeparable(channels, mid, out, spec.stride, spec.kernel, spec.use_se))
            channels = out
        self.block_list = nn.Sequential(*blocks)
        if last_pool_type == "avg":
            self.pool: nn.Module = nn.AvgPool2d(last_pool_kernel_size, last_pool_kernel_size)
        elif last_pool_type == "max":
            self.pool = nn.MaxPool2d(2, 2)
        else:
            raise ValueError(f"last_pool_type must be 'max' or 'avg', got {last_pool_type!r}")
        self.out_channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.block_list(self.conv1(x)))
