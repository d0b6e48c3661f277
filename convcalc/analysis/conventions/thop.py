"""thop's MACs (thop 0.1.1, `profile(model, inputs=(x,))`, which switches to eval()).

thop hooks the modules whose exact type is in its `register_hooks` table
(`thop/profile.py`, `thop/vision/basic_hooks.py`, `calc_func.py`); any other module
counts 0:

- Conv1d/2d/3d and ConvTranspose1d/2d/3d alike: `prod(output.shape) × (C_in // groups) ×
  prod(kernel)`, bias not counted. For a convolution that is convcalc's count; for a
  transposed one it is counted over the output positions, about the stride product too
  many (a miscount);
- Linear: `in_features × output elements` (bias not counted: convcalc's count);
- BatchNorm (and LayerNorm, InstanceNorm): 2 per input element, 4 with affine weights;
- PReLU: one per input element in eval(); ReLU, ReLU6, LeakyReLU, MaxPool,
  AdaptiveMaxPool, Dropout, ZeroPad2d, PixelShuffle: registered as 0;
- AvgPool: one per output element; AdaptiveAvgPool: `(prod(in/out) + 1) × output
  elements`, the sizes divided in double precision along the axes after the second and
  truncated with int() (not the exact window sizes);
- Softmax: `(batch) × (3 × features − 1)` along `dim` (exp, sum, divide); with dim=None
  thop fails (TypeError: it indexes the shape with None), which convcalc cannot
  reproduce: it counts along PyTorch's implicit dim instead and says so;
- Upsample: per output element 1 (nearest), 5 (linear), 11 (bilinear), 259 (bicubic);
  trilinear, area and nearest-exact "not implemented yet": 0;
- everything else 0: the other activations, padding, PixelUnshuffle, ChannelShuffle,
  Flatten, Identity, merges.
"""

from __future__ import annotations

from ...layers.conv import ConvNd, ConvTransposeNd
from ...layers.deform import DeformConv2d
from ...layers.elementwise import Elementwise, PReLU, Softmax2d
from ...layers.fold import Fold, Unfold
from ...layers.formula import Sym, floor, product
from ...layers.linear import Flatten, Identity, Linear
from ...layers.merge import Concat, ElementwiseMerge
from ...layers.norm import BatchNormNd, GroupNorm, InstanceNormNd, LayerNorm, LocalResponseNorm
from ...layers.padding import PadNd
from ...layers.pool import AdaptivePoolNd, AvgPoolNd, MaxPoolNd
from ...layers.resample import ChannelShuffle, PixelShuffle, PixelUnshuffle, Upsample
from . import Convention
from .common import counted, miscount, nothing, numel, transposed_note

CONVENTION = Convention("thop", "thop 0.1.1's MACs: convolutions over output positions (transposed ones too), "
                                "Linear, BatchNorm, average pooling, Softmax and upsampling by its own costs")
rule = CONVENTION.rule

OUT = Sym("out", "output_elements")
IN = Sym("elements", "input_elements")
CONV = OUT * (Sym("C_in") / Sym("groups")) * Sym("kernel", "prod(kernel)")
LINEAR = Sym("in_features") * OUT
NORM = 2 * IN * Sym("factor", "2 if affine else 1")
PER_OUTPUT = Sym("per_element") * OUT
SOFTMAX = Sym("rows") * (3 * Sym("features") - 1)


@rule(ConvNd, ConvTransposeNd)
def conv(layer, inputs, output, terms):
    x = inputs[0]
    # calculate_conv2d_flops takes input_size[1] as C_in
    env = {"out": numel(output), "C_in": x[1], "groups": layer.groups,
           "kernel": numel(layer.kernel_size)}
    if isinstance(layer, ConvTransposeNd):
        note = miscount(transposed_note(x, output, layer.ndim))
    else:
        note = "bias not counted: as convcalc"
    return counted(terms, CONV, env, note)


@rule(DeformConv2d)
def deform_conv(layer, inputs, output, terms):
    return nothing(terms, "torchvision's DeformConv2d is not in thop's hook table: counted 0, as every module "
                          "thop does not know")


@rule(Linear)
def linear(layer, inputs, output, terms):
    return counted(terms, LINEAR, {"in_features": layer.in_features, "out": numel(output)},
                   "bias not counted: as convcalc")


