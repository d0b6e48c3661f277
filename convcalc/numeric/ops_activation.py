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

import math
from typing import Callable

import numpy as np

from ..layers.elementwise import Elementwise, PReLU
from .kernel_support import INTS, accept, compute_dtype, flat_blocks, scalar_for
from .kernels import kernel, parameters

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946

# erf: below _ERF_SPLIT the series erf(x) = 2/sqrt(pi) exp(-x^2) sum_n (2x^2)^n x / (2n+1)!!,
# whose terms are all positive (no cancellation); above it the continued fraction
# erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + (2/2)/(x + (3/2)/(x + ...)))).
# Both are evaluated to a fixed depth: |error| < 2e-15 against math.erf (tested).
_ERF_SPLIT = 2.0
_ERF_TERMS = 45


def erf(x: np.ndarray) -> np.ndarray:
    """The error function of a float array, computed in float64."""
    a = np.abs(np.asarray(x, dtype=np.float64))
    out = np.empty_like(a)
    small = a <= _ERF_SPLIT
    if small.any():
        s = a[small]
        twice_square = 2.0 * s * s
        term, total = s.copy(), s.copy()
        for n in range(1, _ERF_TERMS):
            term *= twice_square / (2 * n + 1)
            total += term
        out[small] = (2.0 / math.sqrt(math.pi)) * np.exp(-0.5 * twice_square) * total
    if not small.all():
        large = ~small
        b = a[large]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            f = b.copy()
            for n in range(_ERF_TERMS, 0, -1):
                f = b + (0.5 * n) / f
            tail = np.exp(-b * b) / math.sqrt(math.pi) / f
        out[large] = 1.0 - np.where(np.isinf(b), 0.0, tail)  # NaN stays NaN
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

#: bytes of temporaries per element of a block (erf's series keeps several float64 arrays)
_BLOCK_ITEM_BYTES = 96


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
        for block in flat_blocks(x.size, _BLOCK_ITEM_BYTES, ctx.chunk_bytes):
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
    weight = np.asarray(params["weight"], dtype=work).reshape(-1)
    if weight.size != 1:
        weight = weight.reshape((1, weight.size) + (1,) * (x.ndim - 2))
    else:
        weight = weight.reshape(())
    xw = x.astype(work, copy=False)
    return np.where(xw > 0, xw, weight * xw).astype(x.dtype, copy=False)
