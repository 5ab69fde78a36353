"""Building blocks shared by the model families, with Paddle's numerics as explicit arguments.

Paddle and torch disagree on a few defaults that change outputs: `F.hardsigmoid` has slope 1/6 in
torch and 0.1666667 in Paddle's `nn.Hardsigmoid`, while PaddleOCR's MobileNetV3 and RSEFPN SE blocks
call it with slope 0.2; BatchNorm epsilon is 1e-5 in both. Each block takes such values as arguments
instead of assuming a framework default.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

#: Slope of `paddle.nn.Hardsigmoid()` (its default, stored as float32 0.1666667).
PADDLE_HARDSIGMOID_SLOPE = 0.1666667
#: Slope PaddleOCR passes explicitly in MobileNetV3 / RSEFPN SE blocks.
MOBILENETV3_HARDSIGMOID_SLOPE = 0.2
BN_EPS = 1e-5


class HardSigmoid(nn.Module):
    """`clip(slope * x + offset, 0, 1)`."""

    def __init__(self, slope: float, offset: float = 0.5) -> None:
        super().__init__()
        self.slope = slope
        self.offset = offset

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x * self.slope + self.offset, 0.0, 1.0)

    def extra_repr(self) -> str:
        return f"slope={self.slope}, offset={self.offset}"


class Hardswish(nn.Hardswish):
    """torch's Hardswish; with `inplace=True` it overwrites its input only when no gradient is being recorded."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.hardswish(x, inplace=self.inplace and not torch.is_grad_enabled())


def make_activation(name: str | None) -> nn.Module:
    """Activations by PaddleOCR's config names. Paddle's `hard_swish` equals torch's Hardswish."""
    if name is None:
        return nn.Identity()
    table: dict[str, type[nn.Module]] = {
        "relu": nn.ReLU,
        "hardswish": nn.Hardswish,
        "hswish": nn.Hardswish,
        "swish": nn.SiLU,
        "sigmoid": nn.Sigmoid,
    }
    if name not in table:
        raise ValueError(f"unknown activation {name!r}; known: {', '.join(sorted(table))}")
    return table[name]()


