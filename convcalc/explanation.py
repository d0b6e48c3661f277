"""`convcalc explain`: every output-size formula with the numbers put in, step by step,
then the parameter, MAC and receptive-field arithmetic, as the tutorials write them:

    L_out = floor((128 + 2×0 − 1×(4−1) − 1) / 2) + 1 = floor(124 / 2) + 1 = 63
"""

from __future__ import annotations

import math
from typing import Sequence

from .analysis import LayerResult
from .analysis.graph import walk
from .api import chain_graph
from .layers.base import Layer
from .layers.conv import ConvNd, ConvTransposeNd, axis_name
from .layers.elementwise import Elementwise
from .layers.linear import Flatten, Linear
from .layers.merge import ElementwiseMerge
from .layers.norm import BatchNormNd
from .layers.padding import PadNd
from .layers.pool import AdaptivePoolNd, AvgPoolNd, MaxPoolNd, _WindowPool, pooled_size
from .layers.resample import PixelShuffle, PixelUnshuffle, Upsample
from .record import record


@record
class Section:
    title: str
    lines: tuple[str, ...]


@record
class LayerExplanation:
    row: LayerResult
    sections: tuple[Section, ...]


def explain_layer(layers: str | Sequence[str], input_shape, *, sources=None) -> list[LayerExplanation]:
    """Explanations for a layer (or a chain), one per analysed layer."""
    analysis = walk(chain_graph(layers, input_shape, sources))
    out, previous = [], None
    for row in analysis.layers:
        out.append(LayerExplanation(row, tuple(_sections(row.layer, row, previous))))
        previous = row.receptive_field
    return out


def n(value: int) -> str:
    """A number as the formulas write it: negatives with a true minus sign."""
    return f"−{-value}" if value < 0 else str(value)


def thousands(value: int) -> str:
    return f"{value:,}"


def _sections(layer: Layer, row: LayerResult, previous=None) -> list[Section]:
    x, out = row.input_shapes[0], row.output_shape
    sections = [Section("shape", tuple(_shape_lines(layer, row.input_shapes, out)))]
    sections.append(Section("parameters", tuple(_param_lines(layer, row))))
    sections.append(Section("multiply-accumulates and FLOPs", tuple(_mac_lines(layer, row))))
    if row.receptive_field is not None:
        rf = row.receptive_field
        lines = []
        for i, (size, stride, start) in enumerate(zip(rf.size, rf.stride, rf.start)):
            axis = axis_name(i, len(rf.size))
            shown = str(stride) if stride.denominator == 1 else f"{stride} ({float(stride):.4g})"
            lines.append(f"{axis}: size {size}, stride {shown}, start {'none' if start is None else n(start)}")
        lines.extend(_rf_recurrence(layer, previous, rf))
        sections.append(Section("receptive field (in input positions)", tuple(lines)))
    if isinstance(layer, ConvTransposeNd):
        sections.append(Section("as a direct convolution", tuple(_transposed_as_direct(layer, x, out))))
    return sections


# ------------------------------------------------------------------ shapes

