"""From a parsed Paddle program to a `torch.fx.GraphModule`: validation, then one lowering per op.

The program is checked before anything is built: every op type must have a lowering, no op may carry a
sub-block (control flow), every variable an op reads must be a feed, a persistable, or written by an earlier
op (so dangling and cyclic dataflow are refused), and every persistable must have a plausible shape and a
tensor of exactly that shape. The graph then has one placeholder per feed (feed order), one buffer per
persistable (read with `get_attr`), and one or more `call_function` nodes per op; its output is the fetch
list: one value when the program fetches one variable, else a tuple. A fetched LoD tensor (fluid sequence
models) comes back as `LoDTensor(values, lod)`.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import fx

from ..errors import UnsupportedProgramError
from ..formats import PaddleOp, PaddleProgram
from ..formats.files import MAX_TENSOR_ELEMENTS
from . import kernels

#: Larger persistables than this (elements) are refused as implausible before anything is allocated.
MAX_PERSISTABLE_ELEMENTS = MAX_TENSOR_ELEMENTS


class ProgramBuilder:
    """Graph-building state handed to each op's lowering: the fx graph and, per Paddle variable, its node
    and (for sequence data) the node holding its level-0 LoD."""

    def __init__(self, graph: fx.Graph, anchor: fx.Node) -> None:
        self.graph = graph
        self.op = PaddleOp("", {}, {})  # the op being lowered
        self.values: dict[str, fx.Node] = {}
        self.lods: dict[str, fx.Node] = {}
        self.anchor = anchor  # a feed: fill_constant places its tensor on the feed's device

    def fail(self, message: str) -> UnsupportedProgramError:
        return UnsupportedProgramError(f"op {self.op.type!r}: {message}")

    def names(self, slot: str) -> tuple[str, ...]:
        return self.op.inputs.get(slot, ())

    def has(self, slot: str) -> bool:
        return bool(self.names(slot))

    def value(self, name: str) -> fx.Node:
        node = self.values.get(name)
        if node is None:  # written by an earlier op, but as an output the interpreter does not compute
            raise self.fail(f"reads {name!r}, an output of an earlier op that inference does not compute")
        return node

    def input(self, slot: str) -> fx.Node:
        names = self.names(slot)
        if not names:
            raise self.fail(f"input {slot!r} is missing")
        return self.value(names[0])

    def optional(self, slot: str) -> fx.Node | None:
        return self.input(slot) if self.has(slot) else None

    def inputs(self, slot: str) -> list[fx.Node]:
        return [self.value(name) for name in self.names(slot)]

    def lod(self, slot: str) -> fx.Node | None:
        names = self.names(slot)
        return self.lods.get(names[0]) if names else None

    def attr(self, name: str, default: Any = None) -> Any:
        value = self.op.attrs.get(name)
        return default if value is None else value

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> fx.Node:
        return self.graph.call_function(fn, args, kwargs)

    def item(self, node: fx.Node, index: int) -> fx.Node:
        return self.graph.call_function(operator.getitem, (node, index))

    def output(self, slot: str, node: fx.Node, lod: fx.Node | None = None) -> None:
        """Binds the op's output `slot` to `node`; `lod` marks it as a sequence batch."""
        names = self.op.outputs.get(slot, ())
        if not names:
            raise self.fail(f"output {slot!r} is missing")
        self.values[names[0]] = node
        if lod is not None:
            self.lods[names[0]] = lod
        else:
            self.lods.pop(names[0], None)


Lowering = Callable[[ProgramBuilder], None]