@rule(BatchNormNd)
def batchnorm(layer, inputs, output, terms):
    return counted(terms, NORM, {"elements": numel(inputs[0]), "factor": 2 if layer.affine else 1},
                   "2 per input element (4 with affine weights)")


@rule(PReLU)
def prelu(layer, inputs, output, terms):
    return counted(terms, IN, {"elements": numel(inputs[0])}, "one per input element (in eval())")


def _implicit_dim(rank: int) -> int:
    """The dim F.softmax picks when none is given (torch.nn.functional._get_softmax_dim)."""
    return 0 if rank in (0, 1, 3) else 1


@rule(Elementwise)
def elementwise(layer, inputs, output, terms):
    kind = layer.type
    if kind == "Softmax":
        x = inputs[0]
        dim = layer.option("dim")
        note = "exp, sum and divide along dim: 3 × features − 1 per row"
        if dim is None:
            dim = _implicit_dim(len(x))
            note = (f"thop fails on Softmax without dim (TypeError); counted along PyTorch's implicit "
                    f"dim={dim} instead")
        features = x[dim]
        rows = numel(x) // features if features else 0
        return counted(terms, SOFTMAX, {"rows": rows, "features": features}, note)
    if kind in ("ReLU", "ReLU6", "LeakyReLU", "Dropout"):
        return nothing(terms, f"registered as 0 for nn.{kind}")
    return nothing(terms, f"not counted: thop has no rule for nn.{kind}")


@rule(MaxPoolNd)
def maxpool(layer, inputs, output, terms):
    return nothing(terms, "registered as 0 for max pooling")


@rule(AvgPoolNd)
def avgpool(layer, inputs, output, terms):
    return counted(terms, PER_OUTPUT, {"per_element": 1, "out": numel(output)}, "one per output element")


@rule(AdaptivePoolNd)
def adaptive(layer, inputs, output, terms):
    if layer.kind == "Max":
        return nothing(terms, "registered as 0 for adaptive max pooling")
    x = inputs[0]
    axes = range(2, len(x))
    if numel(output) == 0:
        return nothing(terms, "an empty output")
    # count_adap_avgpool: torch.prod(in / out) in float64, + 1, × output elements, int()
    kernel = product([Sym(f"in{i}", f"in[{i}]") / Sym(f"out{i}", f"out[{i}]") for i in axes])
    env = {"out": numel(output)}
    for i in axes:
        env[f"in{i}"], env[f"out{i}"] = float(x[i]), float(output[i])
    return counted(terms, floor((kernel + 1) * OUT), env,
                   "(prod(in/out) + 1) × output elements, in floating point: the size ratio, "
                   "not the exact uneven windows")


UPSAMPLE = {"nearest": 1, "linear": 5, "bilinear": 11, "bicubic": 259}


@rule(Upsample)
def upsample(layer, inputs, output, terms):
    cost = UPSAMPLE.get(layer.mode)
    if cost is None:
        return nothing(terms, f"mode={layer.mode!r} is \"not implemented yet\" in thop: 0")
    return counted(terms, PER_OUTPUT, {"per_element": cost, "out": numel(output)},
                   f"thop's {cost} per output element for mode={layer.mode!r}")


@rule(ElementwiseMerge, Concat, Flatten, Identity, PadNd, PixelShuffle, PixelUnshuffle, ChannelShuffle)
def other(layer, inputs, output, terms):
    return nothing(terms, f"not counted: thop has no rule for {layer.name} (or registers it as 0)")


# ------------------------------------------------ GroupNorm, LayerNorm, InstanceNorm, LRN, Fold, Softmax2d
@rule(InstanceNormNd, LayerNorm)
def norm(layer, inputs, output, terms):
    # count_normalization, as for BatchNorm: ×2 with `affine` or `elementwise_affine`
    weighted = layer.elementwise_affine if isinstance(layer, LayerNorm) else layer.affine
    return counted(terms, NORM, {"elements": numel(inputs[0]), "factor": 2 if weighted else 1},
                   "2 per input element (4 with affine weights)")

@rule(GroupNorm, LocalResponseNorm, Fold, Unfold, Softmax2d)
def unregistered(layer, inputs, output, terms):
    return nothing(terms, f"not counted: thop has no rule for nn.{layer.name}")
