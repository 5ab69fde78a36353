"""PP-LCNetV4, the backbone of PP-OCRv6 (tiny, small, medium) detection and recognition.

A stem to 1/4 scale, then stages of blocks that mix space with a 3×3 depthwise conv (optionally gated by
squeeze-and-excite) and channels with a 1×1 expand → GELU → 1×1 compress pair, added back when the block
keeps its shape. The trainable form is re-parameterisable: every conv+BN pair folds into one conv with a
bias, and the depthwise conv of a shape-keeping block is itself a sum (3×3 conv+BN, 1×1 depthwise conv,
identity) under one BN. `deploy=True` builds the folded form, which PaddleOCR 3.x's inference files hold.

Numerics PaddleOCR fixes explicitly: the stem's 2×2 convs and 2×2 max-pool use Paddle's "SAME" padding
(stride 1: nothing before, one row/column after; the pool pads with -inf), SE gates use Paddle's
`Hardsigmoid()` (slope 0.1666667), GELU is the exact (erf) one, BN epsilon 1e-5. Attribute names follow
PaddleOCR's `rec_lcnetv4.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import torch
from torch import nn
from torch.nn import functional as F

from .layers import BN_EPS, PADDLE_HARDSIGMOID_SLOPE, ConvBNAct, SqueezeExcite, batchnorm_affine, fold_batchnorm

Stride = int | tuple[int, int]
#: Depthwise kernel of every PP-LCNetV4 block.
DW_KERNEL = 3
#: Hidden width of a block's channel mixer, as a multiple of its input width.
EXPAND_RATIO = 2


def paddle_same_padding(kernel_size: int) -> tuple[int, int, int, int]:
    """`(left, right, top, bottom)` of Paddle's "SAME" padding at stride 1: the odd pixel goes after."""
    before = (kernel_size - 1) // 2
    after = kernel_size - 1 - before
    return (before, after, before, after)


class ConvBN(nn.Module):
    """Conv (no bias) → BN → optional ReLU; `deploy=True` holds the conv with the BN folded into its bias.

    `padding` is symmetric (an int) or Paddle's asymmetric "SAME" (`same=True`, stride 1), which a
    `ZeroPad2d` applies before an unpadded conv so that the conv stays a plain one.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: Stride = 1,
        padding: int = 0,
        groups: int = 1,
        relu: bool = False,
        same: bool = False,
        deploy: bool = False,
    ) -> None:
        super().__init__()
        self.pad = nn.ZeroPad2d(paddle_same_padding(kernel_size)) if same else None
        self.conv = nn.Conv2d(
            in_channels, out_channels, kernel_size, stride, 0 if same else padding, groups=groups, bias=deploy
        )
        self.bn = None if deploy else nn.BatchNorm2d(out_channels, eps=BN_EPS)
        self.act = nn.ReLU() if relu else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pad is not None:
            x = self.pad(x)
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        return self.act(x) if self.act is not None else x

    def folded(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Kernel and bias of the conv with the BN folded in (either form), in float64."""
        conv = fold_batchnorm(self.conv, self.bn) if self.bn is not None else self.conv
        assert conv.bias is not None
        return conv.weight.double(), conv.bias.double()

    def reparameterize(self) -> None:
        if self.bn is not None:
            self.conv = fold_batchnorm(self.conv, self.bn)
            self.bn = None