def validate(program: PaddleProgram, lowerings: Mapping[str, Lowering]) -> None:
    """Refuses, with one clear error, what the interpreter cannot run faithfully."""
    nested = sorted({op.type for op in program.ops if op.block_attrs})
    if nested or program.block_count > 1:
        what = f" (ops {', '.join(nested)})" if nested else ""
        raise UnsupportedProgramError(
            f"the program has control flow: {program.block_count} blocks{what}; only straight-line programs run"
        )
    unknown = sorted({op.type for op in program.ops if op.type not in lowerings})
    if unknown:
        raise UnsupportedProgramError(
            f"the program uses op types the interpreter does not implement: {', '.join(unknown)}"
        )
    for name, spec in program.persistables.items():
        # Zero dimensions count as one: numpy and torch cannot represent an empty tensor with absurd other dims.
        if any(d < 0 for d in spec.shape) or math.prod(max(d, 1) for d in spec.shape) > MAX_PERSISTABLE_ELEMENTS:
            raise UnsupportedProgramError(f"persistable {name!r} declares an implausible shape {list(spec.shape)}")
    defined = set(program.feed_names) | set(program.persistables)
    for index, op in enumerate(program.ops):
        for slot, names in op.inputs.items():
            for name in names:
                if name not in defined:
                    raise UnsupportedProgramError(
                        f"op {index} ({op.type!r}) reads {slot} variable {name!r} before any op writes it "
                        "(dangling or cyclic dataflow)"
                    )
        for names in op.outputs.values():
            defined.update(names)
    for name in program.fetch_names:
        if name not in defined:
            raise UnsupportedProgramError(f"the program fetches {name!r}, which no op writes")
    if not program.feed_names or not program.fetch_names:
        raise UnsupportedProgramError("the program has no feed or no fetch variables")


class PaddleProgramModule(fx.GraphModule):
    """The GraphModule of a Paddle program. Validation cannot know the shapes the feeds will have, so a program
    whose declared shapes do not fit its input or each other fails only when it runs: that failure is an
    `UnsupportedProgramError` (a ptocr error naming the reason), not torch's bare RuntimeError."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except (RuntimeError, ValueError, IndexError) as exc:
            shapes = ", ".join(str(list(a.shape)) for a in args if isinstance(a, torch.Tensor))
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UnsupportedProgramError(
                f"the program failed on feeds of shape {shapes}: {reason} (its declared shapes do not fit the "
                "input or each other)"
            ) from exc


def _attribute_name(name: str, taken: set[str]) -> str:
    base = "p_" + re.sub(r"\W", "_", name)
    candidate, n = base, 1
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    taken.add(candidate)
    return candidate


def build_graph_module(
    program: PaddleProgram, tensors: Mapping[str, np.ndarray], lowerings: Mapping[str, Lowering]
) -> fx.GraphModule:
    """The program as a GraphModule whose forward takes the feeds (in feed order) and returns the fetches."""
    validate(program, lowerings)
    root = torch.nn.Module()
    graph = fx.Graph()
    taken: set[str] = set()
    attributes: dict[str, str] = {}
    feeds = [graph.placeholder(_attribute_name(name, taken).removeprefix("p_")) for name in program.feed_names]
    builder = ProgramBuilder(graph, feeds[0])
    values, lods = builder.values, builder.lods
    values.update(zip(program.feed_names, feeds, strict=True))
    for name, spec in program.persistables.items():
        array = tensors.get(name)
        if array is None:
            raise UnsupportedProgramError(f"no tensor given for the program's persistable {name!r}")
        if tuple(array.shape) != spec.shape:
            raise UnsupportedProgramError(
                f"persistable {name!r}: the tensor is {list(array.shape)}, the program declares {list(spec.shape)}"
            )
        attribute = attributes[name] = _attribute_name(name, taken)
        root.register_buffer(attribute, torch.from_numpy(np.ascontiguousarray(array)).clone())
        values[name] = graph.get_attr(attribute)
    for index, op in enumerate(program.ops):
        builder.op = op
        try:
            lowerings[op.type](builder)
        except (KeyError, TypeError, ValueError, IndexError) as exc:  # attributes of the wrong kind or missing
            raise UnsupportedProgramError(f"op {index} ({op.type!r}): malformed attributes ({exc!r})") from None
    outputs = []
    for name in program.fetch_names:
        if name not in values:
            raise UnsupportedProgramError(f"the program fetches {name!r}, which its ops leave undefined")
        node = values[name]
        outputs.append(graph.call_function(kernels.lod_tensor, (node, lods[name])) if name in lods else node)
    graph.output(outputs[0] if len(outputs) == 1 else tuple(outputs))
    graph.eliminate_dead_code()
    module = PaddleProgramModule(root, graph, class_name="PaddleProgramModule")
    module.feed_names = program.feed_names  # type: ignore[assignment]
    module.fetch_names = program.fetch_names  # type: ignore[assignment]
    #: Paddle variable name → the buffer holding it (`module.get_buffer(attribute)`).
    module.persistable_attributes = attributes  # type: ignore[assignment]
    return module.eval()
