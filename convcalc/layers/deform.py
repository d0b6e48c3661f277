"""torchvision.ops.DeformConv2d: a 2-D convolution whose taps are moved by learned offsets.

Its forward takes `(input, offset, mask=None)`: the offsets (N, 2·G·kh·kw, H_out, W_out)
move each tap by (Δh, Δw) per output position, and the input is sampled there by
bilinear interpolation (zero outside the image); the optional mask
(N, G·kh·kw, H_out, W_out) scales each sample (DCNv2). G, the offset groups, is read off
the offset's channels, as torchvision does. Every check below is one torchvision makes,
in its order (its Python wrapper, then `deform_conv2d_kernel.cpp`), recorded in
tests/fixtures/torchvision_deform.json.

A chain on the command line gives each layer one input: DeformConv2d then assumes zero
offsets of the right shape (G = 1, no mask) and says so in a note — the regular grid.
"""

from __future__ import annotations

from typing import Sequence

from ..record import field, record, set_field
from .base import ArgumentError, Layer, Shape, as_flag, as_int, check_numel, fmt_shape, ntuple, positional, \
    tuple_arg
from .formula import Function, Sym, product, term
from .windows import DIL, IN, PAD, K, S, window_notes

#: torchvision's C++ kernel computes (in + 2·pad − ker) / stride + 1 in C `int`
#: arithmetic: the division rounds toward zero, so a span short of the kernel by less
#: than the stride still gives one output position (a 2×2 input, kernel 3, stride 2: 1×1)
_SPAN = IN + 2 * PAD - DIL * (K - 1) - 1


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


WINDOW_TRUNC = Function("trunc_div", _trunc_div, (_SPAN, S)) + 1
WEIGHT = product([Sym("C_out"), Sym("C_in") / Sym("groups"), Sym("k0", "k_H"), Sym("k1", "k_W")])
BIAS = Sym("C_out")
OFFSET_GROUPS = Sym("offset_channels") / (2 * Sym("k0", "k_H") * Sym("k1", "k_W"))
WEIGHT_GROUPS = Sym("C_x", "C_in") / (Sym("C_in", "in_channels") / Sym("groups"))
MAX_INPUTS = 3


