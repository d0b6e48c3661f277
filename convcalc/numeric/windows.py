"""Padding and sliding windows for the kernels: two functions, both on the trailing axes.

    pad(x, pairs, mode="zeros", value=0.0)      PyTorch's F.pad, negative values crop
    windows(x, kernel, stride=1, dilation=1)    every window as a read-only strided view

`windows` copies nothing: its result has shape `x.shape[:-n] + out + kernel` (n = len(kernel),
`out` PyTorch's floor-mode output sizes) and strides made from x's own, so window (o, k)
along an axis reads x[o*stride + k*dilation]. A kernel reduces it with matmul/einsum (which
copy what BLAS needs, chunk by chunk) or a ufunc reduction over the last n axes.

    >>> import numpy as np
    >>> windows(np.arange(7), (3,), stride=2, dilation=2)
    array([[0, 2, 4],
           [2, 4, 6]])
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided

#: PyTorch's padding mode names (Conv's padding_mode, F.pad's mode) -> numpy.pad's
MODES = {"zeros": "constant", "constant": "constant", "reflect": "reflect", "replicate": "edge",
         "circular": "wrap"}


def _per_axis(value: int | Sequence[int], n: int, what: str) -> tuple[int, ...]:
    if isinstance(value, (int, np.integer)):
        return (int(value),) * n
    value = tuple(int(v) for v in value)
    if len(value) != n:
        raise ValueError(f"{what} must have {n} values; got {value}")
    return value


def pad(x: np.ndarray, pairs: Sequence[tuple[int, int]], mode: str = "zeros",
        value: float = 0.0) -> np.ndarray:
    """x padded on its last len(pairs) axes, `pairs` = (before, after) per axis in axis order.

    `mode` is PyTorch's: zeros/constant (with `value`), reflect (the edge not repeated),
    replicate (the edge repeated), circular (wrapped). A negative value crops, as F.pad does:
    reflect, replicate and constant pad the whole input and then crop (their index rules read
    the uncropped input); circular crops first and wraps what is left (PyTorch copies the
    wrapped parts from its cropped output). Returns x itself when nothing changes.

    The checks on sizes (reflect needs padding < size) are the layer's, made before; a
    violation here is numpy's ValueError.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    pairs = [(int(b), int(a)) for b, a in pairs]
    lead = x.ndim - len(pairs)
    if lead < 0:
        raise ValueError(f"{len(pairs)} padded axes for a {x.ndim}-D array")
    if all(b == 0 and a == 0 for b, a in pairs):
        return x
    crop = (slice(None),) * lead + tuple(slice(max(-b, 0), x.shape[lead + i] - max(-a, 0))
                                          for i, (b, a) in enumerate(pairs))
    grow = [(0, 0)] * lead + [(max(b, 0), max(a, 0)) for b, a in pairs]
    if mode == "circular":
        return np.pad(x[crop], grow, mode="wrap")
    kwargs = {"constant_values": value} if MODES[mode] == "constant" else {}
    padded = np.pad(x, grow, mode=MODES[mode], **kwargs)
    if any(b < 0 or a < 0 for b, a in pairs):
        # the crop's bounds, shifted by the padding added before each axis
        shifted = (slice(None),) * lead + tuple(
            slice(max(-b, 0), padded.shape[lead + i] - max(-a, 0)) for i, (b, a) in enumerate(pairs))
        padded = padded[shifted]
    return padded


def out_size(size: int, kernel: int, stride: int = 1, dilation: int = 1) -> int:
    """PyTorch's floor-mode window count along one axis (0 when the window does not fit)."""
    return max(0, (size - dilation * (kernel - 1) - 1) // stride + 1)


def windows(x: np.ndarray, kernel: Sequence[int], stride: int | Sequence[int] = 1,
            dilation: int | Sequence[int] = 1) -> np.ndarray:
    """A read-only view of every window over the last len(kernel) axes of x.

    Shape `x.shape[:-n] + out + kernel`, where out[i] = (size - dilation*(k-1) - 1)//stride + 1:
    windows that would run past the end are dropped (pad first, for padding or ceil mode).
    Nothing is copied; the view's element (..., o, k) is x[..., o*stride + k*dilation].

    Notes: like sliding_window_view (which this generalises with stride and dilation in
    one view), the view is O(1) to make, but anything that materialises it costs
    O(prod(out) * prod(kernel)) — split the outer axes into chunks first.
    """
    kernel = tuple(int(k) for k in kernel)
    n = len(kernel)
    stride, dilation = _per_axis(stride, n, "stride"), _per_axis(dilation, n, "dilation")
    if n > x.ndim:
        raise ValueError(f"a {n}-D window over a {x.ndim}-D array")
    sizes, steps = x.shape[-n:] if n else (), x.strides[-n:] if n else ()
    outs = tuple(out_size(s, k, st, d) for s, k, st, d in zip(sizes, kernel, stride, dilation))
    shape = x.shape[:x.ndim - n] + outs + kernel
    strides = (x.strides[:x.ndim - n] + tuple(t * st for t, st in zip(steps, stride))
               + tuple(t * d for t, d in zip(steps, dilation)))
    return as_strided(x, shape, strides, writeable=False)
