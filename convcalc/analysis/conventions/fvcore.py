"""fvcore's flop count (fvcore 0.1.5, `FlopCountAnalysis(model, x).total()`), model in eval().

fvcore traces the model with torch.jit and counts only the operators it has a handle
for (`fvcore/nn/flop_count.py`, `jit_handles.py`); one fused multiply-add counts as
one "flop", so its number is a MAC count and goes in `macs` here:

- aten::_convolution (Conv, ConvTranspose): `N × prod(weight.shape) × prod(spatial)`,
  over the output positions, for a transposed convolution over the input positions:
  convcalc's count, bias not counted. A convolution given padding='same' or 'valid'
  (with padding_mode='zeros') runs as aten::_convolution_mode, which has no handle: 0
  (a miscount);
- aten::linear: `prod(input.shape) × out_features`, bias not counted;
- aten::batch_norm in eval(): one per input element, two with affine weights; when the
  statistics are computed (track_running_stats=False, or a model left in train()) the
  norm counter's 4 per element, 5 with affine weights;
- aten::adaptive_avg_pool2d: one per input element (AdaptiveAvgPool2d, and
  Upsample(mode='area') on a 4-D input, which calls it);
- aten::upsample_nearest2d: one per output element; aten::upsample_bilinear2d: four;
- everything else counts 0: activations, max and average pooling, the 1-D and 3-D
  adaptive pools, the other upsampling kernels (nearest 1-D/3-D, linear, bicubic,
  trilinear, nearest-exact), PReLU, dropout, padding, shuffles, merges.

A torchvision model is built in train() mode; fvcore traces it in whatever mode it is
in, so `FlopCountAnalysis(resnet18(), x)` counts BatchNorm at 5 per element, where
this convention (like the other tools, which switch to eval()) counts 2.
"""

from __future__ import annotations

from ...layers.conv import ConvNd, ConvTransposeNd
from ...layers.deform import DeformConv2d
from ...layers.elementwise import Elementwise, PReLU, Softmax2d
from ...layers.fold import Fold, Unfold
from ...layers.formula import Sym
from ...layers.linear import Flatten, Identity, Linear
from ...layers.merge import Concat, ElementwiseMerge
from ...layers.norm import BatchNormNd, GroupNorm, InstanceNormNd, LayerNorm, LocalResponseNorm
from ...layers.padding import PadNd
from ...layers.pool import AdaptivePoolNd, AvgPoolNd, MaxPoolNd
from ...layers.resample import ChannelShuffle, PixelShuffle, PixelUnshuffle, Upsample
from . import Convention
from .common import counted, miscount, nothing, numel

CONVENTION = Convention("fvcore", "fvcore 0.1.5's flop count (one per multiply-add) of the operators it has "
                                  "handles for: convolutions, linear, batch norm, some pooling and upsampling")
rule = CONVENTION.rule

CONV = {transposed: Sym("N") * Sym("weight", "prod(weight.shape)") * Sym("positions", f"prod({side}_spatial)")
        for transposed, side in ((False, "out"), (True, "in"))}
LINEAR = Sym("elements", "input_elements") * Sym("out_features")
PER_ELEMENT = Sym("per_element", "per_element") * Sym("elements", "input_elements")
PER_OUTPUT = Sym("per_element", "per_element") * Sym("elements", "output_elements")


@rule(ConvNd, ConvTransposeNd)
def conv(layer, inputs, output, terms):
    if isinstance(layer.padding, str) and layer.padding_mode == "zeros":
        return nothing(terms, miscount(f"padding={layer.padding!r} runs as aten::_convolution_mode, which fvcore "
                                       "has no handle for: the convolution counts 0"))
    nd = layer.ndim
    transposed = isinstance(layer, ConvTransposeNd)
    seen = inputs[0] if transposed else output
    weight = layer.in_channels * layer.out_channels // layer.groups * numel(layer.kernel_size)
    return counted(terms, CONV[transposed], {"N": inputs[0][0], "weight": weight, "positions": numel(seen[len(seen) - nd:])},
                   f"over the {'input' if transposed else 'output'} positions, bias not counted: as convcalc")


