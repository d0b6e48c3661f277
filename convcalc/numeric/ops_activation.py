"""Activations, dropout (identity in eval()) and PReLU.

Each activation is PyTorch's formula, written in the same order of operations
(GELU is `x * 0.5 * (1 + erf(x / sqrt(2)))`, SiLU `x / (1 + exp(-x))`, ELU uses
expm1, ...), computed in the input's float dtype (float16 in float32, PyTorch's
opmath).  Integer input follows PyTorch: ReLU, ReLU6 and Hardtanh compute in the
integer dtype (Hardtanh's limits truncated toward zero; uint8 refuses negative ones);
Sigmoid, Tanh, Softsign and Tanhshrink give float32; the rest refuse.
Work is done in blocks of the flattened tensor so temporaries stay within
`ctx.chunk_bytes`.
"""

from __future__ import annotations

import functools
import math
from typing import Callable

import numpy as np
from numpy.polynomial import chebyshev

from ..layers.elementwise import Elementwise, PReLU
from .kernel_support import INTS, accept, compute_dtype, flat_blocks, parameter, scalar_for
from .kernels import kernel, parameters

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946

# erf, in float64 to about 4e-15 (tested against math.erf): below _ERF_SPLIT,
# erf(x) = x * P(x^2); between it and _ERF_END, erf(x) = 1 - exp(-x^2) * Q(1/x); past
# _ERF_END, erf is 1 to double precision (erfc(6) is 2e-17).  P and Q are Chebyshev
# least-squares fits made on first use from math.erf / math.erfc at Chebyshev nodes.
_ERF_SPLIT, _ERF_END = 2.0, 6.0
_ERF_DEGREES = (16, 14)


def _chebyshev_nodes(count: int, lo: float, hi: float) -> np.ndarray:
    k = np.arange(count)
    return 0.5 * (lo + hi) + 0.5 * (hi - lo) * np.cos(np.pi * (k + 0.5) / count)


@functools.lru_cache(maxsize=None)
def _erf_fits() -> tuple[np.ndarray, np.ndarray]:
    inner_degree, outer_degree = _ERF_DEGREES
    squares = _chebyshev_nodes(inner_degree + 1, 0.0, _ERF_SPLIT ** 2)
    ratio = [math.erf(math.sqrt(v)) / math.sqrt(v) for v in squares]
    inner = chebyshev.chebfit(_inner_arg(squares), ratio, inner_degree)
    inverse = _chebyshev_nodes(outer_degree + 1, 1 / _ERF_END, 1 / _ERF_SPLIT)
    scaled = [math.erfc(1 / u) * math.exp(1 / (u * u)) for u in inverse]
    outer = chebyshev.chebfit(_outer_arg(inverse), scaled, outer_degree)
    return inner, outer


def _inner_arg(square):
    return square * (2 / _ERF_SPLIT ** 2) - 1


def _outer_arg(inverse):
    lo, hi = 1 / _ERF_END, 1 / _ERF_SPLIT
    return (2 * inverse - (lo + hi)) / (hi - lo)


def erf(x: np.ndarray) -> np.ndarray:
    """The error function of a float array, computed in float64."""
    inner_fit, outer_fit = _erf_fits()
    x = np.asarray(x, dtype=np.float64)
    a = np.abs(x)
    out = np.ones_like(a)
    inner = a <= _ERF_SPLIT
    s = a[inner]
    out[inner] = s * chebyshev.chebval(_inner_arg(s * s), inner_fit)
    middle = (a > _ERF_SPLIT) & (a < _ERF_END)
    b = a[middle]
    out[middle] = 1.0 - np.exp(-b * b) * chebyshev.chebval(_outer_arg(1.0 / b), outer_fit)
    out[np.isnan(a)] = np.nan
    return np.copysign(out, x)


def _opt(layer: Elementwise, key: str, default: float) -> float:
    return float(layer.option(key, default))  # type: ignore[arg-type]