def same_padding(kernel_size: int | tuple[int, int]) -> int | tuple[int, int]:
    """Paddle models pad `(k - 1) // 2` on each side (symmetric, explicit)."""
    if isinstance(kernel_size, int):
        return (kernel_size - 1) // 2
    return ((kernel_size[0] - 1) // 2, (kernel_size[1] - 1) // 2)


class ConvBNAct(nn.Module):
    """Conv (no bias) → BatchNorm → optional activation: PaddleOCR's `ConvBNLayer` in its variants."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | None = None,
        groups: int = 1,
        act: str | None = None,
        bn_eps: float = BN_EPS,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=same_padding(kernel_size) if padding is None else padding,
            groups=groups,
            bias=False,
        )
        self.bn = nn.BatchNorm2d(out_channels, eps=bn_eps)
        self.act = make_activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class PooledConv1x1(nn.Conv2d):
    """A 1×1 conv applied to globally pooled N×C×1×1 maps, computed as the matrix product it is.

    Same parameters and result as `nn.Conv2d(in, out, 1)`. On a 1×1 map oneDNN cannot tell channels-last from
    contiguous layout, so every call converted the vector and the weights to a blocked layout and back, and a
    convolution was planned anew for each batch size: the SE blocks of the PP-LCNetV3 detector made 60 such
    conversions per image.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != (1, 1):
            return super().forward(x)
        return F.linear(x.flatten(1), self.weight.flatten(1), self.bias)[:, :, None, None]


class SqueezeExcite(nn.Module):
    """Global pool → 1×1 conv → ReLU → 1×1 conv → hard sigmoid → channel scaling."""

    def __init__(self, channels: int, reduction: int, hardsigmoid_slope: float) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.conv1 = PooledConv1x1(channels, channels // reduction)
        self.relu = nn.ReLU()
        self.conv2 = PooledConv1x1(channels // reduction, channels)
        self.gate = HardSigmoid(hardsigmoid_slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(self.conv2(self.relu(self.conv1(self.pool(x)))))


def upsample_nearest(x: torch.Tensor, factor: int, align_corners: bool = False) -> torch.Tensor:
    """Paddle's nearest up-sampling at an integer factor f.

    With align_corners False (`nearest_interp_v2`, PaddleOCR 2.x) Paddle reads source index
    int(i * float32(1 / f)); for the factors the PP-OCR necks use (2, 4, 8) 1/f is exact, so that is
    floor(i / f), the index torch's "nearest" picks. Fluid's `resize_nearest` (PaddleOCR 1.x) aligns the
    corners instead: source index int(float32(in - 1) / (out - 1) * i + 0.5), which torch has no mode for.
    """
    if not align_corners:
        return F.interpolate(x, scale_factor=factor, mode="nearest")
    height, width = x.shape[-2:]
    rows = _aligned_corner_sources(height, height * factor, x.device)
    columns = _aligned_corner_sources(width, width * factor, x.device)
    return x.index_select(-2, rows).index_select(-1, columns)


def _aligned_corner_sources(size: int, out_size: int, device: torch.device) -> torch.Tensor:
    """Fluid's nearest_interp source indices with align_corners: float32 ratio and product, as its kernel."""
    if out_size <= 1:
        return torch.zeros(out_size, dtype=torch.long, device=device)
    ratio = np.float32(size - 1) / np.float32(out_size - 1)
    positions = ratio * np.arange(out_size, dtype=np.float32)  # float32 products, as the C++ kernel's
    sources = (positions.astype(np.float64) + 0.5).astype(np.int64)  # + 0.5 in double, then truncation
    return torch.from_numpy(np.minimum(sources, size - 1)).to(device)


class PaddleMaxPool2d(nn.Module):
    """Max pooling, unpadded, with Paddle's output size: (n − k) / s + 1 in C++'s truncating division.

    It equals torch's floor rule except where a side is shorter than the window: Paddle still gives one
    output, the maximum over the rows (or columns) there are, where torch gives none. PaddleOCR 1.0's
    recogniser pools a one-row map this way.
    """

    def __init__(self, kernel_size: int, stride: int) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kernel = (min(self.kernel_size, x.shape[-2]), min(self.kernel_size, x.shape[-1]))
        return F.max_pool2d(x, kernel, self.stride)


def make_divisible(value: float, divisor: int, min_value: int | None = None) -> int:
    """Channel rounding used by MobileNetV3 (divisor 8) and PP-LCNetV3 (divisor 16)."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


@torch.no_grad()
def batchnorm_affine(bn: nn.BatchNorm2d, dtype: torch.dtype | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """An eval-mode BatchNorm as the per-channel map `x * scale + shift`, computed in `dtype` (default: its own)."""
    assert bn.running_mean is not None and bn.running_var is not None
    weight, bias, mean, var = (t if dtype is None else t.to(dtype) for t in (bn.weight, bn.bias, bn.running_mean,
                                                                              bn.running_var))  # fmt: skip
    scale = weight / (var + bn.eps).sqrt()
    return scale, bias - mean * scale


@torch.no_grad()
def fuse_conv_bn(weight: torch.Tensor, bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Kernel and bias of a conv followed by an eval-mode BatchNorm, as one conv."""
    scale, shift = batchnorm_affine(bn)
    return weight * scale.reshape(-1, 1, 1, 1), shift


@torch.no_grad()
def fold_batchnorm(conv: nn.Conv2d | nn.ConvTranspose2d, bn: nn.BatchNorm2d) -> nn.Conv2d | nn.ConvTranspose2d:
    """A new conv of the same geometry (with a bias) computing `bn(conv(x))` for an eval-mode BatchNorm.

    Computed in float64 and stored in the conv's dtype, so a float64 module folds exactly. A transposed conv
    keeps its output channels on weight axis 1 (per group), which the scale follows.
    """
    scale, shift = batchnorm_affine(bn, torch.float64)
    weight = conv.weight.double()
    if isinstance(conv, nn.ConvTranspose2d):
        per_group = weight.shape[1]
        grouped = weight.reshape(conv.groups, -1, per_group, *weight.shape[2:])
        weight = (grouped * scale.reshape(conv.groups, 1, per_group, 1, 1)).reshape(conv.weight.shape)
    else:
        weight = weight * scale.reshape(-1, 1, 1, 1)
    bias = conv.bias.double() if conv.bias is not None else torch.zeros_like(scale)
    folded = type(conv)(
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size,
        stride=conv.stride,  # type: ignore[arg-type]
        padding=conv.padding,  # type: ignore[arg-type]
        dilation=conv.dilation,  # type: ignore[arg-type]
        groups=conv.groups,
        bias=True,
        device=conv.weight.device,
        dtype=conv.weight.dtype,
    )
    if isinstance(conv, nn.ConvTranspose2d):
        folded.output_padding = conv.output_padding
    folded.weight.copy_(weight)
    folded.bias.copy_(bias * scale + shift)  # type: ignore[union-attr]
    return folded.train(conv.training)
