"""Which constants of a paddle2onnx graph the ONNX reader takes as weights: decided by consumer, not by name.

Small hand-made graphs lay out what the real exports hold (real files: test_published_onnx.py,
test_ppocrv5_mobile.py): newer paddle2onnx releases store weights under helper-like names
(`p2o.pd_op.reshape.N.0`, `helper.reshape.N`, `p2o.pd_op.unsqueeze.N.0`, `auto.cast.N`, onnxsim's `_v_N`),
beside helper constants that are not weights (`helper.constant.N`, an attention scale), and older ones
store Paddle's own names in Constant nodes.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from ptocr.errors import ModelFormatError
from ptocr.formats.onnx_reader import onnx_weights_from_bytes

C = 4  # channels


class _Graph:
    """Builds a graph node by node; `as_constant_nodes` stores every constant in a Constant node instead of
    an initializer (paddle2onnx's older form)."""

    def __init__(self, *, as_constant_nodes: bool = False) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[TensorProto] = []
        self.as_constant_nodes = as_constant_nodes
        self.rng = np.random.default_rng(0)

    def const(self, name: str, value: np.ndarray | list[float] | list[int]) -> str:
        array = np.asarray(value)
        if array.dtype.kind == "f":
            array = array.astype(np.float32)
        tensor = numpy_helper.from_array(array, name)
        if self.as_constant_nodes:
            self.nodes.append(helper.make_node("Constant", [], [name], value=tensor))
        else:
            self.initializers.append(tensor)
        return name

    def weight(self, name: str, *shape: int) -> str:
        # No element is exactly 0 or 1, so that no weight looks like a helper's value.
        return self.const(name, 0.1 + self.rng.random(shape))

    def op(self, op_type: str, *inputs: str, **attrs: object) -> str:
        out = f"t{len(self.nodes)}"
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], **attrs))
        return out

    def bytes(self, output: str, input_shape: list[int | str]) -> bytes:
        self.nodes.append(helper.make_node("Identity", [output], ["y"]))
        graph = helper.make_graph(
            self.nodes,
            "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, input_shape)],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
            self.initializers,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
        return model.SerializeToString()


def _detector(names: dict[str, str], *, as_constant_nodes: bool = False) -> bytes:
    """Conv + separate bias, a learnable affine block, a Conv with its own bias, a resize, a deconv + bias.

    `names` maps each weight's role to the name it is stored under. In the Constant-node form biases go
    through a Reshape to [1, C, 1, 1], as paddle2onnx writes them before constant folding.
    """
    g = _Graph(as_constant_nodes=as_constant_nodes)

    def bias(role: str) -> str:
        if as_constant_nodes:
            return g.op("Reshape", g.weight(names[role], C), g.const(f"shape_{role}", [1, C, 1, 1]))
        return g.weight(names[role], 1, C, 1, 1)

    h = g.op("Conv", "x", g.weight(names["conv0.w"], C, 3, 3, 3), pads=[1, 1, 1, 1])
    h = g.op("HardSwish", g.op("Identity", g.op("Add", h, bias("conv0.b"))))
    h = g.op("Identity", g.op("Mul", g.weight(names["lab.scale"], 1), h))
    h = g.op("Add", h, g.weight(names["lab.shift"], 1))
    h = g.op("Conv", h, g.weight(names["conv1.w"], C, C, 1, 1), g.weight(names["conv1.b"], C))
    h = g.op("Add", h, g.const("helper.constant.1", np.array(3.0)))  # hard swish, decomposed: not a bias
    h = g.op("Div", g.op("Mul", h, g.op("Clip", h, g.const("helper.constant.2", np.array(0.0)),
                                        g.const("helper.constant.3", np.array(6.0)))),
             g.const("helper.constant.4", np.array(6.0)))  # fmt: skip
    h = g.op("Resize", h, g.const("helper.constant.5", np.zeros(0)), g.const("helper.constant.0", [1.0, 1.0, 2.0, 2.0]))
    h = g.op("ConvTranspose", h, g.weight(names["deconv.w"], C, 1, 2, 2), strides=[2, 2])
    if as_constant_nodes:
        b = g.op("Reshape", g.weight(names["deconv.b"], 1), g.const("shape_deconv", [1, 1, 1, 1]))
    else:
        b = g.weight(names["deconv.b"], 1, 1, 1, 1)
    return g.bytes(g.op("Sigmoid", g.op("Add", g.op("Identity", h), b)), [1, 3, 8, 8])


DETECTOR_ROLES = ["conv0.w", "conv0.b", "lab.scale", "lab.shift", "conv1.w", "conv1.b", "deconv.w", "deconv.b"]
NEW_DETECTOR_NAMES = {
    "conv0.w": "conv2d_0.w_0", "conv0.b": "p2o.pd_op.reshape.0.0", "lab.scale": "learnable_affine_block_0.w_0",
    "lab.shift": "learnable_affine_block_0.w_1", "conv1.w": "conv2d_1.w_0", "conv1.b": "_v_7",
    "deconv.w": "auto.cast.0", "deconv.b": "p2o.pd_op.reshape.1.0",
}  # fmt: skip
PADDLE_DETECTOR_NAMES = {
    "conv0.w": "conv2d_0.w_0", "conv0.b": "conv2d_0.b_0", "lab.scale": "learnable_affine_block_0.w_0",
    "lab.shift": "learnable_affine_block_0.w_1", "conv1.w": "conv2d_1.w_0", "conv1.b": "conv2d_1.b_0",
    "deconv.w": "conv2d_transpose_0.w_0", "deconv.b": "conv2d_transpose_0.b_0",
}  # fmt: skip


def _recogniser(names: dict[str, str], *, as_constant_nodes: bool = False, old_scale_op: bool = False) -> bytes:
    """conv1d (as Unsqueeze → Conv → Squeeze) + BN, LayerNorm decomposed, a linear qkv layer, attention with
    its query scale (a Mul, or with `old_scale_op` Paddle's scale op: Mul then Add of 0), a linear head."""
    g = _Graph(as_constant_nodes=as_constant_nodes)
    axis = g.const("helper.constant.10", [2])
    h = g.op("Unsqueeze", "x", axis)  # N×C×T → N×C×1×T
    if as_constant_nodes:
        w = g.op("Unsqueeze", g.weight(names["conv1d.w"], C, C, 3), g.const("helper.constant.11", [2]))
    else:
        w = g.weight(names["conv1d.w"], C, C, 1, 3)
    h = g.op("Conv", h, w, pads=[0, 1, 0, 1])
    h = g.op("BatchNormalization", h, *(g.weight(f"batch_norm_0.{k}", C) for k in ("w_0", "b_0", "w_1", "w_2")))
    h = g.op("Transpose", g.op("Squeeze", h, g.const("helper.constant.12", [2])), perm=[0, 2, 1])  # N×T×C
    centred = g.op("Sub", h, g.op("ReduceMean", h, axes=[-1]))
    variance = g.op("ReduceMean", g.op("Pow", centred, g.const("helper.constant.13", np.array(2.0))), axes=[-1])
    h = g.op("Div", centred, g.op("Sqrt", g.op("Add", variance, g.const("helper.constant.14", np.array(1e-6)))))
    if as_constant_nodes:
        gamma = g.op("Reshape", g.weight(names["ln.gamma"], C), g.const("helper.constant.15", [C]))
        beta = g.op("Reshape", g.weight(names["ln.beta"], C), g.const("helper.constant.16", [C]))
    else:
        gamma, beta = g.weight(names["ln.gamma"], C), g.weight(names["ln.beta"], C)
    h = g.op("Add", g.op("Mul", h, gamma), beta)
    qkv = g.op("Add", g.op("MatMul", h, g.weight(names["qkv.w"], C, 3 * C)), g.weight(names["qkv.b"], 3 * C))
    qkv = g.op("Transpose", g.op("Reshape", qkv, g.const("helper.constant.17", [0, -1, 3, C])), perm=[2, 0, 1, 3])

    def part(k: int) -> str:
        bounds = (g.const(f"s{k}", [k]), g.const(f"e{k}", [k + 1]), g.const(f"a{k}", [0]))
        return g.op("Squeeze", g.op("Slice", qkv, *bounds), g.const(f"q{k}", [0]))

    q = g.op("Mul", g.op("Identity", part(0)), g.const(names["scale"], [0.5]))
    if old_scale_op:
        q = g.op("Add", q, g.const("Constant_1", [0.0]))
    attention = g.op("Softmax", g.op("MatMul", q, g.op("Transpose", part(1), perm=[0, 2, 1])), axis=-1)
    h = g.op("MatMul", attention, part(2))
    logits = g.op("Add", g.op("MatMul", h, g.weight(names["fc.w"], C, 7)), g.weight(names["fc.b"], 7))
    return g.bytes(g.op("Softmax", logits, axis=-1), [1, C, 6])


RECOGNISER_ROLES = ["conv1d.w", "bn", "ln.gamma", "ln.beta", "qkv.w", "qkv.b", "fc.w", "fc.b"]
NEW_RECOGNISER_NAMES = {
    "conv1d.w": "p2o.pd_op.unsqueeze.0.0", "ln.gamma": "helper.reshape.0", "ln.beta": "helper.reshape.1",
    "qkv.w": "linear_0.w_0", "qkv.b": "linear_0.b_0", "scale": "auto.cast.1", "fc.w": "linear_1.w_0",
    "fc.b": "linear_1.b_0",
}  # fmt: skip
PADDLE_RECOGNISER_NAMES = {
    "conv1d.w": "conv1d_0.w_0", "ln.gamma": "layer_norm_0.w_0", "ln.beta": "layer_norm_0.b_0",
    "qkv.w": "linear_0.w_0", "qkv.b": "linear_0.b_0", "scale": "p2o.pd_op.full.0.0", "fc.w": "linear_1.w_0",
    "fc.b": "linear_1.b_0",
}  # fmt: skip
BATCH_NORM = ["batch_norm_0.w_0", "batch_norm_0.b_0", "batch_norm_0.w_1", "batch_norm_0.w_2"]


def _expected(roles: list[str], names: dict[str, str]) -> list[str]:
    return [n for role in roles for n in (BATCH_NORM if role == "bn" else [names[role]])]


def test_newer_paddle2onnx_names_are_weights_by_consumer() -> None:
    weights = onnx_weights_from_bytes(_detector(NEW_DETECTOR_NAMES))
    assert list(weights) == _expected(DETECTOR_ROLES, NEW_DETECTOR_NAMES)  # in first-use order
    assert [weights[n].shape for n in ("p2o.pd_op.reshape.0.0", "_v_7", "auto.cast.0")] == [(1, C, 1, 1), (C,),
                                                                                           (C, 1, 2, 2)]  # fmt: skip
    weights = onnx_weights_from_bytes(_recogniser(NEW_RECOGNISER_NAMES))
    assert list(weights) == _expected(RECOGNISER_ROLES, NEW_RECOGNISER_NAMES)
    assert weights["p2o.pd_op.unsqueeze.0.0"].shape == (C, C, 1, 3)


@pytest.mark.parametrize("old_scale_op", [False, True], ids=["scale-mul", "paddle-scale-op"])
def test_constant_node_exports_with_paddle_names_read_alike(old_scale_op: bool) -> None:
    det = onnx_weights_from_bytes(_detector(PADDLE_DETECTOR_NAMES, as_constant_nodes=True))
    assert list(det) == _expected(DETECTOR_ROLES, PADDLE_DETECTOR_NAMES)
    new_det = onnx_weights_from_bytes(_detector(NEW_DETECTOR_NAMES))
    for a, b in zip(det.values(), new_det.values(), strict=True):  # same values, pre-folding shapes
        np.testing.assert_array_equal(a.reshape(b.shape), b)
    rec = onnx_weights_from_bytes(
        _recogniser(PADDLE_RECOGNISER_NAMES, as_constant_nodes=True, old_scale_op=old_scale_op)
    )
    assert list(rec) == _expected(RECOGNISER_ROLES, PADDLE_RECOGNISER_NAMES)


def test_helper_constants_are_not_weights() -> None:
    """Scalars of decomposed ops, resize scales, the attention scale (also as Paddle's scale op), a clipped
    affine step (a decomposed hard sigmoid), an Add after a Conv that has its own bias."""
    for data in (_detector(NEW_DETECTOR_NAMES), _recogniser(NEW_RECOGNISER_NAMES),
                 _recogniser(PADDLE_RECOGNISER_NAMES, as_constant_nodes=True, old_scale_op=True)):  # fmt: skip
        names = set(onnx_weights_from_bytes(data))
        assert not {n for n in names if n.startswith(("helper.constant", "Constant_", "auto.cast.1", "p2o.pd_op.full"))}

    g = _Graph()
    h = g.op("Conv", "x", g.weight("conv2d_0.w_0", C, 3, 1, 1), g.weight("conv2d_0.b_0", C))
    h = g.op("Add", g.op("Mul", h, g.const("helper.constant.0", [0.2])), g.const("helper.constant.1", [0.5]))
    h = g.op("Clip", h, g.const("lo", np.array(0.0)), g.const("hi", np.array(1.0)))
    h = g.op("Add", g.op("MatMul", g.weight("a", 2, 2), g.weight("b", 2, 2)), h)  # a product of constants
    assert list(onnx_weights_from_bytes(g.bytes(h, [1, 3, 2, 2]))) == ["conv2d_0.w_0", "conv2d_0.b_0"]


def test_a_graph_of_helpers_only_holds_no_weights() -> None:
    g = _Graph()
    h = g.op("Mul", g.op("Add", "x", g.const("helper.constant.0", [3.0])), g.const("helper.constant.1", [0.5]))
    with pytest.raises(ModelFormatError, match="holds no weights"):
        onnx_weights_from_bytes(g.bytes(h, [1, 3]))


def test_the_hand_made_graphs_are_networks_onnxruntime_runs() -> None:
    ort = pytest.importorskip("onnxruntime")
    graphs = [
        (_detector(NEW_DETECTOR_NAMES), (1, 3, 8, 8), (1, 1, 32, 32)),
        (_detector(PADDLE_DETECTOR_NAMES, as_constant_nodes=True), (1, 3, 8, 8), (1, 1, 32, 32)),
        (_recogniser(NEW_RECOGNISER_NAMES), (1, C, 6), (1, 6, 7)),
        (_recogniser(PADDLE_RECOGNISER_NAMES, as_constant_nodes=True, old_scale_op=True), (1, C, 6), (1, 6, 7)),
    ]
    for data, shape, out in graphs:
        session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
        (y,) = session.run(None, {"x": np.full(shape, 0.5, np.float32)})
        assert y.shape == out and np.isfinite(y).all()
