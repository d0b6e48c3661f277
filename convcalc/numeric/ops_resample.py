"""Upsample in every mode, PixelShuffle/PixelUnshuffle and ChannelShuffle.

Interpolation is separable: PyTorch's CPU kernels compute, per spatial axis, a source
index and a weight for every output position (the same for every row), then combine
the taps axis by axis, the last axis innermost.  This module computes the same
indices and weights with PyTorch's arithmetic (`aten/native/UpSample.h`,
`cpu/UpSampleKernel.cpp`), one vector per axis, and applies them as one `take` per tap
and axis, never looping over output positions:

- the scale: 1/scale_factor when a scale factor reaches the kernel (given and not
  recomputed), else in/out; (in-1)/(out-1) with align_corners.  It is computed in the
  kernel's `opmath` type: float32 for float32 (and for uint8 nearest), float64 for
  float64.
- `scale * (i + 0.5) - 0.5` is rounded once, as the fused multiply-add that PyTorch's
  x86-64 build compiles it to (it moves float32 weights by up to one unit in the last
  place of the source index, which is visible in the output).
- source indices are floored after a cast to float32 (PyTorch calls `floorf`), so a
  float64 index just below an integer can round up exactly as in PyTorch.
- nearest (2-D) has two kernels in PyTorch: the channels-last one, taken when the
  input is channels-last contiguous with more than 3 channels or when
  out_H + out_W <= 128, uses a float32 scale and shortcuts out == in and out == 2*in;
  the generic one does not.  Both are reproduced (`_legacy_nearest`).
- bicubic uses A = -0.75 and clamps the four taps to the border.
"""

from __future__ import annotations

import numpy as np

from ..layers.resample import ChannelShuffle, PixelShuffle, PixelUnshuffle, Upsample
from .kernel_support import accept, compute_dtype, lead_rows, row_blocks
from .kernels import kernel
from .ops_pool import adaptive_reduce, empty_before_dtype_check

_F32 = np.float32
_CUBIC_A = -0.75


def kernel_scales(layer: Upsample, n: int) -> tuple[float | None, ...]:
    """The scale factors PyTorch's kernel receives: the user's, unless size was given or
    recompute_scale_factor=True (then the kernel works from the sizes alone)."""
    sf = layer.scale_factor
    if sf is None or layer.recompute_scale_factor:
        return (None,) * n
    return tuple(sf) if isinstance(sf, tuple) else (sf,) * n


def _opmath_scale(in_size: int, out_size: int, scale: float | None, op: np.dtype):
    """compute_scales_value<opmath>: 1/scale (a double division, then cast) when a
    positive scale is given, else in/out in opmath."""
    if scale is not None and scale > 0:
        return op.type(1.0 / scale)
    return op.type(in_size) / op.type(out_size)


def _area_scale(in_size: int, out_size: int, align: bool, scale: float | None, op: np.dtype):
    """area_pixel_compute_scale<opmath>."""
    if align:
        return op.type(in_size - 1) / op.type(out_size - 1) if out_size > 1 else op.type(0)
    return _opmath_scale(in_size, out_size, scale, op)


def _floorf(real: np.ndarray) -> np.ndarray:
    """static_cast<int64_t>(floorf(v)): v is first rounded to float32."""
    return np.floor(real.astype(_F32)).astype(np.int64)


def _source_index(scale, out_size: int, align: bool, cubic: bool, op: np.dtype) -> np.ndarray:
    """area_pixel_compute_source_index<opmath> for every output position."""
    i = np.arange(out_size).astype(op)
    if align:
        return scale * i
    real = _fused_multiply_add(scale, i + op.type(0.5), op.type(-0.5))
    return real if cubic else np.where(real < 0, op.type(0), real)


def _fused_multiply_add(a, b: np.ndarray, c) -> np.ndarray:
    """a * b + c as PyTorch's x86-64 build computes `scale * (i + 0.5) - 0.5`: the
    compiler fuses it into one FMA, rounded once.  In float32 that is the float64
    result rounded to float32 (the product of two float32 is exact in float64, and so
    is adding 0.5 at these magnitudes); in float64 the unfused result differs by at
    most one unit in the last place, far below any tolerance, and is kept."""
    if b.dtype == np.float32:
        return (np.float64(a) * b.astype(np.float64) + np.float64(c)).astype(np.float32)
    return a * b + c


