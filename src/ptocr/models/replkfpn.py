"""RepLKFPN and RepLKPAN, the feature-pyramid necks of the PP-OCRv6 detectors (tiny/small and medium).

Both are the v4 necks (RSEFPN, LKPAN) with their large convolutions split into a large-kernel depthwise
conv and a 1×1 pointwise one. The depthwise conv is UniRepLKNet's dilated re-parameterisable block: while
training, a k×k depthwise conv+BN plus smaller dilated depthwise convs+BN in parallel, all folding into one
k×k depthwise conv with a bias, the form PaddleOCR 3.x publishes (`deploy=True`). Attribute names follow
PaddleOCR's `db_fpn.py`; the order of the forward passes is its program's (coarsest lateral first), which
the structural loader relies on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import torch
from torch import nn

from .layers import MOBILENETV3_HARDSIGMOID_SLOPE, SqueezeExcite, batchnorm_affine, fold_batchnorm, upsample_nearest
from .lkpan import LKPAN
from .necks import RSELayer, top_down_merge
from .pplcnetv4 import reparameterize_modules

#: The parallel dilated branches (kernel, dilation) of a dilated re-parameterisable block of kernel k: each
#: spans at most k pixels, so all fold into the k×k kernel.
DILATED_BRANCHES: Mapping[int, tuple[tuple[int, int], ...]] = MappingProxyType({
    5: ((3, 1), (3, 2)),
    7: ((5, 1), (3, 2), (3, 3)),
    9: ((5, 1), (5, 2), (3, 3), (3, 4)),
})  # fmt: skip


class DilatedReparamBlock(nn.Module):
    """Depthwise k×k conv+BN plus the dilated depthwise conv+BN branches of `DILATED_BRANCHES[k]`, summed;
    `deploy=True` holds the single k×k depthwise conv (with a bias) they fold into."""

    def __init__(self, channels: int, kernel_size: int, deploy: bool = False) -> None:
        super().__init__()
        if kernel_size not in DILATED_BRANCHES:
            raise ValueError(f"DilatedReparamBlock kernel must be one of {sorted(DILATED_BRANCHES)}, got {kernel_size}")
        self.channels = channels
        self.kernel_size = kernel_size
        self.deploy = deploy
        self.lk_origin = nn.Conv2d(
            channels, channels, kernel_size, padding=kernel_size // 2, groups=channels, bias=deploy
        )
        if not deploy:
            self.origin_bn = nn.BatchNorm2d(channels)
            for k, r in DILATED_BRANCHES[kernel_size]:
                span = r * (k - 1) + 1
                conv = nn.Conv2d(channels, channels, k, padding=span // 2, dilation=r, groups=channels, bias=False)
                self.add_module(f"dil_conv_k{k}_{r}", conv)
                self.add_module(f"dil_bn_k{k}_{r}", nn.BatchNorm2d(channels))

    def _branches(self) -> list[tuple[nn.Conv2d, nn.BatchNorm2d, int]]:
        return [
            (getattr(self, f"dil_conv_k{k}_{r}"), getattr(self, f"dil_bn_k{k}_{r}"), r)
            for k, r in DILATED_BRANCHES[self.kernel_size]
        ]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.deploy:
            return self.lk_origin(x)
        out = self.origin_bn(self.lk_origin(x))
        for conv, bn, _ in self._branches():
            out = out + bn(conv(x))
        return out

    @torch.no_grad()
    def reparameterize(self) -> None:
        if self.deploy:
            return
        scale, bias = batchnorm_affine(self.origin_bn, torch.float64)
        kernel = self.lk_origin.weight.double() * scale.reshape(-1, 1, 1, 1)
        centre = self.kernel_size // 2
        for conv, bn, dilation in self._branches():
            branch_scale, branch_shift = batchnorm_affine(bn, torch.float64)
            taps = conv.weight.double() * branch_scale.reshape(-1, 1, 1, 1)
            # A dilated k×k kernel is a sparse (r(k−1)+1)² one with its taps r apart, centred like the large one.
            reach = dilation * (conv.kernel_size[0] // 2)
            window = slice(centre - reach, centre + reach + 1, dilation)
            kernel[:, :, window, window] += taps
            bias = bias + branch_shift
        merged = nn.Conv2d(
            self.channels, self.channels, self.kernel_size, padding=centre, groups=self.channels
        ).to(device=self.lk_origin.weight.device, dtype=self.lk_origin.weight.dtype)
        merged.weight.copy_(kernel)
        merged.bias.copy_(bias)
        for k, r in DILATED_BRANCHES[self.kernel_size]:
            delattr(self, f"dil_conv_k{k}_{r}")
            delattr(self, f"dil_bn_k{k}_{r}")
        del self.origin_bn
        self.lk_origin = merged
        self.deploy = True


class DilatedReparamConv(nn.Module):
    """A large-kernel conv from `in` to `out` channels as a dilated re-parameterisable depthwise block → 1×1
    conv → BN; `deploy=True` holds the folded depthwise conv and the 1×1 conv with the BN folded in."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, deploy: bool = False) -> None:
        super().__init__()
        self.dw = DilatedReparamBlock(in_channels, kernel_size, deploy)
        self.pw = nn.Conv2d(in_channels, out_channels, 1, bias=deploy)
        self.bn = None if deploy else nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pw(self.dw(x))
        return self.bn(x) if self.bn is not None else x

    def reparameterize(self) -> None:
        self.dw.reparameterize()
        if self.bn is not None:
            self.pw = fold_batchnorm(self.pw, self.bn)
            self.bn = None