def _gelu(layer, x):
    if layer.option("approximate", "none") == "tanh":
        beta = x.dtype.type(math.sqrt(2.0) * (2.0 / math.sqrt(math.pi)) * 0.5)
        kappa = x.dtype.type(0.044715)
        inner = beta * (x + kappa * (x * x * x))
        return x.dtype.type(0.5) * x * (1 + np.tanh(inner))
    e = erf(x * x.dtype.type(math.sqrt(0.5))).astype(x.dtype)
    return x * x.dtype.type(0.5) * (1 + e)


def _elu(x, alpha: float, scale: float, input_scale: float):
    """PyTorch's elu kernel: x * scale for x > 0, else expm1(x * input_scale) * alpha * scale."""
    t = x.dtype.type
    negative = np.expm1(np.minimum(x, 0) * t(input_scale)) * t(alpha * scale)
    return np.where(x > 0, x * t(scale), negative)


def _hardtanh(layer, x, low: float, high: float):
    """clamp(x, min_val, max_val), with F.hardtanh's checks on the limits."""
    if low > high:
        raise layer.fail(f"expected min_val <= max_val; got min_val={low!r}, max_val={high!r}")
    if x.dtype == np.uint8 and min(low, high) <= -1:  # truncated toward zero, -0.5 is 0
        raise layer.fail(f"an unsigned input needs limits that are not negative; got "
                         f"min_val={low!r} for uint8")
    lo = scalar_for(layer, low, x.dtype, "min_val", truncate_first=True)
    hi = scalar_for(layer, high, x.dtype, "max_val", truncate_first=True)
    return np.minimum(np.maximum(x, lo), hi)


def _softplus(layer, x):
    t = x.dtype.type
    beta, threshold = _opt(layer, "beta", 1.0), _opt(layer, "threshold", 20.0)
    scaled = x * t(beta)
    soft = np.log1p(np.exp(scaled)) / t(beta)
    return np.where(scaled > t(threshold), x, soft)


#: type -> (formula on a float block, integer dtypes computed as they are,
#:          integer dtypes (and bool) computed in float32)
_ELEMENTWISE: dict[str, tuple[Callable, tuple[str, ...], tuple[str, ...]]] = {
    "ReLU": (lambda l, x: np.maximum(x, x.dtype.type(0)), INTS, ()),
    "ReLU6": (lambda l, x: np.minimum(np.maximum(x, x.dtype.type(0)), x.dtype.type(6)), INTS, ()),
    "LeakyReLU": (lambda l, x: np.where(x > 0, x, x * x.dtype.type(_opt(l, "negative_slope", 0.01))), (), ()),
    "GELU": (_gelu, (), ()),
    "SiLU": (lambda l, x: x / (1 + np.exp(-x)), (), ()),
    "Sigmoid": (lambda l, x: 1 / (1 + np.exp(-x)), (), INTS + ("bool",)),
    "Tanh": (lambda l, x: np.tanh(x), (), INTS + ("bool",)),
    "Hardswish": (lambda l, x: x * np.minimum(np.maximum(x + 3, 0), 6) / x.dtype.type(6), (), ()),
    "Hardsigmoid": (lambda l, x: np.minimum(np.maximum(x + 3, 0), 6) / x.dtype.type(6), (), ()),
    "Hardtanh": (lambda l, x: _hardtanh(l, x, _opt(l, "min_val", -1.0), _opt(l, "max_val", 1.0)), INTS, ()),
    "ELU": (lambda l, x: _elu(x, _opt(l, "alpha", 1.0), 1.0, 1.0), (), ()),
    "CELU": (lambda l, x: _elu(x, _opt(l, "alpha", 1.0), 1.0, 1.0 / _opt(l, "alpha", 1.0)), (), ()),
    "SELU": (lambda l, x: _elu(x, _SELU_ALPHA, _SELU_SCALE, 1.0), (), ()),
    "Mish": (lambda l, x: x * np.tanh(np.log1p(np.exp(x))), (), ()),
    "Softplus": (_softplus, (), ()),
    "Softsign": (lambda l, x: x / (np.abs(x) + 1), (), INTS),
    "Tanhshrink": (lambda l, x: x - np.tanh(x), (), INTS),
}

