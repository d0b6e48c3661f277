"""GroupNorm, LayerNorm, InstanceNormNd, LocalResponseNorm and Softmax2d in eval mode.

GroupNorm, LayerNorm and InstanceNorm without running statistics normalise with the
input's own mean and biased variance, taken over each group (N × groups rows of
C/groups × spatial values), each instance (N × C rows of spatial values) or the
trailing `normalized_shape` (one row per leading index).  The statistics are made in
two passes (the mean, then the mean squared deviation) over blocks of rows, or of part
of a row where one row is over `ctx.chunk_bytes`, so the scratch stays within it.  Where the affine scale is per channel
(GroupNorm, InstanceNorm) it folds into one multiply-add per element, as PyTorch's
CPU kernels write it: alpha = rstd × weight, beta = bias − mean × alpha, y = x × alpha
+ beta.  LayerNorm's scale is per element: y = (x × rstd − mean × rstd) × weight + bias.
InstanceNorm with track_running_stats uses its running statistics in eval(), exactly
as BatchNorm does.

These three compute in float64 whatever the float input, and round once to its dtype.
In float32, x × alpha and mean × alpha are large next to their difference when a
group's values are nearly equal (one value per group: exactly equal), and their
float32 rounding (PyTorch's) can exceed the result itself; in float64 it stays far below
float32's resolution.  Their blocks of rows stay within `ctx.chunk_bytes` in float64.

LocalResponseNorm is F.local_response_norm: the squares averaged over a window of
`size` channels (zero-padded by size//2 before and (size−1)//2 after, divisor `size`),
then x / (k + alpha × average)^beta.  PyTorch averages with avg_pool2d (3-D input) or
avg_pool3d (4-D and more), so it accepts what those accept: float16 only for 3-D input,
and int64, whose average truncates toward zero and whose result is float32.

Softmax2d is the softmax over the channels (dim −3) at every position.

No family here multiplies-and-accumulates in the analytic engine (their MACs are 0),
so nothing goes through ctx.matmul / ctx.einsum.  Integer input is refused as PyTorch
refuses it (LocalResponseNorm's int64 aside).  Softmax2d computes float16 in float32
and rounds once; LocalResponseNorm rounds float16 after every operation, as its chain
of tensor operations does.
"""

from __future__ import annotations

import math

import numpy as np

from ..layers.elementwise import Softmax2d
from ..layers.norm import GroupNorm, InstanceNormNd, LayerNorm, LocalResponseNorm
from .kernel_support import accept, compute_dtype, parameter
from .kernels import kernel, parameters
from .ops_conv import chunks

# ------------------------------------------------------------------ shared pieces

#: what GroupNorm, LayerNorm and InstanceNorm compute in (see above)
STATS = np.dtype(np.float64)


