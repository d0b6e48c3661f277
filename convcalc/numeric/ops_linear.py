"""Linear: every leading position at once, one (positions × in) @ (in × out) product."""

from __future__ import annotations

import math

import numpy as np

from ..layers.linear import Linear
from .kernels import Context, kernel, parameters
from .memory import scratch
from .ops_conv import check_integer_range


@parameters(Linear)
def linear_parameters(layer: Linear) -> dict[str, tuple[int, ...]]:
    shapes = {"weight": (layer.out_features, layer.in_features)}
    if layer.bias:
        shapes["bias"] = (layer.out_features,)
    return shapes


@kernel(Linear)
def linear(layer: Linear, inputs, params, ctx: Context) -> np.ndarray:
    (x,) = inputs
    w, b = params["weight"], params.get("bias")
    check_integer_range(layer, x, w, b, layer.in_features)
    lead = x.shape[:-1]
    rows = x.reshape(math.prod(lead), layer.in_features)  # a view when x is contiguous
    out = ctx.matmul(rows, w.T)  # w.T is Fortran-ordered: BLAS reads it transposed, no copy
    if b is not None:
        out += b
    return out.reshape(lead + (layer.out_features,))


@scratch(Linear)
def linear_scratch(layer: Linear, inputs, output, itemsize: int, chunk_bytes: int) -> int:
    """A contiguous copy of the input at most (a view when it is contiguous already)."""
    return math.prod(inputs[0]) * itemsize
