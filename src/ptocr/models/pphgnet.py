"""PP-HGNet (small), the backbone of the PP-OCRv4 server detector and recogniser.

A stem of three 3×3 conv+BN+ReLU layers, then four stages of HG blocks. An HG block runs a chain of
3×3 conv layers, concatenates the block input with every intermediate output, aggregates them with a
1×1 conv and gates the result with an "effective SE" (global pool → 1×1 conv with bias → sigmoid).
Attribute names follow PaddleOCR's `rec_hgnet.py`, so trained state dicts load by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .layers import ConvBNAct

Stride = int | tuple[int, int]


class ESEModule(nn.Module):
    """`x * sigmoid(conv1x1(mean(x)))`: one full-rank 1×1 conv with bias, no reduction."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.conv = nn.Conv2d(channels, channels, 1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.sigmoid(self.conv(self.avg_pool(x)))


class HGBlock(nn.Module):
    """`layer_num` chained 3×3 conv+BN+ReLU layers; input and all outputs concatenated → 1×1 → ESE.

    With `identity` (every block of a stage but the first) the block input is added at the end.
    """

    def __init__(self, in_channels: int, mid_channels: int, out_channels: int, layer_num: int, identity: bool) -> None:
        super().__init__()
        self.identity = identity
        self.layers = nn.ModuleList(
            ConvBNAct(in_channels if i == 0 else mid_channels, mid_channels, 3, act="relu") for i in range(layer_num)
        )
        self.aggregation_conv = ConvBNAct(in_channels + layer_num * mid_channels, out_channels, 1, act="relu")
        self.att = ESEModule(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = [x]
        y = x
        for layer in self.layers:
            y = layer(y)
            outputs.append(y)
        y = self.att(self.aggregation_conv(torch.cat(outputs, dim=1)))
        return y + x if self.identity else y


class HGStage(nn.Module):
    """Optional depthwise 3×3 conv+BN down-sampling (no activation), then HG blocks."""

    def __init__(
        self,
        in_channels: int,
        mid_channels: int,
        out_channels: int,
        block_num: int,
        layer_num: int,
        downsample: bool,
        stride: Stride,
    ) -> None:
        super().__init__()
        self.downsample = (
            ConvBNAct(in_channels, in_channels, 3, stride=stride, groups=in_channels) if downsample else None
        )
        self.blocks = nn.Sequential(
            *(
                HGBlock(in_channels if i == 0 else out_channels, mid_channels, out_channels, layer_num, identity=i > 0)
                for i in range(block_num)
            )
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.downsample is not None:
            x = self.downsample(x)
        return self.blocks(x)


@dataclass(frozen=True)
class StageSpec:
    in_channels: int
    mid_channels: int
    out_channels: int
    block_num: int
    downsample: bool
    stride: Stride


# PPHGNet_small. Detection keeps stage 1 at the stem's resolution (the stem is followed by a max pool)
# and halves both directions afterwards.
SMALL_DET_STAGES = (
    StageSpec(128, 128, 256, 1, False, 2),
    StageSpec(256, 160, 512, 1, True, 2),
    StageSpec(512, 192, 768, 2, True, 2),
    StageSpec(768, 224, 1024, 1, True, 2),
)
# Recognition shrinks the height faster than the width to keep a long horizontal sequence.
SMALL_REC_STAGES = (
    StageSpec(128, 128, 256, 1, True, (2, 1)),
    StageSpec(256, 160, 512, 1, True, (1, 2)),
    StageSpec(512, 192, 768, 2, True, (2, 1)),
    StageSpec(768, 224, 1024, 1, True, (2, 1)),
)
SMALL_STEM_CHANNELS = (64, 64, 128)
SMALL_LAYER_NUM = 6


class PPHGNet(nn.Module):
    """The backbone. `det=True` returns the four stage outputs (1/4 … 1/32); otherwise the last stage
    pooled by 3×2 (height 1 for 48-pixel-high inputs) for the recognition neck.
    """

    def __init__(
        self,
        stages: Sequence[StageSpec],
        stem_channels: Sequence[int],
        layer_num: int,
        det: bool,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        self.det = det
        widths = [in_channels, *stem_channels]
        self.stem = nn.Sequential(
            *(
                ConvBNAct(widths[i], widths[i + 1], 3, stride=2 if i == 0 else 1, act="relu")
                for i in range(len(stem_channels))
            )
        )
        # Paddle's MaxPool2D(3, 2, padding=1) ignores the padding, like torch's (floor mode in both).
        self.pool = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=False) if det else None
        self.stages = nn.ModuleList(
            HGStage(s.in_channels, s.mid_channels, s.out_channels, s.block_num, layer_num, s.downsample, s.stride)
            for s in stages
        )
        self.out_channels: list[int] | int = [s.out_channels for s in stages] if det else stages[-1].out_channels

    def forward(self, x: torch.Tensor) -> list[torch.Tensor] | torch.Tensor:
        x = self.stem(x)
        if self.pool is not None:
            x = self.pool(x)
        features = []
        for stage in self.stages:
            x = stage(x)
            if self.det:  # a recogniser keeps no stage outputs alive
                features.append(x)
        if self.det:
            return features
        # PaddleOCR pools adaptively to width 40 while training but exports this fixed pool.
        return F.avg_pool2d(x, (3, 2), ceil_mode=False)


def pphgnet_small(det: bool) -> PPHGNet:
    """PaddleOCR's `PPHGNet_small` (stem 64-64-128, six layers per HG block)."""
    stages = SMALL_DET_STAGES if det else SMALL_REC_STAGES
    return PPHGNet(stages, SMALL_STEM_CHANNELS, SMALL_LAYER_NUM, det=det)
