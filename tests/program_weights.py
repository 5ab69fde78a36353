"""Seeded weights for Paddle programs that ship without theirs, scaled so that a comparison on them means
something: random weights by the role the program gives each persistable, then calibrated by running the
program (with ptocr's interpreter) so that every layer's activations stay of order one and sigmoid / softmax
outputs are not saturated."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import fx

from ptocr.formats import PaddleProgram
from ptocr.interpreter import build_program, kernels

#: Op type → the input slot holding the weight that scales its output linearly.
_WEIGHT_SLOTS = {"conv2d": "Filter", "depthwise_conv2d": "Filter", "conv2d_transpose": "Filter", "matmul_v2": "Y"}
_LINEAR_KERNELS = (kernels.conv2d, kernels.conv2d_transpose, kernels.matmul)


def random_persistables(program: PaddleProgram, seed: int, dtype: type = np.float64) -> dict[str, np.ndarray]:
    """He-normal conv filters and linear weights, BatchNorm with positive variances, LayerNorm scales near
    one, small shifts and biases."""
    rng = np.random.default_rng(seed)
    shapes = {name: spec.shape for name, spec in program.persistables.items()}
    roles: dict[str, tuple[str, int]] = {}
    for op in program.ops:
        if op.type in ("conv2d", "depthwise_conv2d"):
            for name in op.inputs.get("Filter", ()):
                roles[name] = ("filter", int(np.prod(shapes[name][1:])))
        elif op.type == "conv2d_transpose":
            for name in op.inputs.get("Filter", ()):  # in, out, kh, kw; stride 2 × kernel 2: `in` inputs each
                roles[name] = ("filter", int(shapes[name][0]))
        elif op.type == "matmul_v2":
            for name in op.inputs.get("Y", ()):
                if name in shapes:
                    roles[name] = ("filter", int(shapes[name][0]))
        elif op.type in ("batch_norm", "layer_norm"):
            prefix = "bn" if op.type == "batch_norm" else "ln"
            for slot in ("Scale", "Bias", "Mean", "Variance"):
                for name in op.inputs.get(slot, ()):
                    roles[name] = (f"{prefix}_{slot.lower()}", 0)
    values: dict[str, np.ndarray] = {}
    for name in sorted(shapes):
        shape = shapes[name]
        role, fan_in = roles.get(name, ("bias", 0))
        # Drawn in float32 (half the time for tens of millions of values), then widened.
        if role == "filter":
            value = rng.standard_normal(shape, dtype=np.float32) * np.float32(np.sqrt(2.0 / max(fan_in, 1)))
        elif role in ("bn_scale", "ln_scale"):
            value = 1.0 + 0.2 * rng.uniform(-1.0, 1.0, shape)
        elif role == "bn_variance":
            value = rng.uniform(0.5, 1.5, shape)
        else:  # BN/LN shifts, BN means, conv and linear biases
            value = 0.1 * rng.standard_normal(shape)
        values[name] = np.asarray(value, dtype=dtype)
    return values


def _calibrated_weight_names(program: PaddleProgram) -> list[str]:
    """The weights calibration rescales, in program order: of bias-free convolutions and of matmuls."""
    names = []
    for op in program.ops:
        slot = _WEIGHT_SLOTS.get(op.type)
        weight = op.inputs.get(slot, ())[:1] if slot else ()
        if weight and weight[0] in program.persistables and not op.inputs.get("Bias"):
            names.append(weight[0])
    return names


class _Calibrator(fx.Interpreter):
    """Runs the program node by node; each linear op's weight is rescaled so its output has the target std."""

    def __init__(self, module: fx.GraphModule, targets: Mapping[str, float]) -> None:
        super().__init__(module)
        self.targets = dict(targets)

    def run_node(self, n: fx.Node) -> object:
        out = super().run_node(n)
        if n.op != "call_function" or n.target not in _LINEAR_KERNELS:
            return out
        weight = n.args[1]
        if not isinstance(weight, fx.Node) or weight.op != "get_attr" or weight.target not in self.targets:
            return out
        buffer = self.module.get_buffer(str(weight.target))
        factor = self.targets.pop(str(weight.target)) / max(float(out.std()), 1e-12)
        buffer.mul_(factor)  # linear in its weight (biases are separate ops): the output scales alike
        return out * factor


def calibrate(
    program: PaddleProgram, weights: Mapping[str, np.ndarray], feeds: Sequence[np.ndarray], final_std: float = 1.0
) -> dict[str, np.ndarray]:
    """`weights` with every bias-free conv / transposed conv / matmul weight rescaled, in program order, so
    that the op's output on `feeds` has std 1 (`final_std` for the last one)."""
    module = build_program(program, weights).double()
    names = _calibrated_weight_names(program)
    attributes = module.persistable_attributes
    targets = {attributes[name]: 1.0 for name in names}
    if names:
        targets[attributes[names[-1]]] = final_std
    with torch.no_grad():
        _Calibrator(module, targets).run(*(torch.from_numpy(np.asarray(f, np.float64)) for f in feeds))
    return {name: module.get_buffer(attributes[name]).numpy().astype(weights[name].dtype) for name in weights}
