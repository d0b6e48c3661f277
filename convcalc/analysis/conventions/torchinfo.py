"""torchinfo's "Total mult-adds" (torchinfo 1.8.0, `summary()`).

torchinfo derives a layer's mult-adds from its parameters, not from the operations it
performs (`LayerInfo.calculate_macs`), for every module alike:

- a module whose class name contains "Conv" (Conv1d/2d/3d, ConvTranspose1d/2d/3d):
  each weight and bias element once per output position,
  `params × output_size[0] × prod(output_size[2:])`;
- any other module: each parameter once per entry of the output's first dimension,
  `params × output_size[0]` (Linear: in×out + out per sample; BatchNorm: 2×C per sample;
  PReLU: num_parameters per sample);
- a module without parameters: 0 (pooling, activations, upsampling, merges, ...).

Consequences, against convcalc's definition: the bias counts (one add per output
element for a convolution, out_features per sample for Linear); a transposed
convolution is counted over its output positions, about the stride product too many
(a miscount); Linear on an input of more than two dimensions multiplies only the first
(a miscount: the sequence positions are left out); normalisation layers count their
parameters once per sample rather than their per-element work.

Because torchinfo has no table of module types, this convention has one rule for every
layer family (registered on `Layer`), reading the family's PyTorch class name exactly
as torchinfo does; any family added later is counted the way torchinfo would count it.
"""

from __future__ import annotations

from ...layers.base import Layer
from ...layers.conv import ConvTransposeNd
from ...layers.formula import Sym
from ...layers.linear import Linear
from . import Convention
from .common import counted, joined, miscount, nothing, numel, transposed_note

CONVENTION = Convention("torchinfo", "torchinfo 1.8's mult-adds: parameters × output positions for "
                                     "convolutions, parameters × output_size[0] for other layers")
rule = CONVENTION.rule

PARAMS = Sym("params")
FIRST = Sym("first", "output_size[0]")
POSITIONS = Sym("positions", "prod(output_size[2:])")
CONV_MACS = PARAMS * FIRST * POSITIONS
OTHER_MACS = PARAMS * FIRST


@rule(Layer)
def by_parameters(layer, inputs, output, terms):
    params = layer.params()
    if "Conv" in layer.name:  # torchinfo tests the class name, so DeformConv2d would count here too
        reasons = []
        if getattr(layer, "bias", False):
            reasons.append("counts the bias (one per output element)")
        if isinstance(layer, ConvTransposeNd):
            reasons.append(miscount(transposed_note(inputs[0], output, layer.ndim)))
        return counted(terms, CONV_MACS, {"params": params, "first": output[0], "positions": numel(output[2:])},
                       joined(reasons, "weight elements × output positions"))
    if params == 0:
        return nothing(terms, "no parameters: torchinfo counts 0")
    if isinstance(layer, Linear):
        reasons = []
        if len(output) > 2:
            reasons.append(miscount(f"only output_size[0] multiplies: the leading dims {list(output[1:-1])} "
                                    "are left out"))
        if layer.bias:
            reasons.append("counts the bias (out_features per sample)")
        note = joined(reasons, "in_features × out_features per sample")
    else:
        note = "each parameter once per sample (parameters, not per-element work)"
    return counted(terms, OTHER_MACS, {"params": params, "first": output[0]}, note)
