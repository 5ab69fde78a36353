"""A small NumPy interpreter for Paddle inference programs, used only by the tests.

It runs the op list of an exported `inference.pdmodel` (as dumped in a fixture's `ops_sequence.json`:
type, inputs, outputs, attributes per op) on given persistable values. It is written from Paddle's op
definitions, independently of ptocr's torch modules, so that a module loaded with the same weights can
be checked against the program's own dataflow without Paddle. Inference semantics throughout:
batch_norm uses the running statistics, dropout is the identity ("upscale_in_train").

Only the ops and attribute values that the PP-OCR programs use are implemented; anything else raises
NotImplementedError instead of computing something subtly different.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

Op = Mapping[str, Any]
Env = dict[str, np.ndarray]

# Paddle VarType codes used by fill_constant's `dtype` attribute.
_FILL_DTYPES = {0: np.bool_, 1: np.int16, 2: np.int32, 3: np.int64, 4: np.float16, 5: np.float32, 6: np.float64}


def load_ops_sequence(path: str | Path) -> list[dict[str, Any]]:
    """The op list of a fixture's `ops_sequence.json`, feed and fetch ops included."""
    return json.loads(Path(path).read_text())


def _inputs(op: Op, slot: str) -> list[str]:
    return list(op["inputs"].get(slot) or [])


def _out_name(op: Op, *slots: str) -> str:
    for slot in slots:
        names = op["outputs"].get(slot) or []
        if names:
            return names[0]
    raise KeyError(f"{op['type']}: none of the output slots {slots}")


def _four_paddings(paddings: Sequence[int]) -> tuple[int, int, int, int]:
    """Paddle gives [h, w] (symmetric) or [top, bottom, left, right]."""
    if len(paddings) == 2:
        return paddings[0], paddings[0], paddings[1], paddings[1]
    if len(paddings) == 4:
        top, bottom, left, right = paddings
        return top, bottom, left, right
    raise NotImplementedError(f"paddings {paddings}")


def _check_explicit(op: Op) -> None:
    algorithm = op["attrs"].get("padding_algorithm", "EXPLICIT")
    if algorithm != "EXPLICIT":
        raise NotImplementedError(f"{op['type']}: padding_algorithm {algorithm}")


def conv2d(
    x: np.ndarray,
    weight: np.ndarray,
    strides: Sequence[int],
    paddings: Sequence[int],
    dilations: Sequence[int],
    groups: int,
) -> np.ndarray:
    """Cross-correlation, NCHW, weight (out, in/groups, kh, kw)."""
    n, channels, _, _ = x.shape
    out_channels, per_group, kh, kw = weight.shape
    if channels != per_group * groups or out_channels % groups:
        raise ValueError(f"conv2d: input {x.shape}, weight {weight.shape}, groups {groups}")
    top, bottom, left, right = _four_paddings(paddings)
    padded = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    (sh, sw), (dh, dw) = strides, dilations
    windows = sliding_window_view(padded, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(2, 3))
    windows = windows[:, :, ::sh, ::sw, ::dh, ::dw]  # n, c, ho, wo, kh, kw
    ho, wo = windows.shape[2:4]
    out = np.empty((n, out_channels, ho, wo), dtype=np.result_type(x, weight))
    out_per_group = out_channels // groups
    for g in range(groups):
        cols = windows[:, g * per_group : (g + 1) * per_group]
        kernel = weight[g * out_per_group : (g + 1) * out_per_group]
        part = np.tensordot(cols, kernel, axes=([1, 4, 5], [1, 2, 3]))  # n, ho, wo, out/groups
        out[:, g * out_per_group : (g + 1) * out_per_group] = part.transpose(0, 3, 1, 2)
    return out


def conv2d_transpose(
    x: np.ndarray,
    weight: np.ndarray,
    strides: Sequence[int],
    paddings: Sequence[int],
    dilations: Sequence[int],
    output_padding: Sequence[int],
) -> np.ndarray:
    """Transposed conv (groups 1), weight (in, out, kh, kw): every input pixel scatters a weighted kernel."""
    n, channels, h, w = x.shape
    in_channels, out_channels, kh, kw = weight.shape
    if channels != in_channels:
        raise ValueError(f"conv2d_transpose: input {x.shape}, weight {weight.shape}")
    (sh, sw), (dh, dw) = strides, dilations
    full_h = (h - 1) * sh + dh * (kh - 1) + 1
    full_w = (w - 1) * sw + dw * (kw - 1) + 1
    full = np.zeros((n, out_channels, full_h, full_w), dtype=np.result_type(x, weight))
    for i in range(kh):
        for j in range(kw):
            contribution = np.tensordot(x, weight[:, :, i, j], axes=([1], [0])).transpose(0, 3, 1, 2)
            full[:, :, i * dh : i * dh + (h - 1) * sh + 1 : sh, j * dw : j * dw + (w - 1) * sw + 1 : sw] += contribution
    top, bottom, left, right = _four_paddings(paddings)
    extra_h, extra_w = (output_padding or (0, 0))[:2]
    if extra_h or extra_w:
        full = np.pad(full, ((0, 0), (0, 0), (0, extra_h), (0, extra_w)))
    return full[:, :, top : full.shape[2] - bottom, left : full.shape[3] - right]


