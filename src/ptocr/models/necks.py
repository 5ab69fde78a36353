"""Feature-pyramid necks of the DB detectors."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from .layers import MOBILENETV3_HARDSIGMOID_SLOPE, SqueezeExcite


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


def _upsample(x: torch.Tensor, factor: int) -> torch.Tensor:
    # Paddle's nearest interpolation (align_corners False, align_mode 1) at an integer factor picks
    # source index floor(i / factor), as torch's "nearest" does.
    return F.interpolate(x, scale_factor=factor, mode="nearest")


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
        out4 = in4 + _upsample(in5, 2)
        out3 = in3 + _upsample(out4, 2)
        out2 = in2 + _upsample(out3, 2)
        p5 = _upsample(self.inp_conv[3](in5), 8)
        p4 = _upsample(self.inp_conv[2](out4), 4)
        p3 = _upsample(self.inp_conv[1](out3), 2)
        p2 = self.inp_conv[0](out2)
        return torch.cat([p5, p4, p3, p2], dim=1)
