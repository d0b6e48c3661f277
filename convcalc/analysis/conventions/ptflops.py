"""ptflops' MACs (ptflops 0.7.5, `get_model_complexity_info`, its default pytorch backend).

ptflops counts with two mechanisms at once (`ptflops/pytorch_engine.py`, `pytorch_ops.py`):

1. a forward hook per module whose exact type is in `MODULES_MAPPING`; the hooks'
   sum is divided by the batch size (`compute_average_flops_cost`): a count per sample;
2. wrappers it patches over some `torch.nn.functional` functions (relu, prelu, elu,
   relu6, gelu, silu, softmax, the max/avg/adaptive pools, interpolate/upsample) and
   tensor operations (matmul, mm, bmm, addmm, baddbmm, torch.add/mul and
   Tensor.add/mul; not the `+` and `*` operators); their counts are added to the total
   afterwards, *not* divided by the batch.

A module whose forward calls a patched function is therefore counted twice: nn.ReLU,
nn.ELU, nn.GELU, nn.PReLU and every pooling module (a miscount), and at batch N > 1
the patched half counts the whole batch while the hooked half counts one sample (a
second miscount). The per-layer count here is `module hook / N + patched calls`, so the
layers add up to ptflops' total, `int(hooks / N + patched)`.

The hooks (per module, before the division by N):
- ConvNd: `N × prod(out_spatial) × prod(kernel) × C_in × C_out/groups`, plus
  `N × C_out × prod(out_spatial)` with a bias (the bias add counted as a MAC);
  ConvTransposeNd the same over the *input* positions (correct), the bias over the output;
- Linear: `(in_features × out_features + out_features if bias) × prod(input.shape[:-1])`;
- BatchNorm: input elements, ×2 with affine weights;
- ReLU, PReLU, ELU, LeakyReLU, ReLU6, GELU: one per output element;
- every max/avg/adaptive pool: one per *input* element;
- Upsample: `prod(output[0].shape)`, the elements of the first sample only (a miscount
  at batch > 1); its F.interpolate call adds `prod(size) × N × C`, or
  `input elements × scale_factor**dims` (a tuple: the product of its entries truncated
  to integers), and mode='area' also an adaptive-pool call, one per input element.
  nn.UpsamplingNearest2d/UpsamplingBilinear2d have no hook (only the interpolate call
  counts): convcalc cannot tell them from Upsample, whose count it gives (a gap of
  `prod(output[1:]) / N`, documented in the README).
Everything else counts 0: Sigmoid, Tanh, Hardswish, Hardsigmoid, Hardtanh, SELU, CELU,
Mish, Softplus, Softsign, Tanhshrink, LogSoftmax, dropout, padding, shuffles, Flatten,
Identity, and the merges (torchvision adds branches with `+`, which ptflops does not
patch). The batch N is the first axis of the layer's input (ptflops' batch counter).
"""

from __future__ import annotations

import math

from ...layers.conv import ConvNd, ConvTransposeNd
from ...layers.deform import DeformConv2d
from ...layers.elementwise import Elementwise, PReLU, Softmax2d
from ...layers.fold import Fold, Unfold
from ...layers.formula import Sym, term
from ...layers.linear import Flatten, Identity, Linear
from ...layers.merge import Concat, ElementwiseMerge
from ...layers.norm import BatchNormNd, GroupNorm, InstanceNormNd, LayerNorm, LocalResponseNorm
from ...layers.padding import PadNd
from ...layers.pool import AdaptivePoolNd, AvgPoolNd, MaxPoolNd
from ...layers.resample import ChannelShuffle, PixelShuffle, PixelUnshuffle, Upsample
from . import Convention
from .common import counted, miscount, nothing, numel

CONVENTION = Convention("ptflops", "ptflops 0.7.5's MACs (pytorch backend): module hooks per sample plus "
                                   "patched torch.nn.functional calls, bias and element-wise work included")
rule = CONVENTION.rule