def pool2d(x: np.ndarray, attrs: Mapping[str, Any]) -> np.ndarray:
    kind = attrs["pooling_type"]
    if kind not in ("max", "avg"):
        raise NotImplementedError(f"pool2d pooling_type {kind}")
    reduce = np.max if kind == "max" else np.mean
    n, c, h, w = x.shape
    if attrs.get("global_pooling"):
        return reduce(x, axis=(2, 3), keepdims=True)
    if attrs.get("adaptive"):
        oh, ow = attrs["ksize"]
        out = np.empty((n, c, oh, ow), dtype=x.dtype)
        for i in range(oh):
            h0, h1 = (i * h) // oh, -((-(i + 1) * h) // oh)  # floor / ceil, as Paddle's adaptive bounds
            for j in range(ow):
                w0, w1 = (j * w) // ow, -((-(j + 1) * w) // ow)
                out[:, :, i, j] = reduce(x[:, :, h0:h1, w0:w1], axis=(2, 3))
        return out
    if attrs.get("ceil_mode"):
        raise NotImplementedError("pool2d ceil_mode")
    (kh, kw), (sh, sw) = attrs["ksize"], attrs["strides"]
    top, bottom, left, right = _four_paddings(attrs["paddings"])
    pads = ((0, 0), (0, 0), (top, bottom), (left, right))
    inside = np.pad(np.ones((1, 1, h, w), dtype=x.dtype), pads)
    if kind == "max":
        padded = np.pad(x, pads, constant_values=-np.inf)  # padding never wins a max
        return sliding_window_view(padded, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw].max(axis=(4, 5))
    sums = sliding_window_view(np.pad(x, pads), (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw].sum(axis=(4, 5))
    if attrs.get("exclusive", True):  # divide by the number of real (unpadded) pixels in the window
        counts = sliding_window_view(inside, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw].sum(axis=(4, 5))
        return sums / counts
    return sums / (kh * kw)


def nearest_interp(x: np.ndarray, attrs: Mapping[str, Any]) -> np.ndarray:
    """Paddle's nearest_interp_v2 (NCHW). A positive `scale` wins over out_h/out_w and gives the size
    int(in * scale) and the float32 ratio 1/scale; otherwise the ratio is in/out. Source index
    int(ratio * k) (align_corners False) or int((in-1)/(out-1) * k + 0.5) (True).
    """
    if attrs.get("interp_method", "nearest") != "nearest":
        raise NotImplementedError(f"interp_method {attrs.get('interp_method')}")
    _, _, h, w = x.shape
    scale = [float(v) for v in attrs.get("scale") or []]
    scale_h, scale_w = (scale[0], scale[-1]) if scale else (0.0, 0.0)
    align_corners = bool(attrs.get("align_corners", False))

    def source_index(length: int, out_attr: int, factor: float) -> np.ndarray:
        out = int(length * factor) if factor > 0 else out_attr
        k = np.arange(out, dtype=np.float32)
        if out <= 1:
            return np.zeros(out, dtype=np.int64)
        if align_corners:
            index = np.float32((length - 1) / (out - 1)) * k + np.float32(0.5)
        else:
            index = (np.float32(1.0 / factor) if factor > 0 else np.float32(length / out)) * k
        return np.minimum(index.astype(np.int64), length - 1)

    rows = source_index(h, int(attrs.get("out_h", -1)), scale_h)
    cols = source_index(w, int(attrs.get("out_w", -1)), scale_w)
    return x[:, :, rows][:, :, :, cols]


def _broadcast_y(x: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
    """Paddle's elementwise broadcasting: Y's dims align with X's starting at `axis` (-1: trailing)."""
    if axis == -1 or y.ndim == x.ndim:
        return y
    return y.reshape((1,) * axis + y.shape + (1,) * (x.ndim - axis - y.ndim))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    shifted = np.exp(x - x.max(axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)


def _resolve_shape(target: Sequence[int], source: Sequence[int]) -> list[int]:
    """Paddle reshape: 0 copies the input's dimension at that position, -1 is inferred."""
    shape = [source[i] if d == 0 else int(d) for i, d in enumerate(target)]
    if -1 in shape:
        known = int(np.prod([d for d in shape if d != -1]))
        shape[shape.index(-1)] = int(np.prod(source)) // known
    return shape


class ProgramInterpreter:
    """Runs a Paddle op list with NumPy in the dtype of the given persistables (float64 recommended)."""

    def __init__(self, ops: Sequence[Op], persistables: Mapping[str, np.ndarray]) -> None:
        self.ops = list(ops)
        self.persistables = dict(persistables)
        self._handlers: dict[str, Callable[[Op, Env], np.ndarray]] = {
            "conv2d": self._conv,
            "depthwise_conv2d": self._conv,
            "conv2d_transpose": self._conv_transpose,
            "batch_norm": self._batch_norm,
            "layer_norm": self._layer_norm,
            "pool2d": lambda op, env: pool2d(env[_inputs(op, "X")[0]], op["attrs"]),
            "nearest_interp_v2": self._interp,
            "relu": lambda op, env: np.maximum(env[_inputs(op, "X")[0]], 0),
            "sigmoid": lambda op, env: _sigmoid(env[_inputs(op, "X")[0]]),
            "swish": self._swish,
            "softmax": lambda op, env: _softmax(env[_inputs(op, "X")[0]], int(op["attrs"].get("axis", -1))),
            "elementwise_add": lambda op, env: self._elementwise(op, env, np.add),
            "elementwise_mul": lambda op, env: self._elementwise(op, env, np.multiply),
            "matmul_v2": self._matmul,
            "scale": self._scale,
            "dropout": self._dropout,
            "concat": self._concat,
            "reshape2": self._reshape,
            "transpose2": lambda op, env: np.transpose(env[_inputs(op, "X")[0]], op["attrs"]["axis"]),
            "flatten_contiguous_range": self._flatten,
            "squeeze2": self._squeeze,
            "assign": lambda op, env: env[_inputs(op, "X")[0]].copy(),
            "shape": lambda op, env: np.array(env[_inputs(op, "Input")[0]].shape, dtype=np.int32),
            "slice": self._slice,
            "fill_constant": self._fill_constant,
        }

    def run(self, feeds: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Outputs in fetch-column order for inputs in feed-column order."""
        return self._execute(feeds, calibrate=None)

    def calibrate(self, feeds: Sequence[np.ndarray], final_std: float = 1.0) -> dict[str, np.ndarray]:
        """Rescales, in program order, the weight of every conv / transposed conv / linear op so that the
        op's output on `feeds` has standard deviation 1 (`final_std` for the last such op), and returns
        the rescaled persistables (also kept by this interpreter). Random weights calibrated this way
        keep every layer's activations of order one, so sigmoid and softmax outputs are not saturated
        and a comparison on them is informative.
        """
        weighted = [i for i, op in enumerate(self.ops) if self._weight_name(op) is not None]
        targets = {i: 1.0 for i in weighted}
        if weighted:
            targets[weighted[-1]] = final_std
        self._execute(feeds, calibrate=targets)
        return dict(self.persistables)

    def _weight_name(self, op: Op) -> str | None:
        slot = {"conv2d": "Filter", "depthwise_conv2d": "Filter", "conv2d_transpose": "Filter", "matmul_v2": "Y"}
        names = _inputs(op, slot[op["type"]]) if op["type"] in slot else []
        return names[0] if names and names[0] in self.persistables and not _inputs(op, "Bias") else None

    def _execute(self, feeds: Sequence[np.ndarray], calibrate: Mapping[int, float] | None) -> list[np.ndarray]:
        env: Env = dict(self.persistables)
        fetched: dict[int, np.ndarray] = {}
        for index, op in enumerate(self.ops):
            kind = op["type"]
            if kind == "feed":
                env[_out_name(op, "Out")] = np.asarray(feeds[int(op["attrs"]["col"])])
            elif kind == "fetch":
                fetched[int(op["attrs"]["col"])] = env[_inputs(op, "X")[0]]
            elif kind in self._handlers:
                out = self._handlers[kind](op, env)
                if calibrate is not None and index in calibrate:
                    # These ops are linear in their weight (biases are separate ops), so scaling the
                    # weight scales the output by the same factor.
                    factor = calibrate[index] / max(float(out.std()), 1e-12)
                    name = self._weight_name(op)
                    assert name is not None
                    self.persistables[name] = env[name] = env[name] * factor
                    out = out * factor
                env[_out_name(op, "Out", "Output", "Y")] = out
            else:
                raise NotImplementedError(f"op {kind}")
        return [fetched[col] for col in sorted(fetched)]

    # --- op handlers -------------------------------------------------------------------------------

    @staticmethod
    def _conv(op: Op, env: Env) -> np.ndarray:
        _check_explicit(op)
        a = op["attrs"]
        out = conv2d(
            env[_inputs(op, "Input")[0]], env[_inputs(op, "Filter")[0]], a["strides"], a["paddings"],
            a.get("dilations", (1, 1)), int(a.get("groups", 1)),
        )  # fmt: skip
        if _inputs(op, "Bias"):
            out = out + env[_inputs(op, "Bias")[0]].reshape(1, -1, 1, 1)
        return out

    @staticmethod
    def _conv_transpose(op: Op, env: Env) -> np.ndarray:
        _check_explicit(op)
        a = op["attrs"]
        if int(a.get("groups", 1)) != 1 or a.get("output_size"):
            raise NotImplementedError("conv2d_transpose with groups or output_size")
        out = conv2d_transpose(
            env[_inputs(op, "Input")[0]], env[_inputs(op, "Filter")[0]], a["strides"], a["paddings"],
            a.get("dilations", (1, 1)), a.get("output_padding") or (0, 0),
        )  # fmt: skip
        if _inputs(op, "Bias"):
            out = out + env[_inputs(op, "Bias")[0]].reshape(1, -1, 1, 1)
        return out

    @staticmethod
    def _batch_norm(op: Op, env: Env) -> np.ndarray:
        if op["attrs"].get("data_layout", "NCHW") != "NCHW":
            raise NotImplementedError("batch_norm layout")
        x = env[_inputs(op, "X")[0]]
        shape = (1, -1) + (1,) * (x.ndim - 2)
        mean, var = (env[_inputs(op, s)[0]].reshape(shape) for s in ("Mean", "Variance"))
        scale, bias = (env[_inputs(op, s)[0]].reshape(shape) for s in ("Scale", "Bias"))
        return (x - mean) / np.sqrt(var + op["attrs"]["epsilon"]) * scale + bias

    @staticmethod
    def _layer_norm(op: Op, env: Env) -> np.ndarray:
        x = env[_inputs(op, "X")[0]]
        begin = int(op["attrs"]["begin_norm_axis"])
        axes = tuple(range(begin, x.ndim))
        mean = x.mean(axis=axes, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
        y = (x - mean) / np.sqrt(var + op["attrs"]["epsilon"])
        if _inputs(op, "Scale"):
            y = y * env[_inputs(op, "Scale")[0]].reshape(x.shape[begin:])
        if _inputs(op, "Bias"):
            y = y + env[_inputs(op, "Bias")[0]].reshape(x.shape[begin:])
        return y

    @staticmethod
    def _interp(op: Op, env: Env) -> np.ndarray:
        if any(_inputs(op, slot) for slot in ("OutSize", "SizeTensor", "Scale")):
            raise NotImplementedError("nearest_interp_v2 with tensor sizes")
        return nearest_interp(env[_inputs(op, "X")[0]], op["attrs"])

    @staticmethod
    def _swish(op: Op, env: Env) -> np.ndarray:
        x = env[_inputs(op, "X")[0]]
        return x * _sigmoid(float(op["attrs"].get("beta", 1.0)) * x)

    @staticmethod
    def _elementwise(op: Op, env: Env, fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
        x, y = env[_inputs(op, "X")[0]], env[_inputs(op, "Y")[0]]
        return fn(x, _broadcast_y(x, y, int(op["attrs"].get("axis", -1))))

    @staticmethod
    def _matmul(op: Op, env: Env) -> np.ndarray:
        x, y = env[_inputs(op, "X")[0]], env[_inputs(op, "Y")[0]]
        if op["attrs"].get("trans_x"):
            x = np.swapaxes(x, -1, -2)
        if op["attrs"].get("trans_y"):
            y = np.swapaxes(y, -1, -2)
        return np.matmul(x, y)

    @staticmethod
    def _scale(op: Op, env: Env) -> np.ndarray:
        if _inputs(op, "ScaleTensor"):
            raise NotImplementedError("scale with ScaleTensor")
        x, a = env[_inputs(op, "X")[0]], op["attrs"]
        scale, bias = a.get("scale", 1.0), a.get("bias", 0.0)
        return x * scale + bias if a.get("bias_after_scale", True) else (x + bias) * scale

    @staticmethod
    def _dropout(op: Op, env: Env) -> np.ndarray:
        x = env[_inputs(op, "X")[0]]
        if op["attrs"].get("dropout_implementation", "downgrade_in_infer") == "upscale_in_train":
            return x
        return x * (1.0 - op["attrs"]["dropout_prob"])

    @staticmethod
    def _concat(op: Op, env: Env) -> np.ndarray:
        if _inputs(op, "AxisTensor"):
            raise NotImplementedError("concat with AxisTensor")
        return np.concatenate([env[name] for name in _inputs(op, "X")], axis=int(op["attrs"]["axis"]))

    @staticmethod
    def _reshape(op: Op, env: Env) -> np.ndarray:
        x = env[_inputs(op, "X")[0]]
        if _inputs(op, "ShapeTensor"):  # takes precedence over the attribute
            target = [int(np.asarray(env[name]).reshape(-1)[0]) for name in _inputs(op, "ShapeTensor")]
        elif _inputs(op, "Shape"):
            target = [int(v) for v in env[_inputs(op, "Shape")[0]]]
        else:
            target = list(op["attrs"]["shape"])
        return x.reshape(_resolve_shape(target, x.shape))

    @staticmethod
    def _flatten(op: Op, env: Env) -> np.ndarray:
        x = env[_inputs(op, "X")[0]]
        start, stop = (int(op["attrs"][k]) % x.ndim for k in ("start_axis", "stop_axis"))
        return x.reshape((*x.shape[:start], -1, *x.shape[stop + 1 :]))

    @staticmethod
    def _squeeze(op: Op, env: Env) -> np.ndarray:
        x = env[_inputs(op, "X")[0]]
        axes = [a % x.ndim for a in op["attrs"].get("axes", [])]
        if not axes:
            return np.squeeze(x)
        return np.squeeze(x, axis=tuple(a for a in axes if x.shape[a] == 1))

    @staticmethod
    def _slice(op: Op, env: Env) -> np.ndarray:
        if any(_inputs(op, s) for s in ("StartsTensor", "EndsTensor", "StartsTensorList", "EndsTensorList")):
            raise NotImplementedError("slice with tensor bounds")
        x, a = env[_inputs(op, "Input")[0]], op["attrs"]
        index: list[slice | int] = [slice(None)] * x.ndim
        for axis, start, end in zip(a["axes"], a["starts"], a["ends"], strict=True):
            index[axis] = slice(start, end)
        out = x[tuple(index)]
        decrease = list(a.get("decrease_axis") or [])
        if decrease:
            out = np.squeeze(out, axis=tuple(decrease))
        return out

    @staticmethod
    def _fill_constant(op: Op, env: Env) -> np.ndarray:
        a = op["attrs"]
        if any(_inputs(op, s) for s in ("ShapeTensor", "ShapeTensorList", "ValueTensor")):
            raise NotImplementedError("fill_constant with tensor inputs")
        value = float(a["str_value"]) if a.get("str_value") else float(a["value"])
        return np.full(list(a["shape"]), value, dtype=_FILL_DTYPES[int(a["dtype"])])


def random_persistables(
    ops: Sequence[Op], shapes: Mapping[str, Sequence[int]], seed: int, dtype: type = np.float64
) -> dict[str, np.ndarray]:
    """Seeded weights for every persistable, scaled by the role the program gives it so activations
    stay of order one through deep stacks: He-normal conv filters and linear weights, BatchNorm with
    positive variances, LayerNorm scales near one, small biases.
    """
    rng = np.random.default_rng(seed)
    roles: dict[str, tuple[str, int]] = {}
    for op in ops:
        kind = op["type"]
        if kind in ("conv2d", "depthwise_conv2d"):
            for name in _inputs(op, "Filter"):
                roles[name] = ("filter", int(np.prod(shapes[name][1:])))
        elif kind == "conv2d_transpose":
            for name in _inputs(op, "Filter"):
                s = shapes[name]  # in, out, kh, kw; stride 2 × kernel 2: each output sees `in` inputs
                roles[name] = ("filter", int(s[0]))
        elif kind == "matmul_v2":
            for name in _inputs(op, "Y"):
                if name in shapes:
                    roles[name] = ("filter", int(shapes[name][0]))
        elif kind == "batch_norm":
            for slot in ("Scale", "Bias", "Mean", "Variance"):
                for name in _inputs(op, slot):
                    roles[name] = (f"bn_{slot.lower()}", 0)
        elif kind == "layer_norm":
            for slot in ("Scale", "Bias"):
                for name in _inputs(op, slot):
                    roles[name] = (f"ln_{slot.lower()}", 0)
    values: dict[str, np.ndarray] = {}
    for name in sorted(shapes):
        shape = tuple(shapes[name])
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
