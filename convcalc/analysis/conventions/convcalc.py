"""convcalc's own convention (CONTRACT section 4).

MACs: the multiply-accumulates of weighted layers, batch included, bias excluded.
FLOPs: 2 × MACs, plus one add per output element where there is a bias, plus the
element-wise work of the other layers at the per-element costs below (the README's
table, which a test checks against this module).
"""

from __future__ import annotations

import math
from functools import lru_cache

from ...layers.base import Shape
from ...layers.conv import ConvNd, ConvTransposeNd
from ...layers.deform import DeformConv2d
from ...layers.elementwise import Elementwise, PReLU, Softmax2d
from ...layers.fold import Fold, Unfold
from ...layers.formula import Num, Sym, gcd, product, term
from ...layers.linear import Flatten, Identity, Linear
from ...layers.merge import Concat, ElementwiseMerge
from ...layers.norm import BatchNormNd, GroupNorm, InstanceNormNd, LayerNorm, LocalResponseNorm
from ...layers.padding import PadNd
from ...layers.pool import AdaptivePoolNd, AvgPoolNd, MaxPoolNd
from ...layers.resample import ChannelShuffle, PixelShuffle, PixelUnshuffle, Upsample
from ...layers.windows import axis_name
from . import Convention

CONVENTION = Convention("convcalc", "multiply-accumulates of Conv/ConvTranspose/Linear, batch included, "
                                    "bias excluded; FLOPs = 2×MACs + bias adds + element-wise work")
rule = CONVENTION.rule

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
    # dropout is the identity in eval()
    "Dropout": 0, "Dropout1d": 0, "Dropout2d": 0, "Dropout3d": 0, "AlphaDropout": 0,
    "FeatureAlphaDropout": 0,
}

ELEMENTS = Sym("elements", "output_elements")
MACS = Sym("macs", "MACs")
WEIGHTED_FLOPS = 2 * MACS
WEIGHTED_FLOPS_BIAS = 2 * MACS + ELEMENTS
PER_ELEMENT = Sym("per_element", "FLOPs_per_element") * ELEMENTS
ZERO = Num(0)


def _numel(shape: Shape) -> int:
    return math.prod(shape)


@lru_cache(maxsize=None)
def _conv_macs(ndim: int, transposed: bool):
    """N × C_out × out_spatial × C_in/groups × kernel; transposed: over input positions,
    N × C_in × in_spatial × C_out/groups × kernel (each input position scatters a kernel)."""
    whole, split, side = ("C_in", "C_out", "in") if transposed else ("C_out", "C_in", "out")
    spatial = [Sym(f"s{i}", f"{axis_name(i, ndim)}_{side}") for i in range(ndim)]
    kernel = [Sym(f"k{i}", f"k_{axis_name(i, ndim)}") for i in range(ndim)]
    return product([Sym("N"), Sym(whole)] + spatial + [Sym(split) / Sym("groups")] + kernel)


def _weighted(terms, macs_expr, env, bias: bool, output: Shape) -> tuple[int, int]:
    macs = term(terms, "MACs", macs_expr, env)
    if bias:
        flops = term(terms, "FLOPs", WEIGHTED_FLOPS_BIAS, {"macs": macs, "elements": _numel(output)},
                     note="2 per MAC, plus one bias add per output element")
    else:
        flops = term(terms, "FLOPs", WEIGHTED_FLOPS, {"macs": macs}, note="2 per MAC (no bias)")
    return macs, flops


@rule(ConvNd, ConvTransposeNd)
def conv(layer, inputs, output, terms):
    n = layer.ndim
    transposed = isinstance(layer, ConvTransposeNd)
    seen = inputs[0] if transposed else output  # the positions the kernel is applied at
    env = {"N": _numel(seen[:-n - 1]), "C_out": layer.out_channels, "C_in": layer.in_channels,
           "groups": layer.groups}
    for i in range(n):
        env[f"s{i}"] = seen[i - n]
        env[f"k{i}"] = layer.kernel_size[i]
    return _weighted(terms, _conv_macs(n, transposed), env, layer.bias, output)


#: DeformConv2d: the convolution's MACs over its sampled columns, plus the sampling:
#: each of the N·C_in·kh·kw·H_out·W_out sampled values is a bilinear sum of 4 corners
#: (4 MACs), and with a mask one more multiply (DCNv2's modulation)
DEFORM_CONV = product([Sym("N"), Sym("C_out"), Sym("H_out"), Sym("W_out"), Sym("C_in") / Sym("groups"),
                       Sym("k0", "k_H"), Sym("k1", "k_W")])
DEFORM_SAMPLES = product([Sym("N"), Sym("C_x", "C_in"), Sym("k0", "k_H"), Sym("k1", "k_W"), Sym("H_out"),
                          Sym("W_out")])
