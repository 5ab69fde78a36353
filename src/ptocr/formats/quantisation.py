"""Quantised Paddle inference programs (PaddleSlim's quantisation-aware training, as PaddleOCR 1.x's "slim" and
`*_quant` models were exported): which weights are quantised, at which scales.

Such a program computes every quantised convolution or matrix product on integers held in float32:

    q = round(127 · (1/s_in) · clip(x, −s_in, s_in))          fake_quantize_moving_average_abs_max
    y = conv(q, W)                                               W stored as integers in [−127, 127]
    out = y · s_w[c] · s_in / (127 · 127)                        fake_channel_wise_dequantize_max_abs

The scales are persistable variables like the weights (`<activation>@scale`, `channel_scale_N`), read where
the program uses them. This module pairs them with the weight they belong to, from the program's data flow,
and takes them out of the weights placed by structure: a network's layers hold weights; how a layer quantises
its input is a property of the layer, attached after loading (`ptocr.models.quantisation`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import ModelFormatError
from .program import PaddleOp, PaddleProgram

_QUANTISE = "fake_quantize_moving_average_abs_max"
_DEQUANTISE = "fake_channel_wise_dequantize_max_abs"
#: Quantised compute ops → (activation input slot, weight slot).
_COMPUTE_SLOTS = {"conv2d": ("Input", "Filter"), "depthwise_conv2d": ("Input", "Filter"), "mul": ("X", "Y")}
#: Quantisation ops of other schemes (PaddleSlim 2.x's `quantize_linear`, quantise-dequantise pairs, …).
_OTHER_QUANT_OPS = frozenset({
    "fake_quantize_abs_max", "fake_quantize_range_abs_max", "fake_channel_wise_quantize_abs_max",
    "fake_quantize_dequantize_moving_average_abs_max", "fake_quantize_dequantize_abs_max",
    "fake_channel_wise_quantize_dequantize_abs_max", "fake_dequantize_max_abs", "quantize_linear",
    "dequantize_linear", "moving_average_abs_max_scale",
})  # fmt: skip
#: PaddlePaddle's `round_type` 1: round half away from zero (what fluid 1.8's `std::round` did; its files
#: carry no `round_type` attribute).
ROUND_HALF_AWAY = 1


@dataclass(frozen=True)
class QuantisedWeight:
    """How one convolution or matrix product of a quantised program quantises its input and its weight.

    `weight_scales` has one entry per output channel (the weight's axis 0 for a conv, its axis 1 for `mul`).
    """

    weight: str
    input_scale: float
    weight_scales: np.ndarray
    input_bits: int
    weight_bits: int
    round_type: int


def _only(op: PaddleOp, slot: str, *, outputs: bool = False) -> str:
    names = (op.outputs if outputs else op.inputs).get(slot, ())
    if len(names) != 1:
        raise ModelFormatError(f"quantised program: {op.type} has {len(names)} {slot!r} variables, expected one")
    return names[0]


def _int_attr(op: PaddleOp, name: str, default: int) -> int:
    value = op.attrs.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ModelFormatError(f"quantised program: {op.type}'s {name!r} is {value!r}, not an integer")
    return value


def _int_pair_attr(op: PaddleOp, name: str, default: tuple[int, int]) -> tuple[int, ...]:
    value = op.attrs.get(name, default)
    if not isinstance(value, tuple) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ModelFormatError(f"quantised program: {op.type}'s {name!r} is {value!r}, not a list of integers")
    return value


def _stored(tensors: Mapping[str, np.ndarray], name: str, role: str) -> np.ndarray:
    if name not in tensors:
        raise ModelFormatError(f"quantised program: the {role} {name!r} is not a stored (persistable) tensor")
    return np.asarray(tensors[name])


def _scalar(tensors: Mapping[str, np.ndarray], name: str) -> float:
    value = _stored(tensors, name, "activation scale").astype(np.float32)
    if value.size != 1 or not np.isfinite(value).all() or value.reshape(()) < 0:
        raise ModelFormatError(f"quantised program: the activation scale {name!r} is not one number ≥ 0")
    return float(value.reshape(()))


def split_quantisation(
    program: PaddleProgram, tensors: Mapping[str, np.ndarray]
) -> tuple[dict[str, np.ndarray], dict[str, QuantisedWeight]]:
    """The program's weights without its quantisation scales, and the quantisation of each quantised weight,
    keyed by the weight's variable name. A float program gives its tensors back and an empty dict.

    Raises ModelFormatError for quantisation ops of other schemes, a quantised activation that feeds no
    quantised op, a quantised op without its dequantisation, weights that are not integers in range, or
    scales that disagree with the program's data flow.
    """
    types = set(program.op_types())
    other = sorted(types & _OTHER_QUANT_OPS)
    if other:
        raise ModelFormatError(f"quantised program: quantisation ops {', '.join(other)} are not supported")
    if _QUANTISE not in types and _DEQUANTISE not in types:
        return dict(tensors), {}
    quantised_inputs: dict[str, tuple[str, int, int]] = {}  # quantised activation → (scale, bits, round type)
    dequantise_of: dict[str, PaddleOp] = {}  # compute output → its dequantisation op
    for op in program.ops:
        if op.type == _QUANTISE:
            round_type = _int_attr(op, "round_type", ROUND_HALF_AWAY)
            if round_type != ROUND_HALF_AWAY:
                raise ModelFormatError(
                    f"quantised program: round_type {round_type} (round half to even) is not supported; "
                    "PaddleOCR's slim models round half away from zero"
                )
            quantised_inputs[_only(op, "Out", outputs=True)] = (
                _only(op, "InScale"),
                _int_attr(op, "bit_length", 8),
                round_type,
            )
        elif op.type == _DEQUANTISE:
            dequantise_of[_only(op, "X")] = op
    specs: dict[str, QuantisedWeight] = {}
    scale_names: set[str] = set()
    consumed: set[str] = set()
    for op in program.ops:
        slots = _COMPUTE_SLOTS.get(op.type)
        if slots is None:
            continue
        activation, weight = _only(op, slots[0]), _only(op, slots[1])
        if activation not in quantised_inputs:
            continue
        consumed.add(activation)
        input_scale, input_bits, round_type = quantised_inputs[activation]
        output = _only(op, "Output" if op.type != "mul" else "Out", outputs=True)
        dequantise = dequantise_of.get(output)
        if dequantise is None:
            raise ModelFormatError(f"quantised program: the {op.type} reading {weight!r} is never dequantised")
        scales = dequantise.inputs.get("Scales", ())
        if len(scales) != 2 or scales[1] != input_scale:
            raise ModelFormatError(
                f"quantised program: the dequantisation of {weight!r} does not use its input's scale {input_scale!r}"
            )
        bits = _int_pair_attr(dequantise, "quant_bits", (8, 8))
        if len(bits) != 2 or bits[1] != input_bits or not 2 <= bits[0] <= 16 or not 2 <= input_bits <= 16:
            raise ModelFormatError(f"quantised program: unsupported quantisation bits {bits} for {weight!r}")
        array = _stored(tensors, weight, "weight")
        if array.ndim == 0:
            raise ModelFormatError(f"quantised program: the {op.type} weight {weight!r} is a scalar")
        weight_scales = _stored(tensors, scales[0], "weight scale").astype(np.float32).reshape(-1)
        channels = array.shape[0] if op.type != "mul" else array.shape[-1]
        if weight_scales.size != channels:
            raise ModelFormatError(
                f"quantised program: {scales[0]!r} has {weight_scales.size} scales for the {channels} output "
                f"channels of {weight!r}"
            )
        limit = 2 ** (bits[0] - 1) - 1
        if not (np.array_equal(array, np.round(array)) and np.abs(array).max(initial=0) <= limit):
            raise ModelFormatError(f"quantised program: {weight!r} does not hold integers in [−{limit}, {limit}]")
        specs[weight] = QuantisedWeight(
            weight, _scalar(tensors, input_scale), weight_scales, input_bits, bits[0], round_type
        )
        scale_names.update(scales)
    idle = sorted(set(quantised_inputs) - consumed)
    if idle:
        raise ModelFormatError(f"quantised program: quantised activations no conv or mul reads: {', '.join(idle[:5])}")
    if len(specs) != len(dequantise_of):
        raise ModelFormatError("quantised program: a dequantisation op follows no quantised conv or mul")
    return {name: array for name, array in tensors.items() if name not in scale_names}, specs