def _legacy_nearest(x_shape, out_shape) -> bool:
    """PyTorch's choice of its channels-last nearest kernel (`_use_vectorized_kernel_cond_2d`
    and `_3d`) for a contiguous input."""
    channels = x_shape[1]
    channels_last = channels > 3 and _channels_last_contiguous(x_shape)
    if len(x_shape) == 4:
        return channels_last or out_shape[-2] + out_shape[-1] <= 128
    return len(x_shape) == 5 and channels_last


def _channels_last_contiguous(shape) -> bool:
    """is_contiguous(ChannelsLast[3d]) of a C-contiguous tensor of this shape."""
    strides = [1] * len(shape)
    for d in range(len(shape) - 2, -1, -1):
        strides[d] = strides[d + 1] * shape[d + 1]
    order = [1] + list(range(len(shape) - 1, 1, -1)) + [0]
    expected = 1
    for d in order:
        if shape[d] != 1:
            if strides[d] != expected:
                return False
            expected *= shape[d]
    return True


def _nearest_axis(in_size: int, out_size: int, scale, exact: bool, legacy: bool, op: np.dtype):
    i = np.arange(out_size, dtype=np.int64)
    if legacy:
        # nearest_idx / nearest_exact_idx: a float32 scale whatever the dtype
        if not exact and out_size == in_size:
            return i
        if not exact and out_size == 2 * in_size:
            return i >> 1
        s = _opmath_scale(in_size, out_size, scale, np.dtype(_F32))
        if exact:
            index = _floorf((i + 0.5) * np.float64(s))  # (dst_index + 0.5) * scale: a double
        else:
            index = _floorf(i.astype(_F32) * s)
    else:
        # HelperInterpNearest[Exact]::compute_indices_weights
        s = _opmath_scale(in_size, out_size, scale, op)
        if exact:
            real = _source_index(s, out_size, False, False, op)
            index = _floorf(real.astype(np.float64) + 0.5)
        else:
            index = _floorf(_source_index(s, out_size, True, False, op))
    return np.minimum(index, in_size - 1)


def _linear_axis(in_size: int, out_size: int, scale, align: bool, op: np.dtype):
    """compute_source_index_and_lambda: two taps and their weights."""
    i = np.arange(out_size, dtype=np.int64)
    if out_size == in_size:
        return [i, i], [np.ones(out_size, op), np.zeros(out_size, op)]
    s = _area_scale(in_size, out_size, align, scale, op)
    real = _source_index(s, out_size, align, False, op)
    index0 = np.minimum(_floorf(real), in_size - 1)
    lambda1 = np.minimum(np.maximum(real - index0.astype(op), op.type(0)), op.type(1))
    index1 = index0 + (index0 < in_size - 1)
    return [index0, index1], [op.type(1) - lambda1, lambda1]


def _cubic_axis(in_size: int, out_size: int, scale, align: bool, op: np.dtype):
    """HelperInterpCubic::compute_indices_weights: four taps clamped to the border."""
    s = _area_scale(in_size, out_size, align, scale, op)
    real = _source_index(s, out_size, align, True, op)
    index = np.minimum(_floorf(real), in_size - 1)
    t = np.minimum(np.maximum(real - index.astype(op), op.type(0)), op.type(1))
    a = op.type(_CUBIC_A)

    def near(v):  # cubic_convolution1: |v| <= 1
        return ((a + 2) * v - (a + 3)) * v * v + 1

    def far(v):  # cubic_convolution2: 1 < |v| < 2
        return ((a * v - 5 * a) * v + 8 * a) * v - 4 * a

    one = op.type(1)
    rest = one - t
    weights = [far(t + one), near(t), near(rest), far(rest + one)]
    indices = [np.clip(index - 1 + j, 0, in_size - 1) for j in range(4)]
    return indices, weights


def _apply_axis(y: np.ndarray, axis: int, indices, weights) -> np.ndarray:
    """sum_j take(y, indices[j]) * weights[j] along `axis`, accumulated in tap order."""
    shape = [1] * y.ndim
    shape[axis] = -1
    acc = np.take(y, indices[0], axis=axis)
    if weights is None:
        return acc
    acc *= weights[0].astype(y.dtype).reshape(shape)
    for index, weight in zip(indices[1:], weights[1:]):
        acc += np.take(y, index, axis=axis) * weight.astype(y.dtype).reshape(shape)
    return acc