N = Sym("N", "batch")
HOOK = Sym("hook", "module hook")
PATCHED = Sym("patched", "patched calls")
PER_SAMPLE = HOOK / N
BOTH = HOOK / N + PATCHED
ELEMENTS = Sym("elements", "input_elements")

KERNEL, BIAS_ADDS = Sym("kernel", "prod(kernel)"), N * Sym("out", "C_out×prod(out_spatial)")
#: keyed by `transposed`: over the output positions (False) or the input positions (True)
CONV = {transposed: N * Sym("positions", f"prod({'in' if transposed else 'out'}_spatial)") * KERNEL * Sym("C_in")
        * (Sym("C_out") / Sym("groups")) for transposed in (False, True)}
LINEAR = Sym("in_features") * Sym("out_features") * Sym("lead", "prod(input[:-1])")
LINEAR_BIAS = (Sym("in_features") * Sym("out_features") + Sym("out_features")) * Sym("lead", "prod(input[:-1])")
AFFINE = ELEMENTS * Sym("factor", "2 if affine else 1")


def _batch(inputs) -> int:
    return inputs[0][0]


def _empty_batch(terms) -> tuple[int, int]:
    """ptflops divides its sum by the batch it counted: an empty batch raises
    ZeroDivisionError in the tool, so there is no count to reproduce."""
    return nothing(terms, miscount("an empty batch: ptflops divides by the batch size 0 and raises "
                                   "ZeroDivisionError; counted 0 here"))


def _per_sample(terms, hook: int, n: int, note: str) -> tuple[int, int]:
    if n == 0:
        return _empty_batch(terms)
    if n != 1:
        note = f"per sample (the hook's count ÷ batch {n}); {note}"
    return counted(terms, PER_SAMPLE, {"hook": hook, "N": n}, note)


def _twice(terms, hook: int, patched, n: int, note: str) -> tuple[int, int]:
    if n == 0:
        return _empty_batch(terms)
    if n != 1:
        note += f"; only the hook ÷ batch {n}"
    return counted(terms, BOTH, {"hook": hook, "N": n, "patched": patched}, note)


@rule(ConvNd, ConvTransposeNd)
def conv(layer, inputs, output, terms):
    nd = layer.ndim
    transposed = isinstance(layer, ConvTransposeNd)
    n = _batch(inputs)
    seen = inputs[0] if transposed else output
    env = {"N": n, "positions": numel(seen[len(seen) - nd:]), "kernel": numel(layer.kernel_size),
           "C_in": layer.in_channels, "C_out": layer.out_channels, "groups": layer.groups,
           "out": numel(output[len(output) - nd - 1:])}
    expr = CONV[transposed] + BIAS_ADDS if layer.bias else CONV[transposed]
    hook = term(terms, "module hook", expr, env)
    note = "counts the bias add as a MAC (one per output element)" if layer.bias else "the weights' MACs, as convcalc"
    return _per_sample(terms, hook, n, note)


#: ptflops' deformable_conv_flops_counter_hook: the convolution hook with 24 more per kernel
#: tap and position ("20 = 4 x 5 ... bilinear interpolation, 4 ... fractional coordinates"),
#: 25 when a mask is passed (positionally: its hook sees the forward's positional inputs)
DEFORM = N * Sym("positions", "H_out×W_out") * KERNEL * (Sym("C_in") * (Sym("C_out") / Sym("groups")) + Sym("extra"))


@rule(DeformConv2d)
def deform_conv(layer, inputs, output, terms):
    n = _batch(inputs)
    mask = len(inputs) > 2
    env = {"N": n, "positions": numel(output[2:]), "kernel": numel(layer.kernel_size), "C_in": layer.in_channels,
           "C_out": layer.out_channels, "groups": layer.groups, "extra": 25 if mask else 24,
           "out": numel(output[1:])}
    expr = DEFORM + BIAS_ADDS if layer.bias else DEFORM
    hook = term(terms, "module hook", expr, env)
    note = ("its DeformConv2d hook: the convolution's MACs plus 24 per kernel tap and output position (an "
            "estimate of bilinear sampling, per position, not per channel)" + (", 25 with a mask" if mask else "")
            + ("; the bias add counted as a MAC" if layer.bias else ""))
    return _per_sample(terms, hook, n, note)


