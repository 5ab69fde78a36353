"""Places foreign weights onto a module by structure, strictly.

Paddle parameter names depend on the order layers were built in, and PaddleOCR's structured names
changed between code generations, so names are not a reliable key. What is stable is the network's
dataflow: the Paddle program (and a paddle2onnx graph) consumes parameters in the order the layers
run, and so does our module's forward. `parameter_use_order` records that order for a module by
tracing one forward pass; `map_by_structure` pairs the two sequences, checking every shape.
Within one layer, tensors follow registration order unless the layer type declares the order its
foreign op consumes them in (`register_tensor_order`; recurrent layers: all weights, then all biases).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from ..errors import WeightsMismatchError

_SKIPPED_BUFFERS = ("num_batches_tracked",)

TensorOrder = Callable[[nn.Module], list[str]]
_TENSOR_ORDERS: dict[type[nn.Module], TensorOrder] = {}


def register_tensor_order(layer_type: type[nn.Module], order: TensorOrder) -> None:
    """Declares the order in which a layer type's own tensors are consumed by a foreign program.

    Most layers hand their tensors over in registration order (weight, bias, running statistics), which
    is what `parameter_use_order` assumes; a layer whose foreign op takes them in another order says so
    here. `order(layer)` returns the layer's local tensor names (parameters and buffers) in that order;
    it applies to subclasses too.
    """
    _TENSOR_ORDERS[layer_type] = order


def _weights_then_biases(layer: nn.Module) -> list[str]:
    # Paddle's `rnn` op takes its WeightList as every weight of every layer and direction (input then
    # hidden), then every bias in the same order; torch registers weight_ih, weight_hh, bias_ih, bias_hh
    # per layer and direction. paddle2onnx reads that list the same way.
    names = [name for name, _ in layer.named_parameters(recurse=False)]
    return [n for n in names if n.startswith("weight_")] + [n for n in names if n.startswith("bias_")]


register_tensor_order(nn.RNNBase, _weights_then_biases)


def _local_tensors(layer: nn.Module) -> list[tuple[str, torch.Tensor]]:
    """The layer's own parameters and buffers, in the order a foreign program consumes them."""
    tensors = dict([*layer.named_parameters(recurse=False), *layer.named_buffers(recurse=False)])
    order = next((_TENSOR_ORDERS[t] for t in type(layer).__mro__ if t in _TENSOR_ORDERS), None)
    if order is None:
        return list(tensors.items())
    names = order(layer)
    if sorted(names) != sorted(tensors):
        raise ValueError(f"the declared tensor order of {type(layer).__name__} does not list exactly its tensors")
    return [(name, tensors[name]) for name in names]


@dataclass(frozen=True)
class TargetSlot:
    """A tensor of the module, in use order. Linear weights are stored transposed by Paddle/ONNX."""

    key: str
    shape: tuple[int, ...]
    transposed_source: bool = False


def run_with_hooks(module: nn.Module, example: torch.Tensor, handles: Sequence[RemovableHandle]) -> None:
    """One forward pass of `example` without gradients, then removes the hooks `handles` registered."""
    try:
        with torch.no_grad():
            module(example)
    finally:
        for handle in handles:
            handle.remove()


def parameter_use_order(module: nn.Module, example: torch.Tensor) -> list[TargetSlot]:
    """The module's parameters and buffers in the order its forward pass first uses their layers.

    Raises WeightsMismatchError if some parameter belongs to a layer the forward pass never runs:
    such a tensor could not be placed from an inference program.
    """
    names = {id(m): name for name, m in module.named_modules()}
    order: list[nn.Module] = []
    seen: set[int] = set()

    def record(layer: nn.Module, _inputs: object) -> None:
        if id(layer) not in seen:
            seen.add(id(layer))
            order.append(layer)

    handles = [
        m.register_forward_pre_hook(record)
        for m in module.modules()
        if any(True for _ in m.parameters(recurse=False)) or any(True for _ in m.buffers(recurse=False))
    ]
    run_with_hooks(module, example, handles)

    slots: list[TargetSlot] = []
    for layer in order:
        prefix = names[id(layer)]
        for local, tensor in _local_tensors(layer):
            if local in _SKIPPED_BUFFERS:
                continue
            key = f"{prefix}.{local}" if prefix else local
            slots.append(TargetSlot(key, tuple(tensor.shape), isinstance(layer, nn.Linear) and local == "weight"))
    used = {slot.key for slot in slots}
    idle = [k for k in module.state_dict() if k not in used and not k.endswith(_SKIPPED_BUFFERS)]
    if idle:
        raise WeightsMismatchError(
            f"{type(module).__name__} has tensors its forward pass never uses: {', '.join(idle[:8])}"
        )
    return slots


def _fit(array: np.ndarray, slot: TargetSlot) -> np.ndarray | None:
    if slot.transposed_source and array.ndim == 2:
        array = array.T
    if tuple(array.shape) == slot.shape:
        return array
    # paddle2onnx stores some biases broadcast-ready (1, C, 1, 1); the values are the same.
    if array.size == int(np.prod(slot.shape)) and tuple(d for d in array.shape if d != 1) == tuple(
        d for d in slot.shape if d != 1
    ):
        return array.reshape(slot.shape)
    return None


