"""LKPAN, the large-kernel path-aggregation neck of the PP-OCRv4 server detector, with IntraCL blocks.

LKPAN is a top-down FPN (1×1 lateral convs, nearest 2× up-sampling) followed by a bottom-up path
(stride-2 3×3 convs) whose lateral and output convs use 9×9 kernels. Each output level then goes
through an IntraCL block (stacked square, vertical and horizontal kernels) before all four levels are
up-sampled to 1/4 scale and concatenated. Attribute names follow PaddleOCR's `db_fpn.py` and
`intracl.py`, so trained state dicts load by name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from .layers import fold_batchnorm, upsample_nearest
from .necks import top_down_merge


class IntraCLBlock(nn.Module):
    """1×1 channel reduction → three rounds of (k×k + k×1 + 1×k) convs for k = 7, 5, 3 → 1×1 channel
    restoration → BN → ReLU, added to the input. Every conv has a bias; paddings keep the size.

    `deploy=True` holds the restoring conv with the BN folded into it (`reparameterize()` folds a built one).
    """

    def __init__(self, in_channels: int = 96, reduce_factor: int = 4, deploy: bool = False) -> None:
        super().__init__()
        reduced = in_channels // reduce_factor
        # Registration order mirrors PaddleOCR's (state dict key order); the forward order differs.
        self.conv1x1_reduce_channel = nn.Conv2d(in_channels, reduced, 1)
        self.conv1x1_return_channel = nn.Conv2d(reduced, in_channels, 1)
        self.v_layer_7x1 = nn.Conv2d(reduced, reduced, (7, 1), padding=(3, 0))
        self.v_layer_5x1 = nn.Conv2d(reduced, reduced, (5, 1), padding=(2, 0))
        self.v_layer_3x1 = nn.Conv2d(reduced, reduced, (3, 1), padding=(1, 0))
        self.q_layer_1x7 = nn.Conv2d(reduced, reduced, (1, 7), padding=(0, 3))
        self.q_layer_1x5 = nn.Conv2d(reduced, reduced, (1, 5), padding=(0, 2))
        self.q_layer_1x3 = nn.Conv2d(reduced, reduced, (1, 3), padding=(0, 1))
        self.c_layer_7x7 = nn.Conv2d(reduced, reduced, 7, padding=3)
        self.c_layer_5x5 = nn.Conv2d(reduced, reduced, 5, padding=2)
        self.c_layer_3x3 = nn.Conv2d(reduced, reduced, 3, padding=1)
        self.bn = None if deploy else nn.BatchNorm2d(in_channels)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv1x1_reduce_channel(x)
        # Square kernel first, then vertical, then horizontal: the order PaddleOCR sums them in.
        y = self.c_layer_7x7(y) + self.v_layer_7x1(y) + self.q_layer_1x7(y)
        y = self.c_layer_5x5(y) + self.v_layer_5x1(y) + self.q_layer_1x5(y)
        y = self.c_layer_3x3(y) + self.v_layer_3x1(y) + self.q_layer_1x3(y)
        y = self.conv1x1_return_channel(y)
        return x + self.relu(self.bn(y) if self.bn is not None else y)

    def reparameterize(self) -> None:
        if self.bn is not None:
            self.conv1x1_return_channel = fold_batchnorm(self.conv1x1_return_channel, self.bn)
            self.bn = None


def _plain_large_conv(in_channels: int, out_channels: int) -> nn.Module:
    return nn.Conv2d(in_channels, out_channels, 9, padding=4, bias=False)


class LKPAN(nn.Module):
    """Large-kernel PAN over four backbone levels (1/4 … 1/32); returns 4 × out/4 channels at 1/4 scale.

    Only PaddleOCR's "large" mode (plain convolutions) is built: it is the one the PP-OCRv4 server
    detector uses ("lite" swaps the 9×9 convs for depthwise-separable ones).
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: int,
        mode: str = "large",
        intracl: bool = False,
        *,
        large_conv: Callable[[int, int], nn.Module] | None = None,
        deploy: bool = False,
    ) -> None:
        """`large_conv(in, out)` builds the 9×9 output and lateral convs (default: plain convolutions);
        `deploy` builds the IntraCL blocks with their batch norms folded."""
        super().__init__()
        if mode != "large":
            raise ValueError(f"LKPAN mode {mode!r} is not supported; only 'large' is built")
        if len(in_channels) != 4:
            raise ValueError(f"LKPAN takes four feature levels, got {len(in_channels)}")
        self.out_channels = out_channels
        quarter = out_channels // 4
        self.ins_conv = nn.ModuleList(nn.Conv2d(c, out_channels, 1, bias=False) for c in in_channels)
        if large_conv is None:
            large_conv = _plain_large_conv
        self.inp_conv = nn.ModuleList(large_conv(out_channels, quarter) for _ in in_channels)
        self.pan_head_conv = nn.ModuleList(
            nn.Conv2d(quarter, quarter, 3, stride=2, padding=1, bias=False) for _ in in_channels[1:]
        )
        self.pan_lat_conv = nn.ModuleList(large_conv(quarter, quarter) for _ in in_channels)
        self.intracl = intracl
        if intracl:
            self.incl1 = IntraCLBlock(quarter, reduce_factor=2, deploy=deploy)
            self.incl2 = IntraCLBlock(quarter, reduce_factor=2, deploy=deploy)
            self.incl3 = IntraCLBlock(quarter, reduce_factor=2, deploy=deploy)
            self.incl4 = IntraCLBlock(quarter, reduce_factor=2, deploy=deploy)

    def forward(self, features: Sequence[torch.Tensor]) -> torch.Tensor:
        c2, c3, c4, c5 = features
        in5 = self.ins_conv[3](c5)
        in4 = self.ins_conv[2](c4)
        in3 = self.ins_conv[1](c3)
        in2 = self.ins_conv[0](c2)

        out2, out3, out4 = top_down_merge(in2, in3, in4, in5)

        f5 = self.inp_conv[3](in5)
        f4 = self.inp_conv[2](out4)
        f3 = self.inp_conv[1](out3)
        f2 = self.inp_conv[0](out2)

        pan3 = f3 + self.pan_head_conv[0](f2)
        pan4 = f4 + self.pan_head_conv[1](pan3)
        pan5 = f5 + self.pan_head_conv[2](pan4)

        p2 = self.pan_lat_conv[0](f2)
        p3 = self.pan_lat_conv[1](pan3)
        p4 = self.pan_lat_conv[2](pan4)
        p5 = self.pan_lat_conv[3](pan5)

        if self.intracl:
            # Coarsest level first, as PaddleOCR runs them (this is the order its weights are consumed in).
            p5 = self.incl4(p5)
            p4 = self.incl3(p4)
            p3 = self.incl2(p3)
            p2 = self.incl1(p2)

        p5 = upsample_nearest(p5, 8)
        p4 = upsample_nearest(p4, 4)
        p3 = upsample_nearest(p3, 2)
        return torch.cat([p5, p4, p3, p2], dim=1)