#: bytes of temporaries per element of a block (erf keeps a few float64 arrays)
_BLOCK_ITEM_BYTES = 96
#: at most this many elements per block, so a formula's temporaries stay in cache
_BLOCK_ELEMENTS = 1 << 16


def softmax_dim(layer: Elementwise, rank: int) -> int:
    """The dim given, or PyTorch's implicit choice when it is None: 0 for 0-, 1- and
    3-D input, else 1 (`torch.nn.functional._get_softmax_dim`)."""
    dim = layer.option("dim")
    if dim is None:
        return 0 if rank in (0, 1, 3) else 1
    return int(dim) % max(rank, 1)  # type: ignore[call-overload]


def _softmax(layer: Elementwise, x: np.ndarray) -> np.ndarray:
    accept(layer, x)
    work = compute_dtype(x.dtype)
    if x.ndim == 0:
        x = x.reshape(1)
        squeeze = True
    else:
        squeeze = False
    dim = softmax_dim(layer, x.ndim)
    xw = x.astype(work, copy=False)
    top = np.max(xw, axis=dim, keepdims=True) if x.shape[dim] else np.zeros((), dtype=work)
    shifted = xw - top
    if layer.type == "LogSoftmax":
        with np.errstate(divide="ignore"):
            log_total = np.log(np.exp(shifted).sum(axis=dim, keepdims=True))
        shifted -= log_total
        out = shifted
    else:
        np.exp(shifted, out=shifted)
        with np.errstate(divide="ignore"):  # an empty softmax axis sums to 0 over no elements
            shifted *= 1 / shifted.sum(axis=dim, keepdims=True)
        out = shifted
    out = out.astype(x.dtype, copy=False)
    return out.reshape(()) if squeeze else out


@kernel(Elementwise)
def elementwise(layer: Elementwise, inputs, params, ctx) -> np.ndarray:
    (x,) = inputs
    name = layer.type
    if "Dropout" in name:
        return x  # eval(): every dropout is the identity, for any dtype
    if name in ("Softmax", "LogSoftmax"):
        return _softmax(layer, x)
    entry = _ELEMENTWISE.get(name)
    if entry is None:
        raise layer.fail(f"expected an activation the executor knows ({', '.join(sorted(_ELEMENTWISE))}, "
                         f"Softmax, LogSoftmax, Dropout*); got {name!r}")
    formula, same_ints, float_ints = entry
    accept(layer, x, same_ints + float_ints)
    dt = x.dtype.name
    if dt in float_ints:
        work = out_dtype = np.dtype(np.float32)  # PyTorch promotes integer input to float32
    else:
        work, out_dtype = compute_dtype(x.dtype), x.dtype
    out = np.empty(x.shape, dtype=out_dtype)
    flat_in, flat_out = x.reshape(-1), out.reshape(-1)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        budget = min(ctx.chunk_bytes, _BLOCK_ELEMENTS * _BLOCK_ITEM_BYTES)
        for block in flat_blocks(x.size, _BLOCK_ITEM_BYTES, budget):
            flat_out[block] = formula(layer, flat_in[block].astype(work, copy=False))
    return out


@parameters(PReLU)
def prelu_params(layer: PReLU) -> dict[str, tuple[int, ...]]:
    return {"weight": (layer.num_parameters,)}


@kernel(PReLU)
def prelu(layer: PReLU, inputs, params, ctx) -> np.ndarray:
    """x where x > 0, else weight * x; one weight per channel (dim 1) or one for all."""
    (x,) = inputs
    accept(layer, x)
    layer.output_shape([x.shape])
    work = compute_dtype(x.dtype)
    weight = parameter(layer, params, "weight", layer.num_parameters, work)
    if weight.size != 1:
        weight = weight.reshape((1, weight.size) + (1,) * (x.ndim - 2))
    else:
        weight = weight.reshape(())
    xw = x.astype(work, copy=False)
    return np.where(xw > 0, xw, weight * xw).astype(x.dtype, copy=False)
