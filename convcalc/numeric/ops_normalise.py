"""GroupNorm, LayerNorm, InstanceNormNd, LocalResponseNorm and Softmax2d in eval mode.

GroupNorm, LayerNorm and InstanceNorm without running statistics normalise with the
input's own mean and biased variance, taken over each group (N × groups rows of
C/groups × spatial values), each instance (N × C rows of spatial values) or the
trailing `normalized_shape` (one row per leading index): y = (x − mean) × rstd ×
weight + bias, rstd = 1/sqrt(variance + eps), the weight and bias per channel
(GroupNorm, InstanceNorm) or per element (LayerNorm).  The work goes in blocks of about
an L2 cache (never over `ctx.chunk_bytes`): a block of whole rows in one pass; a row
bigger than a block in three (the sums, the squared deviations from the mean, the
normalisation).  InstanceNorm with track_running_stats uses its running statistics in
eval(), exactly as BatchNorm does: alpha = rstd × weight, beta = bias − mean × alpha,
y = x × alpha + beta.

These three compute in float64 whatever the float input, and round once to its dtype.
PyTorch's float32 kernels fold the statistics into x × alpha + beta; when a group's
values are nearly equal (one value per group: exactly equal), x × alpha and mean ×
alpha are large next to their difference and their float32 rounding can exceed the
result itself.  In float64 the error stays far below float32's resolution (the tests
hold such cases to torch's float64 answer, not to its float32 rounding).

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
from typing import Callable

import numpy as np

from ..layers.elementwise import Softmax2d
from ..layers.norm import GroupNorm, InstanceNormNd, LayerNorm, LocalResponseNorm
from .kernel_support import accept, compute_dtype, parameter
from .kernels import kernel, parameters
from .ops_conv import BLOCK, chunks
from .ops_norm import batch_norm_params

# ------------------------------------------------------------------ shared pieces

#: what GroupNorm, LayerNorm and InstanceNorm compute in (see above)
STATS = np.dtype(np.float64)


def _block(chunk_bytes: int) -> int:
    """The scratch of one block: about an L2 cache, as the convolutions' blocks (a block
    that stays in cache through its several passes beats whole-tensor passes), never over
    the chunk."""
    return min(BLOCK, chunk_bytes)


#: the weight and bias of a block x3[r, p, q], broadcastable to it (None: not applied)
Affine = Callable[[slice, slice, slice], "tuple[np.ndarray | None, np.ndarray | None]"]


def _normalise(x3: np.ndarray, eps: float, work: np.dtype, chunk_bytes: int, affine: Affine) -> np.ndarray:
    """(x − mean) × rstd × weight + bias for x3 of shape (R, P, Q), the mean and biased
    variance taken over each x3[r], computed in `work` block by block into a new array of
    x3's dtype.  Blocks of whole x3[r] are done in one pass each; where one x3[r] is
    over a block, two passes make the statistics (the sums, then the squared deviations
    from the mean) and a third normalises."""
    rows, p_size, q_size = x3.shape
    count = work.type(p_size * q_size)
    out = np.empty(x3.shape, dtype=x3.dtype)
    # a block's scratch: its values in `work` and their squares
    blocks = list(chunks(x3.shape, 2 * work.itemsize, _block(chunk_bytes)))
    whole = slice(None)
    if all(p == whole and q == whole for _, p, q in blocks):
        for r, p, q in blocks:
            y = x3[r].astype(work, copy=True)
            y -= y.sum(axis=(1, 2), keepdims=True) / count
            variance = np.square(y).sum(axis=(1, 2), keepdims=True) / count
            y *= _rstd(variance, eps, work)
            out[r] = _apply(y, affine(r, p, q))
        return out
    total = np.zeros(rows, dtype=work)
    for r, p, q in blocks:
        total[r] += x3[r, p, q].sum(axis=(1, 2), dtype=work)
    mean = (total / count)[:, None, None]
    squares = np.zeros(rows, dtype=work)
    for r, p, q in blocks:
        deviation = x3[r, p, q].astype(work, copy=True)
        deviation -= mean[r]
        np.multiply(deviation, deviation, out=deviation)
        squares[r] += deviation.sum(axis=(1, 2))
    rstd = _rstd(squares / count, eps, work)[:, None, None]
    for r, p, q in blocks:
        y = x3[r, p, q].astype(work, copy=True)
        y -= mean[r]
        y *= rstd[r]
        out[r, p, q] = _apply(y, affine(r, p, q))
    return out


def _apply(y: np.ndarray, factors) -> np.ndarray:
    weight, bias = factors
    if weight is not None:
        y *= weight
    if bias is not None:
        y += bias
    return y


def _rstd(var: np.ndarray, eps: float, work: np.dtype) -> np.ndarray:
    return work.type(1) / np.sqrt(var + work.type(eps))


def _vector(layer, params: dict, declared: dict, name: str, size: int) -> np.ndarray | None:
    """A declared parameter (required, `size` values), or None.  A float parameter keeps its
    type (blocks of it are widened as they are used: a LayerNorm's weight can be as large as
    its input), others are converted to float64."""
    if name not in declared:
        return None
    given = params.get(name)
    kind = np.asarray(given).dtype if given is not None else STATS
    return parameter(layer, params, name, size, kind if kind.kind == "f" else STATS)


def _scale_rows(x: np.ndarray, alpha: np.ndarray, beta: np.ndarray, work: np.dtype,
                chunk_bytes: int) -> np.ndarray:
    """x × alpha + beta for x of shape (rows, channels, inner) and alpha, beta of shape
    (rows, channels), in `work`, written into a new array of x's dtype block by block."""
    out = np.empty(x.shape, dtype=x.dtype)
    for block in chunks(x.shape, work.itemsize, _block(chunk_bytes)):
        r, c = block[:2]
        y = x[block].astype(work, copy=True)
        y *= alpha[r, c, None]
        y += beta[r, c, None]
        out[block] = y
    return out


