"""The op table: Paddle op type → lowering, the function that turns one op into fx nodes.

A lowering reads the op's inputs and attributes through its `ProgramBuilder`, refuses attribute values it
does not implement (an `UnsupportedProgramError` naming the op, rather than computing something subtly
different), and emits calls to the torch kernels of `kernels.py`. Ops that keep a sequence batch's rows
(elementwise, activations, `mul`, `top_k`, quantisation, ...) pass the LoD of their input on, as Paddle's
ShareLoD does; ops that make sequences (`im2sequence`, `ctc_align`) set a new one.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from . import kernels as k
from .graph import Lowering, ProgramBuilder

LOWERINGS: dict[str, Lowering] = {}


def _register(*types: str) -> Callable[[Lowering], Lowering]:
    def wrap(fn: Lowering) -> Lowering:
        for name in types:
            LOWERINGS[name] = fn
        return fn

    return wrap


def _nchw(b: ProgramBuilder, attr: str) -> None:
    layout = b.attr(attr, "NCHW")
    if layout not in ("NCHW", "AnyLayout"):
        raise b.fail(f"{attr} {layout!r} is not supported (NCHW only)")


def _tensor_inputs_absent(b: ProgramBuilder, *slots: str) -> None:
    for slot in slots:
        if b.has(slot):
            raise b.fail(f"sizes given by the tensor input {slot!r} are not supported (attributes only)")


# --- convolution, pooling, normalisation ------------------------------------------------------------


@_register("conv2d", "depthwise_conv2d")
def _conv(b: ProgramBuilder) -> None:
    _nchw(b, "data_format")
    node = b.call(
        k.conv2d, b.input("Input"), b.input("Filter"), b.optional("Bias"),
        strides=tuple(b.attr("strides", (1, 1))), paddings=tuple(b.attr("paddings", (0, 0))),
        dilations=tuple(b.attr("dilations", (1, 1))), groups=int(b.attr("groups", 1)) or 1,
        padding_algorithm=b.attr("padding_algorithm", "EXPLICIT"),
    )  # fmt: skip
    b.output("Output", node)


@_register("conv2d_transpose", "depthwise_conv2d_transpose")
def _conv_transpose(b: ProgramBuilder) -> None:
    _nchw(b, "data_format")
    node = b.call(
        k.conv2d_transpose, b.input("Input"), b.input("Filter"), b.optional("Bias"),
        strides=tuple(b.attr("strides", (1, 1))), paddings=tuple(b.attr("paddings", (0, 0))),
        dilations=tuple(b.attr("dilations", (1, 1))), groups=int(b.attr("groups", 1)) or 1,
        padding_algorithm=b.attr("padding_algorithm", "EXPLICIT"),
        output_padding=tuple(b.attr("output_padding", ())), output_size=tuple(b.attr("output_size", ())),
    )  # fmt: skip
    b.output("Output", node)


@_register("pool2d")
def _pool(b: ProgramBuilder) -> None:
    _nchw(b, "data_format")
    kind = b.attr("pooling_type", "max")
    if kind not in ("max", "avg"):
        raise b.fail(f"pooling_type {kind!r}")
    paddings = tuple(b.attr("paddings", (0, 0)))
    if len(paddings) == 4 and (paddings[0] != paddings[1] or paddings[2] != paddings[3]):
        raise b.fail(f"asymmetric paddings {list(paddings)}")
    node = b.call(
        k.pool2d, b.input("X"), pooling_type=kind, ksize=tuple(b.attr("ksize")),
        strides=tuple(b.attr("strides", (1, 1))), paddings=paddings[::2] if len(paddings) == 4 else paddings,
        global_pooling=bool(b.attr("global_pooling", False)), adaptive=bool(b.attr("adaptive", False)),
        exclusive=bool(b.attr("exclusive", True)), ceil_mode=bool(b.attr("ceil_mode", False)),
        padding_algorithm=b.attr("padding_algorithm", "EXPLICIT"),
    )  # fmt: skip
    b.output("Out", node)


@_register("batch_norm")
def _batch_norm(b: ProgramBuilder) -> None:
    _nchw(b, "data_layout")
    node = b.call(
        k.batch_norm, b.input("X"), b.input("Scale"), b.input("Bias"), b.input("Mean"), b.input("Variance"),
        epsilon=float(b.attr("epsilon", 1e-5)),
    )  # fmt: skip
    b.output("Y", node)


@_register("layer_norm")
def _layer_norm(b: ProgramBuilder) -> None:
    node = b.call(
        k.layer_norm, b.input("X"), b.optional("Scale"), b.optional("Bias"),
        begin_norm_axis=int(b.attr("begin_norm_axis", 1)), epsilon=float(b.attr("epsilon", 1e-5)),
    )  # fmt: skip
    b.output("Y", node)


# --- activations and other row-keeping ops ---------------------------------------------------------


def _unary(fn: Callable[..., torch.Tensor], **attrs: tuple[str, object]) -> Lowering:
    """A lowering for an op X → Out that keeps X's LoD; `attrs` maps kernel keyword → (attribute, default)."""

    def lower(b: ProgramBuilder) -> None:
        kwargs = {key: type(default)(b.attr(name, default)) for key, (name, default) in attrs.items()}
        b.output("Out", b.call(fn, b.input("X"), **kwargs), b.lod("X"))

    return lower


