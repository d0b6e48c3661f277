"""Layers that change resolution without weights: Upsample, PixelShuffle/Unshuffle, ChannelShuffle."""

from __future__ import annotations

import math
from ..record import record
from typing import Sequence

from .base import Layer, Shape, check_rank, fmt_shape

#: how many spatial dims each interpolation mode works on (None: any of 1-3)
MODE_DIMS = {"nearest": None, "nearest-exact": None, "area": None, "linear": 1,
             "bilinear": 2, "bicubic": 2, "trilinear": 3}
INTERPOLATING = ("linear", "bilinear", "bicubic", "trilinear")

#: ratios with larger denominators are rounded for receptive fields only
_MAX_PERIOD = 1000


@record
class Upsample(Layer):
    size: int | tuple[int, ...] | None = None
    scale_factor: float | tuple[float, ...] | None = None
    mode: str = "nearest"
    align_corners: bool | None = None
    recompute_scale_factor: bool | None = None

    type_name = "Upsample"

    def spatial_ndim(self, shape: Shape) -> int:
        return len(shape) - 2

    def _factors(self, n: int, x: Shape) -> tuple[float, ...] | None:
        if self.scale_factor is None:
            return None
        if isinstance(self.scale_factor, tuple):
            if len(self.scale_factor) != n:
                raise self.fail(f"scale_factor {self.scale_factor} has {len(self.scale_factor)} "
                                f"entries but the input {fmt_shape(x)} has {n} spatial dims")
            return self.scale_factor
        return (self.scale_factor,) * n

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        (x,) = inputs
        check_rank(self, x, (3, 4, 5))
        n = len(x) - 2
        want = MODE_DIMS[self.mode]
        if want is not None and want != n:
            raise self.fail(f"mode={self.mode!r} needs a {want + 2}-D input; got shape {fmt_shape(x)}")
        sizes = x[2:]
        if self.size is not None:
            if isinstance(self.size, tuple):
                if len(self.size) != n:
                    raise self.fail(f"size {self.size} has {len(self.size)} entries but the input "
                                    f"{fmt_shape(x)} has {n} spatial dims")
                outs = self.size
            else:
                outs = (self.size,) * n
        else:
            factors = self._factors(n, x)
            # PyTorch multiplies in double precision and floors.
            outs = tuple(math.floor(s * float(f)) for s, f in zip(sizes, factors))  # type: ignore[arg-type]
        smallest = 0 if self.mode == "area" else 1  # area is adaptive pooling, which allows 0
        for i, out in enumerate(outs):
            if out < smallest:
                raise self.fail(f"output size {out} for input size {sizes[i]}: sizes must be "
                                "greater than 0")
        return x[:2] + tuple(outs)

    def ratios(self, x: Shape, output: Shape) -> list:
        """Input units per output unit along each axis, as PyTorch's kernels index them."""
        from fractions import Fraction

        n = len(x) - 2
        factors = self._factors(n, x)
        out = []
        for i in range(n):
            size, o = x[2 + i], output[2 + i]
            if o == 0:
                r = Fraction(0)  # an empty axis: no unit to trace
            elif self.align_corners and self.mode in INTERPOLATING:
                r = Fraction(size - 1, o - 1) if o > 1 else Fraction(0)
            elif factors is not None and not self.recompute_scale_factor and self.mode != "area":
                r = 1 / Fraction(float(factors[i]))
            else:
                r = Fraction(size, o)
            out.append(r.limit_denominator(_MAX_PERIOD))
        return out

    def rf_effect(self, inputs, output):
        from .rf import RatioStep, RFEffect, WindowStep
        x = inputs[0]
        n = len(x) - 2
        kind = {"nearest": "nearest", "nearest-exact": "nearest-exact", "area": "adaptive",
                "bicubic": "cubic"}.get(self.mode, "linear")
        if self.align_corners and self.mode in INTERPOLATING:
            kind += "-aligned"
        steps = {}
        for i, r in enumerate(self.ratios(x, output)):
            if r == 0:
                steps[i - n] = WindowStep(1, 1, 1, 0)
            elif not (r == 1 and kind in ("nearest", "adaptive")):
                steps[i - n] = RatioStep(r, kind)
        return RFEffect(steps)

    def spec(self) -> str:
        parts = [f"size={self.size!r}"] if self.size is not None else [f"scale_factor={self.scale_factor!r}"]
        parts.append(f"mode={self.mode!r}")
        if self.align_corners is not None:
            parts.append(f"align_corners={self.align_corners!r}")
        return f"Upsample({', '.join(parts)})"


@record
class PixelShuffle(Layer):
    upscale_factor: int = 2

    type_name = "PixelShuffle"

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        (x,) = inputs
        r = self.upscale_factor
        if len(x) < 3:
            raise self.fail(f"expected an input with at least 3 dims (C, H, W); got shape {fmt_shape(x)}")
        c, h, w = x[-3:]
        if c % (r * r):
            raise self.fail(f"channels {c} must be divisible by upscale_factor**2 = {r * r}")
        return x[:-3] + (c // (r * r), h * r, w * r)

    def spatial_ndim(self, shape: Shape) -> int:
        return 2

    def rf_effect(self, inputs, output):
        from fractions import Fraction

        from .rf import RatioStep, RFEffect
        step = RatioStep(Fraction(1, self.upscale_factor), "nearest")
        return RFEffect({-2: step, -1: step})


@record
class PixelUnshuffle(Layer):
    downscale_factor: int = 2

    type_name = "PixelUnshuffle"

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        (x,) = inputs
        r = self.downscale_factor
        if len(x) < 3:
            raise self.fail(f"expected an input with at least 3 dims (C, H, W); got shape {fmt_shape(x)}")
        c, h, w = x[-3:]
        for axis, size in (("height", h), ("width", w)):
            if size % r:
                raise self.fail(f"{axis} {size} must be divisible by downscale_factor {r}")
        return x[:-3] + (c * r * r, h // r, w // r)

    def spatial_ndim(self, shape: Shape) -> int:
        return 2

    def rf_effect(self, inputs, output):
        from .rf import RFEffect, WindowStep
        r = self.downscale_factor
        step = WindowStep(r, r, 1, 0)
        return RFEffect({-2: step, -1: step})


@record
class ChannelShuffle(Layer):
    groups: int = 1

    type_name = "ChannelShuffle"

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        (x,) = inputs
        if len(x) <= 2:
            raise self.fail(f"expected an input with more than 2 dims; got shape {fmt_shape(x)}")
        # PyTorch always reads channels from dim 1, even for an unbatched input.
        if x[1] % self.groups:
            raise self.fail(f"channels {x[1]} (dim 1) must be divisible by groups={self.groups}")
        return x