@record
class DeformConv2d(Layer):
    in_channels: int = positional()
    out_channels: int = positional()
    kernel_size: tuple[int, int] = field(metadata={"always": True})
    stride: tuple[int, int] = tuple_arg(1, always=True)  # torchvision prints it always
    padding: tuple[int, int] = tuple_arg(0, unless=0)
    dilation: tuple[int, int] = tuple_arg(1, unless=1)
    groups: int = 1
    bias: bool = True

    type_name = "DeformConv2d"
    arity = None  # x, offset, optional mask; a single input: zero offsets assumed
    min_inputs = 1

    def check(self) -> None:
        # torchvision: `in_channels % groups` (Python: a zero group divides by zero, a negative
        # one makes a negative weight size), `_pair` for the sizes, then
        # torch.empty(out, in // groups, kh, kw) and kaiming_uniform_, whose fan-in
        # (in/groups·kh·kw) must not be 0.  Stride, padding and dilation are checked by the
        # C++ kernel at the first forward (a stride of 0 crashes it): refused here.
        groups = as_int("groups", self.groups, minimum=1, bools=True)
        in_c = as_int("in_channels", self.in_channels, minimum=1, bools=True)
        out_c = as_int("out_channels", self.out_channels, minimum=0)  # torch.empty's first size: no bool
        if in_c % groups:
            raise ArgumentError("groups", f"in_channels must be divisible by groups; got in_channels={in_c}, "
                                          f"groups={groups}")
        if out_c % groups:
            raise ArgumentError("groups", f"out_channels must be divisible by groups; got out_channels={out_c}, "
                                          f"groups={groups}")
        if in_c < groups:
            raise ArgumentError("groups", f"in_channels/groups must be at least 1 (the weight's fan-in); got "
                                          f"in_channels={in_c}, groups={groups}")
        # the weight is torch.empty(out, in // groups, kernel_size[0], kernel_size[1]): a longer
        # tuple's further entries are never read, and a bool passes as a size after the first
        kernel = self.kernel_size
        if isinstance(kernel, (tuple, list)) and len(kernel) > 2:
            kernel = tuple(kernel[:2])
        kernel = ntuple("kernel_size", kernel, 2, minimum=1, bools=True)
        # the C++ operator takes them as int64 arguments, which a bool converts to
        stride = ntuple("stride", self.stride, 2, minimum=1, bools=True)
        padding = ntuple("padding", self.padding, 2, minimum=0, bools=True)
        dilation = ntuple("dilation", self.dilation, 2, minimum=1, bools=True)
        check_numel("kernel_size", (out_c, in_c // groups) + kernel)
        for name, value in (("in_channels", in_c), ("out_channels", out_c), ("groups", groups),
                            ("kernel_size", kernel), ("stride", stride), ("padding", padding),
                            ("dilation", dilation), ("bias", as_flag("bias", self.bias))):
            set_field(self, name, value)

    def spatial_ndim(self, shape: Shape) -> int:
        return 2

    # -- shapes

    def out_size(self, x: Shape, terms=None) -> tuple[int, int]:
        outs = []
        for i, a in enumerate(("H", "W")):
            env = {"in": x[2 + i], "padding": self.padding[i], "dilation": self.dilation[i],
                   "kernel": self.kernel_size[i], "stride": self.stride[i]}
            span = _SPAN.eval(env)
            note = ("C++ integer division rounds toward zero: a span short of the kernel by less than "
                    "the stride gives one position") if span < 0 else None
            outs.append(term(terms, "{a}_out", WINDOW_TRUNC, env, a, note))
        return outs[0], outs[1]

    def weight_groups(self, channels: int) -> int:
        """torchvision reads the groups off the input: C_x // (in_channels/groups)."""
        return channels // (self.in_channels // self.groups)

    def offset_groups(self, inputs: Sequence[Shape]) -> int:
        if len(inputs) < 2:
            return 1
        kh, kw = self.kernel_size
        return inputs[1][1] // (2 * kh * kw)

    def derive(self, inputs, terms) -> Shape:
        if not 1 <= len(inputs) <= MAX_INPUTS:
            raise self.fail(f"expected 1 to 3 inputs (input, offset, mask); got {len(inputs)}")
        x = inputs[0]
        if len(x) != 4:
            raise self.fail(f"expected a 4-D input (N, C, H, W): torchvision's DeformConv2d takes no unbatched "
                            f"input; got shape {fmt_shape(x)}")
        kh, kw = self.kernel_size
        taps = kh * kw
        offset = inputs[1] if len(inputs) > 1 else None
        mask = inputs[2] if len(inputs) > 2 else None
        if offset is not None:
            if len(offset) < 2 or offset[1] // (2 * taps) == 0:
                got = fmt_shape(offset)
                raise self.fail(f"expected an offset with a multiple of 2·kh·kw = {2 * taps} channels (dim 1); "
                                f"got shape {got}")
            for what, shape in (("offset", offset), ("mask", mask)):
                if shape is not None and len(shape) != 4:
                    raise self.fail(f"expected a 4-D {what} (N, C, H_out, W_out); got shape {fmt_shape(shape)}")
        c = x[1]
        per_group = self.in_channels // self.groups
        wg = self.weight_groups(c)
        if c == 0:  # torchvision's kernel divides by the groups it reads off the input: 0
            raise self.fail(f"expected input with {self.in_channels} channels; got 0 channels in shape "
                            f"{fmt_shape(x)}")
        if wg * per_group != c or self.out_channels % wg:
            raise self.fail(f"expected input with a multiple of in_channels/groups = {per_group} channels "
                            f"(in_channels={self.in_channels}) whose multiple divides out_channels="
                            f"{self.out_channels}; got {c} channels in shape {fmt_shape(x)}")
        og = self.offset_groups(inputs)
        if offset is not None:
            if offset[1] != og * 2 * taps:
                raise self.fail(f"expected offset channels 2·offset_groups·kh·kw = {og * 2 * taps} "
                                f"(offset_groups={og}); got {offset[1]} in shape {fmt_shape(offset)}")
            if mask is not None and mask[1] != og * taps:
                raise self.fail(f"expected mask channels offset_groups·kh·kw = {og * taps} (offset_groups={og}, "
                                f"from the offset); got {mask[1]} in shape {fmt_shape(mask)}")
            if c % og:
                raise self.fail(f"expected input channels divisible by offset_groups={og} (from the offset's "
                                f"{offset[1]} channels); got {c} channels")
            if offset[0] != x[0]:
                raise self.fail(f"expected an offset with the input's batch {x[0]}; got shape {fmt_shape(offset)}")
        out_h, out_w = self.out_size(x)
        if offset is not None and tuple(offset[2:]) != (out_h, out_w):
            raise self.fail(f"expected an offset of the output's spatial size ({out_h}, {out_w}); got "
                            f"({offset[2]}, {offset[3]}) in shape {fmt_shape(offset)}")
        if mask is not None:
            if mask[0] != x[0]:
                raise self.fail(f"expected a mask with the input's batch {x[0]}; got shape {fmt_shape(mask)}")
            if tuple(mask[2:]) != (out_h, out_w):
                raise self.fail(f"expected a mask of the output's spatial size ({out_h}, {out_w}); got "
                                f"({mask[2]}, {mask[3]}) in shape {fmt_shape(mask)}")
        if out_h <= 0 or out_w <= 0:
            raise self.fail(f"expected a positive output size; got ({out_h}, {out_w}) for input "
                            f"{fmt_shape(x)}: the effective kernel is larger than the padded input")
        if terms is not None:
            term(terms, "C_out", Sym("out_channels"), {"out_channels": self.out_channels})
            if offset is not None:
                term(terms, "offset_groups", OFFSET_GROUPS, {"offset_channels": offset[1], "k0": kh, "k1": kw},
                     note="read off the offset's channels, as torchvision does")
            if wg != self.groups:
                term(terms, "groups_run", WEIGHT_GROUPS, {"C_x": c, "C_in": self.in_channels, "groups": self.groups},
                     note="torchvision reads the groups off the input's channels")
            self.out_size(x, terms)
        return (x[0], self.out_channels, out_h, out_w)

    # -- parameters, receptive field, warnings

    def params(self, terms=None) -> int:
        kh, kw = self.kernel_size
        weight = term(terms, "weight", WEIGHT, {"C_out": self.out_channels, "C_in": self.in_channels,
                                                "groups": self.groups, "k0": kh, "k1": kw})
        return weight + (term(terms, "bias", BIAS, {"C_out": self.out_channels}) if self.bias else 0)

    def rf_effect(self, inputs, output):
        """The regular grid's window on the input (the taps before their offsets move them:
        learned offsets can move a tap anywhere, so no static field bounds it); the offset
        and the mask are read at the output unit's own position, by every output channel."""
        from .rf import Groups, RFEffect, WindowStep
        x = RFEffect({i - 2: WindowStep(self.kernel_size[i], self.stride[i], self.dilation[i], self.padding[i])
                      for i in range(2)}, channels=Groups(self.weight_groups(inputs[0][1])), channel_axis=-3)
        if len(inputs) == 1:
            return x
        rest = RFEffect({}, channels=Groups(1), channel_axis=-3)
        # the first input's steps stand in `steps` too, for readers that follow input 0 only
        return RFEffect(x.steps, channels=x.channels, channel_axis=-3, per_input=(x,) + (rest,) * (len(inputs) - 1))

    def notes(self, inputs, output) -> list[str]:
        x = inputs[0]
        notes = []
        if len(inputs) == 1:
            kh, kw = self.kernel_size
            notes.append(f"{self.name}: one input given: zero offsets of shape {fmt_shape((x[0], 2 * kh * kw) + output[2:])} "
                         "assumed (offset_groups=1, no mask), the regular grid; give the offset (and mask) "
                         "with 'from: [x, offset, mask]' in a YAML network spec")
        notes.append(f"{self.name}: the receptive field is that of the regular grid: learned offsets can move "
                     "each tap anywhere in the input")
        wg = self.weight_groups(x[1])
        if wg != self.groups:
            notes.append(f"{self.name}: the input has {x[1]} channels, not in_channels={self.in_channels}: "
                         f"torchvision reads groups={wg} off it (in_channels/groups = "
                         f"{self.in_channels // self.groups} per group) and runs without an error")
        spans = [x[2 + i] + 2 * self.padding[i] - self.dilation[i] * (self.kernel_size[i] - 1) - 1 for i in range(2)]
        if min(spans) >= 0:  # the window notes assume the floor that a non-negative span shares
            notes.extend(window_notes(self, x[2:], output[2:], self.kernel_size, self.stride, self.dilation,
                                      [(p, p) for p in self.padding]))
        return notes