class RepDWConv(nn.Module):
    """`bn(conv_bn(x) + conv1(x) + x)`: a k×k depthwise conv+BN, a 1×1 depthwise conv and the identity under
    one BN; `deploy=True` holds the single k×k depthwise conv with a bias they fold into."""

    def __init__(self, channels: int, kernel_size: int, deploy: bool = False) -> None:
        super().__init__()
        self.channels = channels
        self.kernel_size = kernel_size
        padding = (kernel_size - 1) // 2
        if deploy:
            self.reparam_conv: nn.Conv2d | None = nn.Conv2d(
                channels, channels, kernel_size, 1, padding, groups=channels
            )
        else:
            self.reparam_conv = None
            self.conv = ConvBN(channels, channels, kernel_size, 1, padding, groups=channels)
            self.conv1 = nn.Conv2d(channels, channels, 1, groups=channels, bias=False)
            self.bn = nn.BatchNorm2d(channels, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.reparam_conv is not None:
            return self.reparam_conv(x)
        return self.bn(self.conv(x) + self.conv1(x) + x)

    @torch.no_grad()
    def reparameterize(self) -> None:
        if self.reparam_conv is not None:
            return
        kernel, bias = self.conv.folded()
        centre = self.kernel_size // 2
        # The 1×1 branch and the identity both act on the centre tap of each channel's own kernel.
        kernel[:, :, centre, centre] += self.conv1.weight.double()[:, :, 0, 0] + 1.0
        scale, shift = batchnorm_affine(self.bn, torch.float64)
        template = self.conv1.weight
        fused = nn.Conv2d(
            self.channels, self.channels, self.kernel_size, 1, (self.kernel_size - 1) // 2, groups=self.channels
        ).to(device=template.device, dtype=template.dtype)
        fused.weight.copy_(kernel * scale.reshape(-1, 1, 1, 1))
        fused.bias.copy_(bias * scale + shift)
        del self.conv, self.conv1, self.bn
        self.reparam_conv = fused


class LCNetV4Block(nn.Module):
    """Token mixer (depthwise conv, re-parameterisable when the block keeps its shape; optional SE) →
    channel mixer (1×1 expand ×2 → GELU → 1×1 compress), with a residual over the channel mixer when the
    block keeps its shape."""

    def __init__(
        self, in_channels: int, out_channels: int, stride: Stride, use_se: bool, deploy: bool = False
    ) -> None:
        super().__init__()
        self.residual = in_channels == out_channels and stride == 1
        if self.residual:
            self.rep_dw: RepDWConv | None = RepDWConv(in_channels, DW_KERNEL, deploy)
            self.dw_conv: ConvBN | None = None
        else:
            self.rep_dw = None
            self.dw_conv = ConvBN(
                in_channels, in_channels, DW_KERNEL, stride, (DW_KERNEL - 1) // 2, groups=in_channels, deploy=deploy
            )
        self.se = SqueezeExcite(in_channels, 4, PADDLE_HARDSIGMOID_SLOPE) if use_se else None
        hidden = in_channels * EXPAND_RATIO
        self.expand = ConvBN(in_channels, hidden, 1, deploy=deploy)
        self.act = nn.GELU()  # the erf form, as Paddle's GELU() without `approximate`
        self.compress = ConvBN(hidden, out_channels, 1, deploy=deploy)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.rep_dw(x) if self.rep_dw is not None else self.dw_conv(x)  # type: ignore[misc]
        if self.se is not None:
            x = self.se(x)
        y = self.compress(self.act(self.expand(x)))
        return x + y if self.residual else y


class StemBlock(nn.Module):
    """Two branches at 1/2 scale, concatenated, then to 1/4: a 2×2 max-pool beside two 2×2 convs (all
    Paddle-"SAME" padded), every conv followed by BN and ReLU."""

    def __init__(self, in_channels: int, mid_channels: int, out_channels: int, deploy: bool = False) -> None:
        super().__init__()
        self.stem1 = ConvBN(in_channels, mid_channels, 3, 2, 1, relu=True, deploy=deploy)
        self.stem2a = ConvBN(mid_channels, mid_channels // 2, 2, relu=True, same=True, deploy=deploy)
        self.stem2b = ConvBN(mid_channels // 2, mid_channels, 2, relu=True, same=True, deploy=deploy)
        self.stem3 = ConvBN(mid_channels * 2, mid_channels, 3, 2, 1, relu=True, deploy=deploy)
        self.stem4 = ConvBN(mid_channels, out_channels, 1, relu=True, deploy=deploy)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem1(x)
        convolved = self.stem2b(self.stem2a(x))
        # Paddle's max-pool ignores its padding, which padding with -inf reproduces.
        pooled = F.max_pool2d(F.pad(x, paddle_same_padding(2), value=float("-inf")), 2, 1)
        return self.stem4(self.stem3(torch.cat([pooled, convolved], dim=1)))


def simple_stem(in_channels: int, mid_channels: int, out_channels: int) -> nn.Sequential:
    """Two stride-2 3×3 conv+BN layers with a GELU between them (the tiny recogniser's stem).

    PaddleOCR gives this stem no re-parameterisation, so its published files keep both BatchNorms: the
    deploy form is the trainable one (the fusion pass folds them at inference time).
    """
    return nn.Sequential(
        ConvBNAct(in_channels, mid_channels, 3, 2, 1),
        nn.GELU(),
        ConvBNAct(mid_channels, out_channels, 3, 2, 1),
    )


@dataclass(frozen=True)
class BlockSpec:
    in_channels: int
    out_channels: int
    stride: Stride
    use_se: bool


@dataclass(frozen=True)
class LCNetV4Variant:
    """One row of the variant table: the stem's (mid, out) widths, whether it is the branch stem (else the
    simple one), and the stages' blocks."""

    stem: tuple[int, int]
    branch_stem: bool
    stages: tuple[tuple[BlockSpec, ...], ...]


def _stage(*rows: tuple[int, int, Stride, bool]) -> tuple[BlockSpec, ...]:
    return tuple(BlockSpec(*row) for row in rows)


def _det_variant(c1: int, c2: int, c3: int, c4: int) -> LCNetV4Variant:
    """Every detection size has the same layout: four stages (1/4 … 1/32), the repeated blocks of each
    stage alternating SE on and off."""
    return LCNetV4Variant(
        stem=(c1 // 2, c1),
        branch_stem=True,
        stages=(
            _stage((c1, c1, 1, True), (c1, c1, 1, False)),
            _stage((c1, c2, 2, False), (c2, c2, 1, True), (c2, c2, 1, False)),
            _stage((c2, c3, 2, False), (c3, c3, 1, True), (c3, c3, 1, False), (c3, c3, 1, True), (c3, c3, 1, False)),
            _stage((c3, c4, 2, False), (c4, c4, 1, True), (c4, c4, 1, False)),
        ),
    )


DET_VARIANTS: Mapping[str, LCNetV4Variant] = MappingProxyType({
    "tiny": _det_variant(32, 48, 64, 160),
    "small": _det_variant(48, 96, 192, 384),
    "medium": _det_variant(128, 256, 512, 896),
})  # fmt: skip

# Recognition halves only the height after the stem, keeping a long horizontal sequence; the pool after the
# last stage halves the width.
REC_VARIANTS: Mapping[str, LCNetV4Variant] = MappingProxyType({
    "tiny": LCNetV4Variant(
        stem=(24, 48),
        branch_stem=False,
        stages=(
            _stage((48, 48, 1, True)),
            _stage((48, 48, 1, False)),
            _stage((48, 96, (2, 1), False), (96, 96, 1, True), (96, 96, 1, False)),
            _stage((96, 160, (2, 1), False), (160, 160, 1, True), (160, 160, 1, False), (160, 160, 1, False)),
        ),
    ),
    "small": LCNetV4Variant(
        stem=(48, 96),
        branch_stem=True,
        stages=(
            _stage((96, 96, 1, True)),
            _stage((96, 96, 1, False), (96, 96, 1, False)),
            _stage((96, 192, (2, 1), False), *[(192, 192, 1, se) for se in (True, False, True, False, True, False)]),
            _stage((192, 384, (2, 1), False), (384, 384, 1, True), (384, 384, 1, False)),
        ),
    ),
    "medium": LCNetV4Variant(
        stem=(64, 128),
        branch_stem=True,
        stages=(
            _stage((128, 128, 1, True)),
            _stage((128, 256, 1, False), (256, 256, 1, False), (256, 256, 1, True)),
            _stage((256, 512, (2, 1), False), *[(512, 512, 1, se) for se in (True, False, True, False, True, False)]),
            _stage((512, 768, (2, 1), False), (768, 768, 1, True), (768, 768, 1, False)),
        ),
    ),
})  # fmt: skip
#: The recognition pool: a 3×2 average (stride 3×2) that PaddleOCR exports in place of its training-time
#: adaptive pool; it takes the 48-pixel line's 3-row map to one row.
REC_POOL = (3, 2)


class PPLCNetV4(nn.Module):
    """The backbone of size `size` ("tiny", "small", "medium").

    `det=True`: returns the four stage outputs (1/4, 1/8, 1/16, 1/32), `out_channels` their widths.
    `det=False`: returns one N×C×(H/48)×(W/8) map (one row for a 48-pixel line), `out_channels` its width C.
    """

    def __init__(self, size: str, det: bool, deploy: bool = False) -> None:
        super().__init__()
        table = DET_VARIANTS if det else REC_VARIANTS
        if size not in table:
            raise ValueError(f"PP-LCNetV4 size must be one of {', '.join(table)}, got {size!r}")
        variant = table[size]
        self.det = det
        mid, out = variant.stem
        stem = StemBlock(3, mid, out, deploy) if variant.branch_stem else simple_stem(3, mid, out)
        stages = [
            nn.Sequential(*(LCNetV4Block(s.in_channels, s.out_channels, s.stride, s.use_se, deploy) for s in specs))
            for specs in variant.stages
        ]
        widths = [specs[-1].out_channels for specs in variant.stages]
        if det:
            self.stem = stem
            self.blocks_s1, self.blocks_s2, self.blocks_s3, self.blocks_s4 = stages
            self.out_channels: list[int] | int = widths
        else:
            self.conv1 = stem
            self.blocks2, self.blocks3, self.blocks4, self.blocks5 = stages
            self.out_channels = widths[-1]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor] | torch.Tensor:
        if self.det:
            o1 = self.blocks_s1(self.stem(x))
            o2 = self.blocks_s2(o1)
            o3 = self.blocks_s3(o2)
            return [o1, o2, o3, self.blocks_s4(o3)]
        x = self.blocks5(self.blocks4(self.blocks3(self.blocks2(self.conv1(x)))))
        return F.avg_pool2d(x, REC_POOL)

    def reparameterize(self) -> None:
        """Folds every conv+BN pair and re-parameterised depthwise conv into the deploy form, in place."""
        reparameterize_modules(self)


def reparameterize_modules(module: nn.Module) -> None:
    """Calls `reparameterize()` on every sub-module of `module` that has one (outermost first)."""
    for sub in list(module.modules()):
        if sub is not module:
            fold = getattr(sub, "reparameterize", None)
            if callable(fold):
                fold()
