"""Inference-time fusion: rewrites a built network into fewer, larger kernels computing the same function.

Four rewrites, each generic per layer type (never per model), the first three applied where one traced forward
pass shows that the data flow allows it:

1. **Affine into conv.** A per-channel affine layer — BatchNorm (every family), PP-LCNetV3's scalar
   `LearnableAffine` — that is the only reader of a convolution's output becomes part of that conv's weights
   and bias.
2. **Activation into conv.** A ReLU / hard swish / swish layer that is the only reader of a conv's output runs
   inside the conv: oneDNN applies it as a post-op while the output is still in cache, instead of one more
   pass over memory (PP-LCNetV3 spent about a fifth of its time in such passes).
3. **Scalar affine into the convs that read it.** PP-LCNetV3 ends every activation with `a * x + c`; when
   only convolutions read that, it is folded into their weights (`a * W`, bias `+ c * ΣW`). A padded conv
   pads `a * x + c` with zeros, which folding would change; such readers take only the scale, and the shift
   stays as one in-place `x + c / a` (`fold_input_affines`).
4. **1×1 convs as matrix products** on the CPU (`FusedConv2d`): no per-input-size oneDNN plan.

The data flow comes from one forward pass of a small input with every leaf layer hooked and every tensor
function outside a layer recorded (`_DataFlow`): a rewrite needs the layer to run exactly once and the
tensor it rewrites to have exactly the readers the rule names, so a residual connection or a second reader
keeps the layers apart. Folding moves float32 rounding by a few ulps: tests/test_fusion.py checks every
architecture in float64 against the unfused network, and the exact-mode bars (PaddleOCR's texts and boxes on
the dev images, reference tensors within det 2e-4, cls 1e-4, rec 5e-4) are asserted with fusion on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial

import torch
from torch import nn
from torch.nn import functional as F
from torch.overrides import TorchFunctionMode

from .base import TaskModel
from .layers import batchnorm_affine
from .pplcnetv3 import LearnableAffine

_CONVS = (nn.Conv2d, nn.ConvTranspose2d)
_AFFINES = (nn.BatchNorm2d, LearnableAffine)
#: Activation layers a conv can run as a oneDNN post-op, by the post-op's name; each is exactly torch's.
_POST_OPS: dict[type[nn.Module], str] = {nn.ReLU: "relu", nn.Hardswish: "hardswish", nn.SiLU: "swish"}
_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": F.relu,
    "hardswish": F.hardswish,
    "swish": F.silu,
}
_IN_PLACE_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": F.relu_,
    "hardswish": partial(F.hardswish, inplace=True),
    "swish": partial(F.silu, inplace=True),
}


def _onednn_pointwise_conv() -> Callable[..., torch.Tensor] | None:
    """oneDNN's convolution with a fused post-op (the kernel torch.compile emits on CPU), where this build has it."""
    if not torch.backends.mkldnn.is_available():
        return None
    try:
        return torch.ops.mkldnn._convolution_pointwise
    except (AttributeError, RuntimeError):
        return None


_POINTWISE_CONV = _onednn_pointwise_conv()


def _is_matrix_product(conv: nn.Conv2d) -> bool:
    """A 1×1 conv with stride 1, no padding and one group: a matrix product over the channels."""
    return (
        conv.kernel_size == (1, 1)
        and conv.stride == (1, 1)
        and conv.padding == (0, 0)
        and conv.groups == 1
        and conv.padding_mode == "zeros"
    )


def _rewritable(conv: nn.Module) -> bool:
    """A plain `Conv2d` (or a `FusedConv2d`) with explicit zero padding: what the rewrites may change."""
    return type(conv) in (nn.Conv2d, FusedConv2d) and conv.padding_mode == "zeros" and not isinstance(conv.padding, str)


