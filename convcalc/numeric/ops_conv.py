"""ConvNd and ConvTransposeNd: windows from stride tricks, the reduction by BLAS.

ConvNd is im2col: the padded input's windows (a strided view, `windows.windows`) are
copied, a chunk of output positions at a time, into a (C_in/groups × kernel, positions)
matrix per group, and one batched `matmul` multiplies every group's weight matrix with
its columns (groups are the batch axis of the product, never a Python loop). The
multiply-accumulates counted are exactly N × C_out × positions × C_in/groups × kernel.

ConvTransposeNd is col2im: one batched `matmul` takes every input position to its
C_out/groups × kernel contributions (N × C_in × positions × C_out/groups × kernel MACs,
the analytic count), which are then scatter-added into the output, one kernel tap at a
time: each tap adds a whole (N, C_out, positions) block at a stride, so the loop has
prod(kernel) iterations of vectorised work, 1/(C_in/groups) of the products' cost.
The zero-inserted direct convolution computes the same values but multiplies by the
inserted zeros too (stride^n times the products for the same output, and more MACs than
the analytic count); benchmarks/executor.py times both: on its 4×4 stride-2 case col2im
took 10 ms, zero insertion 45 ms (one thread).

Integer arrays compute exactly in int64: a product whose worst-case sum would leave
int64 is refused before it is computed.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ConvcalcError
from ..layers.conv import ConvNd, ConvTransposeNd
from .kernels import Context, kernel, parameters
from .memory import scratch
from .windows import pad, windows

INT64_MAX = (1 << 63) - 1


# ------------------------------------------------------------------- shared pieces

def chunks(sizes: tuple[int, ...], unit_bytes: int, limit: int):
    """Index tuples (one slice per axis) that cover `sizes` in blocks of at most `limit`
    bytes, at `unit_bytes` per index: whole trailing axes where they fit, a range of one
    axis, single indices on the axes before it. One index never splits (a block is at
    least `unit_bytes`)."""
    if 0 in sizes:
        return
    inner = unit_bytes
    split = len(sizes) - 1
    # the first axis whose one index (with every axis after it whole) fits the limit
    for axis in range(len(sizes)):
        if math.prod(sizes[axis + 1:]) * unit_bytes <= limit:
            split = axis
            break
    inner = math.prod(sizes[split + 1:]) * unit_bytes
    step = max(1, limit // max(inner, 1))
    rest = (slice(None),) * (len(sizes) - split - 1)
    for outer in np.ndindex(*sizes[:split]):
        head = tuple(slice(i, i + 1) for i in outer)
        for start in range(0, sizes[split], step):
            yield head + (slice(start, min(start + step, sizes[split])),) + rest


def check_integer_range(layer, x: np.ndarray, w: np.ndarray, b: np.ndarray | None, terms: int) -> None:
    """Refuse an integer product whose sums could leave int64 (numpy would wrap silently):
    the bound is max|x| × max|w| × terms + max|b|, in Python integers."""
    if x.dtype.kind not in "iu" or x.size == 0 or w.size == 0:
        return
    def big(a):
        return max(-int(a.min()), int(a.max())) if a.size else 0
    bound = big(x) * big(w) * terms + (big(b) if b is not None else 0)
    if bound > INT64_MAX:
        raise ConvcalcError(f"integer sums could reach {bound:.3e}, beyond int64 "
                            f"(max |input| {big(x)}, max |weight| {big(w)}, {terms} terms per output); "
                            "give float arrays to compute in floating point")


def gather(part: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """`part` reshaped: a view when its strides allow (a 1×1 convolution's columns are the
    input itself), else one contiguous copy (np.copyto into a fresh array: 2-3× faster than
    the copy reshape() makes of a many-axis strided view)."""
    try:
        return np.reshape(part, shape, copy=False)
    except ValueError:  # the strides need a copy
        pass
    except TypeError:  # numpy < 2.1 has no copy=; its reshape copies when it must
        return part.reshape(shape)
    buffer = np.empty(part.shape, dtype=part.dtype)
    np.copyto(buffer, part)
    return buffer.reshape(shape)


def _bias_shape(bias: np.ndarray, spatial: int) -> np.ndarray:
    return bias.reshape((-1,) + (1,) * spatial)


# ------------------------------------------------------------------- ConvNd

@parameters(ConvNd)
def conv_parameters(layer: ConvNd) -> dict[str, tuple[int, ...]]:
    shapes = {"weight": (layer.out_channels, layer.in_channels // layer.groups) + tuple(layer.kernel_size)}
    if layer.bias:
        shapes["bias"] = (layer.out_channels,)
    return shapes


def correlate(x: np.ndarray, w: np.ndarray, stride, dilation, groups: int, ctx: Context) -> np.ndarray:
    """The cross-correlation PyTorch calls convolution, on an already padded (N, C, *spatial)
    input with weight (C_out, C/groups, *kernel): im2col block by block, one batched matmul
    per block (the groups are its batch axis).

    A block is at most `block_bytes(ctx)` of columns (about an L2 cache): its columns are
    copied into one buffer that every block reuses, so the copy and the product read memory
    that is already cached and mapped. Blocks split the batch, then the groups, then the
    output positions; a convolution whose columns fit one block makes no extra copy."""
    n = x.ndim - 2
    batch = x.shape[0]
    out_channels, per_group = w.shape[:2]
    per_out = out_channels // groups
    k = tuple(w.shape[2:])
    depth = per_group * math.prod(k)                             # rows of one group's matrix
    view = windows(x, k, stride, dilation)                      # N, C, *out, *kernel
    outs = view.shape[2:2 + n]
    # split C into (groups, C/groups) and bring the kernel axes before the positions:
    # N, G, C/G, *kernel, *out — still a view
    view = view.reshape((batch, groups, per_group) + outs + k)
    view = view.transpose((0, 1, 2) + tuple(range(3 + n, 3 + 2 * n)) + tuple(range(3, 3 + n)))
    weights = w.reshape(groups, per_out, depth)
    blocks = list(chunks((batch, groups) + outs, depth * x.itemsize, block_bytes(ctx)))
    if len(blocks) <= 1:  # the whole product in one: reshaped, it is the output
        columns = gather(view, (batch, groups, depth, math.prod(outs)))
        return ctx.matmul(weights, columns).reshape((batch, out_channels) + outs)
    out = np.empty((batch, groups, per_out) + outs, dtype=np.result_type(x, w))
    inner = (slice(None),) * (1 + n)                             # C/G, *kernel
    buffer = np.empty(max(_block_size(b, view.shape, n) for b in blocks) * depth, dtype=x.dtype)
    for block in blocks:
        part = view[block[:2] + inner + block[2:]]
        rows, some, shape = part.shape[0], part.shape[1], part.shape[3 + n:]
        matrix = (rows, some, depth, math.prod(shape))
        try:  # a 1×1 stride-1 convolution's columns are the input itself
            columns = np.reshape(part, matrix, copy=False)
        except (ValueError, TypeError):  # copy=False is numpy >= 2.1; older numpy copies below
            columns = buffer[:part.size].reshape(part.shape)
            np.copyto(columns, part)
            columns = columns.reshape(matrix)
        product = ctx.matmul(weights[block[1]], columns)         # rows, groups, C_out/G, positions
        out[block[:2] + (slice(None),) + block[2:]] = product.reshape((rows, some, per_out) + shape)
        del columns, product  # before the next block's are made
    return out.reshape((batch, out_channels) + outs)


#: the columns of one block: about an L2 cache. Measured on one thread while writing this:
#: 0.5-2 MiB blocks beat one whole 7-170 MB matrix by 1.2-1.9x (3x3 conv at 56x56 2.6 vs
#: 3.4 ms, depthwise 1.4 vs 2.6 ms, Conv3d 72 vs 101 ms); 128 KiB blocks were slower again.
BLOCK = 1 << 20


def block_bytes(ctx: Context) -> int:
    return min(BLOCK, ctx.chunk_bytes)


def _block_size(block: tuple[slice, ...], shape: tuple[int, ...], n: int) -> int:
    """Positions (batch × groups × output positions) one block covers."""
    sizes = (shape[0], shape[1]) + shape[3 + n:]
    return math.prod(len(range(*b.indices(size))) for b, size in zip(block, sizes))


@kernel(ConvNd)
def conv(layer: ConvNd, inputs, params, ctx: Context) -> np.ndarray:
    (x,) = inputs
    n = layer.ndim
    unbatched = x.ndim == n + 1
    if unbatched:
        x = x[None]
    w, b = params["weight"], params.get("bias")
    check_integer_range(layer, x, w, b, w[0].size)
    padded = pad(x, layer.pad_pairs(), layer.padding_mode)
    out = correlate(padded, w, layer.stride, layer.dilation, layer.groups, ctx)
    del padded
    if b is not None:
        out += _bias_shape(b, n)
    if not layer.in_channels:  # PyTorch gives a zero-channel input a zero-channel output
        out = out[:, :0]
    return out[0] if unbatched else out


@scratch(ConvNd)
def conv_scratch(layer: ConvNd, inputs, output, itemsize: int, chunk_bytes: int) -> int:
    """The padded copy; then either the whole product (columns and output-sized products, when
    they fit one block) or the block buffer, one block's products and the output copy."""
    x = inputs[0]
    n = layer.ndim
    batch = math.prod(x[:-n - 1])
    padded = batch * x[-n - 1] * math.prod(s + a + b for s, (a, b) in zip(x[-n:], layer.pad_pairs()))
    padded_bytes = padded * itemsize if any(p != (0, 0) for p in layer.pad_pairs()) else 0
    depth = layer.in_channels // layer.groups * math.prod(layer.kernel_size) * itemsize  # one column
    per_out = layer.out_channels // layer.groups * itemsize
    columns = batch * layer.groups * math.prod(output[-n:]) * depth
    block = min(BLOCK, chunk_bytes)
    if columns <= max(block, depth):
        return padded_bytes + columns  # the product is the output itself
    positions = max(block, depth) // depth  # (batch, group, position) triples of one block
    return padded_bytes + positions * (depth + per_out)