LOWERINGS.update({
    "relu": _unary(torch.relu),
    "sigmoid": _unary(torch.sigmoid),
    "tanh": _unary(torch.tanh),
    "exp": _unary(torch.exp),
    "sqrt": _unary(torch.sqrt),
    "abs": _unary(torch.abs),
    "relu6": _unary(k.relu6, threshold=("threshold", 6.0)),
    "leaky_relu": _unary(k.leaky_relu, alpha=("alpha", 0.02)),
    "gelu": _unary(k.gelu, approximate=("approximate", False)),
    "swish": _unary(k.swish, beta=("beta", 1.0)),
    "hard_swish": _unary(k.hard_swish, threshold=("threshold", 6.0), scale=("scale", 6.0), offset=("offset", 3.0)),
    "hard_sigmoid": _unary(k.hard_sigmoid, slope=("slope", 0.2), offset=("offset", 0.5)),
    "softmax": _unary(k.softmax, axis=("axis", -1)),
    "assign": _unary(k.assign),
})  # fmt: skip


@_register("scale")
def _scale(b: ProgramBuilder) -> None:
    _tensor_inputs_absent(b, "ScaleTensor")
    node = b.call(
        k.scale, b.input("X"), scale=float(b.attr("scale", 1.0)), bias=float(b.attr("bias", 0.0)),
        bias_after_scale=bool(b.attr("bias_after_scale", True)),
    )  # fmt: skip
    b.output("Out", node, b.lod("X"))


@_register("dropout")
def _dropout(b: ProgramBuilder) -> None:
    upscale = b.attr("dropout_implementation", "downgrade_in_infer") == "upscale_in_train"
    keep = 1.0 if upscale else 1.0 - float(b.attr("dropout_prob", 0.5))
    b.output("Out", b.call(k.dropout, b.input("X"), keep=keep), b.lod("X"))


_ELEMENTWISE = {
    "elementwise_add": k.elementwise_add, "elementwise_sub": k.elementwise_sub,
    "elementwise_mul": k.elementwise_mul, "elementwise_div": k.elementwise_div,
    "elementwise_max": k.elementwise_max, "elementwise_min": k.elementwise_min,
    "elementwise_pow": k.elementwise_pow,
}  # fmt: skip


def _elementwise(b: ProgramBuilder) -> None:
    node = b.call(_ELEMENTWISE[b.op.type], b.input("X"), b.input("Y"), axis=int(b.attr("axis", -1)))
    b.output("Out", node, b.lod("X"))


LOWERINGS.update(dict.fromkeys(_ELEMENTWISE, _elementwise))


