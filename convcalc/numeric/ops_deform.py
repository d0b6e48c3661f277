"""DeformConv2d: bilinear sampling at the offset taps (gathered), then im2col's matmul.

As torchvision's CPU kernel (`deform_conv2d_kernel.cpp`) does: tap (i, j) of output
position (y, x) samples the input at
    h = y·stride_h − pad_h + i·dilation_h + Δh,   w = x·stride_w − pad_w + j·dilation_w + Δw
by bilinear interpolation, where a sample with h ≤ −1, h ≥ H, w ≤ −1 or w ≥ W is 0 and a
corner outside the image contributes 0 (the input is read through a one-pixel zero
border, so partial neighbours need no case); with a mask the sample is scaled by it.
The four corners of every sample of a block are one `np.take` per image and offset group
(all its channels, taps and positions at once); the samples, (C_in × kh·kw, positions)
per image, are the columns one batched matmul multiplies by the weight, the groups its
batch axis.

Counted products (`Context`): the 4-corner weighted sum of every sample (4 MACs), the
mask multiply (1), the matmul (C_out × C_in/groups × kh·kw per position) — the
convcalc convention's definition, read off the operands here.  Work is split into
blocks of output positions so that the gathered corners stay within `chunk_bytes`.
"""

from __future__ import annotations

import math

import numpy as np

from ..layers.deform import DeformConv2d
from .kernel_support import accept
from .kernels import Context, kernel, parameters
from .memory import scratch
from .ops_conv import chunks, conv_parameters

#: bytes per (image, group of offsets, tap, position) besides the channel data: two
#: coordinates, four corner indices (int64) and four weights
_PER_POINT = 2 * 8 + 4 * 8 + 4 * 8


#: the weight and bias are laid out as a ConvNd's: (C_out, C_in/groups, kh, kw) and (C_out,)
parameters(DeformConv2d)(conv_parameters)


def _unit_bytes(layer: DeformConv2d, channels: int, groups: int, itemsize: int) -> int:
    """Scratch per (image, output position): 4 corners + sample + masked sample per channel
    and tap, the per-point bookkeeping, and the matmul's output column."""
    taps = math.prod(layer.kernel_size)
    return taps * (6 * channels * itemsize + groups * _PER_POINT) + layer.out_channels * itemsize


@scratch(DeformConv2d)
def deform_scratch(layer: DeformConv2d, inputs, output, itemsize: int, chunk_bytes: int) -> int:
    n, c, h, w = inputs[0]
    padded = n * c * (h + 2) * (w + 2) * itemsize
    zeros = n * 2 * math.prod(layer.kernel_size) * output[2] * output[3] * itemsize if len(inputs) == 1 else 0
    groups = inputs[1][1] // (2 * math.prod(layer.kernel_size)) if len(inputs) > 1 else 1
    unit = _unit_bytes(layer, c, groups, itemsize)
    block = min(n * output[2] * output[3] * unit, max(chunk_bytes, unit))  # one (image, positions) block
    return padded + zeros + 2 * block


def _sampling_points(layer: DeformConv2d, offset: np.ndarray, rows: slice, width: int, dtype):
    """(h, w) of every tap at the output positions of `rows` (flat indices), shape
    (n, G, K, l) each, computed as torchvision does: the integer base, then + the offset."""
    kh, kw = layer.kernel_size
    (sh, sw), (ph, pw), (dh, dw) = layer.stride, layer.padding, layer.dilation
    pos = np.arange(rows.start, rows.stop)
    oy, ox = pos // width, pos % width
    ti, tj = np.divmod(np.arange(kh * kw), kw)
    base_h = (oy[None, :] * sh - ph + ti[:, None] * dh).astype(dtype)   # K, l
    base_w = (ox[None, :] * sw - pw + tj[:, None] * dw).astype(dtype)
    return base_h + offset[:, :, :, 0, rows], base_w + offset[:, :, :, 1, rows]