def map_by_structure(source: Mapping[str, np.ndarray], targets: Sequence[TargetSlot]) -> dict[str, np.ndarray]:
    """Pairs source tensors (in use order) with target slots (in use order), one to one.

    Every source tensor is used exactly once and every slot filled; any count or shape disagreement
    raises WeightsMismatchError naming the first tensors that differ.
    """
    items = list(source.items())
    mapped: dict[str, np.ndarray] = {}
    for index, (slot, (name, array)) in enumerate(zip(targets, items, strict=False)):
        fitted = _fit(np.asarray(array), slot)
        if fitted is None:
            raise WeightsMismatchError(
                f"tensor #{index}: the file's {name!r} has shape {list(np.shape(array))} but the module's "
                f"{slot.key!r} needs {list(slot.shape)}: the weights are for a different architecture"
            )
        mapped[slot.key] = fitted
    if len(items) != len(targets):
        missing = [slot.key for slot in targets[len(items) :]]
        unexpected = [name for name, _ in items[len(targets) :]]
        parts = [f"the file has {len(items)} tensors, the module needs {len(targets)}"]
        if missing:
            parts.append(f"missing: {', '.join(missing[:8])}{' …' if len(missing) > 8 else ''}")
        if unexpected:
            parts.append(f"unexpected: {', '.join(unexpected[:8])}{' …' if len(unexpected) > 8 else ''}")
        raise WeightsMismatchError("; ".join(parts))
    return mapped


def _replace_tensor(layer: nn.Module, name: str, shape: tuple[int, ...]) -> None:
    current = getattr(layer, name)
    fresh = torch.zeros(shape, dtype=current.dtype, device=current.device)
    if isinstance(current, nn.Parameter):
        setattr(layer, name, nn.Parameter(fresh, requires_grad=current.requires_grad))
    else:
        setattr(layer, name, fresh)


def _adopt_widths(layer: nn.Module, shapes: Mapping[str, tuple[int, ...]], where: str) -> None:
    """Gives one layer the channel counts of the tensors it is about to receive (kernels stay as they are)."""
    refused = WeightsMismatchError(
        f"{where}: the file's tensors {dict(shapes)} do not fit a {type(layer).__name__} with other channel counts"
    )
    if isinstance(layer, nn.Conv2d) and set(shapes) <= {"weight", "bias"} and "weight" in shapes:
        out_channels, per_group, *kernel = shapes["weight"]
        depthwise = layer.groups > 1 and layer.groups == layer.in_channels == layer.out_channels
        if tuple(kernel) != layer.kernel_size or (depthwise and per_group != 1):
            raise refused
        if depthwise:
            layer.groups = out_channels
        elif layer.groups != 1:
            raise refused
        layer.in_channels, layer.out_channels = per_group * layer.groups, out_channels
    elif isinstance(layer, nn.ConvTranspose2d) and set(shapes) <= {"weight", "bias"} and "weight" in shapes:
        in_channels, out_channels, *kernel = shapes["weight"]
        if tuple(kernel) != layer.kernel_size or layer.groups != 1:
            raise refused
        layer.in_channels, layer.out_channels = in_channels, out_channels
    elif isinstance(layer, nn.BatchNorm2d) and len(set(shapes.values())) == 1:
        (layer.num_features,) = next(iter(shapes.values()))
        shapes = {name: (layer.num_features,) for name in ("weight", "bias", "running_mean", "running_var")}
    elif isinstance(layer, nn.Linear) and set(shapes) <= {"weight", "bias"} and "weight" in shapes:
        layer.out_features, layer.in_features = shapes["weight"]
    else:
        raise refused
    for name, shape in shapes.items():
        _replace_tensor(layer, name, shape)


def adopt_source_widths(module: nn.Module, source: Mapping[str, np.ndarray], example: torch.Tensor) -> None:
    """Resizes the convolutions, batch norms and linear layers of `module` to the channel counts of the tensors
    `load_by_structure` will place on them: a pruned network (PaddleSlim's filter pruning) is its architecture
    with fewer channels in some layers, and its inference program declares them.

    Only widths change: a different tensor count, kernel size or layer kind still raises WeightsMismatchError.
    """
    targets = parameter_use_order(module, example)
    if len(targets) != len(source):
        raise WeightsMismatchError(f"the file has {len(source)} tensors, the module needs {len(targets)}")
    changed: dict[str, dict[str, tuple[int, ...]]] = {}
    for slot, array in zip(targets, source.values(), strict=True):
        shape = tuple(np.shape(array))
        if slot.transposed_source and len(shape) == 2:
            shape = shape[::-1]
        if shape != slot.shape:
            path, _, local = slot.key.rpartition(".")
            changed.setdefault(path, {})[local] = shape
    for path, shapes in changed.items():
        _adopt_widths(module.get_submodule(path), shapes, path)
    try:
        run_with_hooks(module, example, [])
    except RuntimeError as exc:  # widths that do not chain: a layer reads more channels than the last one made
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise WeightsMismatchError(f"the file's channel counts do not make a working network: {first_line}") from None


def load_by_structure(
    module: nn.Module, source: Mapping[str, np.ndarray], example: torch.Tensor
) -> dict[str, str]:
    """Maps `source` onto `module` with `map_by_structure` and loads it with strict key checking.

    Returns where each source tensor went: source name → module tensor key.
    """
    targets = parameter_use_order(module, example)
    mapped = map_by_structure(source, targets)
    state = module.state_dict()
    new_state = {}
    for key, current in state.items():
        if key in mapped:
            new_state[key] = torch.tensor(np.ascontiguousarray(mapped[key]), dtype=current.dtype)
        else:  # only the skipped counters reach here
            new_state[key] = current
    module.load_state_dict(new_state, strict=True)
    return {name: slot.key for name, slot in zip(source, targets, strict=True)}