@rule(DeformConv2d)
def deform_conv(layer, inputs, output, terms):
    # not a miscount: fvcore names the operator among its unsupported ones (and warns)
    return nothing(terms, "torchvision::deform_conv2d has no handle in fvcore: reported as an unsupported "
                          "operator, the deformable convolution counts 0")


@rule(Linear)
def linear(layer, inputs, output, terms):
    return counted(terms, LINEAR, {"elements": numel(inputs[0]), "out_features": layer.out_features},
                   "bias not counted: as convcalc")


@rule(BatchNormNd)
def batchnorm(layer, inputs, output, terms):
    if layer.track_running_stats:
        cost, note = (2, "eval(): one multiply and, with affine weights, one more per element") if layer.affine \
            else (1, "eval(), no affine weights: one per element")
    else:
        cost, note = (5 if layer.affine else 4), "batch statistics computed (track_running_stats=False): " \
                                                 "fvcore's norm counter, 4 per element, 5 with affine weights"
    return counted(terms, PER_ELEMENT, {"per_element": cost, "elements": numel(inputs[0])}, note)


@rule(AdaptivePoolNd)
def adaptive(layer, inputs, output, terms):
    if layer.kind == "Avg" and layer.ndim == 2:
        return counted(terms, PER_ELEMENT, {"per_element": 1, "elements": numel(inputs[0])},
                       "aten::adaptive_avg_pool2d: one per input element")
    return nothing(terms, f"not counted: no handle for aten::adaptive_{layer.kind.lower()}_pool{layer.ndim}d")


@rule(Upsample)
def upsample(layer, inputs, output, terms):
    dims = len(inputs[0]) - 2
    if layer.mode == "area" and dims == 2:
        return counted(terms, PER_ELEMENT, {"per_element": 1, "elements": numel(inputs[0])},
                       "mode='area' calls aten::adaptive_avg_pool2d: one per input element")
    if dims == 2 and layer.mode in ("nearest", "bilinear"):
        cost = 1 if layer.mode == "nearest" else 4
        return counted(terms, PER_OUTPUT, {"per_element": cost, "elements": numel(output)},
                       f"aten::upsample_{layer.mode}2d: {cost} per output element")
    return nothing(terms, f"not counted: no handle for mode={layer.mode!r} on a {dims + 2}-D input")


@rule(MaxPoolNd, AvgPoolNd)
def pool(layer, inputs, output, terms):
    return nothing(terms, f"not counted: no handle for aten::{'max' if isinstance(layer, MaxPoolNd) else 'avg'}"
                          f"_pool{layer.ndim}d")


@rule(Elementwise, PReLU)
def elementwise(layer, inputs, output, terms):
    return nothing(terms, f"not counted: fvcore has no handle for {layer.name}")


@rule(ElementwiseMerge, Concat, Flatten, Identity, PadNd, PixelShuffle, PixelUnshuffle, ChannelShuffle)
def other(layer, inputs, output, terms):
    return nothing(terms, f"not counted: fvcore has no handle for {layer.name}")


# ------------------------------------------------ GroupNorm, LayerNorm, InstanceNorm, LRN, Fold, Softmax2d
@rule(GroupNorm, InstanceNormNd, LayerNorm)
def norm(layer, inputs, output, terms):
    # aten::group_norm, layer_norm, instance_norm: the norm counter, statistics always computed
    # (instance_norm too, even where eval() uses running statistics)
    weighted = layer.elementwise_affine if isinstance(layer, LayerNorm) else layer.affine
    op = {GroupNorm: "group_norm", LayerNorm: "layer_norm"}.get(type(layer), "instance_norm")
    return counted(terms, PER_ELEMENT, {"per_element": 5 if weighted else 4, "elements": numel(inputs[0])},
                   f"aten::{op}: 4 per input element, 5 with an affine weight")

@rule(LocalResponseNorm, Fold, Unfold, Softmax2d)
def unhandled(layer, inputs, output, terms):
    return nothing(terms, f"not counted: fvcore has no handle for the operators of {layer.name}")