DEFORM_SAMPLING = Sym("samples") * (4 + Sym("mask", "mask_multiplies"))
DEFORM_MACS = Sym("conv", "conv_MACs") + Sym("sampling", "sampling_MACs")


@rule(DeformConv2d)
def deform_conv(layer, inputs, output, terms):
    kh, kw = layer.kernel_size
    env = {"N": output[0], "C_out": layer.out_channels, "C_in": layer.in_channels, "groups": layer.groups,
           "k0": kh, "k1": kw, "H_out": output[2], "W_out": output[3], "C_x": inputs[0][1]}
    conv_ = term(terms, "conv_MACs", DEFORM_CONV, env, note="the convolution over the sampled columns")
    samples = term(terms, "samples", DEFORM_SAMPLES, env, note="one bilinear sample per input channel, tap and "
                                                               "output position")
    mask = 1 if len(inputs) > 2 else 0
    sampling = term(terms, "sampling_MACs", DEFORM_SAMPLING, {"samples": samples, "mask": mask},
                    note="4 corner weights per sample" + (", one mask multiply" if mask else " (no mask)"))
    macs = term(terms, "MACs", DEFORM_MACS, {"conv": conv_, "sampling": sampling})
    if layer.bias:
        flops = term(terms, "FLOPs", WEIGHTED_FLOPS_BIAS, {"macs": macs, "elements": _numel(output)},
                     note="2 per MAC, plus one bias add per output element")
    else:
        flops = term(terms, "FLOPs", WEIGHTED_FLOPS, {"macs": macs}, note="2 per MAC (no bias)")
    return macs, flops


LINEAR_MACS = Sym("lead", "prod(leading dims)") * Sym("in_features") * Sym("out_features")


@rule(Linear)
def linear(layer, inputs, output, terms):
    env = {"lead": _numel(inputs[0][:-1]), "in_features": layer.in_features, "out_features": layer.out_features}
    return _weighted(terms, LINEAR_MACS, env, layer.bias, output)


def _per_element(terms, output: Shape, cost: int, why: str) -> tuple[int, int]:
    term(terms, "MACs", ZERO, {}, note="no weights")
    return 0, term(terms, "FLOPs", PER_ELEMENT, {"per_element": cost, "elements": _numel(output)}, note=why)


def _free(terms, why: str) -> tuple[int, int]:
    term(terms, "MACs", ZERO, {}, note="no weights")
    return 0, term(terms, "FLOPs", ZERO, {}, note=why)


@rule(BatchNormNd)
def batchnorm(layer, inputs, output, terms):
    return _per_element(terms, output, 2, "inference: statistics and affine folded into one multiply-add")


@rule(Elementwise)
def elementwise(layer, inputs, output, terms):
    key = layer.type
    if key == "GELU" and layer.option("approximate") == "tanh":
        key = "GELU-tanh"
    if key not in ELEMENTWISE_FLOPS:
        from ...classtable import MissingEntry
        raise MissingEntry(f"activation {layer.type} has no per-element cost in the convcalc convention")
    cost = ELEMENTWISE_FLOPS[key]
    if cost == 0:
        return _free(terms, "the identity in eval()")
    return _per_element(terms, output, cost, "the README's per-element cost")


@rule(PReLU)
def prelu(layer, inputs, output, terms):
    return _per_element(terms, output, 2, "compare, multiply")


@rule(MaxPoolNd)
def maxpool(layer, inputs, output, terms):
    return _per_element(terms, output, _numel(layer.kernel_size) - 1, "comparisons: prod(kernel) − 1")


@rule(AvgPoolNd)
def avgpool(layer, inputs, output, terms):
    return _per_element(terms, output, _numel(layer.kernel_size), "prod(kernel) − 1 adds and one divide")


@lru_cache(maxsize=None)
def _window_reads(ndim: int):
    """Adaptive windows vary in size. Along an axis of `a` inputs and `b` outputs the
    windows [floor(o*a/b), ceil((o+1)*a/b)) add up to a + b - gcd(a, b) reads."""
    factors = []
    for i in range(ndim):
        a, b = Sym(f"in{i}", f"{axis_name(i, ndim)}_in"), Sym(f"out{i}", f"{axis_name(i, ndim)}_out")
        factors.append(a + b - gcd(a, b))
    return product([Sym("lead", "prod(leading dims)")] + factors)


def _adaptive(terms, is_max: bool, x: Shape, output: Shape, n: int) -> tuple[int, int]:
    term(terms, "MACs", ZERO, {}, note="no weights")
    if any(o == 0 for o in output[-n:]):
        return 0, term(terms, "FLOPs", ZERO, {}, note="an empty output")
    env = {"lead": _numel(output[:-n])}
    for i in range(n):
        env[f"in{i}"], env[f"out{i}"] = x[i - n], output[i - n]
    reads = term(terms, "window reads", _window_reads(n), env,
                 note="the uneven windows' sizes summed exactly: in + out − gcd(in, out) per axis")
    if not is_max:
        return 0, term(terms, "FLOPs", Sym("reads", "window reads"), {"reads": reads},
                       note="one add (or the divide) per value read")
    return 0, term(terms, "FLOPs", Sym("reads", "window reads") - ELEMENTS,
                   {"reads": reads, "elements": _numel(output)}, note="comparisons: window size − 1")


