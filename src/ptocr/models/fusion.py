"""Inference-time folding: every per-channel affine layer that directly follows a convolution becomes part of
that conv — BatchNorm (every family) and PP-LCNetV3's learnable scalar affine.

The pass is generic, per layer type, not per model: one forward pass over a small input records which
affine layer reads exactly the tensor a `Conv2d` / `ConvTranspose2d` just produced, and each such pair is
folded (in float64, rounded to float32 once) into the conv, the affine layer replaced by `nn.Identity`. In
the PP-OCR families a conv's output feeding such a layer feeds nothing else, which the float64 equivalence
tests over every architecture check (tests/test_fusion.py). Folding moves float32 rounding by a few ulps; the
exact-mode bars (PaddleOCR's texts and boxes identical on the dev images, reference tensors within det 2e-4,
cls 1e-4, rec 5e-4) are asserted by the system tests with folding on.
"""

from __future__ import annotations

import torch
from torch import nn

from .base import TaskModel
from .layers import batchnorm_affine
from .mapping import run_with_hooks
from .pplcnetv3 import LearnableAffine

_CONVS = (nn.Conv2d, nn.ConvTranspose2d)
_AFFINES = (nn.BatchNorm2d, LearnableAffine)


def _conv_affine_pairs(model: nn.Module, example: torch.Tensor) -> list[tuple[str, str]]:
    """(conv name, affine name) for every affine layer whose input is the output of the conv run just before."""
    names = {id(m): name for name, m in model.named_modules()}
    last_conv: list[tuple[str, int]] = []  # the most recent conv call: (name, id of its output)
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()

    def after_conv(layer: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
        last_conv[:] = [(names[id(layer)], id(output))]

    def before_affine(layer: nn.Module, inputs: tuple) -> None:
        name = names[id(layer)]
        if last_conv and inputs and id(inputs[0]) == last_conv[0][1] and name not in seen:
            seen.add(name)
            pairs.append((last_conv[0][0], name))
        last_conv.clear()

    def before_other(_layer: nn.Module, _inputs: tuple) -> None:
        last_conv.clear()  # another layer ran in between: whatever comes next does not read the raw conv output

    handles = []
    for module in model.modules():
        if isinstance(module, _CONVS):
            handles.append(module.register_forward_hook(after_conv))
        elif isinstance(module, _AFFINES):
            handles.append(module.register_forward_pre_hook(before_affine))
        elif next(module.children(), None) is None:
            handles.append(module.register_forward_pre_hook(before_other))
    run_with_hooks(model, example, handles)
    return pairs


def _scale_and_shift(affine: nn.Module, channels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The affine map `x → x * scale + shift` of an eval-mode BatchNorm or a LearnableAffine, per channel."""
    if isinstance(affine, nn.BatchNorm2d):
        return batchnorm_affine(affine, torch.float64)
    assert isinstance(affine, LearnableAffine)
    return affine.scale.double().expand(channels), affine.bias.double().expand(channels)


@torch.no_grad()
def fold_affine_into_conv(conv: nn.Conv2d | nn.ConvTranspose2d, affine: nn.Module) -> None:
    """Rewrites `conv` in place so that it computes `affine(conv(x))` (BatchNorm: eval-mode statistics)."""
    dtype = conv.weight.dtype
    channels = conv.out_channels
    scale, shift = _scale_and_shift(affine, channels)
    bias = conv.bias.double() if conv.bias is not None else torch.zeros_like(scale)
    weight = conv.weight.double()
    if isinstance(conv, nn.ConvTranspose2d):  # [in, out / groups, kh, kw]: output channels on axis 1
        out_per_group = weight.shape[1]
        weight = weight.reshape(conv.groups, -1, out_per_group, *weight.shape[2:])
        weight = weight * scale.reshape(conv.groups, 1, out_per_group, 1, 1)
        weight = weight.reshape(conv.weight.shape)
    else:
        weight = weight * scale.reshape(-1, 1, 1, 1)
    fused_bias = bias * scale + shift
    conv.weight.copy_(weight.to(dtype))
    if conv.bias is None:
        conv.bias = nn.Parameter(fused_bias.to(dtype))
    else:
        conv.bias.copy_(fused_bias.to(dtype))


def fold_affines(model: nn.Module, example: torch.Tensor) -> int:
    """Folds every conv → affine pair of `model` (found by running `example`); the number folded."""
    pairs = _conv_affine_pairs(model, example)
    convs = [conv for conv, _ in pairs]
    if len(set(convs)) != len(convs):  # a conv whose output two affine layers read cannot absorb both
        raise ValueError("a conv feeds several affine layers; refusing to fold")
    modules = dict(model.named_modules())
    for conv_name, affine_name in pairs:
        conv, affine = modules[conv_name], modules[affine_name]
        assert isinstance(conv, _CONVS) and isinstance(affine, _AFFINES)
        fold_affine_into_conv(conv, affine)
        parent_name, _, child = affine_name.rpartition(".")
        parent = modules[parent_name] if parent_name else model
        setattr(parent, child, nn.Identity())
    return len(pairs)


def fuse_for_inference(model: nn.Module) -> nn.Module:
    """Prepares a model for fast inference, in place; returns it.

    Folds its conv → affine pairs (see the module docstring) and, for ptocr's task models, switches them to
    channels-last memory (weights now, inputs at every call), where oneDNN's convolutions are fastest. `model`
    must have `example_input_shape` (every ptocr task model has). Idempotent.
    """
    parameter = next(model.parameters())
    example = torch.zeros(model.example_input_shape, dtype=parameter.dtype, device=parameter.device)
    fold_affines(model, example)
    if isinstance(model, TaskModel):
        model.to(memory_format=torch.channels_last)
        model.memory_format = torch.channels_last
    return model