def _by_channel_statistics(x: np.ndarray, groups: int, weight, bias, eps: float, chunk_bytes: int) -> np.ndarray:
    """Normalise x (N, C, *spatial) with the statistics of each of `groups` channel groups
    of each sample, then scale and shift per channel (weight, bias: C values, or None)."""
    batch, channels = x.shape[:2]
    per_group = channels // groups
    x3 = x.reshape(batch * groups, per_group, math.prod(x.shape[2:]))
    by_group = [v.reshape(groups, per_group) if v is not None else None for v in (weight, bias)]

    def affine(r: slice, p: slice, q: slice):
        group = np.arange(*r.indices(x3.shape[0])) % groups  # row n·groups + g holds group g
        return tuple(v[group][:, p, None] if v is not None else None for v in by_group)
    return _normalise(x3, eps, STATS, chunk_bytes, affine).reshape(x.shape)


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
    channels = x.shape[1]
    declared = group_norm_params(layer)
    weight = _vector(layer, params, declared, "weight", channels)
    bias = _vector(layer, params, declared, "bias", channels)
    return _by_channel_statistics(x, layer.num_groups, weight, bias, layer.eps, ctx.chunk_bytes)


# ------------------------------------------------------------------ InstanceNormNd


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
    channels = x.shape[1]
    declared = batch_norm_params(layer)
    weight = _vector(layer, params, declared, "weight", channels)
    bias = _vector(layer, params, declared, "bias", channels)
    if x.size == 0:
        out = np.empty(x.shape, dtype=x.dtype)
    elif layer.track_running_stats:  # as BatchNorm: alpha = rstd × weight, beta = bias − mean × alpha
        mean = _vector(layer, params, declared, "running_mean", channels).astype(STATS)
        var = _vector(layer, params, declared, "running_var", channels).astype(STATS)
        alpha = _rstd(var, layer.eps, STATS) * (weight if weight is not None else 1.0)
        beta = (bias if bias is not None else 0.0) - mean * alpha
        batch = x.shape[0]
        out = _scale_rows(x.reshape(batch, channels, -1), np.broadcast_to(alpha, (batch, channels)),
                          np.broadcast_to(beta, (batch, channels)), STATS, ctx.chunk_bytes).reshape(x.shape)
    else:
        out = _by_channel_statistics(x, channels, weight, bias, layer.eps, ctx.chunk_bytes)
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
    length = math.prod(layer.normalized_shape)
    declared = layer_norm_params(layer)
    weight = _vector(layer, params, declared, "weight", length)
    bias = _vector(layer, params, declared, "bias", length)

    def affine(r: slice, p: slice, q: slice):
        return tuple(v[q] if v is not None else None for v in (weight, bias))
    return _normalise(x.reshape(-1, 1, length), layer.eps, STATS, ctx.chunk_bytes, affine).reshape(x.shape)


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
    for b, i in chunks((batch, inner), per_position, _block(ctx.chunk_bytes)):
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
