"""Paddle's op semantics as plain torch functions: what one node of an interpreted program calls.

Each function takes tensors and Python literals (the op's attributes, already checked by its lowering in
`ops.py`) and follows Paddle's CPU kernel, including its order of float operations where that decides the
last bit (batch norm folding, quantisation). Sizes always come from the data, never from the program's
declared shapes: a program declared for 640×640 runs on any input.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

from ..errors import UnsupportedProgramError


class LoDTensor(NamedTuple):
    """A fetch that Paddle holds as a LoD tensor: the rows of every sequence one after another, and Paddle's
    level-0 LoD, the offsets (int64, length number-of-sequences + 1) where each sequence starts."""

    values: torch.Tensor
    lod: torch.Tensor


def lod_tensor(values: torch.Tensor, lod: torch.Tensor) -> LoDTensor:
    return LoDTensor(values, lod)


# --- convolution and pooling ------------------------------------------------------------------------


def _four(paddings: tuple[int, ...]) -> tuple[int, int, int, int]:
    """Paddle's [h, w] (symmetric) or [top, bottom, left, right] paddings as (top, bottom, left, right)."""
    if len(paddings) == 2:
        return paddings[0], paddings[0], paddings[1], paddings[1]
    top, bottom, left, right = paddings
    return top, bottom, left, right


