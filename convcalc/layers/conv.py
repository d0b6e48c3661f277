"""Convolutions: ConvNd, ConvTransposeNd, their Lazy forms, and SeparableConvNd."""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

from ..record import field, record, replace, set_field
from .base import (INT64_MAX, ArgumentError, Layer, Shape, _fmt, as_choice, as_flag, as_int, check_non_empty,
                   check_numel, check_rank, fmt_shape, ntuple, positional, tuple_arg)
from .formula import Expr, Sym, product, term
from .windows import (DIL, IN, OP, PAD, SAME_AFTER, SAME_BEFORE, SAME_TOTAL, TRANSPOSED, WINDOW,
                      WINDOW_UNEVEN, K, S, axis_name, check_padding_fits, join_names, transposed_notes,
                      window_notes)

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


@lru_cache(maxsize=None)
def weight_formula(ndim: int, transposed: bool) -> Expr:
    """C_out × C_in/groups × kernel (a transposed convolution's weight is C_in × C_out/groups × kernel)."""
    whole, split = ("C_in", "C_out") if transposed else ("C_out", "C_in")
    kernel = [Sym(f"k{i}", f"k_{axis_name(i, ndim)}") for i in range(ndim)]
    return product([Sym(whole), Sym(split) / Sym("groups")] + kernel)


def weight_env(layer) -> dict:
    env = {"C_out": layer.out_channels, "C_in": layer.in_channels, "groups": layer.groups}
    for i, k in enumerate(layer.kernel_size):
        env[f"k{i}"] = k
    return env


BIAS = Sym("C_out")

# A transposed convolution as a direct one: zero insertion, padding, a stride-1 window
ZERO_INSERTED = (IN - 1) * S + 1
DIRECT_PAD = DIL * (K - 1) - PAD
DIRECT_PADDED = Sym("inserted", "{a}_zero_inserted") + 2 * Sym("pad", "{a}_pad") + OP
DIRECT_OUT = Sym("padded", "{a}_padded") - DIL * (K - 1)


