"""Paddle's quantisation-aware-training arithmetic, emulated exactly on float layers.

A quantised Paddle program (PaddleOCR 1.x's slim models) rounds the input of every convolution and matrix
product to integers at a recorded activation scale, multiplies by integer weights, and rescales the result
per output channel. Its output differs from the float network's by far more than float rounding (about 5e-3
on random weights, a different argmax on a fifth of the time steps of a recogniser), so a quantised file is
run the way Paddle runs it: `quantise_layers` swaps each quantised layer for one that keeps its integer
weights and does the same float32 operations in the same order. A rounding decision at an exact .5 tie flips
with the last bit of its input, so the order of operations is part of the numerics here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..errors import WeightsMismatchError
from .sequence import FluidLSTM


@dataclass(frozen=True)
class LayerQuantisation:
    """How one layer quantises its input and weight: the activation scale (the input is clipped to ±scale),
    one scale per output channel for the integer weight, and the bit widths of both."""

    input_scale: float
    weight_scales: np.ndarray
    input_bits: int = 8
    weight_bits: int = 8


def _inverse(scale: np.float32) -> np.float32:
    # Paddle's `inverse`: a scale of (about) zero is offset instead of dividing by zero.
    one = np.float32(1.0)
    return one / (scale + np.float32(1e-6)) if scale <= np.float32(1e-30) else one / scale


def round_half_away_from_zero(x: torch.Tensor) -> torch.Tensor:
    """`std::round`: ties go away from zero (torch.round sends them to the even neighbour)."""
    whole = torch.trunc(x)
    tie = (x - whole).abs() == 0.5
    return torch.where(tie, whole + torch.sign(x), torch.round(x))


class PaddleQuantiser(nn.Module):
    """Quantises a layer's input and rescales its output, as PaddlePaddle's `fake_quantize_moving_average_abs_max`
    (inference) and `fake_channel_wise_dequantize_max_abs` (two scales) compute them in float32.

    `channel_dim` is the output's channel dimension (1 for NCHW convs, -1 for a matrix product's columns).
    """

    def __init__(self, quantisation: LayerQuantisation, channel_dim: int) -> None:
        super().__init__()
        scale = np.float32(quantisation.input_scale)
        input_levels = 2 ** (quantisation.input_bits - 1) - 1
        weight_levels = 2 ** (quantisation.weight_bits - 1) - 1
        self.input_scale = float(scale)
        # Paddle multiplies by the scalar (levels · 1/scale), itself rounded to float32 first.
        self.input_factor = float(np.float32(input_levels) * _inverse(scale))
        self.output_divisor = float(np.float32(input_levels * weight_levels))
        self.channel_dim = channel_dim
        scales = torch.as_tensor(np.asarray(quantisation.weight_scales, dtype=np.float32).reshape(-1))
        self.register_buffer("weight_scales", scales, persistent=False)

    def quantise(self, x: torch.Tensor) -> torch.Tensor:
        clipped = x.clamp(-self.input_scale, self.input_scale)
        return round_half_away_from_zero(clipped * self.input_factor)

    def dequantise(self, y: torch.Tensor) -> torch.Tensor:
        shape = [1] * y.dim()
        shape[self.channel_dim] = -1
        # out = y · s_w[c] · s_in / levels², evaluated left to right as Paddle's kernel does.
        return y * self.weight_scales.reshape(shape) * self.input_scale / self.output_divisor

    def extra_repr(self) -> str:
        return f"input_scale={self.input_scale:.6g}, channels={self.weight_scales.numel()}"


class QuantisedConv2d(nn.Module):
    """A convolution with integer weights on a quantised input; the bias, if any, is added after rescaling
    (Paddle's separate `elementwise_add`). Tensors keep `nn.Conv2d`'s names."""

    def __init__(self, conv: nn.Conv2d, quantisation: LayerQuantisation) -> None:
        super().__init__()
        if conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            raise WeightsMismatchError("a quantised convolution must have explicit zero padding")
        self.weight = conv.weight
        self.bias = conv.bias
        self.stride, self.padding, self.dilation, self.groups = conv.stride, conv.padding, conv.dilation, conv.groups
        self.quantiser = PaddleQuantiser(quantisation, channel_dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        integers = F.conv2d(self.quantiser.quantise(x), self.weight, None, self.stride, self.padding, self.dilation,
                            self.groups)  # fmt: skip
        out = self.quantiser.dequantise(integers)
        return out if self.bias is None else out + self.bias.reshape(1, -1, 1, 1)


class QuantisedLinear(nn.Module):
    """A matrix product (Paddle's `mul`) with integer weights on a quantised input, bias added after
    rescaling. Tensors keep `nn.Linear`'s names and layout."""

    def __init__(self, linear: nn.Linear, quantisation: LayerQuantisation) -> None:
        super().__init__()
        self.weight = linear.weight
        self.bias = linear.bias
        self.quantiser = PaddleQuantiser(quantisation, channel_dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.quantiser.dequantise(F.linear(self.quantiser.quantise(x), self.weight))
        return out if self.bias is None else out + self.bias


def _check_channels(key: str, quantisation: LayerQuantisation, channels: int) -> None:
    if np.asarray(quantisation.weight_scales).size != channels:
        raise WeightsMismatchError(
            f"{key}: {np.asarray(quantisation.weight_scales).size} weight scales for {channels} output channels"
        )


def quantise_layers(module: nn.Module, quantisation: Mapping[str, LayerQuantisation]) -> None:
    """Makes the layers owning the given weights (module tensor keys such as `backbone.conv1.conv.weight`)
    compute as Paddle's quantised program does. The layers must already hold the integer weights.

    Raises WeightsMismatchError for a weight of a layer that has no quantised form.
    """
    for key, layer_quantisation in quantisation.items():
        path, _, tensor_name = key.rpartition(".")
        layer = module.get_submodule(path)
        replacement: nn.Module | None = None
        if isinstance(layer, nn.Conv2d) and tensor_name == "weight":
            _check_channels(key, layer_quantisation, layer.out_channels)
            replacement = QuantisedConv2d(layer, layer_quantisation)
        elif isinstance(layer, nn.Linear) and tensor_name == "weight":
            _check_channels(key, layer_quantisation, layer.out_features)
            replacement = QuantisedLinear(layer, layer_quantisation)
        elif isinstance(layer, FluidLSTM) and tensor_name == "input_weight":
            _check_channels(key, layer_quantisation, layer.input_weight.shape[1])
            layer.input_quantiser = PaddleQuantiser(layer_quantisation, channel_dim=-1)
        else:
            kind = type(layer).__name__
            raise WeightsMismatchError(f"{key}: a quantised weight of a {kind}, which has no quantised form")
        if replacement is not None:
            parent_path, _, name = path.rpartition(".")
            setattr(module.get_submodule(parent_path), name, replacement)


def is_quantised(module: nn.Module) -> bool:
    """Whether some layer of `module` runs Paddle's quantised arithmetic."""
    return any(isinstance(m, PaddleQuantiser) for m in module.modules())
