"""Reads the weights of a paddle2onnx export into the same name → array form as the Paddle readers.

paddle2onnx stores every Paddle parameter as a `Constant` node (or an initializer), under its Paddle name
or one of its own, next to helper constants it makes itself (shapes, scalars of decomposed ops). Parameters are
returned in the order the graph first consumes them, which follows the Paddle program's op order.

Recurrent layers are the exception. One Paddle `rnn` op (a stacked, possibly bidirectional LSTM or GRU)
takes its whole weight list at once, every weight of every layer and direction first, then every bias;
paddle2onnx turns it into one ONNX `LSTM`/`GRU` node per layer and feeds each from that layer's Paddle
tensors, regrouped and re-gated by helper nodes (or, after constant folding, from ready-made
`W`/`R`/`B` tensors in ONNX's layout and gate order). For such nodes the reader returns what the Paddle
program holds: the stack's tensors in Paddle's layout, gate order and weight-list order, at the place
the stack first consumes a weight, so that one structural mapping serves both formats.

Which constants are parameters is decided by what consumes them, not by their names: paddle2onnx's naming
changed across releases (newer ones store real weights as `p2o.pd_op.reshape.N.0`, `helper.reshape.N`,
`auto.cast.N` or, after onnxsim, `_v_N`, beside helper constants with equally anonymous names). A float
constant is a parameter when

- it is a parameter operand of a layer op: the weight or bias of Conv, ConvTranspose, Gemm and MatMul (whose
  other operand is data), the four tensors of BatchNormalization, scale and bias of Instance/LayerNormalization,
  the slope of PRelu;
- it is the operand of an Add that is the only consumer of such a layer op taking no bias itself: the bias
  paddle2onnx adds separately (a convolution's, a linear layer's);
- it is the scale or the shift of an affine step, a Mul by a constant whose only consumer is an Add of a
  constant: LayerNorm's γ and β after the normalisation, a learnable affine block (PP-LCNetV3), an unfused
  batch norm. Two such steps are not layers and stay helpers: Paddle's `scale` op applied to data an op
  only selected (an attention layer's queries sliced from its qkv product, times a scale, plus 0), and a
  clipped step (a decomposed hard sigmoid).

A constant counts as the operand it reaches through ops that only rearrange or retype its elements
(Reshape, Unsqueeze, Squeeze, Transpose, Flatten, Cast, Identity, taking it as their data input); data may
pass Identity nodes between a layer op and its bias or scale. Everything else is a helper: resize scales,
clip bounds, exponents and epsilons of decomposed ops, the attention scale multiplied into the queries,
zero initial states of recurrent layers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ModelFormatError
from .files import MAX_ONNX_BYTES, element_count, read_bounded

if TYPE_CHECKING:
    import onnx

#: `TensorProto.DataType` codes of the tensors an OCR export holds (float 32/16/64, signed/unsigned integers,
#: bool); strings, complex, bfloat16 and float8 tensors are refused before `numpy_helper` sees them.
_NUMERIC_TENSOR_TYPES = frozenset({1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13})


# Gate blocks per recurrent op: how many, and which ONNX blocks make Paddle's (= torch's) order.
# LSTM: ONNX i, o, f, c → Paddle i, f, c, o. GRU: ONNX z, r, h → Paddle r, z, c.
_RECURRENT_GATES: dict[str, tuple[int, tuple[int, ...]]] = {"LSTM": (4, (0, 2, 3, 1)), "GRU": (3, (1, 0, 2))}
# Ops paddle2onnx puts between the layers of one stacked rnn op (Transpose, then Reshape to N×T×dirs·H).
# A separate Paddle rnn op ends in an Identity node, which keeps two stacks apart.
_LAYER_JOINS = frozenset({"Transpose", "Reshape"})


# Operand positions that hold a layer's parameters. MatMul's and Gemm's parameters are whichever operands are
# constants (a linear layer's weight, on either side), so every position is listed.
_PARAMETER_OPERANDS: dict[str, tuple[int, ...]] = {
    "Conv": (1, 2),
    "ConvTranspose": (1, 2),
    "Gemm": (0, 1, 2),
    "MatMul": (0, 1),
    "BatchNormalization": (1, 2, 3, 4),
    "InstanceNormalization": (1, 2),
    "LayerNormalization": (1, 2),
    "PRelu": (1,),
}
# Layer ops whose bias paddle2onnx may add with a separate Add, and the operand that holds it when the op
# takes it itself (MatMul never does).
_BIAS_OPERAND: dict[str, int | None] = {"Conv": 2, "ConvTranspose": 2, "Gemm": 2, "MatMul": None}
# Ops that pass their data input's elements on with only their layout or type changed; their other inputs,
# if any, are integer shapes or axes.
_REARRANGING = frozenset({"Reshape", "Unsqueeze", "Squeeze", "Transpose", "Flatten", "Cast", "Identity"})
# Ops that select or move data without computing on it. Paddle's `scale` op (x·s + b with constant attributes,
# which paddle2onnx writes as Mul then Add) scales the queries an attention layer slices out of its qkv
# product; a layer's affine step follows a computation (a convolution, an activation, a normalisation).
_SELECTING = _REARRANGING | {"Slice", "Gather", "Split", "Concat", "Expand", "Tile"}


def _float_origins(graph: onnx.GraphProto, constants: dict[str, np.ndarray]) -> dict[str, str]:
    """Each tensor holding a float constant's values, rearranged at most, → that constant's name."""
    origin = {name: name for name, array in constants.items() if array.dtype.kind == "f"}
    for node in graph.node:  # ONNX lists nodes in dataflow order
        if node.op_type in _REARRANGING and node.input and node.output and node.input[0] in origin:
            origin.setdefault(node.output[0], origin[node.input[0]])
    return origin


def _only_consumer(name: str, consumers: dict[str, list[onnx.NodeProto]]) -> onnx.NodeProto | None:
    """The single node that reads tensor `name`, looking past Identity nodes; None if it has several or none."""
    seen: set[str] = set()
    while name not in seen:  # a malformed graph may loop
        seen.add(name)
        users = consumers.get(name, [])
        if len(users) != 1:
            return None
        if users[0].op_type != "Identity" or not users[0].output:
            return users[0]
        name = users[0].output[0]
    return None


def _producer_past_identity(name: str, producers: dict[str, onnx.NodeProto]) -> onnx.NodeProto | None:
    """The node that computes tensor `name`, looking past Identity nodes; None for inputs and constants."""
    seen: set[str] = set()
    while name in producers and name not in seen:
        seen.add(name)
        node = producers[name]
        if node.op_type != "Identity" or not node.input:
            return node
        name = node.input[0]
    return None


def _constant_operand(node: onnx.NodeProto, origin: dict[str, str]) -> str | None:
    """The constant of a binary op that combines one constant with data, else None."""
    if len(node.input) != 2:
        return None
    held = [origin[name] for name in node.input if name in origin]
    return held[0] if len(held) == 1 else None


def _parameter_names(graph: onnx.GraphProto, constants: dict[str, np.ndarray]) -> set[str]:
    """The float constants that are parameters of the network, by the rules in the module docstring."""
    origin = _float_origins(graph, constants)
    producers = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in dict.fromkeys(node.input):
            consumers.setdefault(name, []).append(node)
    found: set[str] = set()
    for node in graph.node:
        held = [origin[node.input[i]] for i in _PARAMETER_OPERANDS.get(node.op_type, ()) if i < len(node.input)
                and node.input[i] in origin]  # fmt: skip
        if node.op_type in ("MatMul", "Gemm") and len(held) == len(node.input):
            held = []  # a product of constants is not a layer
        found.update(held)
        if held and node.op_type in _BIAS_OPERAND and node.output:
            own = _BIAS_OPERAND[node.op_type]
            if own is None or len(node.input) <= own or not node.input[own]:
                add = _only_consumer(node.output[0], consumers)
                bias = _constant_operand(add, origin) if add is not None and add.op_type == "Add" else None
                if bias is not None:
                    found.add(bias)
        if node.op_type == "Mul" and node.output and (scale := _constant_operand(node, origin)) is not None:
            data = next(name for name in node.input if name not in origin)
            source = _producer_past_identity(data, producers)
            add = _only_consumer(node.output[0], consumers)
            shift = _constant_operand(add, origin) if add is not None and add.op_type == "Add" else None
            after_selection = source is not None and source.op_type in _SELECTING
            clipped = add is not None and any(user.op_type == "Clip" for out in add.output[:1] for user in
                                              consumers.get(out, []))  # fmt: skip
            if shift is not None and not after_selection and not clipped:
                found.update((scale, shift))
    return found


@dataclass
class _RecurrentStack:
    """The ONNX nodes (one per layer) that come from one Paddle `rnn` op."""

    nodes: list[onnx.NodeProto]
    #: Graph constants standing for the stack's weights; the first one met emits the whole stack.
    sources: set[str] = field(default_factory=set)
    weights: list[tuple[str, np.ndarray]] = field(default_factory=list)
    biases: list[tuple[str, np.ndarray]] = field(default_factory=list)

    def tensors(self) -> list[tuple[str, np.ndarray]]:
        """Paddle's weight-list order: weights of all layers and directions, then their biases."""
        return self.weights + self.biases