class _ConvArgs:
    """The argument checks ConvNd, ConvTransposeNd and SeparableConvNd share."""

    def check_common(self, n: int) -> None:
        groups = as_int("groups", self.groups)
        if groups <= 0:
            raise ArgumentError("groups", f"groups must be a positive integer; got {groups}")
        mode = as_choice("padding_mode", self.padding_mode, PADDING_MODES)
        pad = self.padding
        if isinstance(pad, str):
            pad = as_choice("padding", pad, ("same", "valid"))
        else:
            if isinstance(pad, tuple) and len(pad) == 1 and n > 1 and mode != "zeros":
                raise ArgumentError("padding", f"a 1-element padding {pad!r} cannot be used with "
                                               f"padding_mode={mode!r}; give {n} values")
            # With a padding_mode other than zeros PyTorch pads with F.pad, which crops on
            # negative values; only zero padding must be non-negative.
            pad = ntuple("padding", pad, n, minimum=0 if mode == "zeros" else None, expand=True)
            if mode == "zeros" and any(p > INT64_MAX // 2 for p in pad):
                raise ArgumentError("padding", f"padding must be at most {INT64_MAX // 2} (twice it must fit "
                                               f"in 64 bits); got {_fmt(pad)}")
        stride = ntuple("stride", self.stride, n, minimum=1, expand=True)
        if pad == "same" and any(s != 1 for s in stride):
            raise ArgumentError("padding", "padding='same' is not supported for strided convolutions "
                                           f"(stride={stride})")
        # the kernel size only shapes the weight, torch.empty((C, C/groups, *kernel_size)),
        # where a bool after the first size passes as an int
        kernel = ntuple("kernel_size", self.kernel_size, n, minimum=1, bools=True)
        dilation = ntuple("dilation", self.dilation, n, minimum=1, expand=True)
        for name, value in (("groups", groups), ("padding_mode", mode), ("padding", pad), ("stride", stride),
                            ("kernel_size", kernel), ("dilation", dilation),
                            ("bias", as_flag("bias", self.bias))):
            set_field(self, name, value)

    def check_channels(self, transposed: bool = False) -> None:
        # The module divides the channels by groups (turning a bool into an int) and
        # allocates its weight, torch.empty((C, C/groups, *kernel_size)), where only the
        # first size may not be a bool, and its bias, torch.empty(out_channels).
        in_c = as_int("in_channels", self.in_channels, minimum=0, bools=not transposed)
        out_c = as_int("out_channels", self.out_channels, minimum=1, bools=transposed and not self.bias)
        if in_c % self.groups:
            raise ArgumentError("groups", f"in_channels={in_c} must be divisible by groups={self.groups}")
        if out_c % self.groups:
            raise ArgumentError("groups", f"out_channels={out_c} must be divisible by groups={self.groups}")
        set_field(self, "in_channels", in_c)
        set_field(self, "out_channels", out_c)
        whole, split = (in_c, out_c) if transposed else (out_c, in_c)
        check_numel("kernel_size", (whole, split // self.groups) + self.kernel_size)

    def spatial_ndim(self, shape: Shape) -> int:
        return self.ndim

    def check_input(self, x: Shape) -> None:
        n = self.ndim
        check_rank(self, x, (n + 1, n + 2), unbatched=n + 1)
        channels = x[-n - 1]
        if channels != self.in_channels:
            unbatched = ""
            if len(x) == n + 1:  # PyTorch reads (C, *spatial) without a batch dim
                axes = ", ".join(axis_name(i, n) for i in range(n))
                unbatched = (f" (PyTorch reads a {n + 1}-D input as unbatched (C, {axes}); a batched "
                             f"input has {n + 2} dims)")
            raise self.fail(f"expected input with {self.in_channels} channels; got {channels} "
                            f"channels in shape {fmt_shape(x)}{unbatched}")

    def params(self, terms=None) -> int:
        weight = term(terms, "weight", weight_formula(self.ndim, isinstance(self, ConvTransposeNd)),
                      weight_env(self))
        bias = term(terms, "bias", BIAS, {"C_out": self.out_channels}) if self.bias else 0
        return weight + bias


@record
class ConvNd(_ConvArgs, Layer):
    in_channels: int = positional()
    out_channels: int = positional()
    kernel_size: tuple[int, ...] = field(metadata={"always": True})
    stride: tuple[int, ...] = tuple_arg(1, unless=1)
    padding: tuple[int, ...] | str = tuple_arg(0, unless=0)
    dilation: tuple[int, ...] = tuple_arg(1, unless=1)
    groups: int = 1
    bias: bool = True
    padding_mode: str = "zeros"
    ndim: int = field(default=2, repr=False)
    #: PyTorch quirk: with padding='same', a padding_mode other than zeros and a 1-element
    #: dilation tuple, only the first spatial axis is padded (zip stops at the shorter tuple)
    same_first_axis_only: bool = field(default=False, repr=False)

    @property
    def name(self) -> str:
        return f"Conv{self.ndim}d"

    def check(self) -> None:
        n = self.ndim
        one_dilation = isinstance(self.dilation, tuple) and len(self.dilation) == 1
        self.check_common(n)
        if self.padding == "same" and self.padding_mode != "zeros" and n > 1 and one_dilation:
            set_field(self, "same_first_axis_only", True)
        self.check_channels()

    def pad_pairs(self, terms=None) -> list[tuple[int, int]]:
        """(left, right) padding per spatial axis; 'same' splits odd totals right-heavy."""
        if self.padding == "valid":
            return [(0, 0)] * self.ndim
        if self.padding == "same":
            pairs = []
            for i, (k, d) in enumerate(zip(self.kernel_size, self.dilation)):
                if self.same_first_axis_only and i > 0:
                    pairs.append((0, 0))
                    continue
                a = axis_name(i, self.ndim)
                total = term(terms, "{a}_pad_total", SAME_TOTAL, {"dilation": d, "kernel": k}, a,
                             "padding='same' pads dilation×(kernel−1) in all")
                before = term(terms, "{a}_pad_before", SAME_BEFORE, {"total": total}, a)
                after = term(terms, "{a}_pad_after", SAME_AFTER, {"total": total, "before": before}, a,
                             "the odd position goes after" if before != total - before else None)
                pairs.append((before, after))
            return pairs
        return [(p, p) for p in self.padding]  # type: ignore[union-attr]

    def derive(self, inputs, terms) -> Shape:
        (x,) = inputs
        self.check_input(x)
        n = self.ndim
        if self.padding_mode != "zeros":  # F.pad reads every dimension but the batch
            check_non_empty(self, x, len(x) == n + 2)
        elif 0 in x[-n:]:
            raise self.fail(f"expected non-zero spatial sizes (PyTorch supports only a zero batch or zero "
                            f"channels); got shape {fmt_shape(x)}")
        # PyTorch answers an input of zero channels with an output of zero channels
        channels = self.out_channels if self.in_channels else 0
        if terms is not None:
            if self.in_channels:
                term(terms, "C_out", Sym("out_channels"), {"out_channels": self.out_channels})
            else:
                term(terms, "C_out", Sym("C_in"), {"C_in": 0}, note="PyTorch gives a zero-channel input "
                                                                   "a zero-channel output")
        outs = []
        for i, (size, (left, right)) in enumerate(zip(x[-n:], self.pad_pairs(terms))):
            a = axis_name(i, n)
            check_padding_fits(self, self.padding_mode, left, right, size, a)
            padded = size + left + right
            if padded < 1:
                raise self.fail(f"padding {left}+{right} crops the input size {size} along {a} to nothing")
            k, d = self.kernel_size[i], self.dilation[i]
            effective = d * (k - 1) + 1
            if effective > padded:
                raise self.fail(f"effective kernel {effective} (kernel {k}, dilation {d}) is larger than "
                                f"the padded input {padded} along {a} ({size} + padding {left}+{right})")
            env = {"in": size, "dilation": d, "kernel": k, "stride": self.stride[i]}
            if left == right:
                env["padding"] = left
                outs.append(term(terms, "{a}_out", WINDOW, env, a))
            else:
                env["before"], env["after"] = left, right
                outs.append(term(terms, "{a}_out", WINDOW_UNEVEN, env, a))
        return x[:-n - 1] + (channels,) + tuple(outs)

    def rf_effect(self, inputs, output):
        from .rf import Groups, RFEffect, WindowStep
        n = self.ndim
        return RFEffect({i - n: WindowStep(self.kernel_size[i], self.stride[i], self.dilation[i], left)
                         for i, (left, _) in enumerate(self.pad_pairs())},
                        channels=Groups(self.groups), channel_axis=-n - 1)

    def notes(self, inputs, output) -> list[str]:
        n = self.ndim
        notes = window_notes(self, inputs[0][-n:], output[-n:], self.kernel_size, self.stride,
                             self.dilation, self.pad_pairs())
        if self.padding == "same":
            uneven = [(axis_name(i, n), f"{left} before, {right} after")
                      for i, (left, right) in enumerate(self.pad_pairs()) if left != right]
            if len({detail for _, detail in uneven}) == 1:
                notes.append(f"{self.name}: padding='same' pads {join_names([a for a, _ in uneven])} unevenly "
                             f"({uneven[0][1]})")
            elif uneven:
                notes.append(f"{self.name}: padding='same' pads unevenly: "
                             + join_names([f"{a} ({detail})" for a, detail in uneven]))
        return notes


@record
class ConvTransposeNd(_ConvArgs, Layer):
    in_channels: int = positional()
    out_channels: int = positional()
    kernel_size: tuple[int, ...] = field(metadata={"always": True})
    stride: tuple[int, ...] = tuple_arg(1, unless=1)
    padding: tuple[int, ...] = tuple_arg(0, unless=0)
    output_padding: tuple[int, ...] = tuple_arg(0, unless=0)
    groups: int = 1
    bias: bool = True
    dilation: tuple[int, ...] = tuple_arg(1, unless=1)
    padding_mode: str = "zeros"
    ndim: int = field(default=2, repr=False)
    #: the `output_size` its forward() takes (seed 004): it picks output_padding per axis,
    #: as PyTorch's `_output_padding` does, when the layer meets its input (`resolve`)
    output_size: tuple[int, ...] | None = None

    @property
    def name(self) -> str:
        return f"ConvTranspose{self.ndim}d"

    def resolve(self, inputs) -> "ConvTransposeNd":
        """With `output_size`, the layer whose output_padding gives that size."""
        if self.output_size is None:
            return self
        (x,) = inputs
        self.check_input(x)
        n = self.ndim
        size = self.output_size
        non_spatial = 2 if len(x) == n + 2 else 1
        if len(size) == non_spatial + n:  # PyTorch also takes the full shape
            size = size[non_spatial:]
        if len(size) != n:
            raise self.fail(f"for a {len(x)}-D input, output_size must have {n} or {non_spatial + n} "
                            f"elements; got {len(size)}")
        low = [(i - 1) * s - 2 * p + d * (k - 1) + 1 for i, s, p, d, k in
               zip(x[-n:], self.stride, self.padding, self.dilation, self.kernel_size)]
        high = [m + s - 1 for m, s in zip(low, self.stride)]
        if any(not lo <= want <= hi for want, lo, hi in zip(size, low, high)):
            raise self.fail(f"requested an output size of {list(size)}, but valid sizes range from {low} "
                            f"to {high} (for an input of {list(x[-n:])})")
        return replace(self, output_padding=tuple(w - lo for w, lo in zip(size, low)), output_size=None)

    def check(self) -> None:
        n = self.ndim
        if isinstance(self.padding, str):  # the module makes it a tuple of characters
            raise ArgumentError("padding", f"ConvTranspose{n}d takes integer padding, not {self.padding!r}")
        self.check_common(n)
        if self.padding_mode != "zeros":
            raise ArgumentError("padding_mode", f'only "zeros" padding mode is supported for '
                                                f"ConvTranspose{n}d; got {self.padding_mode!r}")
        self.check_channels(transposed=True)
        op = ntuple("output_padding", self.output_padding, n, expand=True)
        if any(v < 0 for v in op):
            raise ArgumentError("output_padding", f"output_padding must not be negative; "
                                                  f"got {self.output_padding!r}")
        set_field(self, "output_padding", op)
        if self.output_size is not None:
            given = self.output_size
            if not isinstance(given, tuple) or not given:
                raise ArgumentError("output_size", f"output_size must be a tuple of sizes; got {given!r}")
            set_field(self, "output_size", tuple(as_int("output_size", v, minimum=0) for v in given))

    def derive(self, inputs, terms) -> Shape:
        if self.output_size is not None:
            return self.resolve(inputs).derive(inputs, terms)
        (x,) = inputs
        self.check_input(x)
        n = self.ndim
        if self.in_channels == 0:  # its weight, in_channels × out_channels/groups × kernel, is empty
            raise self.fail("a transposed convolution needs in_channels of at least 1; got 0")
        if 0 in x[-n:]:
            raise self.fail(f"expected non-zero spatial sizes (PyTorch supports only a zero batch or zero "
                            f"channels); got shape {fmt_shape(x)}")
        if terms is not None:
            term(terms, "C_out", Sym("out_channels"), {"out_channels": self.out_channels})
        outs = []
        for i, size in enumerate(x[-n:]):
            a = axis_name(i, n)
            s, d, op = self.stride[i], self.dilation[i], self.output_padding[i]
            if op >= s and op >= d:
                raise self.fail(f"output_padding {op} along {a} must be smaller than "
                                f"either stride {s} or dilation {d}")
            env = {"in": size, "stride": s, "padding": self.padding[i], "dilation": d,
                   "kernel": self.kernel_size[i], "output_padding": op}
            out = term(terms, "{a}_out", TRANSPOSED, env, a)
            if out <= 0:
                raise self.fail(f"output size along {a} would be {out} for input size "
                                f"{size}: (in-1)*stride - 2*padding + dilation*(kernel-1) + "
                                f"output_padding + 1 must be positive")
            outs.append(out)
        return x[:-n - 1] + (self.out_channels,) + tuple(outs)

    def direct_terms(self, inputs) -> list:
        """The same output size seen as a direct convolution over the zero-inserted input."""
        terms: list = []
        n = self.ndim
        for i, size in enumerate(inputs[0][-n:]):
            a = axis_name(i, n)
            env = {"in": size, "stride": self.stride[i], "padding": self.padding[i],
                   "dilation": self.dilation[i], "kernel": self.kernel_size[i],
                   "output_padding": self.output_padding[i]}
            env["inserted"] = term(terms, "{a}_zero_inserted", ZERO_INSERTED, env, a,
                                   "stride−1 zeros between neighbouring input positions")
            env["pad"] = term(terms, "{a}_pad", DIRECT_PAD, env, a,
                              "on each side, output_padding more after; negative: a crop")
            env["padded"] = term(terms, "{a}_padded", DIRECT_PADDED, env, a)
            term(terms, "{a}_out", DIRECT_OUT, env, a, "a stride-1 convolution with the flipped kernel")
        return terms

    def rf_effect(self, inputs, output):
        from .rf import Groups, RFEffect, TransposedStep
        n = self.ndim
        return RFEffect({i - n: TransposedStep(self.kernel_size[i], self.stride[i], self.dilation[i],
                                               self.padding[i]) for i in range(n)},
                        channels=Groups(self.groups), channel_axis=-n - 1)

    def notes(self, inputs, output) -> list[str]:
        n = self.ndim
        return transposed_notes(self, inputs[0][-n:], output[-n:], self.kernel_size, self.stride,
                                self.dilation, self.padding)


@record
class LazyConv(Layer):
    """LazyConvNd / LazyConvTransposeNd: in_channels comes from the first input.

    `template` is the convolution with in_channels=groups (so its checks have run)."""

    template: ConvNd | ConvTransposeNd = field(default=None)  # type: ignore[assignment]

    wrapper = True

    @classmethod
    def of(cls, conv: type, **arguments) -> "LazyConv":
        return cls(conv(in_channels=arguments.get("groups", 1), **arguments))

    @property
    def name(self) -> str:
        return "Lazy" + self.template.name

    def check(self) -> None:
        if not isinstance(self.template, (ConvNd, ConvTransposeNd)):
            raise ArgumentError("template", f"expected a ConvNd or ConvTransposeNd; got {self.template!r}")

    def spatial_ndim(self, shape: Shape) -> int:
        return self.template.ndim

    def resolve(self, inputs: Sequence[Shape]) -> Layer:
        (x,) = inputs
        n = self.template.ndim
        check_rank(self, x, (n + 1, n + 2), unbatched=n + 1)
        channels = x[-n - 1]
        if channels % self.template.groups:
            raise self.fail(f"in_channels {channels} (from the input) must be divisible by "
                            f"groups={self.template.groups}")
        return replace(self.template, in_channels=channels).resolve(inputs)

    def spec(self) -> str:
        # PyTorch prints a lazy convolution with in_channels=0 in front
        return "Lazy" + self.template.spec().replace(f"({self.template.in_channels}, ", "(0, ", 1)


@record
class SeparableConv(_ConvArgs, Layer):
    """Depthwise ConvNd (groups=in, no bias) then pointwise 1x1 ConvNd (with the bias), as Keras counts it."""

    in_channels: int = positional()
    out_channels: int = positional()
    kernel_size: tuple[int, ...] = field(metadata={"always": True})
    stride: tuple[int, ...] = tuple_arg(1, unless=1)
    padding: tuple[int, ...] | str = tuple_arg(0, unless=0)
    dilation: tuple[int, ...] = tuple_arg(1, unless=1)
    bias: bool = True
    padding_mode: str = "zeros"
    depth_multiplier: int = 1
    ndim: int = field(default=2, repr=False)

    wrapper = True
    groups = 1  # for the shared checks: the block itself is not grouped

    @property
    def name(self) -> str:
        return f"SeparableConv{self.ndim}d"

    def check(self) -> None:
        self.check_common(self.ndim)
        as_int("in_channels", self.in_channels, minimum=1)
        as_int("out_channels", self.out_channels, minimum=1)
        as_int("depth_multiplier", self.depth_multiplier, minimum=1)

    def expand(self) -> list[tuple[str, Layer]]:
        n = self.ndim
        mid = self.in_channels * self.depth_multiplier
        depthwise = ConvNd(self.in_channels, mid, self.kernel_size, self.stride, self.padding,
                           self.dilation, self.in_channels, False, self.padding_mode, n)
        pointwise = ConvNd(mid, self.out_channels, (1,) * n, (1,) * n, (0,) * n, (1,) * n, 1,
                           self.bias, "zeros", n)
        return [("depthwise", depthwise), ("pointwise", pointwise)]