@_register("matmul_v2", "matmul")
def _matmul(b: ProgramBuilder) -> None:
    v2 = b.op.type == "matmul_v2"
    node = b.call(
        k.matmul, b.input("X"), b.input("Y"),
        trans_x=bool(b.attr("trans_x" if v2 else "transpose_X", False)),
        trans_y=bool(b.attr("trans_y" if v2 else "transpose_Y", False)), alpha=float(b.attr("alpha", 1.0)),
    )  # fmt: skip
    b.output("Out", node)


@_register("mul")
def _mul(b: ProgramBuilder) -> None:
    node = b.call(
        k.mul, b.input("X"), b.input("Y"), x_num_col_dims=int(b.attr("x_num_col_dims", 1)),
        y_num_col_dims=int(b.attr("y_num_col_dims", 1)),
    )  # fmt: skip
    b.output("Out", node, b.lod("X"))


# --- shapes -----------------------------------------------------------------------------------------


@_register("reshape2", "reshape")
def _reshape(b: ProgramBuilder) -> None:
    sizes = b.inputs("ShapeTensor") or b.inputs("Shape")  # a tensor list wins over `Shape`, both over the attr
    b.output("Out", b.call(k.reshape, b.input("X"), *sizes, shape=tuple(b.attr("shape", ()))))


@_register("transpose2", "transpose")
def _transpose(b: ProgramBuilder) -> None:
    b.output("Out", b.call(k.transpose, b.input("X"), axis=tuple(b.attr("axis"))))


@_register("flatten_contiguous_range")
def _flatten_range(b: ProgramBuilder) -> None:
    node = b.call(
        k.flatten_range, b.input("X"), start_axis=int(b.attr("start_axis", 1)), stop_axis=int(b.attr("stop_axis", -1))
    )
    b.output("Out", node)


@_register("flatten2", "flatten")
def _flatten(b: ProgramBuilder) -> None:
    b.output("Out", b.call(k.flatten_to_matrix, b.input("X"), axis=int(b.attr("axis", 1))))


@_register("squeeze2", "squeeze")
def _squeeze(b: ProgramBuilder) -> None:
    b.output("Out", b.call(k.squeeze, b.input("X"), axes=tuple(b.attr("axes", ()))))


@_register("unsqueeze2", "unsqueeze")
def _unsqueeze(b: ProgramBuilder) -> None:
    _tensor_inputs_absent(b, "AxesTensor", "AxesTensorList")
    b.output("Out", b.call(k.unsqueeze, b.input("X"), axes=tuple(b.attr("axes", ()))))


@_register("concat")
def _concat(b: ProgramBuilder) -> None:
    _tensor_inputs_absent(b, "AxisTensor")
    b.output("Out", b.call(k.concat, *b.inputs("X"), axis=int(b.attr("axis", 0))), b.lod("X"))


@_register("split")
def _split(b: ProgramBuilder) -> None:
    _tensor_inputs_absent(b, "AxisTensor", "SectionsTensorList")
    parts = b.call(
        k.split, b.input("X"), axis=int(b.attr("axis", 0)), num=int(b.attr("num", 0)),
        sections=tuple(b.attr("sections", ())),
    )  # fmt: skip
    for index, name in enumerate(b.op.outputs.get("Out", ())):
        b.values[name] = b.item(parts, index)


@_register("slice")
def _slice(b: ProgramBuilder) -> None:
    _tensor_inputs_absent(b, "StartsTensor", "EndsTensor", "StartsTensorList", "EndsTensorList")
    node = b.call(
        k.slice_, b.input("Input"), axes=tuple(b.attr("axes")), starts=tuple(b.attr("starts")),
        ends=tuple(b.attr("ends")), decrease_axis=tuple(b.attr("decrease_axis", ())),
    )  # fmt: skip
    b.output("Out", node)


@_register("shape")
def _shape(b: ProgramBuilder) -> None:
    b.output("Out", b.call(k.shape_of, b.input("Input")))