@kernel(Upsample)
def upsample(layer: Upsample, inputs, params, ctx) -> np.ndarray:
    (x,) = inputs
    mode = layer.mode
    out_shape = layer.output_shape([x.shape])
    n = x.ndim - 2
    if mode == "area" and empty_before_dtype_check(out_shape, n):
        return np.empty(out_shape, dtype=x.dtype)
    if mode == "area":
        accept(layer, x, what="mode 'area', an adaptive average pool")
        return adaptive_reduce(layer, x, out_shape, n, False, ctx)
    if mode in ("nearest", "nearest-exact"):
        accept(layer, x, ("uint8",), what=f"mode {mode!r}")
    elif x.dtype == np.uint8 and mode in ("bilinear", "bicubic"):
        raise layer.fail(f"mode {mode!r} on uint8 input uses PyTorch's fixed-point resampler, "
                         "which the executor does not reproduce; expected float32 or float64 "
                         "input; got uint8")
    else:
        accept(layer, x, what=f"mode {mode!r}")
    scales = kernel_scales(layer, n)
    in_sizes, out_sizes = x.shape[2:], out_shape[2:]
    if x.dtype.kind == "f":
        work = compute_dtype(x.dtype)
        op = work
    else:
        work, op = x.dtype, np.dtype(_F32)  # uint8 nearest computes its indices in float
    align = bool(layer.align_corners)
    plan = []
    legacy = _legacy_nearest(x.shape, out_shape)
    for i in range(n):
        args = (in_sizes[i], out_sizes[i], scales[i])
        if mode in ("nearest", "nearest-exact"):
            plan.append(([_nearest_axis(*args, mode == "nearest-exact", legacy, op)], None))
        elif mode == "bicubic":
            plan.append(_cubic_axis(*args, align, op))
        else:
            plan.append(_linear_axis(*args, align, op))
    rows = lead_rows(x, n)
    result = np.empty((rows.shape[0],) + tuple(out_sizes), dtype=x.dtype)
    biggest = max(int(np.prod(in_sizes)), int(np.prod(out_sizes)))
    for block in row_blocks(rows.shape[0], 3 * biggest * work.itemsize, ctx.chunk_bytes):
        y = rows[block].astype(work, copy=False)
        for i in reversed(range(n)):  # the last axis is PyTorch's innermost
            indices, weights = plan[i]
            y = _apply_axis(y, 1 + i, indices, weights)
        result[block] = y
    return result.reshape(out_shape)


@kernel(PixelShuffle)
def pixel_shuffle(layer: PixelShuffle, inputs, params, ctx) -> np.ndarray:
    """(..., C*r*r, H, W) -> (..., C, H*r, W*r): channel c*r*r + i*r + j lands at row
    offset i, column offset j."""
    (x,) = inputs
    out_shape = layer.output_shape([x.shape])
    r = layer.upscale_factor
    lead, (c, h, w) = x.shape[:-3], x.shape[-3:]
    k = len(lead)
    y = x.reshape(lead + (c // (r * r), r, r, h, w))
    y = y.transpose(tuple(range(k)) + tuple(k + a for a in (0, 3, 1, 4, 2)))
    return np.ascontiguousarray(y).reshape(out_shape)


@kernel(PixelUnshuffle)
def pixel_unshuffle(layer: PixelUnshuffle, inputs, params, ctx) -> np.ndarray:
    """The inverse: (..., C, H*r, W*r) -> (..., C*r*r, H, W)."""
    (x,) = inputs
    out_shape = layer.output_shape([x.shape])
    r = layer.downscale_factor
    lead, (c, h, w) = x.shape[:-3], x.shape[-3:]
    k = len(lead)
    y = x.reshape(lead + (c, h // r, r, w // r, r))
    y = y.transpose(tuple(range(k)) + tuple(k + a for a in (0, 2, 4, 1, 3)))
    return np.ascontiguousarray(y).reshape(out_shape)


@kernel(ChannelShuffle)
def channel_shuffle(layer: ChannelShuffle, inputs, params, ctx) -> np.ndarray:
    """Dim 1 (as PyTorch reads it, even unbatched) seen as (groups, C/groups), transposed."""
    (x,) = inputs
    layer.output_shape([x.shape])
    g = layer.groups
    y = x.reshape(x.shape[:1] + (g, x.shape[1] // g) + x.shape[2:]).swapaxes(1, 2)
    return np.ascontiguousarray(y).reshape(x.shape)
