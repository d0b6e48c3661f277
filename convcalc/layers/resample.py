"""Layers that change resolution without weights: Upsample, PixelShuffle/Unshuffle, ChannelShuffle."""

from __future__ import annotations

import math

from ..record import record, set_field
from .windows import axis_name
from ..errors import quote
from .base import (ArgumentError, Layer, Parameterless, Shape, _fmt, as_bool, as_choice, as_flag, as_int,
                   check_non_empty, check_rank, fmt_shape, is_int, is_int_list, positional)
from .formula import Sym, floor, term

_IN = Sym("in", "{a}_in")
SCALED = floor(_IN * Sym("scale_factor"))
SIZED = Sym("size")

#: how many spatial dims each interpolation mode works on (None: any of 1-3)
MODE_DIMS = {"nearest": None, "nearest-exact": None, "area": None, "linear": 1,
             "bilinear": 2, "bicubic": 2, "trilinear": 3}
INTERPOLATING = ("linear", "bilinear", "bicubic", "trilinear")

#: ratios with larger denominators are rounded for receptive fields only
_MAX_PERIOD = 1000


@record
class Upsample(Parameterless, Layer):
    size: int | tuple[int, ...] | None = None
    scale_factor: float | tuple[float, ...] | None = None
    mode: str = "nearest"
    align_corners: bool | None = None
    recompute_scale_factor: bool | None = None

    type_name = "Upsample"

    @classmethod
    def fixed(cls, fixed_mode: str, fixed_align: bool | None, **arguments) -> "Upsample":
        """UpsamplingNearest2d / UpsamplingBilinear2d: Upsample with a fixed mode."""
        if arguments.pop("mode", fixed_mode) != fixed_mode:
            raise ArgumentError("mode", f"this layer always uses mode={fixed_mode!r}")
        if fixed_align is not None and arguments.pop("align_corners", True) is not True:
            raise ArgumentError("align_corners", "UpsamplingBilinear2d always uses align_corners=True")
        arguments.pop("align_corners", None)
        return cls(mode=fixed_mode, align_corners=fixed_align, **arguments)

    def check(self) -> None:
        size, sf = self.size, self.scale_factor
        # The module keeps float() of each entry of a tuple scale_factor, float() of any
        # other true value, and None for a false one (0, '', False); F.interpolate then
        # wants exactly one of size and scale_factor.
        if sf is not None:
            items = sf if isinstance(sf, tuple) else (sf,) if sf else ()
            floats = tuple(_to_float(v, sf) for v in items)
            sf = floats if isinstance(sf, tuple) else floats[0] if floats else None
            if sf is not None and not all(math.isfinite(v) for v in floats):
                raise ArgumentError("scale_factor", f"scale_factor must be finite; got {_fmt(sf)}")
            set_field(self, "scale_factor", sf)
        if size is not None and sf is not None:
            raise ArgumentError("size", "give only one of size or scale_factor")
        if size is None and sf is None:
            raise ArgumentError("size", "give either size or scale_factor")
        recompute = as_flag("recompute_scale_factor", self.recompute_scale_factor)  # tested with `if`
        if size is not None and recompute:
            raise ArgumentError("recompute_scale_factor", "recompute_scale_factor is not meaningful with an "
                                                          "explicit size")
        if self.recompute_scale_factor is not None:
            set_field(self, "recompute_scale_factor", recompute)
        if size is not None:
            # a list of ints for the operator (an int is repeated, a bool refused)
            if not (is_int_list(size) if isinstance(size, tuple) else is_int(size)):
                raise ArgumentError("size", f"size must be an integer or a tuple of integers; got {quote(size)}")
            for v in size if isinstance(size, tuple) else (size,):
                as_int("size", int(v))
        mode = as_choice("mode", self.mode, tuple(MODE_DIMS))
        if self.align_corners is not None:
            if mode not in INTERPOLATING:
                raise ArgumentError("align_corners", "align_corners can only be set with the interpolating "
                                                     "modes linear, bilinear, bicubic, trilinear")
            set_field(self, "align_corners", as_bool("align_corners", self.align_corners))

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

    def derive(self, inputs, terms) -> Shape:
        (x,) = inputs
        check_rank(self, x, (3, 4, 5))
        n = len(x) - 2
        want = MODE_DIMS[self.mode]
        if want is not None and want != n:
            raise self.fail(f"mode={self.mode!r} needs a {want + 2}-D input; got shape {fmt_shape(x)}")
        sizes = x[2:]
        outs = []
        if self.size is not None:
            if isinstance(self.size, tuple) and len(self.size) != n:
                raise self.fail(f"size {self.size} has {len(self.size)} entries but the input "
                                f"{fmt_shape(x)} has {n} spatial dims")
            given = self.size if isinstance(self.size, tuple) else (self.size,) * n
            for i, o in enumerate(given):
                outs.append(term(terms, "{a}_out", SIZED, {"size": o}, axis_name(i, n)))
        else:
            factors = self._factors(n, x)
            # PyTorch multiplies in double precision and floors.
            for i, (s, f) in enumerate(zip(sizes, factors)):  # type: ignore[arg-type]
                scaled = s * float(f)
                if not scaled < 2.0 ** 63:  # PyTorch: cannot be converted to int64_t
                    shown = f"{scaled:g}" if math.isfinite(scaled) else "beyond a double's range"
                    raise self.fail(f"output size along {axis_name(i, n)} would be {s} × {float(f):g} = "
                                    f"{shown}, more than a 64-bit size holds")
                outs.append(term(terms, "{a}_out", SCALED, {"in": s, "scale_factor": float(f)},
                                 axis_name(i, n)))
        if self.mode == "area":  # adaptive average pooling, with its zero-size checks
            from .pool import AdaptivePoolNd
            AdaptivePoolNd(tuple(outs), ndim=n, kind="Avg").check_non_empty(x)
        else:  # the interpolation kernels want data in every dimension but the batch
            check_non_empty(self, x, True)
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

    def copies(self, size: int, out: int, ndim: int) -> bool:
        """PyTorch's kernels copy the input along an axis whose output size equals its input
        size, whatever the scale factor says: the linear modes (linear, bilinear, trilinear,
        either align_corners), and nearest on 2-D inputs only (torch 2.13, CPU, forward pass,
        recorded by tests/fixtures/record_upsample_maps.py); bicubic, nearest-exact and
        nearest on 1-D and 3-D inputs compute their source indices as for any other size."""
        return out == size and (self.mode in ("linear", "bilinear", "trilinear")
                                or (self.mode == "nearest" and ndim == 2))

    def rf_effect(self, inputs, output):
        from fractions import Fraction

        from .rf import GlobalStep, RatioStep, RFEffect, WindowStep
        x = inputs[0]
        n = len(x) - 2
        kind = {"nearest": "nearest", "nearest-exact": "nearest-exact", "area": "adaptive",
                "bicubic": "cubic"}.get(self.mode, "linear")
        if self.align_corners and self.mode in INTERPOLATING:
            kind += "-aligned"
        steps = {}
        for i, r in enumerate(self.ratios(x, output)):
            size, out = x[2 + i], output[2 + i]
            if out == 0:
                steps[i - n] = WindowStep(1, 1, 1, 0)  # an empty axis: no unit to trace
            elif self.copies(size, out, n):
                continue
            elif self.mode == "nearest" and n == 2 and out == 2 * size:
                steps[i - n] = RatioStep(Fraction(1, 2), kind)  # the 2-D kernel's o >> 1 shortcut
            elif kind == "adaptive" and out == 1:
                steps[i - n] = GlobalStep(size)  # area to size 1 averages the whole axis
            elif not (r == 1 and kind in ("nearest", "adaptive")):
                steps[i - n] = RatioStep(r, kind)
        return RFEffect(steps)

    def spec(self) -> str:
        parts = [f"size={self.size!r}"] if self.size is not None else [f"scale_factor={self.scale_factor!r}"]
        parts.append(f"mode={self.mode!r}")
        if self.align_corners is not None:
            parts.append(f"align_corners={self.align_corners!r}")
        return f"Upsample({', '.join(parts)})"