@_register("fill_constant")
def _fill_constant(b: ProgramBuilder) -> None:
    _tensor_inputs_absent(b, "ValueTensor")
    dtype = int(b.attr("dtype", 5))
    if dtype not in k._FILL_DTYPES:
        raise b.fail(f"dtype code {dtype}")
    text = b.attr("str_value", "")
    value = float(text) if text else float(b.attr("value", 0.0))
    sizes = b.inputs("ShapeTensor") or b.inputs("ShapeTensorList")  # as Paddle: ShapeTensor first
    shape = tuple(b.attr("shape", ()))
    if not sizes and any(d < 0 for d in shape):
        raise b.fail(f"shape {list(shape)} has unknown sizes but no size tensors")
    node = b.call(k.fill_constant, b.anchor, *sizes, shape=shape, value=value, dtype=dtype)
    b.output("Out", node)


@_register("arg_max")
def _arg_max(b: ProgramBuilder) -> None:
    node = b.call(
        k.arg_max, b.input("X"), axis=int(b.attr("axis", -1)), keepdims=bool(b.attr("keepdims", False)),
        flatten=bool(b.attr("flatten", False)), dtype=int(b.attr("dtype", 3)),
    )  # fmt: skip
    b.output("Out", node)


@_register("top_k")
def _top_k(b: ProgramBuilder) -> None:
    _tensor_inputs_absent(b, "K")
    pair = b.call(k.top_k, b.input("X"), k=int(b.attr("k", 1)))
    b.output("Out", b.item(pair, 0), b.lod("X"))
    b.output("Indices", b.item(pair, 1), b.lod("X"))


# --- resampling -------------------------------------------------------------------------------------


@_register("nearest_interp", "nearest_interp_v2", "bilinear_interp", "bilinear_interp_v2")
def _interp(b: ProgramBuilder) -> None:
    _nchw(b, "data_layout")
    _tensor_inputs_absent(b, "OutSize", "SizeTensor", "Scale")
    bilinear = b.op.type.startswith("bilinear")
    method = b.attr("interp_method", "bilinear" if bilinear else "nearest")
    if method != ("bilinear" if bilinear else "nearest"):
        raise b.fail(f"interp_method {method!r}")
    align_corners = bool(b.attr("align_corners", True))
    raw = b.attr("scale", ())
    scale = tuple(float(v) for v in raw) if isinstance(raw, tuple) else ((float(raw),) if raw else ())
    # v1 ops size from a scale but sample at in/out; v2 ops sample at 1/scale when a scale is given.
    legacy = not b.op.type.endswith("_v2")
    if bilinear and not align_corners and int(b.attr("align_mode", 1)) != 0:
        raise b.fail("align_mode 1 (source index i·in/out without half-pixel centres) is not supported")
    fn = k.bilinear_interp if bilinear else k.nearest_interp
    node = b.call(
        fn, b.input("X"), out_h=int(b.attr("out_h", -1)), out_w=int(b.attr("out_w", -1)), scale=scale,
        align_corners=align_corners, ratio_from_scale=not legacy,
    )  # fmt: skip
    b.output("Out", node)


# --- sequences --------------------------------------------------------------------------------------


@_register("im2sequence")
def _im2sequence(b: ProgramBuilder) -> None:
    _tensor_inputs_absent(b, "Y")
    paddings = tuple(b.attr("paddings", (0, 0, 0, 0)))
    pair = b.call(
        k.im2sequence, b.input("X"), kernels=tuple(b.attr("kernels")), strides=tuple(b.attr("strides", (1, 1))),
        paddings=paddings if len(paddings) == 4 else paddings * 2,
    )  # fmt: skip
    b.output("Out", b.item(pair, 0), b.item(pair, 1))


def _sequence_lod(b: ProgramBuilder, slot: str) -> torch.fx.Node:
    lod = b.lod(slot)
    if lod is None:
        raise b.fail(f"input {slot!r} is not a sequence batch (no LoD reaches it from im2sequence)")
    return lod