@rule(Linear)
def linear(layer, inputs, output, terms):
    n = _batch(inputs)
    env = {"in_features": layer.in_features, "out_features": layer.out_features, "lead": numel(inputs[0][:-1])}
    hook = term(terms, "module hook", LINEAR_BIAS if layer.bias else LINEAR, env)
    return _per_sample(terms, hook, n, "counts the bias add as a MAC (out_features per row)" if layer.bias
                       else "the weights' MACs, as convcalc")


@rule(BatchNormNd)
def batchnorm(layer, inputs, output, terms):
    n = _batch(inputs)
    hook = term(terms, "module hook", AFFINE, {"elements": numel(inputs[0]), "factor": 2 if layer.affine else 1})
    return _per_sample(terms, hook, n, "one per input element, two with the affine weights")


@rule(MaxPoolNd, AvgPoolNd, AdaptivePoolNd)
def pool(layer, inputs, output, terms):
    n, elements = _batch(inputs), numel(inputs[0])
    if isinstance(layer, AdaptivePoolNd):
        function = f"F.adaptive_{layer.kind.lower()}_pool{layer.ndim}d"
    else:
        function = f"F.{'max' if isinstance(layer, MaxPoolNd) else 'avg'}_pool{layer.ndim}d"
    hook = term(terms, "module hook", ELEMENTS, {"elements": elements}, note="one per input element")
    patched = term(terms, "patched calls", ELEMENTS, {"elements": elements}, note=f"{function}, the whole batch")
    return _twice(terms, hook, patched, n, miscount(f"counted twice: the module hook and the patched {function} "
                                                    "inside it, one per input element each"))


#: activations with a module hook, and the torch.nn.functional function their forward calls
#: when ptflops patches it too (None: only the hook counts)
HOOKED = {"ReLU": "F.relu", "ELU": "F.elu", "GELU": "F.gelu", "ReLU6": None, "LeakyReLU": None}
#: activations without a hook whose forward calls a patched function
PATCHED_ONLY = {"SiLU": "F.silu", "Softmax": "F.softmax"}


def _activation(terms, kind: str, inputs, output, function: str | None, hooked: bool):
    n, elements = _batch(inputs), numel(output)
    if hooked and function is None:
        hook = term(terms, "module hook", ELEMENTS, {"elements": elements}, note="one per output element")
        return _per_sample(terms, hook, n, "one MAC per element")
    if hooked:
        hook = term(terms, "module hook", ELEMENTS, {"elements": elements}, note="one per output element")
        patched = term(terms, "patched calls", ELEMENTS, {"elements": elements}, note=f"{function}, the whole batch")
        return _twice(terms, hook, patched, n, miscount(f"counted twice: the module hook and the patched {function} "
                                                        "inside it"))
    return counted(terms, ELEMENTS, {"elements": elements},
                   f"no hook for nn.{kind}, but its {function} call is counted: one per element of the whole batch")


@rule(Elementwise)
def elementwise(layer, inputs, output, terms):
    kind = layer.type
    if kind in HOOKED:
        return _activation(terms, kind, inputs, output, HOOKED[kind], True)
    if kind in PATCHED_ONLY:
        return _activation(terms, kind, inputs, output, PATCHED_ONLY[kind], False)
    return nothing(terms, f"not counted: no hook for nn.{kind} and the function it calls is not patched")


@rule(PReLU)
def prelu(layer, inputs, output, terms):
    return _activation(terms, "PReLU", inputs, output, "F.prelu", True)


INTERPOLATE_SIZE = Sym("size", "prod(size)") * Sym("NC", "N×C")
INTERPOLATE_SCALE = ELEMENTS * Sym("scale", "scale_factor^dims")
INTERPOLATE_TUPLE = ELEMENTS * Sym("scale", "prod(int(scale_factor))")