def _corners(h: np.ndarray, w: np.ndarray, height: int, width: int, dtype):
    """Flat indices into the zero-bordered image (H+2)×(W+2) of the four corners, and their
    bilinear weights, each (..., 4); a sample outside (−1, H) × (−1, W) reads the border's
    zero with weight 0 at all four."""
    valid = (h > -1) & (h < height) & (w > -1) & (w < width)
    h = np.where(valid, h, 0)
    w = np.where(valid, w, 0)
    h_low, w_low = np.floor(h), np.floor(w)
    lh, lw = (h - h_low).astype(dtype, copy=False), (w - w_low).astype(dtype, copy=False)
    hh, hw = 1 - lh, 1 - lw
    row0 = h_low.astype(np.int64) + 1                 # in the bordered image
    col0 = w_low.astype(np.int64) + 1
    stride = width + 2
    index = np.stack([row0 * stride + col0, row0 * stride + col0 + 1,
                      (row0 + 1) * stride + col0, (row0 + 1) * stride + col0 + 1], axis=-1)
    index = np.where(valid[..., None], index, 0)
    weight = np.stack([hh * hw, hh * lw, lh * hw, lh * lw], axis=-1)
    weight = np.where(valid[..., None], weight, 0).astype(dtype, copy=False)
    return index, weight


def _gather(image: np.ndarray, index: np.ndarray) -> np.ndarray:
    """values[b, g, c, i] = image[b, g, c, index[b, g, i]]: one `take` per image and offset
    group (each a vectorised gather of all its channels, taps and positions), which unlike
    a broadcast fancy index makes no index array the size of the result."""
    count, groups, per = image.shape[:3]
    values = np.empty((count, groups, per, index.shape[-1]), dtype=image.dtype)
    for b in range(count):
        for g in range(groups):
            np.take(image[b, g], index[b, g], axis=-1, out=values[b, g], mode="clip")  # in range: unbuffered
    return values


@kernel(DeformConv2d)
def deform_conv(layer: DeformConv2d, inputs, params, ctx: Context) -> np.ndarray:
    x = inputs[0]
    layer.output_shape([a.shape for a in inputs])
    accept(layer, x, what="torchvision's deform_conv2d")
    dtype = x.dtype
    n, c, height, width = x.shape
    kh, kw = layer.kernel_size
    taps = kh * kw
    _, c_out, out_h, out_w = layer.output_shape([a.shape for a in inputs])
    positions = out_h * out_w
    if len(inputs) > 1:
        groups = inputs[1].shape[1] // (2 * taps)
        offset = np.asarray(inputs[1], dtype=dtype).reshape(n, groups, taps, 2, positions)
    else:  # a chain's single input: the regular grid (the note says so)
        groups = 1
        offset = np.zeros((n, 1, taps, 2, positions), dtype=dtype)
    mask = np.asarray(inputs[2], dtype=dtype).reshape(n, groups, taps, positions) if len(inputs) > 2 else None
    wg = layer.weight_groups(c)
    per_group = c // wg
    weight = np.asarray(params["weight"], dtype=dtype).reshape(wg, c_out // wg, per_group * taps)
    out = np.zeros((n, c_out, positions), dtype=dtype)
    if out.size == 0:
        return out.reshape(n, c_out, out_h, out_w)
    bordered = np.zeros((n, c, height + 2, width + 2), dtype=dtype)
    bordered[:, :, 1:height + 1, 1:width + 1] = x
    image = bordered.reshape(n, groups, c // groups, (height + 2) * (width + 2))
    unit = _unit_bytes(layer, c, groups, dtype.itemsize)
    for images, rows in chunks((n, positions), unit, ctx.chunk_bytes):
        images, rows = slice(*images.indices(n)), slice(*rows.indices(positions))
        count, length = images.stop - images.start, rows.stop - rows.start
        h, w = _sampling_points(layer, offset[images], rows, out_w, dtype)   # n, G, K, l
        index, corner = _corners(h, w, height, width, dtype)                # n, G, K, l, 4
        values = _gather(image[images], index.reshape(count, groups, -1))
        values = values.reshape(count, groups, c // groups, taps, length, 4)
        samples = ctx.einsum("ngcklq,ngklq->ngckl", values, corner, optimize=False)
        del values
        if mask is not None:
            samples = ctx.einsum("ngckl,ngkl->ngckl", samples, mask[images, ..., rows], optimize=False)
        columns = samples.reshape(count, wg, per_group * taps, length)    # channel-major, as the weight
        out[images, :, rows] = ctx.matmul(weight, columns).reshape(count, c_out, length)
    if layer.bias:
        out += np.asarray(params["bias"], dtype=dtype).reshape(1, c_out, 1)
    return out.reshape(n, c_out, out_h, out_w)
