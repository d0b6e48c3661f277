"""Receptive-field steps: how one layer maps an output index to input indices.

Along each spatial axis a step is exact and periodic: `taps(o)` lists the input units
that output unit `o` reads, and moving `period_out` output units moves those taps by
`period_in` input units.  `analysis.receptive` composes steps along the graph;
fractional strides (up-sampling) are just `period_out > period_in`.

A layer may also say how its output channels read its input channels (`RFEffect.channels`):
PixelUnshuffle stores sub-positions in channels and PixelShuffle takes them back, so a
depthwise layer between them acts on the full-resolution grid; grouped convolutions keep
their groups apart.  Layers that say nothing read channel c of their input for channel c
of their output.
"""

from __future__ import annotations

import math
from fractions import Fraction

from ..record import record


class AxisStep:
    """One layer's index map along one spatial axis."""

    period_out: int = 1
    period_in: int = 1
    #: every output unit reads the whole input axis (Linear, Flatten, pooling to size 1)
    whole: bool = False

    def taps(self, o: int) -> list[int]:  # pragma: no cover - interface
        raise NotImplementedError

    def bounds(self, o: int) -> tuple[int, int] | None:
        """First and last input unit output unit `o` reads (None: it reads none)."""
        found = self.taps(o)
        return (found[0], found[-1]) if found else None


@record
class WindowStep(AxisStep):
    """Sliding window (convolution, pooling, padding shift): o*s - p + j*d, j < k."""

    kernel: int
    stride: int = 1
    dilation: int = 1
    padding: int = 0

    @property
    def period_in(self) -> int:  # type: ignore[override]
        return self.stride

    def taps(self, o: int) -> list[int]:
        base = o * self.stride - self.padding
        return [base + j * self.dilation for j in range(self.kernel)]

    def bounds(self, o: int) -> tuple[int, int]:
        base = o * self.stride - self.padding
        return base, base + (self.kernel - 1) * self.dilation


@record
class TransposedStep(AxisStep):
    """Transposed convolution: output o receives input i when o = i*s - p + j*d."""

    kernel: int
    stride: int = 1
    dilation: int = 1
    padding: int = 0

    @property
    def period_out(self) -> int:  # type: ignore[override]
        return self.stride

    def taps(self, o: int) -> list[int]:
        """The inputs i with o + p - j*d = i*s for a tap j: j*d ≡ o + p (mod s) holds on an
        arithmetic progression of j, solved in closed form, not by trying every tap."""
        s, d, rest = self.stride, self.dilation, o + self.padding
        g = math.gcd(d, s)
        if rest % g:
            return []
        period = s // g
        first = (rest // g) * pow(d // g, -1, period) % period if period > 1 else 0
        return sorted((rest - j * d) // s for j in range(first, self.kernel, period))


@record
class RatioStep(AxisStep):
    """Resampling by a rational ratio in/out (interpolation, adaptive pooling, pixel shuffle).

    `kind` selects the index rule PyTorch uses:
    nearest `floor(o*r)`, nearest-exact `floor((o+1/2)*r)`, linear and cubic around
    `(o+1/2)*r - 1/2` (or `o*r` with align_corners), adaptive `[floor(o*r), ceil((o+1)*r))`.
    """

    ratio: Fraction  # input units per output unit
    kind: str = "nearest"

    @property
    def period_out(self) -> int:  # type: ignore[override]
        return self.ratio.denominator

    @property
    def period_in(self) -> int:  # type: ignore[override]
        return self.ratio.numerator

    def bounds(self, o: int) -> tuple[int, int]:
        if self.kind == "adaptive":
            r = self.ratio
            return math.floor(o * r), math.ceil((o + 1) * r) - 1
        found = self.taps(o)
        return found[0], found[-1]

    def taps(self, o: int) -> list[int]:
        r = self.ratio
        if self.kind == "nearest":
            return [math.floor(o * r)]
        if self.kind == "nearest-exact":
            return [math.floor((o + Fraction(1, 2)) * r)]
        if self.kind == "adaptive":
            lo, hi = self.bounds(o)
            return list(range(lo, hi + 1))
        if self.kind in ("linear", "cubic"):
            src = (o + Fraction(1, 2)) * r - Fraction(1, 2)
        else:  # "linear-aligned", "cubic-aligned": align_corners=True
            src = o * r
        i0 = math.floor(src)
        if src == i0:  # the neighbours' weights are exactly zero
            return [i0]
        if self.kind.startswith("linear"):
            return [i0, i0 + 1]
        return [i0 - 1, i0, i0 + 1, i0 + 2]


@record
class GlobalStep(AxisStep):
    """A layer that mixes a whole axis of `size` units (Flatten, Linear on that axis, pooling
    to size 1): every output unit reads all of them, and so do positions a later layer
    reads from its padding (CONTRACT section 4: nothing widens a region beyond the whole)."""

    size: int

    whole = True

    @property
    def period_in(self) -> int:  # type: ignore[override]
        return self.size

    def taps(self, o: int) -> list[int]:
        return list(range(self.size))

    def bounds(self, o: int) -> tuple[int, int]:
        return 0, self.size - 1


# ------------------------------------------------------------------ channel maps

@record
class Groups:
    """Output channel c reads every input channel of its group (a convolution with
    `groups`): groups=1 mixes all channels, groups=in_channels is depthwise."""

    groups: int


@record
class ChannelPermutation:
    """ChannelShuffle(groups): output channel a*groups + b reads input channel b*(C/groups) + a."""

    groups: int


@record
class PixelShuffleMap:
    """PixelShuffle(r) (`unshuffle` False): output (c, y, x) reads input channel
    c*r*r + (y mod r)*r + (x mod r) at (y // r, x // r); PixelUnshuffle(r) the reverse.
    The last three axes are channels, H, W."""

    factor: int
    unshuffle: bool = False


@record
class RFEffect:
    """What a layer does to receptive fields.

    `steps` maps a negative axis of the layer's (first) input to its step; axes not
    named pass through unchanged.  `remap`, when given, maps each negative axis of the
    output to the input axis it continues (axes that vanish, e.g. folded by Flatten,
    keep their last receptive field but no longer follow later layers).  `channels`
    (a channel map above) says how output channels read the input channels along
    `channel_axis` (negative); None: channel c reads channel c.  A merge names its kind:
    "concat" along `merge_axis`, or "broadcast" (Add, Mul).  A layer of several inputs
    that are not merged alike (DeformConv2d: a window on its input, its offset and mask
    read at the unit's own position) gives one effect per input in `per_input`; a unit
    then sees the union of what it reads of each.
    """

    steps: dict[int, AxisStep]
    remap: dict[int, int] | None = None
    channels: object = None
    channel_axis: int | None = None
    merge: str | None = None
    merge_axis: int | None = None
    per_input: tuple["RFEffect", ...] | None = None


IDENTITY = RFEffect({})