def _to_float(value: object, given: object) -> float:
    """float(value) as the module takes it: numbers, bools and numeric strings."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise ArgumentError("scale_factor", f"scale_factor must be a number or a tuple of numbers; "
                                            f"got {quote(given)}") from None


_R = Sym("r")
SHUFFLED_C, UNSHUFFLED_C = Sym("C_in") / (_R * _R), Sym("C_in") * _R * _R
SHUFFLED, UNSHUFFLED = _IN * _R, _IN / _R


def _factor(layer: Layer, param: str) -> None:
    set_field(layer, param, as_int(param, getattr(layer, param), minimum=1))


@record
class PixelShuffle(Parameterless, Layer):
    upscale_factor: int = positional()

    type_name = "PixelShuffle"

    def check(self) -> None:
        _factor(self, "upscale_factor")

    def derive(self, inputs, terms) -> Shape:
        (x,) = inputs
        r = self.upscale_factor
        if len(x) < 3:
            raise self.fail(f"expected an input with at least 3 dims (C, H, W); got shape {fmt_shape(x)}")
        c, h, w = x[-3:]
        if c % (r * r):
            raise self.fail(f"channels {c} must be divisible by upscale_factor**2 = {r * r}")
        return x[:-3] + (term(terms, "C_out", SHUFFLED_C, {"C_in": c, "r": r}),
                         term(terms, "{a}_out", SHUFFLED, {"in": h, "r": r}, "H"),
                         term(terms, "{a}_out", SHUFFLED, {"in": w, "r": r}, "W"))

    def spatial_ndim(self, shape: Shape) -> int:
        return 2

    def rf_effect(self, inputs, output):
        from fractions import Fraction

        from .rf import PixelShuffleMap, RatioStep, RFEffect, WindowStep
        r = self.upscale_factor
        step = RatioStep(Fraction(1, r), "nearest")
        # -3 are channels; the steps along it hold only when it is a spatial axis of the
        # network (a 5-D input), where output index c reads c*r*r .. c*r*r + r*r-1
        return RFEffect({-3: WindowStep(r * r, r * r), -2: step, -1: step},
                        channels=PixelShuffleMap(r), channel_axis=-3)


@record
class PixelUnshuffle(Parameterless, Layer):
    downscale_factor: int = positional()

    type_name = "PixelUnshuffle"

    def check(self) -> None:
        _factor(self, "downscale_factor")

    def derive(self, inputs, terms) -> Shape:
        (x,) = inputs
        r = self.downscale_factor
        if len(x) < 3:
            raise self.fail(f"expected an input with at least 3 dims (C, H, W); got shape {fmt_shape(x)}")
        c, h, w = x[-3:]
        for axis, size in (("height", h), ("width", w)):
            if size % r:
                raise self.fail(f"{axis} {size} must be divisible by downscale_factor {r}")
        return x[:-3] + (term(terms, "C_out", UNSHUFFLED_C, {"C_in": c, "r": r}),
                         term(terms, "{a}_out", UNSHUFFLED, {"in": h, "r": r}, "H"),
                         term(terms, "{a}_out", UNSHUFFLED, {"in": w, "r": r}, "W"))

    def spatial_ndim(self, shape: Shape) -> int:
        return 2

    def rf_effect(self, inputs, output):
        from fractions import Fraction

        from .rf import PixelShuffleMap, RatioStep, RFEffect, WindowStep
        r = self.downscale_factor
        step = WindowStep(r, r, 1, 0)  # all channels of a unit: its r x r block
        return RFEffect({-3: RatioStep(Fraction(1, r * r), "nearest"), -2: step, -1: step},
                        channels=PixelShuffleMap(r, unshuffle=True), channel_axis=-3)


@record
class ChannelShuffle(Parameterless, Layer):
    groups: int = positional()

    type_name = "ChannelShuffle"

    def check(self) -> None:
        _factor(self, "groups")

    def derive(self, inputs, terms) -> Shape:
        (x,) = inputs
        if len(x) <= 2:
            raise self.fail(f"expected an input with more than 2 dims; got shape {fmt_shape(x)}")
        # PyTorch always reads channels from dim 1, even for an unbatched input.
        if x[1] % self.groups:
            raise self.fail(f"channels {x[1]} (dim 1) must be divisible by groups={self.groups}")
        return x

    def rf_effect(self, inputs, output):
        from .rf import ChannelPermutation, RFEffect
        return RFEffect({}, channels=ChannelPermutation(self.groups), channel_axis=1 - len(inputs[0]))