def _resolve_padding(
    size: tuple[int, int], kernel: tuple[int, int], strides: tuple[int, ...], paddings: tuple[int, ...],
    algorithm: str,
) -> tuple[int, int, int, int]:
    """Paddle's UpdatePaddingAndDilation: VALID pads nothing, SAME pads so that out = ceil(in / stride)
    (the odd pixel at the end), EXPLICIT uses the attribute."""
    if algorithm == "VALID":
        return 0, 0, 0, 0
    if algorithm == "SAME":
        pads = []
        for length, k, s in zip(size, kernel, strides, strict=True):
            total = max((-(-length // s) - 1) * s + k - length, 0)
            pads += [total // 2, total - total // 2]
        return pads[0], pads[1], pads[2], pads[3]
    return _four(paddings)


def conv2d(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, *, strides: tuple[int, ...],
    paddings: tuple[int, ...], dilations: tuple[int, ...], groups: int, padding_algorithm: str,
) -> torch.Tensor:  # fmt: skip
    dilation = (dilations[0], dilations[1])
    if padding_algorithm == "SAME":  # Paddle's UpdatePaddingAndDilation resets dilation under SAME
        dilation = (1, 1)
    top, bottom, left, right = _resolve_padding(
        (x.shape[2], x.shape[3]), (weight.shape[2], weight.shape[3]), strides, paddings, padding_algorithm
    )
    if top == bottom and left == right:
        return F.conv2d(x, weight, bias, (strides[0], strides[1]), (top, left), dilation, groups)
    x = F.pad(x, (left, right, top, bottom))
    return F.conv2d(x, weight, bias, (strides[0], strides[1]), 0, dilation, groups)


def conv2d_transpose(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, *, strides: tuple[int, ...],
    paddings: tuple[int, ...], dilations: tuple[int, ...], groups: int, padding_algorithm: str,
    output_padding: tuple[int, ...], output_size: tuple[int, ...],
) -> torch.Tensor:  # fmt: skip
    kernel = (weight.shape[2], weight.shape[3])
    top, bottom, left, right = _resolve_padding((x.shape[2], x.shape[3]), kernel, strides, paddings, padding_algorithm)
    extra = [int(v) for v in output_padding] if output_padding else [0, 0]
    if output_size:  # the size asked for decides the extra rows/columns at the end
        for axis in range(2):
            natural = (x.shape[2 + axis] - 1) * strides[axis] - (top, left)[axis] - (bottom, right)[axis]
            natural += dilations[axis] * (kernel[axis] - 1) + 1
            extra[axis] = int(output_size[axis]) - natural
    out = F.conv_transpose2d(
        x, weight, bias, (strides[0], strides[1]), 0, 0, groups, (dilations[0], dilations[1])
    )
    out = F.pad(out, (0, extra[1], 0, extra[0])) if extra[0] > 0 or extra[1] > 0 else out
    height, width = out.shape[2], out.shape[3]
    return out[:, :, top : height - bottom, left : width - right]


def _pool_length(length: int, kernel: int, stride: int, pad: int, ceil_mode: bool) -> int:
    """Paddle's output size: C++ integer division, which truncates toward zero (a one-row map under a
    two-row window keeps one row where floor division would leave none)."""
    span = length - kernel + 2 * pad + (stride - 1 if ceil_mode else 0)
    return int(span / stride) + 1


def pool2d(
    x: torch.Tensor, *, pooling_type: str, ksize: tuple[int, ...], strides: tuple[int, ...],
    paddings: tuple[int, ...], global_pooling: bool, adaptive: bool, exclusive: bool, ceil_mode: bool,
    padding_algorithm: str,
) -> torch.Tensor:  # fmt: skip
    is_max = pooling_type == "max"
    height, width = x.shape[2], x.shape[3]
    if global_pooling:
        return x.amax(dim=(2, 3), keepdim=True) if is_max else x.mean(dim=(2, 3), keepdim=True)
    if adaptive:  # bounds floor(i·in/out) .. ceil((i+1)·in/out), as torch's adaptive pools
        size = (int(ksize[0]), int(ksize[1]))
        return F.adaptive_max_pool2d(x, size) if is_max else F.adaptive_avg_pool2d(x, size)
    kernel = (int(ksize[0]), int(ksize[1]))
    top, _, left, _ = _resolve_padding((height, width), kernel, strides, paddings, padding_algorithm)
    # Paddle's pooling functor reads only the first padding of each axis (the 4-value form is symmetric
    # after its UpdatePadding for the programs that reach here).
    pad_h, pad_w = top, left
    out_h = _pool_length(height, kernel[0], strides[0], pad_h, ceil_mode)
    out_w = _pool_length(width, kernel[1], strides[1], pad_w, ceil_mode)
    if out_h <= 0 or out_w <= 0:
        raise UnsupportedProgramError(f"pool2d: a {height}×{width} input gives an empty {out_h}×{out_w} output")
    # Windows start at i·stride − pad; pad on the far side as far as the last window reaches.
    far_h = max((out_h - 1) * strides[0] + kernel[0] - pad_h - height, 0)
    far_w = max((out_w - 1) * strides[1] + kernel[1] - pad_w - width, 0)
    pads = (pad_w, far_w, pad_h, far_h)
    stride = (strides[0], strides[1])
    if is_max:
        padded = F.pad(x, pads, value=-math.inf)  # padding never wins a max
        return F.max_pool2d(padded, kernel, stride)[:, :, :out_h, :out_w]
    sums = F.avg_pool2d(F.pad(x, pads), kernel, stride, divisor_override=1)[:, :, :out_h, :out_w]
    rows = _window_sizes(height, out_h, kernel[0], strides[0], pad_h, exclusive)
    cols = _window_sizes(width, out_w, kernel[1], strides[1], pad_w, exclusive)
    counts = torch.tensor([[r * c for c in cols] for r in rows], dtype=x.dtype, device=x.device)
    return sums / counts


def _window_sizes(length: int, out: int, kernel: int, stride: int, pad: int, exclusive: bool) -> list[int]:
    """Paddle's divisor per window along one axis: the window clipped to the input when `exclusive`, else
    clipped only to the padded input's end (in + pad)."""
    sizes = []
    for i in range(out):
        start = i * stride - pad
        end = min(start + kernel, length + pad)
        sizes.append(min(end, length) - max(start, 0) if exclusive else end - start)
    return sizes


# --- normalisation and activations ------------------------------------------------------------------


def _channel(t: torch.Tensor, ndim: int) -> torch.Tensor:
    return t.reshape((1, -1) + (1,) * (ndim - 2))


def batch_norm(
    x: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor, mean: torch.Tensor, variance: torch.Tensor,
    *, epsilon: float,
) -> torch.Tensor:  # fmt: skip
    """Inference batch norm as Paddle's CPU kernel folds it: y = x·(scale/√(var+ε)) + (bias − mean·scale/√(var+ε))."""
    inv_std = 1.0 / torch.sqrt(variance + epsilon)
    new_scale = inv_std * scale
    new_bias = bias - mean * inv_std * scale
    return x * _channel(new_scale, x.ndim) + _channel(new_bias, x.ndim)


def layer_norm(
    x: torch.Tensor, scale: torch.Tensor | None, bias: torch.Tensor | None, *, begin_norm_axis: int, epsilon: float
) -> torch.Tensor:
    shape = tuple(x.shape[begin_norm_axis:])
    weight = scale.reshape(shape) if scale is not None else None
    shift = bias.reshape(shape) if bias is not None else None
    return F.layer_norm(x, shape, weight, shift, epsilon)


def hard_sigmoid(x: torch.Tensor, *, slope: float, offset: float) -> torch.Tensor:
    return torch.clamp(x * slope + offset, 0.0, 1.0)


def hard_swish(x: torch.Tensor, *, threshold: float, scale: float, offset: float) -> torch.Tensor:
    return x * torch.clamp(x + offset, 0.0, threshold) / scale


def swish(x: torch.Tensor, *, beta: float) -> torch.Tensor:
    return x * torch.sigmoid(x * beta) if beta != 1.0 else x * torch.sigmoid(x)


def relu6(x: torch.Tensor, *, threshold: float) -> torch.Tensor:
    return torch.clamp(x, 0.0, threshold)


def leaky_relu(x: torch.Tensor, *, alpha: float) -> torch.Tensor:
    return F.leaky_relu(x, alpha)


def gelu(x: torch.Tensor, *, approximate: bool) -> torch.Tensor:
    return F.gelu(x, approximate="tanh" if approximate else "none")


def softmax(x: torch.Tensor, *, axis: int) -> torch.Tensor:
    return torch.softmax(x, dim=axis)


def scale(x: torch.Tensor, *, scale: float, bias: float, bias_after_scale: bool) -> torch.Tensor:
    """Keeps the input's dtype, as Paddle's kernel does (a scaled int64 label stays int64)."""
    if scale == 1.0 and bias == 0.0:
        return x
    if not x.is_floating_point():
        factor, shift = int(scale), int(bias)
        return x * factor + shift if bias_after_scale else (x + shift) * factor
    if bias_after_scale:
        return x * scale + bias if bias else x * scale
    return (x + bias) * scale


def dropout(x: torch.Tensor, *, keep: float) -> torch.Tensor:
    """Inference dropout: identity for "upscale_in_train", a scaling by 1 − p for "downgrade_in_infer"."""
    return x if keep == 1.0 else x * keep


# --- elementwise and linear algebra -----------------------------------------------------------------


def _align(x: torch.Tensor, y: torch.Tensor, axis: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Paddle's elementwise broadcasting: the smaller operand's dims line up with the larger one's from
    `axis` on (−1: the trailing dims), after dropping its trailing size-1 dims."""
    if x.ndim == y.ndim:
        return x, y
    big, small = (x, y) if x.ndim > y.ndim else (y, x)
    dims = list(small.shape)
    start = big.ndim - len(dims) if axis == -1 else axis
    while len(dims) > 1 and dims[-1] == 1 and start + len(dims) > big.ndim:
        dims.pop()
    shaped = small.reshape([1] * start + dims + [1] * (big.ndim - start - len(dims)))
    return (x, shaped) if x.ndim > y.ndim else (shaped, y)


def elementwise_add(x: torch.Tensor, y: torch.Tensor, *, axis: int) -> torch.Tensor:
    x, y = _align(x, y, axis)
    return x + y


def elementwise_sub(x: torch.Tensor, y: torch.Tensor, *, axis: int) -> torch.Tensor:
    x, y = _align(x, y, axis)
    return x - y


def elementwise_mul(x: torch.Tensor, y: torch.Tensor, *, axis: int) -> torch.Tensor:
    x, y = _align(x, y, axis)
    return x * y


def elementwise_div(x: torch.Tensor, y: torch.Tensor, *, axis: int) -> torch.Tensor:
    x, y = _align(x, y, axis)
    return x / y


def elementwise_max(x: torch.Tensor, y: torch.Tensor, *, axis: int) -> torch.Tensor:
    x, y = _align(x, y, axis)
    return torch.maximum(x, y)


def elementwise_min(x: torch.Tensor, y: torch.Tensor, *, axis: int) -> torch.Tensor:
    x, y = _align(x, y, axis)
    return torch.minimum(x, y)


def elementwise_pow(x: torch.Tensor, y: torch.Tensor, *, axis: int) -> torch.Tensor:
    x, y = _align(x, y, axis)
    return torch.pow(x, y)


def matmul(x: torch.Tensor, y: torch.Tensor, *, trans_x: bool, trans_y: bool, alpha: float) -> torch.Tensor:
    if trans_x:
        x = x.transpose(-1, -2)
    if trans_y:
        y = y.transpose(-1, -2)
    out = torch.matmul(x, y)
    return out * alpha if alpha != 1.0 else out


def mul(x: torch.Tensor, y: torch.Tensor, *, x_num_col_dims: int, y_num_col_dims: int) -> torch.Tensor:
    """fluid's `mul`: both operands flattened to matrices at their num_col_dims, multiplied, and the result
    given x's leading dims and y's trailing dims."""
    rows = x.reshape(math.prod(x.shape[:x_num_col_dims]), -1)
    cols = y.reshape(math.prod(y.shape[:y_num_col_dims]), -1)
    return (rows @ cols).reshape(tuple(x.shape[:x_num_col_dims]) + tuple(y.shape[y_num_col_dims:]))


# --- shapes -----------------------------------------------------------------------------------------


def reshape(x: torch.Tensor, *shape_tensors: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """Paddle reshape: 0 copies the input's dimension at that position, −1 is inferred. A `Shape` tensor or
    a `ShapeTensor` list, when given, replaces the attribute."""
    if len(shape_tensors) == 1 and shape_tensors[0].numel() != 1:
        target = [int(v) for v in shape_tensors[0].reshape(-1).tolist()]
    elif shape_tensors:
        target = [int(t.reshape(-1)[0]) for t in shape_tensors]
    else:
        target = list(shape)
    resolved = [int(x.shape[i]) if d == 0 else d for i, d in enumerate(target)]
    return x.reshape(resolved)


def transpose(x: torch.Tensor, *, axis: tuple[int, ...]) -> torch.Tensor:
    return x.permute(*axis)


def flatten_range(x: torch.Tensor, *, start_axis: int, stop_axis: int) -> torch.Tensor:
    if x.ndim == 0:
        return x.reshape(1)
    return torch.flatten(x, start_axis % x.ndim, stop_axis % x.ndim)


def flatten_to_matrix(x: torch.Tensor, *, axis: int) -> torch.Tensor:
    return x.reshape(math.prod(x.shape[:axis]), -1)


def squeeze(x: torch.Tensor, *, axes: tuple[int, ...]) -> torch.Tensor:
    if not axes:
        return x.squeeze()
    keep = [d for i, d in enumerate(x.shape) if not (i in {a % x.ndim for a in axes} and d == 1)]
    return x.reshape(keep)


def unsqueeze(x: torch.Tensor, *, axes: tuple[int, ...]) -> torch.Tensor:
    for axis in axes:  # in order, each against the rank so far, as Paddle inserts them
        x = x.unsqueeze(axis if axis >= 0 else axis + x.ndim + 1)
    return x


def concat(*xs: torch.Tensor, axis: int) -> torch.Tensor:
    return torch.cat(xs, dim=axis)


def split(x: torch.Tensor, *, axis: int, num: int, sections: tuple[int, ...]) -> tuple[torch.Tensor, ...]:
    if num > 0:
        return torch.chunk(x, num, dim=axis) if x.shape[axis] % num == 0 else _bad_split(x, axis, num)
    sizes = list(sections)
    if -1 in sizes:
        sizes[sizes.index(-1)] = x.shape[axis] - (sum(sizes) + 1)
    return torch.split(x, sizes, dim=axis)


def _bad_split(x: torch.Tensor, axis: int, num: int) -> tuple[torch.Tensor, ...]:
    raise UnsupportedProgramError(f"split: dimension {axis} of size {x.shape[axis]} is not divisible by {num}")


def slice_(
    x: torch.Tensor, *, axes: tuple[int, ...], starts: tuple[int, ...], ends: tuple[int, ...],
    decrease_axis: tuple[int, ...],
) -> torch.Tensor:  # fmt: skip
    index: list[slice] = [slice(None)] * x.ndim
    for axis, start, end in zip(axes, starts, ends, strict=True):
        index[axis] = slice(start, end)  # Python slicing clamps as Paddle does
    out = x[tuple(index)]
    if decrease_axis:
        kept = [d for i, d in enumerate(out.shape) if i not in set(decrease_axis)]
        out = out.reshape(kept)  # Paddle 2.x keeps a 1-element result 1-D; 0-D only in 3.x
        if out.ndim == 0:
            out = out.reshape(1)
    return out


def shape_of(x: torch.Tensor) -> torch.Tensor:
    return torch.tensor(list(x.shape), dtype=torch.int32, device=x.device)


_FILL_DTYPES = {0: torch.bool, 1: torch.int16, 2: torch.int32, 3: torch.int64, 5: torch.float32, 6: torch.float64}


def fill_constant(
    like: torch.Tensor, *sizes: torch.Tensor, shape: tuple[int, ...], value: float, dtype: int
) -> torch.Tensor:
    """A constant on the device of `like` (a feed). `sizes` (one ShapeTensor holding every size, or a
    ShapeTensorList of one size each) replace `shape` when given."""
    if len(sizes) == 1 and sizes[0].numel() != 1:
        dims = [int(v) for v in sizes[0].reshape(-1).tolist()]
    else:
        dims = [int(t.reshape(-1)[0]) for t in sizes] if sizes else [int(d) for d in shape]
    return torch.full(dims, value, dtype=_FILL_DTYPES[dtype], device=like.device)


def assign(x: torch.Tensor) -> torch.Tensor:
    return x


def arg_max(x: torch.Tensor, *, axis: int, keepdims: bool, flatten: bool, dtype: int) -> torch.Tensor:
    out = torch.argmax(x.reshape(-1), dim=0) if flatten else torch.argmax(x, dim=axis, keepdim=keepdims)
    return out.to(torch.int32 if dtype == 2 else torch.int64)


def top_k(x: torch.Tensor, *, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    values, indices = torch.topk(x, k, dim=-1, largest=True, sorted=True)
    return values, indices


# --- resampling -------------------------------------------------------------------------------------


def _nearest_index(length: int, out: int, scale: float, align_corners: bool, device: torch.device) -> torch.Tensor:
    """Paddle's nearest source index for output positions k. Ratio (float32): (in−1)/(out−1) with
    align_corners, else 1/scale when a scale is given, else in/out. Index: int(ratio·k + 0.5) with
    align_corners (the +0.5 in double, the product in float), else int(ratio·k)."""
    k = torch.arange(out, dtype=torch.float32, device=device)
    if align_corners:
        ratio = torch.tensor((length - 1) / (out - 1) if out > 1 else 0.0, dtype=torch.float32)
        index = torch.floor((ratio.to(device) * k).double() + 0.5)
    else:
        ratio = torch.tensor(1.0 / scale if scale > 0 else length / out, dtype=torch.float32)
        index = torch.floor(ratio.to(device) * k)
    return index.long().clamp_(max=length - 1)


def _out_sizes(x: torch.Tensor, out_h: int, out_w: int, scale: tuple[float, ...]) -> tuple[int, int, float, float]:
    if scale and scale[0] > 0:
        scale_h, scale_w = float(scale[0]), float(scale[-1])
        return int(x.shape[2] * scale_h), int(x.shape[3] * scale_w), scale_h, scale_w
    if out_h <= 0 or out_w <= 0:
        raise UnsupportedProgramError("interpolation without a scale or an output size")
    return out_h, out_w, 0.0, 0.0


def nearest_interp(
    x: torch.Tensor, *, out_h: int, out_w: int, scale: tuple[float, ...], align_corners: bool, ratio_from_scale: bool
) -> torch.Tensor:
    """`ratio_from_scale`: v2 ops sample at 1/scale when sized by a scale; v1 ops always at in/out."""
    height, width, scale_h, scale_w = _out_sizes(x, out_h, out_w, scale)
    if not ratio_from_scale:
        scale_h = scale_w = 0.0
    rows = _nearest_index(x.shape[2], height, scale_h, align_corners, x.device)
    cols = _nearest_index(x.shape[3], width, scale_w, align_corners, x.device)
    return x.index_select(2, rows).index_select(3, cols)


def bilinear_interp(
    x: torch.Tensor, *, out_h: int, out_w: int, scale: tuple[float, ...], align_corners: bool, ratio_from_scale: bool
) -> torch.Tensor:
    """align_corners, or half-pixel centres (align_mode 0): torch's two bilinear modes."""
    height, width, scale_h, scale_w = _out_sizes(x, out_h, out_w, scale)
    if scale_h > 0 and ratio_from_scale and not align_corners:
        return F.interpolate(x, scale_factor=(scale_h, scale_w), mode="bilinear", align_corners=False)
    return F.interpolate(x, size=(height, width), mode="bilinear", align_corners=align_corners)


# --- sequences (fluid LoD) --------------------------------------------------------------------------


def im2sequence(
    x: torch.Tensor, *, kernels: tuple[int, ...], strides: tuple[int, ...], paddings: tuple[int, ...]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Every kernel-sized patch of every image as one row (channel, row, column order), images one after
    another: a LoD tensor with one sequence per image. Paddings are [up, left, down, right]."""
    up, left, down, right = paddings
    padded = F.pad(x, (left, right, up, down))
    cols = F.unfold(padded, (kernels[0], kernels[1]), stride=(strides[0], strides[1]))  # N, C·kh·kw, L
    steps = cols.shape[2]
    values = cols.transpose(1, 2).reshape(x.shape[0] * steps, cols.shape[1])
    lod = torch.arange(x.shape[0] + 1, dtype=torch.int64, device=x.device) * steps
    return values, lod


def _lengths(lod: torch.Tensor) -> list[int]:
    return (lod[1:] - lod[:-1]).tolist()


def fluid_lstm(
    x: torch.Tensor, lod: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, *, is_reverse: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """fluid's `lstm` op without peepholes on a LoD batch. x [ΣT, 4H] is the already-projected input, weight
    [H, 4H] the recurrent weights, bias [1, 4H]; the gate blocks are (candidate, input, forget, output).
    Per step, as Paddle's kernel: gates = (x + bias) + h·W; c = σ(f)·c' + σ(i)·tanh(cand); h = σ(o)·tanh(c).
    Returns (hidden, cell), both [ΣT, H]."""
    size = weight.shape[0]
    gates_in = x + bias.reshape(1, -1)
    lengths = _lengths(lod)
    hidden = torch.empty((x.shape[0], size), dtype=x.dtype, device=x.device)
    cell = torch.empty_like(hidden)
    # Sequences of equal length run together: [N, T, 4H] batches; otherwise one at a time.
    groups = [list(range(len(lengths)))] if len(set(lengths)) == 1 else [[i] for i in range(len(lengths))]
    starts = lod.tolist()
    for members in groups:
        steps = lengths[members[0]]
        rows = torch.cat([torch.arange(starts[i], starts[i] + steps, device=x.device) for i in members])
        g = gates_in.index_select(0, rows).reshape(len(members), steps, 4 * size)
        h = torch.zeros((len(members), size), dtype=x.dtype, device=x.device)
        c = torch.zeros_like(h)
        hs, cs = [], []
        order = range(steps - 1, -1, -1) if is_reverse else range(steps)
        for t in order:
            step = torch.addmm(g[:, t], h, weight)
            cand, gate_i, gate_f, gate_o = step.split(size, dim=1)
            c = torch.tanh(cand) * torch.sigmoid(gate_i) + c * torch.sigmoid(gate_f)
            h = torch.sigmoid(gate_o) * torch.tanh(c)
            hs.append(h)
            cs.append(c)
        if is_reverse:
            hs.reverse()
            cs.reverse()
        hidden[rows] = torch.stack(hs, dim=1).reshape(-1, size)
        cell[rows] = torch.stack(cs, dim=1).reshape(-1, size)
    return hidden, cell


def rnn_lstm(
    x: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor, *weights: torch.Tensor, num_layers: int, bidirectional: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Paddle 2.x's `rnn` op in LSTM mode (time-major input [T, N, C], gates i, f, g, o as torch). Its
    WeightList holds every (input, hidden) weight pair first, then every (input, hidden) bias pair; torch
    wants weight, weight, bias, bias per layer and direction."""
    cells = len(weights) // 4
    params: list[torch.Tensor] = []
    for i in range(cells):
        params += [weights[2 * i], weights[2 * i + 1], weights[2 * cells + 2 * i], weights[2 * cells + 2 * i + 1]]
    out, h, c = torch.lstm(x, (h0, c0), params, True, num_layers, 0.0, False, bidirectional, False)
    return out, h, c


def ctc_align(
    tokens: torch.Tensor, lod: torch.Tensor, *, blank: int, merge_repeated: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Greedy CTC decoding of a LoD batch of labels [ΣT, 1]: repeats merged (if asked), blanks dropped.
    Returns the labels [ΣL, 1] and their LoD. When every sequence decodes to nothing Paddle outputs a single
    −1 (shape [1, 1]) with an all-zero LoD; so does this."""
    flat = tokens.reshape(-1)
    kept, offsets = [], [0]
    for start, end in zip(lod[:-1].tolist(), lod[1:].tolist(), strict=True):
        seq = flat[start:end]
        keep = seq != blank
        if merge_repeated and seq.numel() > 1:
            keep[1:] &= seq[1:] != seq[:-1]
        kept.append(seq[keep])
        offsets.append(offsets[-1] + int(keep.sum()))
    new_lod = torch.tensor(offsets, dtype=torch.int64, device=tokens.device)
    if offsets[-1] == 0:
        return torch.full((1, 1), -1, dtype=tokens.dtype, device=tokens.device), new_lod
    return torch.cat(kept).reshape(-1, 1), new_lod


# --- quantisation (PaddleSlim's fake quantise / dequantise ops) -------------------------------------


def _round_half_away(x: torch.Tensor) -> torch.Tensor:
    """std::round (Eigen's round): halves go away from zero; torch.round would send them to even."""
    whole = torch.trunc(x)
    return torch.where((x - whole).abs() >= 0.5, whole + torch.sign(x), whole)


def fake_quantize(x: torch.Tensor, in_scale: torch.Tensor, *, bit_length: int, round_type: int) -> torch.Tensor:
    """Inference `fake_quantize_moving_average_abs_max`: x mapped to integers in the stored scale s (the
    moving average is not updated in test mode). As Paddle's ClipAndFakeQuantFunctor, in float32:
    inv = 1/s (1/(s+1e-6) for s ≤ 1e-30); round_type 1: round_half_away((bin·inv)·clip(x, −s, s));
    round_type 0: clip(round_half_even((bin·inv)·x), −bin−1, bin). The output stays integer-valued."""
    bins = float(2 ** (bit_length - 1) - 1)
    s = in_scale.reshape(-1)[0]
    inv = 1.0 / (s + 1e-6) if float(s) <= 1e-30 else 1.0 / s
    factor = inv * bins  # one float32 product, computed before touching x
    if round_type == 0:
        return torch.clamp(torch.round(factor * x), -bins - 1.0, bins)
    return _round_half_away(factor * torch.clamp(x, -s, s))


def channel_dequantize(
    x: torch.Tensor, *scales: torch.Tensor, quant_bits: tuple[int, ...], quant_axis: int
) -> torch.Tensor:
    """`fake_channel_wise_dequantize_max_abs`. With two scales (after a quantised conv / mul: per output
    channel weight scales along dim 1, then the activation scale): ((x·w[c])·a)/(127·127). With one (a
    quantised weight): (x·w[c])/127 along `quant_axis`. Float32, in Paddle's order of operations."""
    max_range = 1.0
    for bits in quant_bits[: len(scales)]:
        max_range *= float(2 ** (bits - 1) - 1)
    if len(scales) == 2:
        shape = [1] * x.ndim
        shape[1] = -1
        return x * scales[0].reshape(shape) * scales[1].reshape(-1)[0] / max_range
    shape = [1] * x.ndim
    shape[quant_axis] = -1
    return x * scales[0].reshape(shape) / max_range


def dequantize(x: torch.Tensor, scale: torch.Tensor, *, max_range: float) -> torch.Tensor:
    """`fake_dequantize_max_abs`: x·s/max_range."""
    return x * scale.reshape(-1)[0] / max_range