def _shape_lines(layer: Layer, inputs, out) -> list[str]:
    x = inputs[0]
    lines = [f"input {list(x)} → output {list(out)}"]
    if isinstance(layer, ConvNd):
        lines += _conv_channels(layer)
        pairs = layer.pad_pairs()
        if layer.padding == "same":
            for i, (k, d) in enumerate(zip(layer.kernel_size, layer.dilation)):
                total = d * (k - 1)
                lines.append(f"padding='same' on {axis_name(i, layer.ndim)}: total dilation×(kernel−1) = "
                             f"{d}×({k}−1) = {total} → {pairs[i][0]} before, {pairs[i][1]} after")
        for i in range(layer.ndim):
            lines += _window_formula(axis_name(i, layer.ndim), x[-layer.ndim + i], layer.kernel_size[i],
                                     layer.stride[i], pairs[i], layer.dilation[i], False)
    elif isinstance(layer, ConvTransposeNd):
        lines += _conv_channels(layer)
        for i in range(layer.ndim):
            a = axis_name(i, layer.ndim)
            size, s, p = x[-layer.ndim + i], layer.stride[i], layer.padding[i]
            d, k, op = layer.dilation[i], layer.kernel_size[i], layer.output_padding[i]
            value = (size - 1) * s - 2 * p + d * (k - 1) + op + 1
            lines.append(f"{a}_out = ({a}_in − 1)×stride − 2×padding + dilation×(kernel−1) + output_padding + 1")
            lines.append(f"      = ({size} − 1)×{s} − 2×{p} + {d}×({k}−1) + {op} + 1 = {value}")
    elif isinstance(layer, _WindowPool):
        ceil = layer.ceil
        for i in range(layer.ndim):
            p = layer.padding[i]
            lines += _window_formula(axis_name(i, layer.ndim), x[-layer.ndim + i], layer.kernel_size[i],
                                     layer.stride[i], (p, p), layer.dilations[i], ceil)
        lines.append(f"channels unchanged: {x[-layer.ndim - 1]}")
    elif isinstance(layer, AdaptivePoolNd):
        for i in range(layer.ndim):
            size, o = x[-layer.ndim + i], out[-layer.ndim + i]
            a = axis_name(i, layer.ndim)
            lines.append(f"{a}_out = output_size = {o}; window i covers [floor(i×{size}/{o}), ceil((i+1)×{size}/{o}))")
            if 0 < o <= 8:
                spans = ", ".join(f"[{lo}, {hi})" for lo, hi in layer.windows(size, o))
                lines.append(f"      windows: {spans}")
    elif isinstance(layer, Upsample):
        for i in range(len(x) - 2):
            a = axis_name(i, len(x) - 2)
            if layer.size is not None:
                lines.append(f"{a}_out = size = {out[2 + i]}")
            else:
                f = layer.scale_factor[i] if isinstance(layer.scale_factor, tuple) else layer.scale_factor
                lines.append(f"{a}_out = floor({a}_in × scale_factor) = floor({x[2 + i]} × {f}) = {out[2 + i]}")
    elif isinstance(layer, PadNd):
        for i, (before, after) in enumerate(layer.pairs()):
            a = axis_name(i, layer.ndim)
            size = x[-layer.ndim + i]
            lines.append(f"{a}_out = {a}_in + before + after = {size} + {n(before)} + {n(after)} = {size + before + after}")
    elif isinstance(layer, PixelShuffle):
        r = layer.upscale_factor
        c, h, w = x[-3:]
        lines.append(f"C_out = C_in / r² = {c} / {r * r} = {c // (r * r)}; H_out = {h}×{r} = {h * r}; W_out = {w}×{r} = {w * r}")
    elif isinstance(layer, PixelUnshuffle):
        r = layer.downscale_factor
        c, h, w = x[-3:]
        lines.append(f"C_out = C_in × r² = {c} × {r * r} = {c * r * r}; H_out = {h}/{r} = {h // r}; W_out = {w}/{r} = {w // r}")
    elif isinstance(layer, Linear):
        lines.append(f"the last dim {layer.in_features} (in_features) becomes {layer.out_features} (out_features)")
    elif isinstance(layer, Flatten):
        lines.append(f"dims {layer.start_dim}..{layer.end_dim} multiplied into one: "
                     + " × ".join(str(d) for d in x) + f" → {list(out)}")
    elif isinstance(layer, ElementwiseMerge):
        lines.append("inputs broadcast together: " + " and ".join(str(list(s)) for s in inputs))
    else:
        lines.append("shape unchanged")
    return lines


def _conv_channels(layer) -> list[str]:
    return [f"C_out = out_channels = {layer.out_channels} (C_in = {layer.in_channels}, groups = {layer.groups})"]


