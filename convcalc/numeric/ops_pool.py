"""Pooling kernels: MaxPoolNd, AvgPoolNd and the adaptive pools.

A box window is separable: the max (or sum) over a box is the max (or sum) along one
axis of the max (or sum) along the next.  So each kernel makes one pass per spatial
axis, and a pass loops over the taps of the window (k iterations, each one strided
slice of the whole tensor), never over output positions.  Average pooling divides the
box sum by PyTorch's divisor, which is a product of per-axis counts.

The window arithmetic here (`_pool_axis`) is private to pooling for now; it could be
unified with `numeric/windows.py` later.
"""

from __future__ import annotations

import numpy as np

from ..layers.pool import AdaptivePoolNd, AvgPoolNd, MaxPoolNd
from .kernel_support import INTS, accept, compute_dtype, lead_rows, row_blocks
from .kernels import kernel


def _lowest(dtype) -> object:
    """The identity of max: -inf, or the smallest integer of the dtype."""
    dt = np.dtype(dtype)
    return dt.type(-np.inf) if dt.kind == "f" else np.iinfo(dt).min


def _pad_axis(y: np.ndarray, axis: int, before: int, after: int, fill) -> np.ndarray:
    if before == 0 and after == 0:
        return y
    shape = list(y.shape)
    shape[axis] += before + after
    out = np.full(shape, fill, dtype=y.dtype)
    index = [slice(None)] * y.ndim
    index[axis] = slice(before, before + y.shape[axis])
    out[tuple(index)] = y
    return out


def _pool_axis(y: np.ndarray, axis: int, k: int, s: int, d: int, before: int, out: int, fill,
               op) -> np.ndarray:
    """Reduce windows of k taps (dilation d, stride s, `before` positions of padding
    with `fill`) along one axis with the binary ufunc `op`: out positions.  The right
    side is padded as far as the last window reaches (ceil_mode may reach past the
    symmetric padding); taps there read `fill`, which leaves the result unchanged."""
    need = (out - 1) * s + d * (k - 1) + 1
    after = max(0, need - before - y.shape[axis])
    padded = _pad_axis(y, axis, before, after, fill)
    index = [slice(None)] * y.ndim
    acc = None
    for j in range(k):
        index[axis] = slice(j * d, j * d + (out - 1) * s + 1, s)
        tap = padded[tuple(index)]
        acc = tap.copy() if acc is None else op(acc, tap, out=acc)
    return acc


def _row_bytes(shape, spatial_out, itemsize: int) -> int:
    """Scratch per leading row: a padded copy and a pass result, at most about twice the
    larger of the input and output spatial sizes."""
    biggest = max(int(np.prod(shape)), int(np.prod(spatial_out)))
    return 3 * biggest * itemsize


@kernel(MaxPoolNd)
def max_pool(layer: MaxPoolNd, inputs, params, ctx) -> np.ndarray:
    """PyTorch's max_poolNd: windows clipped to the input (padding never wins), NaN
    propagates.  return_indices is not computed (the values are returned)."""
    (x,) = inputs
    n = layer.ndim
    # max_pool1d has no integer kernel in PyTorch; max_pool2d/3d have
    accept(layer, x, INTS if n > 1 else ())
    out_shape = layer.output_shape([x.shape])
    outs = out_shape[-n:]
    fill = _lowest(x.dtype)
    rows = lead_rows(x, n)
    result = np.empty((rows.shape[0],) + tuple(outs), dtype=x.dtype)
    padded = [size + 2 * p for size, p in zip(x.shape[-n:], layer.padding)]
    for block in row_blocks(rows.shape[0], _row_bytes(padded, outs, x.itemsize), ctx.chunk_bytes):
        y = rows[block]
        for i in range(n):
            y = _pool_axis(y, 1 + i, layer.kernel_size[i], layer.stride[i], layer.dilation[i],
                           layer.padding[i], outs[i], fill, np.maximum)
        result[block] = y
    return result.reshape(out_shape)


def _avg_counts(size: int, out: int, k: int, s: int, p: int, include_pad: bool) -> np.ndarray:
    """PyTorch's per-axis divisor: the window clipped to the padded input (with padding
    counted) or to the input itself."""
    start = np.arange(out, dtype=np.int64) * s - p
    end = np.minimum(start + k, size + p)
    if include_pad:
        return end - start
    return np.minimum(end, size) - np.maximum(start, 0)


def _divide(total: np.ndarray, divisor) -> np.ndarray:
    """total / divisor as PyTorch computes it: in floating point, or with C's truncating
    integer division for int64."""
    if total.dtype.kind == "f":
        return total / np.asarray(divisor).astype(total.dtype)
    divisor = np.asarray(divisor, dtype=total.dtype)
    safe = np.where(divisor == 0, 1, divisor)
    quotient = np.abs(total) // np.abs(safe)
    return np.where((total < 0) != (safe < 0), -quotient, quotient).astype(total.dtype)


