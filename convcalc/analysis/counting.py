"""Counting conventions: MACs and FLOPs per layer, in one place.

convcalc's convention (CONTRACT section 4): MACs are the multiply-accumulates of
weighted layers, batch included, bias excluded; FLOPs are 2*MACs, plus one add per
output element where there is a bias, plus the element-wise work of the other layers
by the per-element costs below (documented in the README).
"""

from __future__ import annotations

import math
from typing import Sequence

from ..layers.base import Layer, Shape

#: FLOPs per output element of element-wise layers (transcendentals count as 1)
ELEMENTWISE_FLOPS = {
    "ReLU": 1,         # max(x, 0)
    "ReLU6": 2,        # max, min
    "LeakyReLU": 2,    # compare, multiply
    "Hardtanh": 2,     # max, min
    "GELU": 5,         # x/sqrt2, erf, +1, *0.5, *x
    "GELU-tanh": 9,    # x^3 (2), *c, +x, *sqrt(2/pi), tanh, +1, *0.5, *x
    "SiLU": 5,         # sigmoid (4), *x
    "Sigmoid": 4,      # neg, exp, +1, reciprocal
    "Tanh": 1,         # tanh
    "Hardswish": 5,    # +3, max, min, *x, /6
    "Hardsigmoid": 4,  # +3, max, min, /6
    "ELU": 4,          # compare, exp, -1, *alpha
    "CELU": 5,         # compare, /alpha, exp, -1, *alpha
    "SELU": 5,         # ELU (4), *scale
    "Mish": 5,         # exp, +1, log, tanh, *x
    "Softplus": 5,     # *beta, exp, +1, log, /beta
    "Softsign": 3,     # abs, +1, divide
    "Tanhshrink": 2,   # tanh, subtract
    "Softmax": 3,      # exp, sum, divide
    "LogSoftmax": 3,   # exp, sum, log-subtract
}


def numel(shape: Shape) -> int:
    return math.prod(shape)


def macs(layer: Layer, inputs: Sequence[Shape], output: Shape) -> int:
    """Multiply-accumulates, batch included, bias excluded; 0 for unweighted layers."""
    kind = type(layer).__name__  # dispatch by class name: no layer module is imported here
    if kind == "ConvNd":
        n = layer.ndim
        batch = numel(output[:-n - 1])  # 1 for an unbatched input
        # N * C_out * prod(out_spatial) * (C_in / groups) * prod(kernel)
        return (batch * layer.out_channels * numel(output[-n:])
                * (layer.in_channels // layer.groups) * numel(layer.kernel_size))
    if kind == "ConvTransposeNd":
        n = layer.ndim
        x = inputs[0]
        # N * C_in * prod(in_spatial) * (C_out / groups) * prod(kernel): each input scatters a kernel
        return (numel(x[:-n - 1]) * layer.in_channels * numel(x[-n:])
                * (layer.out_channels // layer.groups) * numel(layer.kernel_size))
    if kind == "Linear":
        # prod(leading dims) * in_features * out_features
        return numel(inputs[0][:-1]) * layer.in_features * layer.out_features
    return 0


def flops(layer: Layer, inputs: Sequence[Shape], output: Shape) -> int:
    """Floating-point operations under convcalc's convention."""
    out = numel(output)
    kind = type(layer).__name__
    if kind in ("ConvNd", "ConvTransposeNd", "Linear"):
        return 2 * macs(layer, inputs, output) + (out if layer.bias else 0)
    if kind == "BatchNormNd":
        return 2 * out  # inference: running stats and affine folded into one multiply-add
    if kind == "Elementwise":
        key = layer.type
        if key == "GELU" and layer.option("approximate") == "tanh":
            key = "GELU-tanh"
        return ELEMENTWISE_FLOPS.get(key, 0) * out
    if kind == "PReLU":
        return 2 * out  # compare, multiply
    if kind == "MaxPoolNd":
        return out * (numel(layer.kernel_size) - 1)  # comparisons
    if kind == "AvgPoolNd":
        return out * numel(layer.kernel_size)  # k-1 adds and one divide
    if kind == "AdaptivePoolNd":
        return _adaptive_flops(layer.kind == "Max", inputs[0], output, layer.ndim)
    if kind == "Upsample":
        n = len(output) - 2
        if layer.mode == "area":
            return _adaptive_flops(False, inputs[0], output, n)
        taps = {"linear": 2, "bilinear": 4, "trilinear": 8, "bicubic": 16}.get(layer.mode, 0)
        return out * (2 * taps - 1) if taps else 0  # weighted sum of the taps
    if kind == "ElementwiseMerge":
        return out * (len(inputs) - 1)
    return 0


def _adaptive_flops(is_max: bool, x: Shape, output: Shape, n: int) -> int:
    """Adaptive windows vary in size. Along an axis of `a` inputs and `b` outputs the
    windows [floor(o*a/b), ceil((o+1)*a/b)) add up to a + b - gcd(a, b) reads."""
    lead = numel(output[:-n])
    window_sum = 1
    for size, out in zip(x[-n:], output[-n:]):
        window_sum *= size + out - math.gcd(size, out) if out else 0
    reads = lead * window_sum
    return reads - numel(output) if is_max else reads
