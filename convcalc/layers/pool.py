"""Pooling: MaxPoolNd, AvgPoolNd and the adaptive pools."""

from __future__ import annotations

from ..record import field, record
from typing import Sequence

from .base import Layer, Shape, check_rank, tuple_arg
from .windows import axis_name, window_notes


def pooled_size(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooling_output_shape: floor or ceil, and with ceil the last window must
    start inside the input or the left padding."""
    out = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


@record
class _WindowPool(Layer):
    kernel_size: tuple[int, ...] = tuple_arg(always=True)
    stride: tuple[int, ...] = tuple_arg(always=True)
    padding: tuple[int, ...] = tuple_arg(0)
    ndim: int = field(default=2, repr=False)

    family = "Pool"

    @property
    def name(self) -> str:
        return f"{self.family}{self.ndim}d"

    @property
    def dilations(self) -> tuple[int, ...]:
        return (1,) * self.ndim

    @property
    def ceil(self) -> bool:
        return False

    def spatial_ndim(self, shape: Shape) -> int:
        return self.ndim

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        (x,) = inputs
        n = self.ndim
        check_rank(self, x, (n + 1, n + 2), unbatched=n + 1)
        outs = []
        for i, size in enumerate(x[-n:]):
            k, s, p, d = self.kernel_size[i], self.stride[i], self.padding[i], self.dilations[i]
            if 2 * p > k:
                raise self.fail(f"padding {p} along {axis_name(i, n)} must be at most half of the "
                                f"kernel size {k}")
            if 2 * p > d * (k - 1) + 1:
                raise self.fail(f"padding {p} along {axis_name(i, n)} must be at most half of the "
                                f"effective kernel size {d * (k - 1) + 1}")
            if self.family == "AvgPool" and n == 3 and size < k:
                # avg_pool3d alone checks the unpadded input against the kernel
                raise self.fail(f"input size {size} along {axis_name(i, n)} is smaller than the kernel "
                                f"size {k} (AvgPool3d does not count padding here)")
            out = pooled_size(size, k, s, p, d, self.ceil)
            if out < 1:
                raise self.fail(f"output size along {axis_name(i, n)} would be {out} for input size "
                                f"{size} (kernel {k}, stride {s}, padding {p}"
                                + (f", dilation {d}" if d != 1 else "") + "): output size is too small")
            outs.append(out)
        return x[:-n] + tuple(outs)

    def rf_effect(self, inputs, output):
        from .rf import RFEffect, WindowStep
        n = self.ndim
        return RFEffect({i - n: WindowStep(self.kernel_size[i], self.stride[i], self.dilations[i],
                                           self.padding[i]) for i in range(n)})

    def notes(self, inputs, output) -> list[str]:
        n = self.ndim
        pads = [(p, p) for p in self.padding]
        return window_notes(self, inputs[0][-n:], output[-n:], self.kernel_size, self.stride,
                            self.dilations, pads)


@record
class MaxPoolNd(_WindowPool):
    dilation: tuple[int, ...] = tuple_arg(1, always=True)
    return_indices: bool = False
    ceil_mode: bool = field(default=False, metadata={"always": True})

    family = "MaxPool"

    @property
    def dilations(self) -> tuple[int, ...]:
        return self.dilation

    @property
    def ceil(self) -> bool:
        return self.ceil_mode


@record
class AvgPoolNd(_WindowPool):
    ceil_mode: bool = False
    count_include_pad: bool = True
    divisor_override: int | None = None

    family = "AvgPool"

    @property
    def ceil(self) -> bool:
        return self.ceil_mode


@record
class AdaptivePoolNd(Layer):
    output_size: tuple[int | None, ...] = tuple_arg(always=True)
    return_indices: bool = False
    ndim: int = field(default=2, repr=False)
    kind: str = field(default="Avg", repr=False)
    given_as_tuple: bool = field(default=False, repr=False)

    @property
    def name(self) -> str:
        return f"Adaptive{self.kind}Pool{self.ndim}d"

    def spatial_ndim(self, shape: Shape) -> int:
        return self.ndim

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        (x,) = inputs
        n = self.ndim
        # PyTorch's shortcut: a mean over the last axes, for any rank that has them (a
        # tuple output_size is first checked against the rank, an int is not)
        if self.kind == "Avg" and n > 1 and len(x) >= n + (1 if self.given_as_tuple else 0):
            resolved = [size if o is None else o for o, size in zip(self.output_size, x[-n:])]
            if all(o == 1 for o in resolved):
                return x[:-n] + (1,) * n
        check_rank(self, x, (n + 1, n + 2), unbatched=n + 1)
        sizes = x[-n:]
        outs = tuple(size if o is None else o for o, size in zip(self.output_size, sizes))
        return x[:-n] + outs

    def rf_effect(self, inputs, output):
        from fractions import Fraction

        from .rf import RatioStep, RFEffect
        n = self.ndim
        steps = {}
        for i, (size, out) in enumerate(zip(inputs[0][-n:], output[-n:])):
            if out > 0 and size != out:
                steps[i - n] = RatioStep(Fraction(size, out), "adaptive")
        return RFEffect(steps)

    def windows(self, size: int, out: int) -> list[tuple[int, int]]:
        """PyTorch's adaptive windows: [floor(o*in/out), ceil((o+1)*in/out))."""
        return [((o * size) // out, -((-(o + 1) * size) // out)) for o in range(out)]