def _recurrent_stacks(graph: onnx.GraphProto, producers: dict[str, onnx.NodeProto]) -> list[_RecurrentStack]:
    """Recurrent nodes grouped into stacks: a node whose input is the previous layer's output, passed
    only through paddle2onnx's Transpose/Reshape joint, continues that layer's stack."""
    stack_of_output: dict[str, _RecurrentStack] = {}
    stacks: list[_RecurrentStack] = []
    for node in graph.node:
        if node.op_type not in _RECURRENT_GATES or not node.input or not node.output:
            continue
        name, walked = node.input[0], set()
        while name not in walked and name in producers and producers[name].op_type in _LAYER_JOINS:
            walked.add(name)  # a malformed graph may loop
            name = producers[name].input[0] if producers[name].input else ""
        stack = stack_of_output.get(name)
        if stack is None or stack.nodes[-1].op_type != node.op_type:
            stack = _RecurrentStack([])
            stacks.append(stack)
        stack.nodes.append(node)
        stack_of_output[node.output[0]] = stack
    return stacks


def _constant_sources(start: str, producers: dict[str, onnx.NodeProto], constants: dict[str, np.ndarray]) -> list[str]:
    """Floating-point constants `start` is computed from, depth first, inputs left to right."""
    found: list[str] = []
    seen: set[str] = set()
    pending = [start]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in constants:
            if constants[name].dtype.kind == "f":
                found.append(name)
        elif name in producers and producers[name].op_type not in _RECURRENT_GATES:
            pending.extend(reversed(producers[name].input))
    return found


