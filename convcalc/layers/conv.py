"""Convolutions: ConvNd, ConvTransposeNd, their Lazy forms, and SeparableConvNd."""

from __future__ import annotations

import math
from ..record import field, record, replace
from typing import Sequence

from .base import Layer, Shape, check_rank, fmt_shape, positional, tuple_arg
from .windows import axis_name, check_padding_fits, window_notes

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


@record
class ConvNd(Layer):
    in_channels: int = positional()
    out_channels: int = positional()
    kernel_size: tuple[int, ...] = tuple_arg(None, always=True)
    stride: tuple[int, ...] = tuple_arg(1)
    padding: tuple[int, ...] | str = tuple_arg(0)
    dilation: tuple[int, ...] = tuple_arg(1)
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

    def pad_pairs(self) -> list[tuple[int, int]]:
        """(left, right) padding per spatial axis; 'same' splits odd totals right-heavy."""
        if self.padding == "valid":
            return [(0, 0)] * self.ndim
        if self.padding == "same":
            pairs = []
            for k, d in zip(self.kernel_size, self.dilation):
                total = d * (k - 1)
                pairs.append((total // 2, total - total // 2))
            if self.same_first_axis_only:
                pairs[1:] = [(0, 0)] * (self.ndim - 1)
            return pairs
        return [(p, p) for p in self.padding]  # type: ignore[union-attr]

    def spatial_ndim(self, shape: Shape) -> int:
        return self.ndim

    def check_input(self, x: Shape) -> None:
        n = self.ndim
        check_rank(self, x, (n + 1, n + 2), unbatched=n + 1)
        channels = x[-n - 1]
        if channels != self.in_channels:
            raise self.fail(f"expected input with {self.in_channels} channels; got {channels} "
                            f"channels in shape {fmt_shape(x)}")

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        (x,) = inputs
        self.check_input(x)
        n = self.ndim
        sizes = x[-n:]
        outs = []
        for i, (size, (left, right)) in enumerate(zip(sizes, self.pad_pairs())):
            check_padding_fits(self, self.padding_mode, left, right, size, axis_name(i, n))
            padded = size + left + right
            if padded < 1:
                raise self.fail(f"padding {left}+{right} crops the input size {size} along "
                                f"{axis_name(i, n)} to nothing")
            effective = self.dilation[i] * (self.kernel_size[i] - 1) + 1
            if effective > padded:
                raise self.fail(f"effective kernel {effective} (kernel {self.kernel_size[i]}, dilation "
                                f"{self.dilation[i]}) is larger than the padded input {padded} "
                                f"along {axis_name(i, n)} ({size} + padding {left}+{right})")
            outs.append((padded - effective) // self.stride[i] + 1)
        return x[:-n - 1] + (self.out_channels,) + tuple(outs)

    def param_count(self) -> int:
        weight = self.out_channels * (self.in_channels // self.groups) * math.prod(self.kernel_size)
        return weight + (self.out_channels if self.bias else 0)

    def rf_effect(self, inputs, output):
        from .rf import RFEffect, WindowStep
        n = self.ndim
        steps = {}
        for i, (left, _) in enumerate(self.pad_pairs()):
            steps[i - n] = WindowStep(self.kernel_size[i], self.stride[i], self.dilation[i], left)
        return RFEffect(steps)

    def notes(self, inputs, output) -> list[str]:
        n = self.ndim
        notes = window_notes(self, inputs[0][-n:], output[-n:], self.kernel_size, self.stride,
                             self.dilation, self.pad_pairs())
        if self.padding == "same":
            for i, (left, right) in enumerate(self.pad_pairs()):
                if left != right:
                    notes.append(f"{self.name}: padding='same' pads {axis_name(i, n)} unevenly "
                                 f"({left} before, {right} after)")
        return notes


@record
class ConvTransposeNd(Layer):
    in_channels: int = positional()
    out_channels: int = positional()
    kernel_size: tuple[int, ...] = tuple_arg(None, always=True)
    stride: tuple[int, ...] = tuple_arg(1)
    padding: tuple[int, ...] = tuple_arg(0)
    output_padding: tuple[int, ...] = tuple_arg(0)
    groups: int = 1
    bias: bool = True
    dilation: tuple[int, ...] = tuple_arg(1)
    padding_mode: str = "zeros"
    ndim: int = field(default=2, repr=False)

    @property
    def name(self) -> str:
        return f"ConvTranspose{self.ndim}d"

    def spatial_ndim(self, shape: Shape) -> int:
        return self.ndim

    check_input = ConvNd.check_input

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        (x,) = inputs
        self.check_input(x)
        n = self.ndim
        outs = []
        for i, size in enumerate(x[-n:]):
            s, d, op = self.stride[i], self.dilation[i], self.output_padding[i]
            if op >= s and op >= d:
                raise self.fail(f"output_padding {op} along {axis_name(i, n)} must be smaller than "
                                f"either stride {s} or dilation {d}")
            out = (size - 1) * s - 2 * self.padding[i] + d * (self.kernel_size[i] - 1) + op + 1
            if out <= 0:
                raise self.fail(f"output size along {axis_name(i, n)} would be {out} for input size "
                                f"{size}: (in-1)*stride - 2*padding + dilation*(kernel-1) + "
                                f"output_padding + 1 must be positive")
            outs.append(out)
        return x[:-n - 1] + (self.out_channels,) + tuple(outs)

    def param_count(self) -> int:
        weight = self.in_channels * (self.out_channels // self.groups) * math.prod(self.kernel_size)
        return weight + (self.out_channels if self.bias else 0)

    def rf_effect(self, inputs, output):
        from .rf import RFEffect, TransposedStep
        n = self.ndim
        return RFEffect({i - n: TransposedStep(self.kernel_size[i], self.stride[i], self.dilation[i],
                                               self.padding[i]) for i in range(n)})

    def notes(self, inputs, output) -> list[str]:
        notes = []
        n = self.ndim
        for i in range(n):
            k, s, d = self.kernel_size[i], self.stride[i], self.dilation[i]
            if s > 1 and k % s != 0:
                notes.append(f"{self.name}: kernel {k} is not a multiple of stride {s} along "
                             f"{axis_name(i, n)}: outputs get uneven overlap (checkerboard artefacts)")
            reached = {(j * d) % s for j in range(k)}
            if len(reached) < s:
                notes.append(f"{self.name}: {s - len(reached)} of every {s} outputs along "
                             f"{axis_name(i, n)} receive no input, only the bias")
        return notes


@record
class LazyConv(Layer):
    """LazyConvNd / LazyConvTransposeNd: in_channels comes from the first input."""

    template: ConvNd | ConvTransposeNd = field(default=None)  # type: ignore[assignment]

    @property
    def name(self) -> str:
        return "Lazy" + self.template.name

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
        return replace(self.template, in_channels=channels)

    def spec(self) -> str:
        # PyTorch prints a lazy convolution with in_channels=0 in front
        return "Lazy" + self.template.spec().replace(f"({self.template.in_channels}, ", "(0, ", 1)


@record
class SeparableConv(Layer):
    """Depthwise ConvNd (groups=in, no bias) then pointwise 1x1 ConvNd (with the bias), as Keras counts it."""

    in_channels: int = positional()
    out_channels: int = positional()
    kernel_size: tuple[int, ...] = tuple_arg(None, always=True)
    stride: tuple[int, ...] = tuple_arg(1)
    padding: tuple[int, ...] | str = tuple_arg(0)
    dilation: tuple[int, ...] = tuple_arg(1)
    bias: bool = True
    padding_mode: str = "zeros"
    depth_multiplier: int = 1
    ndim: int = field(default=2, repr=False)

    @property
    def name(self) -> str:
        return f"SeparableConv{self.ndim}d"

    def spatial_ndim(self, shape: Shape) -> int:
        return self.ndim

    def expand(self) -> list[tuple[str, Layer]]:
        n = self.ndim
        mid = self.in_channels * self.depth_multiplier
        depthwise = ConvNd(self.in_channels, mid, self.kernel_size, self.stride, self.padding,
                           self.dilation, self.in_channels, False, self.padding_mode, n)
        pointwise = ConvNd(mid, self.out_channels, (1,) * n, (1,) * n, (0,) * n, (1,) * n, 1,
                           self.bias, "zeros", n)
        return [("depthwise", depthwise), ("pointwise", pointwise)]