@kernel(AvgPoolNd)
def avg_pool(layer: AvgPoolNd, inputs, params, ctx) -> np.ndarray:
    """PyTorch's avg_poolNd: the sum over the window (padding reads zero) over
    divisor_override, or the window's size clipped to the padded input
    (count_include_pad) or to the input; an all-padding window gives 0."""
    (x,) = inputs
    n = layer.ndim
    accept(layer, x, ("int64",))  # avg_pool has an int64 kernel and no other integer one
    out_shape = layer.output_shape([x.shape])
    outs = out_shape[-n:]
    work = compute_dtype(x.dtype)
    sizes = x.shape[-n:]
    if layer.divisor_override is not None:
        divisor = layer.divisor_override
    else:
        divisor = np.ones((), dtype=np.int64)
        for i in range(n):
            counts = _avg_counts(sizes[i], outs[i], layer.kernel_size[i], layer.stride[i],
                                 layer.padding[i], layer.count_include_pad)
            divisor = np.multiply.outer(divisor, counts)
        # an empty window sums to 0 and PyTorch writes 0: any nonzero divisor does
        divisor = np.where(divisor == 0, 1, divisor)
    rows = lead_rows(x, n)
    result = np.empty((rows.shape[0],) + tuple(outs), dtype=x.dtype)
    padded = [size + 2 * p for size, p in zip(sizes, layer.padding)]
    zero = work.type(0)
    for block in row_blocks(rows.shape[0], _row_bytes(padded, outs, work.itemsize), ctx.chunk_bytes):
        y = rows[block].astype(work, copy=False)
        for i in range(n):
            y = _pool_axis(y, 1 + i, layer.kernel_size[i], layer.stride[i], 1, layer.padding[i],
                           outs[i], zero, np.add)
        result[block] = _divide(y, divisor)
    return result.reshape(out_shape)


def adaptive_windows(size: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's adaptive windows [floor(o*in/out), ceil((o+1)*in/out)) for every o."""
    o = np.arange(out, dtype=np.int64)
    return (o * size) // out, -((-(o + 1) * size) // out)


def _adaptive_axis(y: np.ndarray, axis: int, out: int, op) -> tuple[np.ndarray, np.ndarray]:
    """Reduce PyTorch's adaptive windows along one axis; windows of equal length are
    gathered together (there are at most a few distinct lengths), each tap of them by
    one `take`.  Returns the result and the window lengths."""
    starts, ends = adaptive_windows(y.shape[axis], out)
    lengths = ends - starts
    shape = list(y.shape)
    shape[axis] = out
    result = np.empty(shape, dtype=y.dtype)
    index = [slice(None)] * y.ndim
    for length in np.unique(lengths):
        which = np.flatnonzero(lengths == length)
        first = starts[which]
        acc = np.take(y, first, axis=axis)
        for j in range(1, int(length)):
            op(acc, np.take(y, first + j, axis=axis), out=acc)
        index[axis] = which
        result[tuple(index)] = acc
    return result, lengths


@kernel(AdaptivePoolNd)
def adaptive_pool(layer: AdaptivePoolNd, inputs, params, ctx) -> np.ndarray:
    """PyTorch's adaptive_{avg,max}_poolNd."""
    (x,) = inputs
    out_shape = layer.output_shape([x.shape])
    if layer.kind == "Avg" and empty_before_dtype_check(out_shape, layer.ndim):
        return np.empty(out_shape, dtype=x.dtype)
    accept(layer, x)  # no integer adaptive pooling in PyTorch
    return adaptive_reduce(layer, x, out_shape, layer.ndim, layer.kind == "Max", ctx)


def empty_before_dtype_check(out_shape, n: int) -> bool:
    """adaptive_avg_pool1d/2d return an empty output before they look at the dtype
    (an integer input is then accepted); adaptive_avg_pool3d checks the dtype first."""
    return n <= 2 and 0 in out_shape


def adaptive_reduce(layer, x: np.ndarray, out_shape, n: int, is_max: bool, ctx) -> np.ndarray:
    """Adaptive pooling of the n trailing axes of x to `out_shape` (Upsample's 'area' mode
    too): window o covers [floor(o*in/out), ceil((o+1)*in/out)); the average is the
    window sum divided by each axis' window length in turn (`sum / kh / kw`, as
    PyTorch's kernel writes it)."""
    outs = tuple(out_shape[len(out_shape) - n:])
    if any(o == 0 for o in outs) or x.size == 0:
        if x.size == 0 and all(o > 0 for o in outs) and any(s == 0 for s in x.shape[-n:]):
            raise layer.fail(f"expected a non-empty input along the pooled axes; got shape "
                             f"{list(x.shape)}")
        return np.zeros(out_shape, dtype=x.dtype)
    work = x.dtype if is_max else compute_dtype(x.dtype)
    rows = lead_rows(x, n)
    result = np.empty((rows.shape[0],) + outs, dtype=x.dtype)
    biggest = max(int(np.prod(x.shape[-n:])), int(np.prod(outs)))
    for block in row_blocks(rows.shape[0], 3 * biggest * work.itemsize, ctx.chunk_bytes):
        y = rows[block].astype(work, copy=False)
        lengths = []
        for i in range(n):
            y, length = _adaptive_axis(y, 1 + i, outs[i], np.maximum if is_max else np.add)
            lengths.append(length)
        if not is_max:
            for i, length in enumerate(lengths):
                shape = [1] * (n + 1)
                shape[1 + i] = outs[i]
                y /= length.astype(work).reshape(shape)
        result[block] = y
    return result.reshape(out_shape)