def _regate(array: np.ndarray, op_type: str) -> np.ndarray:
    """Gate blocks (stacked along axis 0) from ONNX's order to Paddle's."""
    gates, onnx_to_paddle = _RECURRENT_GATES[op_type]
    blocks = np.split(array, gates, axis=0)
    return np.ascontiguousarray(np.concatenate([blocks[i] for i in onnx_to_paddle], axis=0))


def _add_folded_layer(
    stack: _RecurrentStack, node: onnx.NodeProto, layer: int, constants: dict[str, np.ndarray], what: str
) -> None:
    """A layer whose W [dirs, G·H, I], R [dirs, G·H, H], B [dirs, 2·G·H] are stored in ONNX's layout."""
    gates = _RECURRENT_GATES[node.op_type][0]
    directions = _directions(node)
    w, r, b = (node.input[i] if len(node.input) > i else "" for i in (1, 2, 3))
    if r not in constants or (b and b not in constants):
        raise ModelFormatError(f"{what}: {node.op_type} node {node.name!r} mixes stored and computed weights")
    w_all, r_all = constants[w], constants[r]
    hidden = r_all.shape[-1] if r_all.ndim == 3 else 0
    rows = gates * hidden
    # ONNX's B is optional (zero biases); the Paddle program always holds them.
    b_all = constants[b] if b else np.zeros((len(directions), 2 * rows), w_all.dtype)
    expected = (len(directions), rows)
    if not hidden or w_all.ndim != 3 or w_all.shape[:2] != expected or r_all.shape[:2] != expected:
        raise ModelFormatError(f"{what}: {node.op_type} node {node.name!r} has malformed weights")
    if b_all.shape != (len(directions), 2 * rows):
        raise ModelFormatError(f"{what}: {node.op_type} node {node.name!r} has malformed biases")
    label = node.name or w
    for d, tag in enumerate(directions):
        prefix = f"{label}.{layer}.cell_{tag}"
        stack.weights.append((f"{prefix}.weight_ih", _regate(w_all[d], node.op_type)))
        stack.weights.append((f"{prefix}.weight_hh", _regate(r_all[d], node.op_type)))
        stack.biases.append((f"{prefix}.bias_ih", _regate(b_all[d, :rows], node.op_type)))
        stack.biases.append((f"{prefix}.bias_hh", _regate(b_all[d, rows:], node.op_type)))
    stack.sources.update(n for n in (w, r, b) if n)


