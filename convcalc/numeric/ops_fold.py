"""Unfold (im2col) and Fold (col2im), PyTorch's F.unfold and F.fold.

Unfold pads the input with zeros, takes every block as a strided view
(`windows.windows`: N, C, H_blocks, W_blocks, k_H, k_W) and copies it once, the
kernel axes moved before the block axes, into the (N, C × k_H × k_W, L) output: row
c·k_H·k_W + i·k_W + j of column l holds channel c at tap (i, j) of block l, the
layout a convolution's weight (C_out, C, k_H, k_W) multiplies.

Fold is the reverse: the columns, viewed as (N, C, k_H, k_W, H_blocks, W_blocks), are
added into a zero (N, C, H + 2·p_H, W + 2·p_W) array one kernel tap at a time (each tap
one strided block of every output position it reaches, k_H × k_W vectorised adds,
never a loop over positions), and the padding is cropped.  Every output position
receives its values in increasing tap order, as PyTorch's col2im adds them.

Neither multiplies anything (their analytic MACs are 0).  PyTorch runs both on float
and bool tensors (a bool Fold ORs the values that overlap, as numpy's bool add does)
and refuses every integer dtype.
"""

from __future__ import annotations

import math

import numpy as np

from ..layers.fold import Fold, Unfold
from .kernel_support import accept
from .kernels import kernel
from .memory import scratch
from .windows import out_size, pad, windows

#: im2col and col2im have float and bool kernels, no integer ones
_ALSO = ("bool",)


@kernel(Unfold)
def unfold(layer: Unfold, inputs, params, ctx) -> np.ndarray:
    (x,) = inputs
    accept(layer, x, _ALSO, what="im2col")
    out_shape = layer.output_shape([x.shape])
    unbatched = x.ndim == 3
    if unbatched:
        x = x[None]
    padded = pad(x, [(p, p) for p in layer.padding])
    view = windows(padded, layer.kernel_size, layer.stride, layer.dilation)  # N, C, oh, ow, kh, kw
    out = np.empty(view.shape[:2] + view.shape[4:] + view.shape[2:4], dtype=x.dtype)
    np.copyto(out, view.transpose(0, 1, 4, 5, 2, 3))
    return out.reshape(out_shape)


@scratch(Unfold)
def unfold_scratch(layer: Unfold, inputs, output, itemsize: int, chunk_bytes: int) -> int:
    """The zero-padded copy of the input (none without padding); the copy goes straight
    into the output."""
    if not any(layer.padding):
        return 0
    x = inputs[0]
    lead = math.prod(x[:-2])
    return lead * math.prod(s + 2 * p for s, p in zip(x[-2:], layer.padding)) * itemsize


def _padded_sizes(layer: Fold) -> tuple[int, int]:
    return tuple(s + 2 * p for s, p in zip(layer.output_size, layer.padding))  # type: ignore[return-value]


@kernel(Fold)
def fold(layer: Fold, inputs, params, ctx) -> np.ndarray:
    (x,) = inputs
    accept(layer, x, _ALSO, what="col2im")
    out_shape = layer.output_shape([x.shape])
    unbatched = x.ndim == 2
    if unbatched:
        x = x[None]
    kh, kw = layer.kernel_size
    sizes = _padded_sizes(layer)
    blocks = tuple(out_size(s, k, st, d) for s, k, st, d in
                   zip(sizes, layer.kernel_size, layer.stride, layer.dilation))
    batch, channels = x.shape[0], x.shape[1] // (kh * kw)
    columns = x.reshape((batch, channels, kh, kw) + blocks)
    full = np.zeros((batch, channels) + sizes, dtype=x.dtype)
    (sh, sw), (dh, dw) = layer.stride, layer.dilation
    bh, bw = blocks
    for i, j in np.ndindex(kh, kw):
        target = (slice(None), slice(None), slice(i * dh, i * dh + (bh - 1) * sh + 1, sh),
                  slice(j * dw, j * dw + (bw - 1) * sw + 1, sw))
        full[target] += columns[:, :, i, j]
    ph, pw = layer.padding
    out = full
    if ph or pw:
        out = full[:, :, ph:ph + layer.output_size[0], pw:pw + layer.output_size[1]].copy()
        del full
    return out.reshape(out_shape)


@scratch(Fold)
def fold_scratch(layer: Fold, inputs, output, itemsize: int, chunk_bytes: int) -> int:
    """With padding, the uncropped sum the output is cropped from (without, it is the output)."""
    if not any(layer.padding):
        return 0
    return math.prod(output[:-2]) * math.prod(_padded_sizes(layer)) * itemsize
