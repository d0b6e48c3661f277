"""Padding layers: ZeroPad, ConstantPad, ReflectionPad, ReplicationPad, CircularPad (1d/2d/3d)."""

from __future__ import annotations

from ..record import field, record, set_field
from ..errors import quote
from .base import (ArgumentError, Layer, Parameterless, Shape, as_choice, as_float, as_int, as_scalar, check_non_empty, check_rank,
                   fmt_shape, is_int_list, module_tuple)
from .formula import Sym, term
from .windows import IN, axis_name, check_padding_fits

MODES = ("Zero", "Constant", "Reflection", "Replication", "Circular")
PADDED = IN + Sym("before") + Sym("after")


@record
class PadNd(Parameterless, Layer):
    #: (left, right) of the last axis first, then the one before it: F.pad's order
    padding: tuple[int, ...] = ()
    value: float = 0.0
    mode: str = field(default="Zero", repr=False)
    ndim: int = field(default=2, repr=False)

    @property
    def name(self) -> str:
        return f"{self.mode}Pad{self.ndim}d"

    def check(self) -> None:
        as_choice("mode", self.mode, MODES)
        pad, n = self.padding, self.ndim
        # The module keeps tuple(padding) of an iterable (a string gives its characters)
        # and repeats an int 2n times; F.pad takes any even number of ints, the constant
        # modes even none.
        shown = pad if isinstance(pad, tuple) else quote(pad)
        pad = module_tuple(pad)
        if isinstance(pad, tuple):
            if len(pad) % 2 or not is_int_list(pad) or not pad and self.mode not in ("Zero", "Constant"):
                raise ArgumentError("padding", f"padding must be an integer or a tuple of an even number "
                                               f"of integers (e.g. {2 * n}); got {shown}")
            pad = tuple(as_int("padding", int(v)) for v in pad)
        else:
            pad = (as_int("padding", pad),) * (2 * n)
        set_field(self, "padding", pad)
        # F.pad's value is a double (None: 0), with which a float32 tensor is filled
        set_field(self, "value", 0.0 if self.value is None else as_scalar("value", as_float("value", self.value)))

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

    def derive(self, inputs, terms) -> Shape:
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
        if self.mode in ("Reflection", "Replication"):  # their kernels read every dim but the batch
            check_non_empty(self, x, len(x) == n + 2)
        outs = []
        for i, (size, (before, after)) in enumerate(zip(x[-n:], self.pairs())):
            a = axis_name(i, n)
            mode = {"Reflection": "reflect", "Circular": "circular"}.get(self.mode, "")
            check_padding_fits(self, mode, before, after, size, a)
            constant = self.mode in ("Zero", "Constant")
            if constant and size + min(before, 0) + min(after, 0) < 0:  # crops first, then pads
                raise self.fail(f"cropping {-min(before, 0)}+{-min(after, 0)} positions from input size "
                                f"{size} along {a} leaves nothing to pad")
            out = term(terms, "{a}_out", PADDED, {"in": size, "before": before, "after": after}, a)
            if out < 0:
                raise self.fail(f"output size along {a} would be {out} ({size} {before:+d} {after:+d})")
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
