"""MobileNetV3 as PaddleOCR builds it: the rec/cls variant and the DB detection variant (`MobileNetV3Det`)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .layers import MOBILENETV3_HARDSIGMOID_SLOPE, ConvBNAct, PaddleMaxPool2d, SqueezeExcite, make_divisible

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
        self.pool = PaddleMaxPool2d(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.conv2(self.blocks(self.conv1(x))))


def large_det_config() -> tuple[UnitSpec, ...]:
    """The "large" table of PaddleOCR's detection MobileNetV3 (square strides)."""
    rows = [
        (3, 16, 16, False, "relu", 1),
        (3, 64, 24, False, "relu", 2),
        (3, 72, 24, False, "relu", 1),
        (5, 72, 40, True, "relu", 2),
        (5, 120, 40, True, "relu", 1),
        (5, 120, 40, True, "relu", 1),
        (3, 240, 80, False, "hardswish", 2),
        (3, 200, 80, False, "hardswish", 1),
        (3, 184, 80, False, "hardswish", 1),
        (3, 184, 80, False, "hardswish", 1),
        (3, 480, 112, True, "hardswish", 1),
        (3, 672, 112, True, "hardswish", 1),
        (5, 672, 160, True, "hardswish", 2),
        (5, 960, 160, True, "hardswish", 1),
        (5, 960, 160, True, "hardswish", 1),
    ]
    return tuple(UnitSpec(*row) for row in rows)


class MobileNetV3Det(nn.Module):
    """Detection MobileNetV3 ("large"): stem conv, then four stages whose outputs (1/4 … 1/32) feed the FPN.

    Submodules carry PaddleOCR's names (`conv`, `stage0`…`stage3`, the last stage ending with the 1×1
    `conv_last` layer at its final index) so trained checkpoints load by name. A new stage starts at each
    stride-2 unit after the third: the first stride-2 unit stays in stage 0, which therefore ends at 1/4.
    `disable_se` (what every PP-OCR detector uses) drops the SE blocks of the table.
    """

    #: Channels of the last 1×1 conv before scaling.
    LAST_CHANNELS = 960
    #: Units up to this index never open a stage (the "large" table's rule).
    FIRST_SPLIT_AFTER = 2

    def __init__(self, scale: float = 0.5, disable_se: bool = True) -> None:
        super().__init__()
        channels = make_divisible(16 * scale, 8)
        self.conv = ConvBNAct(3, channels, 3, stride=2, padding=1, act="hardswish")
        stages: list[list[nn.Module]] = [[]]
        self.out_channels: list[int] = []
        for index, unit in enumerate(large_det_config()):
            if unit.stride == 2 and index > self.FIRST_SPLIT_AFTER:
                self.out_channels.append(channels)
                stages.append([])
            out = make_divisible(scale * unit.out, 8)
            mid = make_divisible(scale * unit.expand, 8)
            use_se = unit.use_se and not disable_se
            stages[-1].append(ResidualUnit(channels, mid, out, unit.kernel, unit.stride, use_se, unit.act))
            channels = out
        last = make_divisible(scale * self.LAST_CHANNELS, 8)
        stages[-1].append(ConvBNAct(channels, last, 1, padding=0, act="hardswish"))
        self.out_channels.append(last)
        self.num_stages = len(stages)
        for index, blocks in enumerate(stages):
            self.add_module(f"stage{index}", nn.Sequential(*blocks))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.conv(x)
        features = []
        for index in range(self.num_stages):
            x = getattr(self, f"stage{index}")(x)
            features.append(x)
        return features