def _window_formula(a: str, size: int, k: int, s: int, pads: tuple[int, int], d: int, ceil: bool) -> list[str]:
    before, after = pads
    rounding = "ceil" if ceil else "floor"
    if before == after:
        pad_sym, pad_num, total = "2×padding", f"2×{before}", size + 2 * before
    else:
        pad_sym, pad_num, total = "pad_before + pad_after", f"{before} + {after}", size + before + after
    numerator = total - d * (k - 1) - 1
    value = (-(-numerator // s) if ceil else numerator // s) + 1 if numerator >= 0 else None
    lines = [f"{a}_out = {rounding}(({a}_in + {pad_sym} − dilation×(kernel−1) − 1) / stride) + 1",
             f"      = {rounding}(({size} + {pad_num} − {d}×({k}−1) − 1) / {s}) + 1"]
    if value is None:
        lines.append(f"      = {rounding}({n(numerator)} / {s}) + 1: the kernel does not fit")
        return lines
    lines[-1] += f" = {rounding}({numerator} / {s}) + 1 = {value}"
    if ceil:
        final = pooled_size(size, k, s, before, d, True)
        last_start = (value - 1) * s
        if final != value:
            lines.append(f"      ceil_mode: the last window would start at (out−1)×stride = {last_start} ≥ "
                         f"{a}_in + padding = {size + before}, outside the input, so it is dropped: {final}")
        else:
            lines.append(f"      ceil_mode: the last window starts at (out−1)×stride = {last_start} < "
                         f"{a}_in + padding = {size + before}: it is kept")
    return lines


# ------------------------------------------------------------------ parameters and MACs

def _conv_roles(layer) -> tuple[tuple[str, int], tuple[str, int]]:
    """(whole, split by groups) channel names: a convolution's weight is C_out × C_in/groups,
    a transposed one's C_in × C_out/groups."""
    if isinstance(layer, ConvNd):
        return ("C_out", layer.out_channels), ("C_in", layer.in_channels)
    return ("C_in", layer.in_channels), ("C_out", layer.out_channels)


def _param_lines(layer: Layer, row: LayerResult) -> list[str]:
    if isinstance(layer, (ConvNd, ConvTransposeNd)):
        (whole, a), (split, b) = _conv_roles(layer)
        ks = " × ".join(str(k) for k in layer.kernel_size)
        formula = f"{whole} × {split}/groups × kernel = {a} × {b}/{layer.groups} × {ks}"
        out_features = layer.out_channels
    elif isinstance(layer, Linear):
        formula = f"in_features × out_features = {layer.in_features} × {layer.out_features}"
        out_features = layer.out_features
    elif isinstance(layer, BatchNormNd):
        if not layer.affine:
            return ["affine=False: no learnable parameters (running mean/var are buffers)"]
        return [f"weight (γ) {layer.num_features}" + (f" + bias (β) {layer.num_features}" if layer.bias else "")
                + f" = {row.params}; running mean/var are buffers, not parameters"]
    else:
        return [f"{row.params} learnable parameters"]
    bias = out_features if layer.bias else 0
    return [f"weight: {formula} = {thousands(row.params - bias)}",
            f"bias: {bias}" if layer.bias else "bias: none (bias=False)",
            f"total: {thousands(row.params)}"]


def _mac_lines(layer: Layer, row: LayerResult) -> list[str]:
    x, out = row.input_shapes[0], row.output_shape
    if isinstance(layer, (ConvNd, ConvTransposeNd)):
        (whole, a), (split, b) = _conv_roles(layer)
        # a convolution works per output position, a transposed one per input position
        seen, side, note = (out, "out", "") if isinstance(layer, ConvNd) else \
            (x, "in", "  (each input position scatters one kernel)")
        nd = layer.ndim
        terms = [math.prod(seen[:-nd - 1]), a, *seen[-nd:], b // layer.groups, *layer.kernel_size]
        lines = [f"MACs = N × {whole} × {side}_spatial × {split}/groups × kernel{note}",
                 f"     = {' × '.join(map(str, terms))} = {thousands(row.macs)}"]
    elif isinstance(layer, Linear):
        lead = math.prod(x[:-1])
        lines = ["MACs = prod(leading dims) × in_features × out_features",
                 f"     = {lead} × {layer.in_features} × {layer.out_features} = {thousands(row.macs)}"]
    else:
        return [f"MACs = 0 (no weights); FLOPs = {thousands(row.flops)}" + _flop_rule(layer, row)]
    bias = f" + {thousands(math.prod(out))} bias adds" if layer.bias else ""
    lines.append(f"FLOPs = 2 × MACs{bias} = {thousands(row.flops)}")
    return lines


_FLOP_REASONS = {
    MaxPoolNd: "comparisons: kernel − 1", AvgPoolNd: "kernel − 1 adds and one divide",
    BatchNormNd: "folded scale and shift", Elementwise: "the README's per-element cost",
}


def _flop_rule(layer: Layer, row: LayerResult) -> str:
    """The per-element figure behind the FLOPs (computed in analysis.counting, not here)."""
    elements = math.prod(row.output_shape)
    if not row.flops or not elements or row.flops % elements:
        return ""
    reason = next((text for cls, text in _FLOP_REASONS.items() if isinstance(layer, cls)), "see the README")
    return f" = {row.flops // elements} per output element ({reason})"


# ------------------------------------------------------------------ receptive field and transposed

def _rf_recurrence(layer: Layer, previous, composed) -> list[str]:
    """The textbook recurrence for window layers, shown where it is exact (whole strides)."""
    if not isinstance(layer, (ConvNd, _WindowPool)):
        if isinstance(layer, ConvTransposeNd):
            return ["a transposed convolution divides the stride by its own; neighbouring units can see "
                    "regions of different extent, and size is the largest of them"]
        return []
    dil = layer.dilation if isinstance(layer, ConvNd) else layer.dilations
    pads = layer.pad_pairs() if isinstance(layer, ConvNd) else [(p, p) for p in layer.padding]
    lines = []
    for i in range(min(layer.ndim, len(composed.size))):
        r, j, start = 1, 1, 0
        if previous is not None:
            r, j, start = previous.size[i], previous.stride[i], previous.start[i]
        if j.denominator != 1 or start is None:
            continue  # after up-sampling the recurrence is not exact; the composed values above are
        j = int(j)
        k, d, s, p = layer.kernel_size[i], dil[i], layer.stride[i], pads[i][0]
        if (r + (k - 1) * d * j, start - p * j) != (composed.size[i], composed.start[i]):
            continue  # the recurrence does not hold after some up-sampling layers
        a = axis_name(i, layer.ndim)
        lines.append(f"{a}: size = r_in + (kernel−1)×dilation×j_in = {r} + ({k}−1)×{d}×{j} = {r + (k - 1) * d * j}; "
                     f"stride = j_in×stride = {j}×{s} = {j * s}; start = start_in − padding×j_in = "
                     f"{n(start)} − {p}×{j} = {n(start - p * j)}")
    return lines


def _transposed_as_direct(layer: ConvTransposeNd, x, out) -> list[str]:
    lines = ["1. insert stride−1 zeros between input positions; 2. pad dilation×(kernel−1)−padding on each "
             "side, plus output_padding after; 3. flip the kernel; 4. convolve with stride 1:"]
    for i in range(layer.ndim):
        a = axis_name(i, layer.ndim)
        size, s, p = x[-layer.ndim + i], layer.stride[i], layer.padding[i]
        d, k, op = layer.dilation[i], layer.kernel_size[i], layer.output_padding[i]
        dilated = (size - 1) * s + 1
        pad = d * (k - 1) - p
        total = dilated + 2 * pad + op
        direct = total - d * (k - 1)
        note = " (negative: that many positions are cropped)" if pad < 0 else ""
        lines.append(f"{a}: zero-inserted ({size}−1)×{s}+1 = {dilated}; pad {d}×({k}−1)−{p} = {n(pad)}{note} "
                     f"before and {n(pad)}+{op} = {n(pad + op)} after → {total}; "
                     f"{total} − {d}×({k}−1) = {direct} = {a}_out")
    return lines