def _moments(rows: np.ndarray, work: np.dtype, chunk_bytes: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and biased variance of each row of a 2-D array, in `work`: two passes (the sums,
    then the squared deviations from the mean) over blocks of whole rows, or of part of
    one row where a row alone is over `chunk_bytes`, whose deviations are the only scratch."""
    count, length = rows.shape
    blocks = list(chunks((count, length), 2 * work.itemsize, chunk_bytes))
    total = np.zeros(count, dtype=work)
    for r, c in blocks:
        total[r] += rows[r, c].sum(axis=1, dtype=work)
    mean = total / work.type(length)
    squares = np.zeros(count, dtype=work)
    for r, c in blocks:
        deviation = rows[r, c].astype(work, copy=True)
        deviation -= mean[r, None]
        deviation *= deviation
        squares[r] += deviation.sum(axis=1)
    return mean, squares / work.type(length)


def _rstd(var: np.ndarray, eps: float, work: np.dtype) -> np.ndarray:
    return work.type(1) / np.sqrt(var + work.type(eps))


def _vector(layer, params: dict, declared: dict, name: str, size: int, default: float,
            work: np.dtype) -> np.ndarray:
    """A declared parameter (required, `size` values), or PyTorch's value without it.  A
    float parameter keeps its type (blocks of it are widened as they are used: a
    LayerNorm's weight can be as large as its input), others are converted to `work`."""
    if name in declared:
        given = params.get(name)
        kind = np.asarray(given).dtype if given is not None else work
        return parameter(layer, params, name, size, kind if kind.kind == "f" else work)
    return np.full(size, default, dtype=work)


def _scale_rows(x: np.ndarray, alpha: np.ndarray, beta: np.ndarray, work: np.dtype,
                chunk_bytes: int) -> np.ndarray:
    """x × alpha + beta for x of shape (rows, channels, inner) and alpha, beta of shape
    (rows, channels), in `work`, written into a new array of x's dtype block by block."""
    out = np.empty(x.shape, dtype=x.dtype)
    for block in chunks(x.shape, 2 * work.itemsize, chunk_bytes):
        r, c = block[:2]
        y = x[block].astype(work, copy=True)
        y *= alpha[r, c, None]
        y += beta[r, c, None]
        out[block] = y
    return out


def _by_channel_statistics(x: np.ndarray, groups: int, weight: np.ndarray, bias: np.ndarray,
                           eps: float, work: np.dtype, chunk_bytes: int) -> np.ndarray:
    """Normalise x (N, C, *spatial) with the statistics of each of `groups` channel groups
    of each sample, then scale and shift per channel (weight, bias: C values)."""
    batch, channels = x.shape[:2]
    inner = math.prod(x.shape[2:])
    mean, var = _moments(x.reshape(batch * groups, (channels // groups) * inner), work, chunk_bytes)
    rstd = _rstd(var, eps, work).reshape(batch, groups, 1)
    alpha = (rstd * weight.reshape(1, groups, -1)).reshape(batch, channels)
    beta = bias.reshape(1, channels) - (mean.reshape(batch, groups, 1) * alpha.reshape(batch, groups, -1)
                                        ).reshape(batch, channels)
    out = _scale_rows(x.reshape(batch, channels, inner), alpha, beta, work, chunk_bytes)
    return out.reshape(x.shape)


# ------------------------------------------------------------------ GroupNorm


@parameters(GroupNorm)
def group_norm_params(layer: GroupNorm) -> dict[str, tuple[int, ...]]:
    """weight and bias, one per channel (affine; bias=False drops the bias)."""
    if not layer.affine:
        return {}
    c = (layer.num_channels,)
    return {"weight": c, "bias": c} if layer.bias else {"weight": c}


@kernel(GroupNorm)
def group_norm(layer: GroupNorm, inputs, params, ctx) -> np.ndarray:
    (x,) = inputs
    accept(layer, x)  # GroupNorm has no integer kernel
    layer.output_shape([x.shape])
    if x.size == 0:
        return np.empty(x.shape, dtype=x.dtype)
    work = STATS
    channels = x.shape[1]
    declared = group_norm_params(layer)
    weight = _vector(layer, params, declared, "weight", channels, 1.0, work)
    bias = _vector(layer, params, declared, "bias", channels, 0.0, work)
    return _by_channel_statistics(x, layer.num_groups, weight, bias, layer.eps, work, ctx.chunk_bytes)


# ------------------------------------------------------------------ InstanceNormNd


@parameters(InstanceNormNd)
def instance_norm_params(layer: InstanceNormNd) -> dict[str, tuple[int, ...]]:
    """weight and bias (affine; bias=False drops the bias), running_mean and running_var
    (track_running_stats).  num_batches_tracked plays no part in eval()."""
    c = (layer.num_features,)
    shapes: dict[str, tuple[int, ...]] = {}
    if layer.affine:
        shapes["weight"] = c
        if layer.bias:
            shapes["bias"] = c
    if layer.track_running_stats:
        shapes["running_mean"] = c
        shapes["running_var"] = c
    return shapes


@kernel(InstanceNormNd)
def instance_norm(layer: InstanceNormNd, inputs, params, ctx) -> np.ndarray:
    """Each (sample, channel)'s own statistics over the spatial axes, or the running ones
    (track_running_stats: eval() uses them).  An unbatched (C, *spatial) input is one sample."""
    (x,) = inputs
    accept(layer, x)  # instance_norm runs batch_norm, which has no integer kernel
    layer.output_shape([x.shape])
    unbatched = x.ndim == layer.ndim + 1
    if unbatched:
        x = x[None]
    work = STATS
    channels = x.shape[1]
    declared = instance_norm_params(layer)
    weight = _vector(layer, params, declared, "weight", channels, 1.0, work)
    bias = _vector(layer, params, declared, "bias", channels, 0.0, work)
    if x.size == 0:
        out = np.empty(x.shape, dtype=x.dtype)
    elif layer.track_running_stats:
        mean = _vector(layer, params, declared, "running_mean", channels, 0.0, work).astype(work)
        var = _vector(layer, params, declared, "running_var", channels, 1.0, work).astype(work)
        alpha = _rstd(var, layer.eps, work) * weight
        beta = bias - mean * alpha
        batch = x.shape[0]
        out = _scale_rows(x.reshape(batch, channels, -1), np.broadcast_to(alpha, (batch, channels)),
                          np.broadcast_to(beta, (batch, channels)), work, ctx.chunk_bytes).reshape(x.shape)
    else:
        out = _by_channel_statistics(x, channels, weight, bias, layer.eps, work, ctx.chunk_bytes)
    return out[0] if unbatched else out


# ------------------------------------------------------------------ LayerNorm


@parameters(LayerNorm)
def layer_norm_params(layer: LayerNorm) -> dict[str, tuple[int, ...]]:
    """weight and bias of shape normalized_shape (elementwise_affine; bias=False drops the bias)."""
    if not layer.elementwise_affine:
        return {}
    shape = tuple(layer.normalized_shape)
    return {"weight": shape, "bias": shape} if layer.bias else {"weight": shape}


@kernel(LayerNorm)
def layer_norm(layer: LayerNorm, inputs, params, ctx) -> np.ndarray:
    """The statistics of the trailing normalized_shape of each leading index."""
    (x,) = inputs
    accept(layer, x)  # layer_norm has no integer kernel
    layer.output_shape([x.shape])
    if x.size == 0:
        return np.empty(x.shape, dtype=x.dtype)
    work = STATS
    length = math.prod(layer.normalized_shape)
    declared = layer_norm_params(layer)
    weight = _vector(layer, params, declared, "weight", length, 1.0, work)
    bias = _vector(layer, params, declared, "bias", length, 0.0, work)
    rows = x.reshape(-1, length)
    mean, var = _moments(rows, work, ctx.chunk_bytes)
    rstd = _rstd(var, layer.eps, work)
    shift = -mean * rstd
    out = np.empty(rows.shape, dtype=x.dtype)
    for r, c in chunks(rows.shape, 2 * work.itemsize, ctx.chunk_bytes):
        y = rows[r, c].astype(work, copy=True)
        y *= rstd[r, None]
        y += shift[r, None]
        y *= weight[c]
        y += bias[c]
        out[r, c] = y
    return out.reshape(x.shape)


# ------------------------------------------------------------------ LocalResponseNorm


def _truncating_mean(total: np.ndarray, count: int) -> np.ndarray:
    """An int64 sum over `count`, with C's division (toward zero), as int64 avg_pool gives."""
    quotient = np.abs(total) // count
    return np.where(total < 0, -quotient, quotient)


@kernel(LocalResponseNorm)
def local_response_norm(layer: LocalResponseNorm, inputs, params, ctx) -> np.ndarray:
    (x,) = inputs
    layer.output_shape([x.shape])
    if x.size == 0:
        return x  # F.local_response_norm returns an empty input itself, any dtype
    if x.ndim == 3:
        accept(layer, x, ("int64",), what="avg_pool2d of the squares")
    else:  # avg_pool3d has no float16 kernel
        accept(layer, x, ("float32", "float64", "int64"), floats=False, what="avg_pool3d of the squares")
    size = layer.size
    integer = x.dtype.kind == "i"
    # int64: the squares and their window sums stay int64 (wrapping as PyTorch's do),
    # the rest is float32; floats compute in their own type, float16 rounded at each step
    work = np.dtype(np.float32) if integer else compute_dtype(x.dtype)
    step = np.dtype(np.float32) if integer else x.dtype

    def rounded(a: np.ndarray) -> np.ndarray:
        return a.astype(step).astype(work, copy=False) if step != work else a

    t = work.type
    before, after = size // 2, (size - 1) // 2
    batch, channels = x.shape[:2]
    inner = math.prod(x.shape[2:])
    rows = x.reshape(batch, channels, inner)
    out = np.empty(rows.shape, dtype=step)
    # a block of positions (sample, spatial index) with all their channels: about five
    # arrays of the channels and their padding per position live at once
    per_position = 5 * (channels + size) * max(work.itemsize, x.itemsize)
    for b, i in chunks((batch, inner), per_position, ctx.chunk_bytes):
        block = (b, slice(None), i)
        part = rows[block]
        squares = part * part if integer else rounded(part.astype(work) * part.astype(work))
        padded = np.zeros((squares.shape[0], channels + before + after, squares.shape[2]), dtype=squares.dtype)
        padded[:, before:before + channels] = squares
        del squares
        total = padded[:, 0:channels].copy()
        for j in range(1, size):  # one vectorised add per channel of the window
            total += padded[:, j:j + channels]
        del padded
        average = _truncating_mean(total, size).astype(work) if integer else rounded(total / t(size))
        del total
        scaled = rounded(rounded(rounded(average * t(layer.alpha)) + t(layer.k)) ** t(layer.beta))
        out[block] = rounded(part.astype(work) / scaled)
    return out.reshape(x.shape)


# ------------------------------------------------------------------ Softmax2d


@kernel(Softmax2d)
def softmax2d(layer: Softmax2d, inputs, params, ctx) -> np.ndarray:
    """F.softmax(x, dim=-3): exp(x − max) / sum over the channels of each position."""
    (x,) = inputs
    accept(layer, x)  # softmax has no integer kernel
    layer.output_shape([x.shape])
    if x.size == 0:
        return np.empty(x.shape, dtype=x.dtype)
    work = compute_dtype(x.dtype)
    shifted = x.astype(work, copy=True)
    shifted -= shifted.max(axis=-3, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted *= work.type(1) / shifted.sum(axis=-3, keepdims=True)
    return shifted.astype(x.dtype, copy=False)