@_register("lstm")
def _lstm(b: ProgramBuilder) -> None:
    _tensor_inputs_absent(b, "H0", "C0")
    if b.attr("use_peepholes", False):
        raise b.fail("peephole connections are not supported")
    activations = tuple(b.attr(a, d) for a, d in (("gate_activation", "sigmoid"), ("cell_activation", "tanh"),
                                                  ("candidate_activation", "tanh")))  # fmt: skip
    if activations != ("sigmoid", "tanh", "tanh"):
        raise b.fail(f"activations {activations} (only sigmoid gates with tanh cell and candidate)")
    lod = _sequence_lod(b, "Input")
    reverse = bool(b.attr("is_reverse", False))
    pair = b.call(k.fluid_lstm, b.input("Input"), lod, b.input("Weight"), b.input("Bias"), is_reverse=reverse)
    b.output("Hidden", b.item(pair, 0), lod)
    if b.op.outputs.get("Cell"):
        b.output("Cell", b.item(pair, 1), lod)


@_register("rnn")
def _rnn(b: ProgramBuilder) -> None:
    _tensor_inputs_absent(b, "SequenceLength")
    if b.attr("mode", "LSTM") != "LSTM":
        raise b.fail(f"mode {b.attr('mode')!r} (LSTM only)")
    states = b.inputs("PreState")
    weights = b.inputs("WeightList")
    layers, bidirectional = int(b.attr("num_layers", 1)), bool(b.attr("is_bidirec", False))
    if len(states) != 2 or len(weights) != 4 * layers * (2 if bidirectional else 1):
        raise b.fail(f"{len(states)} states and {len(weights)} weights for {layers} layers")
    triple = b.call(k.rnn_lstm, b.input("Input"), *states, *weights, num_layers=layers, bidirectional=bidirectional)
    b.output("Out", b.item(triple, 0))
    for index, name in enumerate(b.op.outputs.get("State", ())[:2]):
        b.values[name] = b.item(triple, index + 1)


@_register("ctc_align")
def _ctc_align(b: ProgramBuilder) -> None:
    _tensor_inputs_absent(b, "InputLength")
    pair = b.call(
        k.ctc_align, b.input("Input"), _sequence_lod(b, "Input"), blank=int(b.attr("blank", 0)),
        merge_repeated=bool(b.attr("merge_repeated", True)),
    )  # fmt: skip
    b.output("Output", b.item(pair, 0), b.item(pair, 1))


# --- quantisation -----------------------------------------------------------------------------------


@_register("fake_quantize_moving_average_abs_max", "fake_quantize_range_abs_max")
def _fake_quantize(b: ProgramBuilder) -> None:
    round_type = int(b.attr("round_type", 1))  # absent in 1.x programs, whose kernel rounded half away
    if round_type not in (0, 1):
        raise b.fail(f"round_type {round_type}")
    bits = int(b.attr("bit_length", 8))
    node = b.call(k.fake_quantize, b.input("X"), b.input("InScale"), bit_length=bits, round_type=round_type)
    b.output("Out", node, b.lod("X"))
    if b.op.outputs.get("OutScale"):  # in test mode the scale is not updated: the stored one goes on
        b.output("OutScale", b.input("InScale"))


@_register("fake_channel_wise_dequantize_max_abs")
def _channel_dequantize(b: ProgramBuilder) -> None:
    scales = b.inputs("Scales")
    if len(scales) not in (1, 2):
        raise b.fail(f"{len(scales)} scales (1 or 2 expected)")
    bits = tuple(int(v) for v in b.attr("quant_bits", (8,)))
    if len(bits) < len(scales):
        raise b.fail(f"quant_bits {list(bits)} for {len(scales)} scales")
    node = b.call(k.channel_dequantize, b.input("X"), *scales, quant_bits=bits, quant_axis=int(b.attr("quant_axis", 0)))
    b.output("Out", node, b.lod("X"))


@_register("fake_dequantize_max_abs")
def _dequantize(b: ProgramBuilder) -> None:
    max_range = float(b.attr("max_range", 127.0))
    if not math.isfinite(max_range) or max_range == 0.0:
        raise b.fail(f"max_range {max_range}")
    b.output("Out", b.call(k.dequantize, b.input("X"), b.input("Scale"), max_range=max_range), b.lod("X"))