def _add_traced_layer(
    stack: _RecurrentStack,
    node: onnx.NodeProto,
    producers: dict[str, onnx.NodeProto],
    constants: dict[str, np.ndarray],
    what: str,
) -> None:
    """A layer computed from Paddle's own tensors, as paddle2onnx writes it: W gathers the input weights
    per direction, R the hidden weights, B the input biases and then the hidden biases."""
    dirs = len(_directions(node))
    w, r, b = (node.input[i] if len(node.input) > i else "" for i in (1, 2, 3))
    sources = [_constant_sources(name, producers, constants) if name else [] for name in (w, r, b)]
    if [len(group) for group in sources] != [dirs, dirs, 2 * dirs]:
        raise ModelFormatError(
            f"{what}: cannot tell which tensors feed {node.op_type} node {node.name!r} (unrecognised export)"
        )
    weights_ih, weights_hh, biases = sources
    for d in range(dirs):
        stack.weights += [(name, constants[name]) for name in (weights_ih[d], weights_hh[d])]
        stack.biases += [(name, constants[name]) for name in (biases[d], biases[dirs + d])]
    stack.sources.update(name for group in sources for name in group)


def _directions(node: onnx.NodeProto) -> tuple[str, ...]:
    direction = next((a.s for a in node.attribute if a.name == "direction"), b"forward")
    return ("fw", "bw") if direction == b"bidirectional" else ("fw",)


def _fill_stack(
    stack: _RecurrentStack, producers: dict[str, onnx.NodeProto], constants: dict[str, np.ndarray], what: str
) -> None:
    for layer, node in enumerate(stack.nodes):
        if len(node.input) > 1 and node.input[1] in constants:
            _add_folded_layer(stack, node, layer, constants, what)
        else:
            _add_traced_layer(stack, node, producers, constants, what)


def _first_use_order(
    graph: onnx.GraphProto,
    constants: dict[str, np.ndarray],
    parameters: set[str],
    stacks: Iterable[_RecurrentStack],
) -> dict[str, np.ndarray]:
    stack_of = {name: stack for stack in stacks for name in stack.sources}
    emitted: set[int] = set()
    weights: dict[str, np.ndarray] = {}
    for node in graph.node:
        if node.op_type == "Constant":
            continue
        for name in node.input:
            stack = stack_of.get(name)
            if stack is not None:
                if id(stack) not in emitted:
                    emitted.add(id(stack))
                    weights.update(stack.tensors())
            elif name in parameters and name not in weights:
                weights[name] = constants[name]
    return weights


def read_onnx_weights(path: str | Path) -> dict[str, np.ndarray]:
    """Parameters of an ONNX file in first-use order. Refuses external data and malformed files."""
    data = read_bounded(path, MAX_ONNX_BYTES, "ONNX model")
    return onnx_weights_from_bytes(data, what=str(path))


def onnx_weights_from_bytes(data: bytes, *, what: str = "ONNX model") -> dict[str, np.ndarray]:
    """`read_onnx_weights` for the bytes of an ONNX file; `what` names it in errors."""
    import onnx
    from google.protobuf.message import DecodeError
    from onnx import numpy_helper

    try:
        model = onnx.ModelProto.FromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise ModelFormatError(f"{what}: not an ONNX model ({exc})") from None
    graph = model.graph
    if not graph.node:
        raise ModelFormatError(f"{what}: not an ONNX model (empty graph)")

    def to_array(tensor: onnx.TensorProto) -> np.ndarray:
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            raise ModelFormatError(f"{what}: tensor {tensor.name!r} refers to external data, which is not read")
        if tensor.data_type not in _NUMERIC_TENSOR_TYPES:
            raise ModelFormatError(
                f"{what}: tensor {tensor.name!r} has data type {tensor.data_type}, not a plain numeric type"
            )
        element_count(tensor.dims, f"{what}: tensor {tensor.name!r}")  # before onnx reshapes or allocates
        try:
            return numpy_helper.to_array(tensor)
        except (ValueError, TypeError, KeyError) as exc:
            raise ModelFormatError(f"{what}: bad tensor {tensor.name!r} ({exc})") from None

    constants: dict[str, np.ndarray] = {t.name: to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.output:
            value = next((a.t for a in node.attribute if a.name == "value"), None)
            if value is not None:
                constants[node.output[0]] = to_array(value)

    producers = {out: node for node in graph.node for out in node.output}
    stacks = _recurrent_stacks(graph, producers)
    for stack in stacks:
        _fill_stack(stack, producers, constants, what)
    weights = _first_use_order(graph, constants, _parameter_names(graph, constants), stacks)
    if not weights:
        raise ModelFormatError(f"{what}: the ONNX graph holds no weights")
    return weights