@rule(Upsample)
def upsample(layer, inputs, output, terms):
    x = inputs[0]
    n, dims = _batch(inputs), len(x) - 2
    # upsample_flops_counter_hook reads output[0], the first sample, as if it were the whole output
    hook = term(terms, "module hook", Sym("first", "prod(output[1:])"), {"first": numel(output[1:])},
                note="the elements of output[0]: the first sample only")
    if layer.size is not None:
        sizes = layer.size if isinstance(layer.size, tuple) else (layer.size,) * dims
        patched = term(terms, "patched calls", INTERPOLATE_SIZE, {"size": math.prod(sizes), "NC": numel(x[:2])},
                       note="F.interpolate with a size")
    elif isinstance(layer.scale_factor, tuple):
        scale = math.prod(int(s) for s in layer.scale_factor)  # np.prod(..., dtype=np.int64) truncates each
        patched = term(terms, "patched calls", INTERPOLATE_TUPLE, {"elements": numel(x), "scale": scale},
                       note="F.interpolate with a tuple scale_factor, each entry truncated to an integer")
    else:
        patched = term(terms, "patched calls", INTERPOLATE_SCALE,
                       {"elements": numel(x), "scale": float(layer.scale_factor) ** dims},
                       note="F.interpolate with a scale_factor, in floating point")
    note = "counted twice: its hook (one sample's output ÷ the batch) and the patched F.interpolate"
    if layer.mode == "area":  # interpolate(mode='area') calls the patched adaptive average pool
        pooled = term(terms, "patched pool", ELEMENTS, {"elements": numel(x)},
                      note=f"mode='area' calls F.adaptive_avg_pool{dims}d, also patched")
        patched = term(terms, "patched calls", Sym("a", "interpolate") + Sym("b", "pool"),
                       {"a": patched, "b": pooled})
        note = note.replace("twice", "three times") + " and adaptive pool"
    return _twice(terms, hook, patched, n, miscount(note))


@rule(ElementwiseMerge)
def merge(layer, inputs, output, terms):
    return nothing(terms, f"not counted: the `{'+' if layer.op == 'Add' else '*'}` operator is not patched "
                          f"(torch.{layer.op.lower()}() would count one per output element)")


@rule(Concat, Flatten, Identity, PadNd, PixelShuffle, PixelUnshuffle, ChannelShuffle)
def data_movement(layer, inputs, output, terms):
    return nothing(terms, "data movement: no hook, not counted")


# ------------------------------------------------ GroupNorm, LayerNorm, InstanceNorm, LRN, Fold, Softmax2d
@rule(GroupNorm, InstanceNormNd, LayerNorm)
def norm(layer, inputs, output, terms):
    # bn_flops_counter_hook: ×2 when the module has a true `affine` attribute
    affine = getattr(layer, "affine", False)
    hook = term(terms, "module hook", AFFINE, {"elements": numel(inputs[0]), "factor": 2 if affine else 1})
    if isinstance(layer, LayerNorm) and layer.elementwise_affine:
        note = miscount("LayerNorm's affine weights not seen: ptflops looks for `affine`, LayerNorm has "
                        "`elementwise_affine`")
    else:
        note = "one per input element, two with the affine weights"
    return _per_sample(terms, hook, _batch(inputs), note)

LRN = 3 * ELEMENTS + Sym("padded", "N×(C+size−1)×prod(spatial)")

@rule(LocalResponseNorm)
def local_response_norm(layer, inputs, output, terms):
    x = inputs[0]
    # F.local_response_norm: x.mul(x), a channel-window average pool over the padded
    # squares, .mul(alpha), .add(k): the patched tensor ops and pool, whole batch
    return counted(terms, LRN, {"elements": numel(x), "padded": x[0] * (x[1] + layer.size - 1) * numel(x[2:])},
                   "no hook; its patched x·x, ×alpha, +k (one per element each) and channel-window pool")

@rule(Softmax2d)
def softmax2d(layer, inputs, output, terms):
    return _activation(terms, "Softmax2d", inputs, output, "F.softmax", False)

@rule(Fold, Unfold)
def fold(layer, inputs, output, terms):
    return nothing(terms, "data movement: no hook, and F.fold/F.unfold are not patched")