# ------------------------------------------------------------------- ConvTransposeNd

@parameters(ConvTransposeNd)
def conv_transpose_parameters(layer: ConvTransposeNd) -> dict[str, tuple[int, ...]]:
    shapes = {"weight": (layer.in_channels, layer.out_channels // layer.groups) + tuple(layer.kernel_size)}
    if layer.bias:
        shapes["bias"] = (layer.out_channels,)
    return shapes


def _full_sizes(layer: ConvTransposeNd, sizes) -> tuple[int, ...]:
    """Every position a product lands on, before the padding is cropped: (in-1)·s + d·(k-1) + 1,
    plus output_padding (positions no product reaches: zero, then the bias)."""
    return tuple((i - 1) * s + d * (k - 1) + 1 + op for i, s, d, k, op in
                 zip(sizes, layer.stride, layer.dilation, layer.kernel_size, layer.output_padding))


def scatter_transposed(x: np.ndarray, w: np.ndarray, layer: ConvTransposeNd, ctx: Context) -> np.ndarray:
    """col2im: products by one batched matmul per chunk, then added into the uncropped
    output one kernel tap at a time; returns the uncropped (N, C_out, *full) array."""
    batch, in_channels = x.shape[:2]
    sizes = x.shape[2:]
    groups = layer.groups
    per_group_in, per_group_out = in_channels // groups, w.shape[1]
    out_channels = per_group_out * groups
    k = tuple(layer.kernel_size)
    taps = math.prod(k)
    stride, dilation = layer.stride, layer.dilation
    full = np.zeros((batch, out_channels) + _full_sizes(layer, sizes), dtype=np.result_type(x, w))
    # (G, C_out/G × kernel, C_in/G): each group's matrix is the transpose of a C-ordered block
    weights = w.reshape(groups, per_group_in, per_group_out * taps).transpose(0, 2, 1)
    grouped = x.reshape((batch, groups, per_group_in) + sizes)
    unit = out_channels * taps * x.itemsize                     # the products of one position
    for block in chunks((batch,) + sizes, unit, ctx.chunk_bytes):
        part = grouped[(block[0], slice(None), slice(None)) + block[1:]]
        rows, shape = part.shape[0], part.shape[3:]
        products = ctx.matmul(weights, gather(part, (rows, groups, per_group_in, math.prod(shape))))
        products = products.reshape((rows, out_channels) + k + shape)
        starts = [b.start or 0 for b in block[1:]]
        for tap in np.ndindex(*k):
            target = tuple(slice(i0 * s + t * d, i0 * s + t * d + (m - 1) * s + 1, s)
                           for i0, t, s, d, m in zip(starts, tap, stride, dilation, shape))
            full[(block[0], slice(None)) + target] += products[(slice(None), slice(None)) + tap]
        del part, products
    return full


@kernel(ConvTransposeNd)
def conv_transpose(layer: ConvTransposeNd, inputs, params, ctx: Context) -> np.ndarray:
    (x,) = inputs
    n = layer.ndim
    unbatched = x.ndim == n + 1
    if unbatched:
        x = x[None]
    w, b = params["weight"], params.get("bias")
    check_integer_range(layer, x, w, b, (layer.in_channels // layer.groups) * math.prod(layer.kernel_size))
    full = scatter_transposed(np.ascontiguousarray(x), w, layer, ctx)
    crop = tuple(slice(p, f - p) for p, f in zip(layer.padding, full.shape[2:]))
    # f - p: the output is full - 2p + output_padding wide, and `full` already holds the
    # output_padding positions after the rest
    out = full[(slice(None), slice(None)) + crop]
    if any(layer.padding):
        out = out.copy()  # let the uncropped array go
        del full
    if b is not None:
        out += _bias_shape(b, n)
    return out[0] if unbatched else out


@scratch(ConvTransposeNd)
def conv_transpose_scratch(layer: ConvTransposeNd, inputs, output, itemsize: int, chunk_bytes: int) -> int:
    """The uncropped output and one block of input positions: their copy and their products."""
    x = inputs[0]
    n = layer.ndim
    batch = math.prod(x[:-n - 1])
    full = batch * layer.out_channels * math.prod(_full_sizes(layer, x[-n:])) * itemsize
    unit = layer.out_channels * math.prod(layer.kernel_size) * itemsize  # the products of one position
    positions = min(batch * math.prod(x[-n:]), max(chunk_bytes, unit) // unit)
    return full + positions * (unit + layer.in_channels * itemsize)