class RepLKFPN(nn.Module):
    """RSEFPN with each level's 3×3 output conv replaced by a dilated re-parameterisable depthwise conv of
    kernel `kernel_size` → 1×1 conv to a quarter of the channels → SE (residual with `shortcut`). The
    1×1 lateral convs stay RSE layers; SE gates use hard-sigmoid slope 0.2. Returns 4 × out/4 channels at
    1/4 scale."""

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: int,
        kernel_size: int,
        shortcut: bool = True,
        deploy: bool = False,
    ) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.shortcut = shortcut
        quarter = out_channels // 4
        self.ins_conv = nn.ModuleList(RSELayer(c, out_channels, 1, shortcut) for c in in_channels)
        self.inp_conv_dw = nn.ModuleList(DilatedReparamBlock(out_channels, kernel_size, deploy) for _ in in_channels)
        self.inp_conv_pw = nn.ModuleList(nn.Conv2d(out_channels, quarter, 1, bias=False) for _ in in_channels)
        self.inp_conv_se = nn.ModuleList(
            SqueezeExcite(quarter, 4, MOBILENETV3_HARDSIGMOID_SLOPE) for _ in in_channels
        )

    def _output_conv(self, x: torch.Tensor, level: int) -> torch.Tensor:
        x = self.inp_conv_pw[level](self.inp_conv_dw[level](x))
        gated = self.inp_conv_se[level](x)
        return x + gated if self.shortcut else gated

    def forward(self, features: Sequence[torch.Tensor]) -> torch.Tensor:
        c2, c3, c4, c5 = features
        in5 = self.ins_conv[3](c5)
        in4 = self.ins_conv[2](c4)
        in3 = self.ins_conv[1](c3)
        in2 = self.ins_conv[0](c2)
        out2, out3, out4 = top_down_merge(in2, in3, in4, in5)
        p5 = upsample_nearest(self._output_conv(in5, 3), 8)
        p4 = upsample_nearest(self._output_conv(out4, 2), 4)
        p3 = upsample_nearest(self._output_conv(out3, 1), 2)
        p2 = self._output_conv(out2, 0)
        return torch.cat([p5, p4, p3, p2], dim=1)

    def reparameterize(self) -> None:
        reparameterize_modules(self)


class RepLKPAN(LKPAN):
    """LKPAN (large mode) with its 9×9 output and lateral convs replaced by `DilatedReparamConv`s of kernel
    9, and optional IntraCL blocks on the four outputs. Returns 4 × out/4 channels at 1/4 scale.

    The deploy form folds every conv+BN pair, the IntraCL blocks' included: the published PP-OCRv6
    detectors that could be examined (tiny, small) hold no BatchNorm at all.
    """

    def __init__(
        self, in_channels: Sequence[int], out_channels: int, intracl: bool = False, deploy: bool = False
    ) -> None:
        super().__init__(
            in_channels, out_channels, intracl=intracl, deploy=deploy,
            large_conv=lambda c_in, c_out: DilatedReparamConv(c_in, c_out, 9, deploy),
        )  # fmt: skip

    def reparameterize(self) -> None:
        reparameterize_modules(self)
