"""PP-HGNetV2 (B4), the backbone of the PP-OCRv5 server detector and recogniser.

Differences from PP-HGNet (v1, `pphgnet.py`): a stem with two branches (2×2 convs beside a 2×2 max pool,
both with Paddle's "SAME" padding, i.e. one extra row and column after the map), HG blocks without the ESE
gate whose aggregation is a squeeze (1×1 to half the width) then an excitation (1×1 to the full width), and
"light" blocks in the two deep stages (1×1 conv+BN, then a depthwise k×k conv+BN+ReLU). The B4 variant has no
learnable affine blocks (`use_lab=False`) and no re-parameterisable layers, so its trained and deploy forms
are the same network. The classification tail PaddleOCR builds but never runs (`last_conv`, `fc`) is left out:
an inference program does not hold it. Attribute names follow PaddleOCR's `rec_pphgnetv2.py`, so trained
state dicts load by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .layers import ConvBNAct

Stride = int | tuple[int, int]

#: Paddle's "SAME" padding of a 2×2 window at stride 1: nothing before, one row / column after.
_SAME_2X2 = (0, 1, 0, 1)


def same_max_pool_2x2(x: torch.Tensor) -> torch.Tensor:
    """Paddle's `MaxPool2D(2, stride=1, padding="SAME")`: the output keeps the input's size; the window at the last
    row or column reaches one cell past the map, and Paddle leaves such cells out of the maximum (padding with
    -inf does the same)."""
    return F.max_pool2d(F.pad(x, _SAME_2X2, value=float("-inf")), 2, stride=1)


class StemBlock(nn.Module):
    """3×3 stride-2 conv, then [2×2 max pool ‖ 2×2 conv → 2×2 conv] concatenated, a 3×3 conv (stride 2, or 1
    for recognition) and a 1×1 conv; every conv with BN and ReLU."""

    def __init__(self, in_channels: int, mid_channels: int, out_channels: int, text_rec: bool) -> None:
        super().__init__()
        self.stem1 = ConvBNAct(in_channels, mid_channels, 3, stride=2, act="relu")
        self.stem2a = ConvBNAct(mid_channels, mid_channels // 2, 2, padding=0, act="relu")
        self.stem2b = ConvBNAct(mid_channels // 2, mid_channels, 2, padding=0, act="relu")
        self.stem3 = ConvBNAct(2 * mid_channels, mid_channels, 3, stride=1 if text_rec else 2, act="relu")
        self.stem4 = ConvBNAct(mid_channels, out_channels, 1, act="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem1(x)
        branch = self.stem2b(F.pad(self.stem2a(F.pad(x, _SAME_2X2)), _SAME_2X2))
        return self.stem4(self.stem3(torch.cat([same_max_pool_2x2(x), branch], dim=1)))


class LightConvBNAct(nn.Module):
    """1×1 conv+BN (no activation) → depthwise k×k conv+BN+ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__()
        self.conv1 = ConvBNAct(in_channels, out_channels, 1)
        self.conv2 = ConvBNAct(out_channels, out_channels, kernel_size, groups=out_channels, act="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.conv1(x))


class HGV2Block(nn.Module):
    """`layer_num` chained conv layers (k×k conv+BN+ReLU, or light ones); the input and every output
    concatenated → 1×1 squeeze to out/2 → 1×1 excitation to out (both conv+BN+ReLU).

    With `identity` (every block of a stage but the first) the block input is added at the end.
    """

    def __init__(
        self,
        in_channels: int,
        mid_channels: int,
        out_channels: int,
        kernel_size: int,
        layer_num: int,
        identity: bool,
        light_block: bool,
    ) -> None:
        super().__init__()
        self.identity = identity
        layers: list[nn.Module] = []
        for i in range(layer_num):
            width = in_channels if i == 0 else mid_channels
            if light_block:
                layers.append(LightConvBNAct(width, mid_channels, kernel_size))
            else:
                layers.append(ConvBNAct(width, mid_channels, kernel_size, act="relu"))
        self.layers = nn.ModuleList(layers)
        total = in_channels + layer_num * mid_channels
        self.aggregation_squeeze_conv = ConvBNAct(total, out_channels // 2, 1, act="relu")
        self.aggregation_excitation_conv = ConvBNAct(out_channels // 2, out_channels, 1, act="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = [x]
        y = x
        for layer in self.layers:
            y = layer(y)
            outputs.append(y)
        y = self.aggregation_excitation_conv(self.aggregation_squeeze_conv(torch.cat(outputs, dim=1)))
        return y + x if self.identity else y


@dataclass(frozen=True)
class StageSpec:
    """One row of PaddleOCR's stage table."""

    in_channels: int
    mid_channels: int
    out_channels: int
    block_num: int
    downsample: bool
    light_block: bool
    kernel_size: int
    layer_num: int
    stride: Stride


class HGV2Stage(nn.Module):
    """Optional depthwise 3×3 conv+BN down-sampling (no activation), then HG blocks."""

    def __init__(self, spec: StageSpec) -> None:
        super().__init__()
        c = spec.in_channels
        self.downsample = ConvBNAct(c, c, 3, stride=spec.stride, groups=c) if spec.downsample else None
        self.blocks = nn.Sequential(
            *(
                HGV2Block(
                    spec.in_channels if i == 0 else spec.out_channels,
                    spec.mid_channels,
                    spec.out_channels,
                    spec.kernel_size,
                    spec.layer_num,
                    identity=i > 0,
                    light_block=spec.light_block,
                )
                for i in range(spec.block_num)
            )
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.downsample is not None:
            x = self.downsample(x)
        return self.blocks(x)


class PPHGNetV2(nn.Module):
    """The backbone. `det=True` returns the four stage outputs (1/4 … 1/32); otherwise the last stage
    pooled by 3×2 (height 1 for 48-pixel-high inputs) for the recognition neck.
    """

    def __init__(self, stages: Sequence[StageSpec], stem_channels: Sequence[int], det: bool) -> None:
        super().__init__()
        self.det = det
        in_channels, mid_channels, out_channels = stem_channels
        self.stem = StemBlock(in_channels, mid_channels, out_channels, text_rec=not det)
        self.stages = nn.ModuleList(HGV2Stage(spec) for spec in stages)
        self.out_channels: list[int] | int = [s.out_channels for s in stages] if det else stages[-1].out_channels

    def forward(self, x: torch.Tensor) -> list[torch.Tensor] | torch.Tensor:
        x = self.stem(x)
        features = []
        for stage in self.stages:
            x = stage(x)
            if self.det:  # a recogniser keeps no stage outputs alive
                features.append(x)
        if self.det:
            return features
        # PaddleOCR pools adaptively to width 40 while training but exports this fixed pool.
        return F.avg_pool2d(x, (3, 2))


# PPHGNetV2_B4 as PaddleOCR configures it for text. Detection keeps stage 1 at the stem's 1/4 and halves both
# directions afterwards; recognition strides the stem once and then mostly the height, keeping a long sequence.
B4_STEM_CHANNELS = (3, 32, 48)
B4_DET_STAGES = (
    StageSpec(48, 48, 128, 1, False, False, 3, 6, 2),
    StageSpec(128, 96, 512, 1, True, False, 3, 6, 2),
    StageSpec(512, 192, 1024, 3, True, True, 5, 6, 2),
    StageSpec(1024, 384, 2048, 1, True, True, 5, 6, 2),
)
B4_REC_STAGES = (
    StageSpec(48, 48, 128, 1, True, False, 3, 6, (2, 1)),
    StageSpec(128, 96, 512, 1, True, False, 3, 6, (1, 2)),
    StageSpec(512, 192, 1024, 3, True, True, 5, 6, (2, 1)),
    StageSpec(1024, 384, 2048, 1, True, True, 5, 6, (2, 1)),
)


def pphgnetv2_b4(det: bool) -> PPHGNetV2:
    """PaddleOCR's `PPHGNetV2_B4` (`det=True`, or `text_rec=True` for recognition)."""
    return PPHGNetV2(B4_DET_STAGES if det else B4_REC_STAGES, B4_STEM_CHANNELS, det=det)
