"""Padding layers: ZeroPad, ConstantPad, ReflectionPad, ReplicationPad, CircularPad (1d/2d/3d)."""

from __future__ import annotations

from ..record import field, record
from typing import Sequence

from .base import Layer, Shape, check_rank, fmt_shape
from .windows import axis_name, check_padding_fits


@record
class PadNd(Layer):
    #: (left, right) of the last axis first, then the one before it: F.pad's order
    padding: tuple[int, ...] = ()
    value: float = 0.0
    mode: str = field(default="Zero", repr=False)
    ndim: int = field(default=2, repr=False)

    @property
    def name(self) -> str:
        return f"{self.mode}Pad{self.ndim}d"

    @property
    def padded_dims(self) -> int:
        """How many trailing axes the padding tuple covers (PyTorch does not tie it to ndim)."""
        return len(self.padding) // 2

    def pairs(self) -> list[tuple[int, int]]:
        """(before, after) per padded axis, in axis order (first padded axis first)."""
        p = self.padding
        pairs = [(p[2 * i], p[2 * i + 1]) for i in range(self.padded_dims)]
        return list(reversed(pairs))

    def spatial_ndim(self, shape: Shape) -> int:
        return self.padded_dims

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        (x,) = inputs
        n = self.padded_dims
        if self.mode in ("Zero", "Constant"):
            if len(x) < n:
                raise self.fail(f"padding {n} dims needs an input with at least {n} dims; "
                                f"got shape {fmt_shape(x)}")
        else:
            if self.mode == "Circular":
                check_rank(self, x, (self.ndim + 1, self.ndim + 2), unbatched=self.ndim + 1)
            check_rank(self, x, (n + 1, n + 2), unbatched=n + 1)
        outs = []
        sizes = x[-n:]
        for i, (size, (before, after)) in enumerate(zip(sizes, self.pairs())):
            mode = {"Reflection": "reflect", "Circular": "circular"}.get(self.mode, "")
            check_padding_fits(self, mode, before, after, size, axis_name(i, n))
            out = size + before + after
            constant = self.mode in ("Zero", "Constant")
            if constant and size + min(before, 0) + min(after, 0) < 0:  # crops first, then pads
                raise self.fail(f"cropping {-min(before, 0)}+{-min(after, 0)} positions from input size "
                                f"{size} along {axis_name(i, n)} leaves nothing to pad")
            if out < 0:
                raise self.fail(f"output size along {axis_name(i, n)} would be {out} "
                                f"({size} {before:+d} {after:+d})")
            outs.append(out)
        # PyTorch's reflection/replication kernels refuse an output only when every padded
        # axis would be empty (their check is `w >= 1 || h >= 1`); circular allows it.
        if self.mode in ("Reflection", "Replication") and all(o < 1 for o in outs):
            raise self.fail(f"the input {fmt_shape(x)} is too small: the output would be empty")
        return x[:-n] + tuple(outs)

    def rf_effect(self, inputs, output):
        from .rf import RFEffect, WindowStep
        n = self.padded_dims
        return RFEffect({i - n: WindowStep(1, 1, 1, before) for i, (before, _) in enumerate(self.pairs())})

    def spec(self) -> str:
        if self.mode == "Constant":
            return f"{self.name}(padding={self.padding!r}, value={self.value!r})"
        return f"{self.name}({self.padding!r})"
