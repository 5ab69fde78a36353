"""ResNet-vd as PaddleOCR builds it: the v2.0 server detector (ResNet18_vd) and recogniser (ResNet34_vd).

"vd" differs from plain ResNet in two places: the stem is three 3×3 convs instead of one 7×7, and a
down-sampling shortcut average-pools before its stride-1 1×1 conv instead of striding the conv. The
detection form strides by 2 in both directions and returns every stage's output; the recognition form
keeps the stem at full resolution, strides stages 2–4 only vertically (2, 1) and ends in a 2×2 max pool,
leaving a one-pixel-high map for a 32-pixel-high line. Submodules carry PaddleOCR's names (`conv1_1`,
`bb_<stage>_<block>`, `conv0`, `short`, `_conv`, `_batch_norm`) so trained checkpoints load by name.
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import BN_EPS

Stride = tuple[int, int]

#: Blocks per stage; depths below 50 use basic blocks, the others bottlenecks.
DEPTHS: dict[int, tuple[int, int, int, int]] = {
    18: (2, 2, 2, 2),
    34: (3, 4, 6, 3),
    50: (3, 4, 6, 3),
    101: (3, 4, 23, 3),
    152: (3, 8, 36, 3),
    200: (3, 12, 48, 3),
}
STAGE_WIDTHS = (64, 128, 256, 512)


class ConvBNLayer(nn.Module):
    """[vd average pool] → conv (no bias, `(k - 1) // 2` padding) → BatchNorm → optional ReLU.

    In vd mode the stride moves from the conv to the pool, which is Paddle's `AvgPool2D(stride, stride,
    ceil_mode=True)` with `exclusive=True`: a window that runs off an odd edge averages only the pixels it
    covers, which torch does with `count_include_pad=False`.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: Stride = (1, 1),
        is_vd_mode: bool = False,
        act: bool = False,
        bn_eps: float = BN_EPS,
    ) -> None:
        super().__init__()
        self._pool2d_avg = nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False) if is_vd_mode else None
        self._conv = nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride=(1, 1) if is_vd_mode else stride,
            padding=(kernel_size - 1) // 2,
            bias=False,
        )
        self._batch_norm = nn.BatchNorm2d(out_channels, eps=bn_eps)
        self.act = nn.ReLU() if act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._pool2d_avg is not None:
            x = self._pool2d_avg(x)
        return self.act(self._batch_norm(self._conv(x)))


def _shortcut(in_channels: int, out_channels: int, stride: Stride, if_first: bool) -> ConvBNLayer:
    # The very first block projects with a plain (stride-1) conv; later ones use the vd pooled form.
    return ConvBNLayer(in_channels, out_channels, 1, stride, is_vd_mode=not if_first and stride != (1, 1))


class BasicBlock(nn.Module):
    """3×3 (stride) → 3×3, plus the identity or a projected shortcut, then ReLU (ResNet-18/34)."""

    expansion = 1

    def __init__(self, in_channels: int, channels: int, stride: Stride, project: bool, if_first: bool) -> None:
        super().__init__()
        self.conv0 = ConvBNLayer(in_channels, channels, 3, stride, act=True)
        self.conv1 = ConvBNLayer(channels, channels, 3)
        self.short = _shortcut(in_channels, channels, stride, if_first) if project else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv1(self.conv0(x))
        # Paddle runs the shortcut after the main branch; the structural loader follows that order.
        short = x if self.short is None else self.short(x)
        return torch.relu(short + y)


class BottleneckBlock(nn.Module):
    """1×1 → 3×3 (stride) → 1×1 ×4, plus the identity or a projected shortcut, then ReLU (ResNet-50+)."""

    expansion = 4

    def __init__(self, in_channels: int, channels: int, stride: Stride, project: bool, if_first: bool) -> None:
        super().__init__()
        self.conv0 = ConvBNLayer(in_channels, channels, 1, act=True)
        self.conv1 = ConvBNLayer(channels, channels, 3, stride, act=True)
        self.conv2 = ConvBNLayer(channels, channels * 4, 1)
        self.short = _shortcut(in_channels, channels * 4, stride, if_first) if project else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(self.conv1(self.conv0(x)))
        short = x if self.short is None else self.short(x)
        return torch.relu(short + y)


class ResNetVd(nn.Module):
    """Three-conv stem → 3×3/2 max pool → four stages of blocks.

    `det=True`: the stem's first conv strides 2, stages 2–4 stride 2, and `forward` returns the four stage
    outputs (1/4 … 1/32). Otherwise (recognition) the stem keeps full resolution, stages 2–4 stride (2, 1)
    and a final 2×2 max pool follows: one map of height H/32.
    """

    def __init__(self, layers: int, det: bool, in_channels: int = 3) -> None:
        super().__init__()
        if layers not in DEPTHS:
            raise ValueError(f"ResNet-vd has no {layers}-layer variant; known: {sorted(DEPTHS)}")
        self.det = det
        block_type = BasicBlock if layers < 50 else BottleneckBlock
        self.conv1_1 = ConvBNLayer(in_channels, 32, 3, (2, 2) if det else (1, 1), act=True)
        self.conv1_2 = ConvBNLayer(32, 32, 3, act=True)
        self.conv1_3 = ConvBNLayer(32, 64, 3, act=True)
        self.pool2d_max = nn.MaxPool2d(3, 2, padding=1)
        down: Stride = (2, 2) if det else (2, 1)
        # Paddle registers the blocks on the backbone itself (`bb_<stage>_<block>`); stages are name lists.
        self.stage_blocks: list[list[str]] = []
        channels = 64
        stage_channels = []
        for stage, depth in enumerate(DEPTHS[layers]):
            names = []
            for index in range(depth):
                stride = down if index == 0 and stage != 0 else (1, 1)
                name = f"bb_{stage}_{index}"
                block = block_type(channels, STAGE_WIDTHS[stage], stride, index == 0, stage == index == 0)
                self.add_module(name, block)
                names.append(name)
                channels = STAGE_WIDTHS[stage] * block_type.expansion
            self.stage_blocks.append(names)
            stage_channels.append(channels)
        self.out_pool = None if det else nn.MaxPool2d(2, 2)
        self.out_channels: list[int] | int = stage_channels if det else channels

    def forward(self, x: torch.Tensor) -> list[torch.Tensor] | torch.Tensor:
        x = self.pool2d_max(self.conv1_3(self.conv1_2(self.conv1_1(x))))
        features = []
        for names in self.stage_blocks:
            for name in names:
                x = getattr(self, name)(x)
            if self.out_pool is None:  # a recogniser keeps no stage outputs alive
                features.append(x)
        if self.out_pool is None:
            return features
        return self.out_pool(x)