@rule(AdaptivePoolNd)
def adaptive(layer, inputs, output, terms):
    return _adaptive(terms, layer.kind == "Max", inputs[0], output, layer.ndim)


UPSAMPLE_TAPS = {"linear": 2, "bilinear": 4, "trilinear": 8, "bicubic": 16}


@rule(Upsample)
def upsample(layer, inputs, output, terms):
    if layer.mode == "area":
        return _adaptive(terms, False, inputs[0], output, len(output) - 2)
    taps = UPSAMPLE_TAPS.get(layer.mode)
    if taps is None:
        return _free(terms, f"mode={layer.mode!r} copies values")
    return _per_element(terms, output, 2 * taps - 1, f"a weighted sum of {taps} taps: 2×{taps} − 1")


@rule(ElementwiseMerge)
def merge(layer, inputs, output, terms):
    return _per_element(terms, output, len(inputs) - 1, "one operation per extra input")


@rule(Concat, Flatten, Identity, PadNd, PixelShuffle, PixelUnshuffle, ChannelShuffle)
def data_movement(layer, inputs, output, terms):
    return _free(terms, "data movement only")


# ------------------------------------------------------------------ normalisation, im2col

#: normalising by the input's own statistics, per element: the mean 1 (an add), the
#: variance 3 (subtract the mean, square, add), normalising 2 (subtract the mean,
#: multiply by 1/σ). The per-group (per-instance) divides and square root are not
#: counted: they are few next to the elements.
STATISTICS_FLOPS = 6
NORM_FLOPS = (Sym("statistics") + Sym("affine")) * ELEMENTS


def _by_statistics(terms, output: Shape, affine: bool, bias: bool) -> tuple[int, int]:
    term(terms, "MACs", ZERO, {}, note="no weights")
    extra = (2 if bias else 1) if affine else 0
    why = "per element: mean 1, variance 3, normalise 2" + (
        "; affine ×γ" + (" +β" if bias else "") if affine else "")
    return 0, term(terms, "FLOPs", NORM_FLOPS, {"statistics": STATISTICS_FLOPS, "affine": extra,
                                                 "elements": _numel(output)}, note=why)


@rule(GroupNorm)
def groupnorm(layer, inputs, output, terms):
    return _by_statistics(terms, output, layer.affine, layer.bias)


@rule(LayerNorm)
def layernorm(layer, inputs, output, terms):
    return _by_statistics(terms, output, layer.elementwise_affine, layer.bias)


@rule(InstanceNormNd)
def instancenorm(layer, inputs, output, terms):
    if layer.track_running_stats:  # eval() uses the running statistics, as BatchNorm does
        return batchnorm(layer, inputs, output, terms)
    return _by_statistics(terms, output, layer.affine, layer.bias)


LRN_PER_ELEMENT = Sym("size") + 5


@rule(LocalResponseNorm)
def local_response_norm(layer, inputs, output, terms):
    term(terms, "MACs", ZERO, {}, note="no weights")
    cost = term(terms, "FLOPs_per_element", LRN_PER_ELEMENT, {"size": layer.size},
                note="square, the channel window's mean (size − 1 adds, one divide), ×alpha, +k, ^beta, divide")
    return 0, term(terms, "FLOPs", PER_ELEMENT, {"per_element": cost, "elements": _numel(output)})


@rule(Softmax2d)
def softmax2d(layer, inputs, output, terms):
    return _per_element(terms, output, ELEMENTWISE_FLOPS["Softmax"], "exp, sum, divide, over the channels")


@rule(Unfold)
def unfold(layer, inputs, output, terms):
    return _free(terms, "data movement only: im2col copies each block")


FOLD_ADDS = product([Sym("N"), Sym("C_out"), Sym("h", "H_landing"), Sym("w", "W_landing")])


@rule(Fold)
def fold(layer, inputs, output, terms):
    term(terms, "MACs", ZERO, {}, note="no weights")
    env = {"N": _numel(output[:-3]), "C_out": output[-3]}
    for key, i, axis in (("h", 0, "H"), ("w", 1, "W")):
        env[key] = term(terms, f"{axis}_landing", Num(layer.landings(i)), {},
                        note=f"(kernel offset, block) pairs along {axis} landing inside the output, not in "
                             "its padding")
    return 0, term(terms, "FLOPs", FOLD_ADDS, env, note="col2im adds every block value that lands inside "
                                                         "the output into it")
