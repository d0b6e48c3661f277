"""Data movement and merges: PadNd in every mode, Flatten, Identity, Add/Mul, Concat.

Reflection, replication and circular padding gather the input through one index
vector per padded axis (`np.ix_`), so a pad is a single fancy-indexing copy; zero and
constant padding fill and copy the (possibly cropped) input into place.  Negative
padding crops, as F.pad does; circular padding crops first and then wraps within
what is left (PyTorch's order), the other modes index the original input.
"""

from __future__ import annotations

from functools import reduce

import numpy as np

from ..layers.linear import Flatten, Identity
from ..layers.merge import Concat, ElementwiseMerge
from ..layers.padding import PadNd
from ..layers.windows import axis_name
from .kernel_support import INTS, accept, result_type, scalar_for
from .kernels import kernel


def pad_index(size: int, before: int, after: int, mode: str) -> np.ndarray:
    """Which input position each output position along one axis reads."""
    if mode == "Circular":
        lo, hi = max(-before, 0), max(-after, 0)
        kept = size - lo - hi
        i = np.arange(-max(before, 0), kept + max(after, 0), dtype=np.int64)
        return lo + np.mod(i, kept) if kept > 0 else i[:0]
    i = np.arange(-before, size + after, dtype=np.int64)
    if mode == "Reflection":
        i = np.abs(i)
        return np.where(i > size - 1, 2 * (size - 1) - i, i)
    return np.clip(i, 0, size - 1)  # Replication


@kernel(PadNd)
def pad(layer: PadNd, inputs, params, ctx) -> np.ndarray:
    (x,) = inputs
    out_shape = layer.output_shape([x.shape])
    mode, n = layer.mode, layer.padded_dims
    # reflection and replication have no bool kernel in PyTorch; everything else does
    accept(layer, x, INTS if mode in ("Reflection", "Replication") else INTS + ("bool",))
    pairs = layer.pairs()
    sizes = x.shape[x.ndim - n:]
    if mode in ("Zero", "Constant"):
        value = scalar_for(layer, layer.value, x.dtype, "value") if mode == "Constant" else 0
        out = np.full(out_shape, value, dtype=x.dtype)
        src = [slice(None)] * (x.ndim - n)
        dst = list(src)
        for (before, after), size in zip(pairs, sizes):
            first, last = max(-before, 0), size - max(-after, 0)
            src.append(slice(first, last))
            dst.append(slice(max(before, 0), max(before, 0) + max(last - first, 0)))
        out[tuple(dst)] = x[tuple(src)]
        return out
    if mode == "Circular":
        for i, ((before, after), size) in enumerate(zip(pairs, sizes)):
            kept = size - max(-before, 0) - max(-after, 0)
            if max(before, after) > kept:
                # PyTorch raises here, or returns uninitialised memory
                raise layer.fail(f"circular padding along {axis_name(i, n)} wraps more than once: "
                                 f"expected at most {kept} (the size left after cropping); "
                                 f"got {max(before, after)}")
    if 0 in out_shape:
        return np.empty(out_shape, dtype=x.dtype)
    index = [pad_index(size, before, after, mode) for (before, after), size in zip(pairs, sizes)]
    return x[(Ellipsis,) + np.ix_(*index)]


@kernel(Flatten)
def flatten(layer: Flatten, inputs, params, ctx) -> np.ndarray:
    (x,) = inputs
    return x.reshape(layer.output_shape([x.shape]))


@kernel(Identity)
def identity(layer: Identity, inputs, params, ctx) -> np.ndarray:
    return inputs[0]


@kernel(ElementwiseMerge)
def merge(layer: ElementwiseMerge, inputs, params, ctx) -> np.ndarray:
    """x1 + x2 + ... (or x1 * x2 * ...) left to right, broadcasting, each step in the
    dtype PyTorch promotes that pair to (float32 + float32 stays float32 before a
    float64 joins; integers wrap around as in PyTorch)."""
    layer.output_shape([a.shape for a in inputs])

    def step(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        dtype = result_type([a, b])
        if dtype == np.bool_:
            op = np.logical_or if layer.op == "Add" else np.logical_and
        else:
            op = np.add if layer.op == "Add" else np.multiply
        return op(a.astype(dtype, copy=False), b.astype(dtype, copy=False))

    return reduce(step, inputs[1:], inputs[0])


@kernel(Concat)
def concat(layer: Concat, inputs, params, ctx) -> np.ndarray:
    """torch.cat along dim, in the promoted dtype."""
    layer.output_shape([a.shape for a in inputs])
    dim = layer.dim % max(inputs[0].ndim, 1)
    dtype = result_type(inputs)
    return np.concatenate([a.astype(dtype, copy=False) for a in inputs], axis=dim)
