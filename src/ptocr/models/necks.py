"""Feature-pyramid necks of the DB detectors."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .layers import MOBILENETV3_HARDSIGMOID_SLOPE, SqueezeExcite, upsample_nearest


class RSELayer(nn.Module):
    """Conv (no bias) followed by an SE gate, optionally added back to the conv output."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, shortcut: bool) -> None:
        super().__init__()
        self.in_conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False)
        self.se_block = SqueezeExcite(out_channels, 4, MOBILENETV3_HARDSIGMOID_SLOPE)
        self.shortcut = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.in_conv(x)
        return x + self.se_block(x) if self.shortcut else self.se_block(x)



def top_down_merge(
    in2: torch.Tensor, in3: torch.Tensor, in4: torch.Tensor, in5: torch.Tensor, align_corners: bool = False
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The FPN top-down path shared by DBFPN, RSEFPN and LKPAN: each level plus the ×2 up-sampled level
    above it; returns (out2, out3, out4). `align_corners`: fluid's up-sampling rule (`upsample_nearest`)."""
    out4 = in4 + upsample_nearest(in5, 2, align_corners)
    out3 = in3 + upsample_nearest(out4, 2, align_corners)
    out2 = in2 + upsample_nearest(out3, 2, align_corners)
    return out2, out3, out4


class RSEFPN(nn.Module):
    """Top-down FPN with residual SE layers; returns the four levels concatenated at 1/4 scale."""

    def __init__(self, in_channels: Sequence[int], out_channels: int, shortcut: bool = True) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.ins_conv = nn.ModuleList(RSELayer(c, out_channels, 1, shortcut) for c in in_channels)
        self.inp_conv = nn.ModuleList(
            RSELayer(out_channels, out_channels // 4, 3, shortcut) for _ in in_channels
        )

    def forward(self, features: Sequence[torch.Tensor]) -> torch.Tensor:
        c2, c3, c4, c5 = features
        in5 = self.ins_conv[3](c5)
        in4 = self.ins_conv[2](c4)
        in3 = self.ins_conv[1](c3)
        in2 = self.ins_conv[0](c2)
        out2, out3, out4 = top_down_merge(in2, in3, in4, in5)
        p5 = upsample_nearest(self.inp_conv[3](in5), 8)
        p4 = upsample_nearest(self.inp_conv[2](out4), 4)
        p3 = upsample_nearest(self.inp_conv[1](out3), 2)
        p2 = self.inp_conv[0](out2)
        return torch.cat([p5, p4, p3, p2], dim=1)


class DBFPN(nn.Module):
    """The plain DB feature pyramid: 1×1 lateral convs, top-down nearest ×2 sums, a 3×3 conv per level
    to a quarter of the channels, each level upsampled to 1/4 scale and concatenated coarsest first.

    Layer names (`in2_conv` … `p2_conv`) are PaddleOCR's; none of the convs has a bias. PaddleOCR 1.x's
    fluid graph is the same but up-samples with aligned corners (`align_corners=True`; `upsample_nearest`).
    """

    def __init__(self, in_channels: Sequence[int], out_channels: int, align_corners: bool = False) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.align_corners = align_corners
        c2, c3, c4, c5 = in_channels
        self.in2_conv = nn.Conv2d(c2, out_channels, 1, bias=False)
        self.in3_conv = nn.Conv2d(c3, out_channels, 1, bias=False)
        self.in4_conv = nn.Conv2d(c4, out_channels, 1, bias=False)
        self.in5_conv = nn.Conv2d(c5, out_channels, 1, bias=False)
        self.p5_conv = nn.Conv2d(out_channels, out_channels // 4, 3, padding=1, bias=False)
        self.p4_conv = nn.Conv2d(out_channels, out_channels // 4, 3, padding=1, bias=False)
        self.p3_conv = nn.Conv2d(out_channels, out_channels // 4, 3, padding=1, bias=False)
        self.p2_conv = nn.Conv2d(out_channels, out_channels // 4, 3, padding=1, bias=False)

    def forward(self, features: Sequence[torch.Tensor]) -> torch.Tensor:
        # Same order as Paddle's program (coarsest lateral first), which the structural loader relies on.
        c2, c3, c4, c5 = features
        in5 = self.in5_conv(c5)
        in4 = self.in4_conv(c4)
        in3 = self.in3_conv(c3)
        in2 = self.in2_conv(c2)
        aligned = self.align_corners
        out2, out3, out4 = top_down_merge(in2, in3, in4, in5, aligned)
        p5 = upsample_nearest(self.p5_conv(in5), 8, aligned)
        p4 = upsample_nearest(self.p4_conv(out4), 4, aligned)
        p3 = upsample_nearest(self.p3_conv(out3), 2, aligned)
        p2 = self.p2_conv(out2)
        return torch.cat([p5, p4, p3, p2], dim=1)