class FusedConv2d(nn.Conv2d):
    """A `Conv2d` that also applies an activation (`activation`) to its output. Same parameters as the conv
    it was made from.

    On the CPU a 1×1 conv (stride 1, no padding, one group) is computed as the matrix product it is, on the
    channels-last input seen as an (N·H·W)×C matrix, the activation applied in place after it: oneDNN plans
    (JIT-compiles) every convolution anew for each input size, which cost the detector, whose input size
    changes with every image, about 20 ms an image for its 1×1 convs alone; the BLAS product needs no plan.
    Other convs on the CPU in float32 without autograd run the activation inside oneDNN's convolution; elsewhere
    (CUDA, float64, training) it is a separate torch function with the same result up to float rounding.
    """

    def __init__(self, *args, activation: str | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if activation is not None and activation not in _ACTIVATIONS:
            raise ValueError(f"unsupported activation {activation!r}; supported: {', '.join(_ACTIVATIONS)}")
        self.activation = activation
        self.pointwise = _is_matrix_product(self)

    @classmethod
    def from_conv(cls, conv: nn.Conv2d) -> FusedConv2d:
        """A fused conv sharing `conv`'s parameters (`conv` itself if it is one)."""
        if isinstance(conv, FusedConv2d):
            return conv
        if not _rewritable(conv):
            raise ValueError(
                f"only a plain Conv2d with explicit zero padding can be fused, not {type(conv).__name__} "
                f"with {conv.padding_mode} padding {conv.padding}"
            )
        fused = cls(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size,
            conv.stride,
            conv.padding,
            conv.dilation,
            conv.groups,
            bias=conv.bias is not None,
            device=conv.weight.device,
            dtype=conv.weight.dtype,
        )
        fused.weight = conv.weight
        fused.bias = conv.bias
        fused.train(conv.training)
        return fused

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pointwise and x.device.type == "cpu" and x.dim() == 4:
            out = F.linear(x.permute(0, 2, 3, 1), self.weight.flatten(1), self.bias).permute(0, 3, 1, 2)
            if self.activation is None:
                return out
            if torch.is_grad_enabled():
                return _ACTIVATIONS[self.activation](out)
            return _IN_PLACE_ACTIVATIONS[self.activation](out)
        if (
            _POINTWISE_CONV is not None
            and self.activation is not None
            and x.device.type == "cpu"
            and x.dtype == torch.float32
            and not torch.is_grad_enabled()
            and torch.backends.mkldnn.enabled
        ):
            convolution = (self.weight, self.bias, self.padding, self.stride, self.dilation, self.groups)
            return _POINTWISE_CONV(x, *convolution, self.activation, [], "")
        out = F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        return _ACTIVATIONS[self.activation](out) if self.activation is not None else out

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, activation={self.activation}"


# --- the data flow of one forward pass --------------------------------------------------------------------


@dataclass(eq=False)
class _Node:
    """One call of a leaf layer (`module`), or of a tensor function outside every layer (`module` None)."""

    module: nn.Module | None
    readers: list[_Node] = field(default_factory=list)


def _tensors(value: object) -> Iterator[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _tensors(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item)


class _DataFlow(TorchFunctionMode):
    """Records which calls read the tensor each call produced. A tensor is identified by the object; an
    in-place call re-produces it, so a later reader reads the in-place result, as it does at run time."""

    def __init__(self) -> None:
        super().__init__()
        self.producer: dict[int, _Node] = {}
        self.calls: dict[int, list[_Node]] = defaultdict(list)
        self._alive: list[torch.Tensor] = []  # keeps ids from being reused during the pass
        self._depth = 0
        self._open: list[_Node] = []

    def _read(self, node: _Node, values: object) -> None:
        for tensor in _tensors(values):
            producer = self.producer.get(id(tensor))
            if producer is not None and node not in producer.readers:
                producer.readers.append(node)

    def _produce(self, node: _Node, values: object) -> None:
        for tensor in _tensors(values):
            self.producer[id(tensor)] = node
            self._alive.append(tensor)

    def __torch_function__(self, func: Callable, types: object, args: tuple = (), kwargs: dict | None = None) -> object:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if self._depth == 0 and next(_tensors(out), None) is not None:
            node = _Node(None)
            self._read(node, (args, kwargs))
            self._produce(node, out)
        return out

    def before_layer(self, layer: nn.Module, inputs: tuple) -> None:
        if self._depth == 0:
            node = _Node(layer)
            self._read(node, inputs)
            self._open.append(node)
            self.calls[id(layer)].append(node)
        self._depth += 1

    def after_layer(self, _layer: nn.Module, _inputs: tuple, output: object) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._produce(self._open.pop(), output)

    def read_result(self, output: object) -> None:
        """Marks the network's output as read (by its caller)."""
        self._read(_Node(None), output)

    def only_call(self, layer: nn.Module) -> _Node | None:
        """The node of `layer` if the pass ran it exactly once."""
        calls = self.calls.get(id(layer), [])
        return calls[0] if len(calls) == 1 else None


def _trace(model: nn.Module, example: torch.Tensor) -> _DataFlow:
    flow = _DataFlow()
    handles = []
    for module in model.modules():
        # Identity returns its input object: leaving it unhooked makes it transparent.
        if next(module.children(), None) is None and not isinstance(module, nn.Identity):
            handles.append(module.register_forward_pre_hook(flow.before_layer))
            handles.append(module.register_forward_hook(flow.after_layer))
    try:
        with torch.inference_mode(), flow:
            flow.producer[id(example)] = _Node(None)
            flow.read_result(model(example))
    finally:
        for handle in handles:
            handle.remove()
    return flow


def _sole_reader(flow: _DataFlow, layer: nn.Module) -> nn.Module | None:
    """The layer that alone reads `layer`'s output, both run exactly once; None otherwise."""
    node = flow.only_call(layer)
    if node is None or len(node.readers) != 1:
        return None
    reader = node.readers[0].module
    return reader if reader is not None and flow.only_call(reader) is not None else None


def _replace(model: nn.Module, old: nn.Module, new: nn.Module) -> None:
    for parent in model.modules():
        for name, child in parent.named_children():
            if child is old:
                setattr(parent, name, new)


# --- rule 1: an affine layer into the conv before it --------------------------------------------------------


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
    """Folds every affine layer that alone reads a conv's output into that conv; the number folded."""
    flow = _trace(model, example)
    pairs = []
    for conv in model.modules():
        if isinstance(conv, _CONVS) and not (isinstance(conv, FusedConv2d) and conv.activation is not None):
            reader = _sole_reader(flow, conv)
            if isinstance(reader, _AFFINES):
                pairs.append((conv, reader))
    for conv, affine in pairs:
        fold_affine_into_conv(conv, affine)
        _replace(model, affine, nn.Identity())
    return len(pairs)


# --- rule 2: an activation into the conv before it ----------------------------------------------------------


def fuse_activations(model: nn.Module, example: torch.Tensor) -> int:
    """Moves every activation layer that alone reads a conv's output into that conv; the number moved."""
    flow = _trace(model, example)
    pairs = []
    for conv in model.modules():
        if not _rewritable(conv) or getattr(conv, "activation", None) is not None:
            continue
        reader = _sole_reader(flow, conv)
        if isinstance(reader, tuple(_POST_OPS)):
            pairs.append((conv, reader))
    for conv, activation in pairs:
        fused = FusedConv2d.from_conv(conv)
        fused.activation = next(name for kind, name in _POST_OPS.items() if isinstance(activation, kind))
        _replace(model, conv, fused)
        _replace(model, activation, nn.Identity())
    return len(pairs)


# --- rule 3: a scalar affine into the convs after it --------------------------------------------------------


class Shift(nn.Module):
    """`x + shift` for a constant; with `inplace=True` it overwrites its input when no gradient is recorded."""

    def __init__(self, shift: float, inplace: bool = False) -> None:
        super().__init__()
        self.shift = shift
        self.inplace = inplace

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.inplace and not torch.is_grad_enabled():
            return x.add_(self.shift)
        return x + self.shift

    def extra_repr(self) -> str:
        return f"shift={self.shift}, inplace={self.inplace}"


@torch.no_grad()
def _fold_input_affine(conv: nn.Conv2d, scale: float, shift: float) -> None:
    """Rewrites `conv` in place so that it computes `conv(scale * x + shift)`; exact only for an unpadded conv
    or a zero shift (see `fold_input_affines`)."""
    dtype = conv.weight.dtype
    weight = conv.weight.double()
    if shift:
        bias = conv.bias.double() if conv.bias is not None else torch.zeros(conv.out_channels, dtype=torch.float64)
        fused_bias = (bias + shift * weight.sum(dim=(1, 2, 3))).to(dtype)  # before `weight` changes: it may alias
        if conv.bias is None:
            conv.bias = nn.Parameter(fused_bias)
        else:
            conv.bias.copy_(fused_bias)
    conv.weight.copy_((weight * scale).to(dtype))


def _readers_are_plain_convs(flow: _DataFlow, readers: list[nn.Module | None]) -> bool:
    return bool(readers) and all(_rewritable(conv) and flow.only_call(conv) is not None for conv in readers)


def fold_input_affines(model: nn.Module, example: torch.Tensor) -> int:
    """Folds every scalar `LearnableAffine` whose output only convolutions read into those convs; the number
    folded.

    `conv(a * x + c)` is `conv'(x)` with weights `a * W` and bias `+ c * ΣW` — but only without padding: a padded
    conv pads `a * x + c` with zeros, where `x` would be padded with `-c / a`. So when some reader pads, the
    readers take only the scale, and the affine becomes the shift `x + c / a` (one pass over memory instead
    of two), which padding with zeros then matches exactly.
    """
    flow = _trace(model, example)
    plans = []
    for affine in model.modules():
        node = flow.only_call(affine) if isinstance(affine, LearnableAffine) else None
        if node is None:
            continue
        readers = [reader.module for reader in node.readers]
        if not _readers_are_plain_convs(flow, readers):
            continue
        scale, shift = float(affine.scale.detach()), float(affine.bias.detach())
        padded = any(any(conv.padding) for conv in readers)
        if padded and scale == 0.0:
            continue
        plans.append((affine, readers, scale, shift, padded))
    for affine, readers, scale, shift, padded in plans:
        for conv in readers:
            _fold_input_affine(conv, scale, 0.0 if padded else shift)
        keep_shift = padded and shift != 0.0
        _replace(model, affine, Shift(shift / scale, affine.inplace) if keep_shift else nn.Identity())
    return len(plans)


def pointwise_convs_as_matrix_products(model: nn.Module) -> int:
    """Turns every plain 1×1 conv (stride 1, no padding, one group) into a `FusedConv2d`, which computes it as
    a matrix product on the CPU; the number turned."""
    convs = [conv for conv in model.modules() if type(conv) is nn.Conv2d and _is_matrix_product(conv)]
    for conv in convs:
        _replace(model, conv, FusedConv2d.from_conv(conv))
    return len(convs)


def fuse_for_inference(model: nn.Module) -> nn.Module:
    """Prepares a model for fast inference, in place; returns it.

    Applies the three rewrites of the module docstring and, for ptocr's task models, switches them to
    channels-last memory (weights now, inputs at every call), where oneDNN's convolutions are fastest. `model`
    must have `example_input_shape` (every ptocr task model has). Idempotent.
    """
    parameter = next(model.parameters())
    example = torch.zeros(model.example_input_shape, dtype=parameter.dtype, device=parameter.device)
    fold_affines(model, example)
    fuse_activations(model, example)
    fold_input_affines(model, example)
    pointwise_convs_as_matrix_products(model)
    if isinstance(model, TaskModel):
        model.to(memory_format=torch.channels_last)
        model.memory_format = torch.channels_last
    return model
