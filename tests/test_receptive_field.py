"""Receptive fields checked without convcalc's own formula.

Two independent references:

(a) A brute-force index tracer written from scratch here.  Along one axis every layer
    is a map "output index -> the input indices it reads"; composing the maps of a
    chain from the last layer back gives, for each output unit, the exact set of
    network-input positions that reach it.  The input is treated as unbounded
    (negative indices are positions inside the padding).  From those sets:
      size   = max over units of (max - min + 1)
      stride = shift of the region over one whole period of units / period length
      start  = min of unit 0's set, or None when no input position reaches unit 0
(b) PyTorch's autograd: a chain with every weight set to 1 (float64, no bias), an
    interior output unit back-propagated; the input positions with a non-zero
    gradient are exactly that unit's receptive field.  (b) also checks (a).

The tracer's index maps: sliding windows, transposed convolutions, nearest and linear
resampling by a rational ratio (with PyTorch's copy rule where an output is as large as
its input), pixel (un)shuffle's blocks, and layers that see their whole input (every unit
reads all of it, also units a later layer reads from its padding).  Channel structure is
traced element by element in test_receptive_field_channels.py.

convcalc's `receptive_field` has one entry per spatial dim of the network input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import convcalc

try:
    import torch
except ImportError:  # the tracer tests still run
    torch = None

requires_torch = pytest.mark.skipif(torch is None, reason="needs torch")

PROPERTY = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
GRADIENT = settings(PROPERTY, max_examples=100)

# ============================================================== (a) the tracer


@dataclass(frozen=True)
class Window:
    """Convolution / pooling: output o reads o*s - p + j*d for j < k."""

    k: int
    s: int = 1
    p: int = 0
    d: int = 1
    up = 1  # output units per period

    def reads(self, o: int) -> list[int]:
        return [o * self.s - self.p + j * self.d for j in range(self.k)]


@dataclass(frozen=True)
class Scatter:
    """Transposed convolution: output o receives input i when o == i*s - p + j*d."""

    k: int
    s: int = 1
    p: int = 0
    d: int = 1

    @property
    def up(self) -> int:
        return self.s

    def reads(self, o: int) -> list[int]:
        found = []
        for j in range(self.k):
            t = o + self.p - j * self.d
            if t % self.s == 0:
                found.append(t // self.s)
        return found


@dataclass(frozen=True)
class Repeat:
    """Nearest up-sampling by an integer factor, PixelShuffle: i = floor(o / f)."""

    f: int

    @property
    def up(self) -> int:
        return self.f

    def reads(self, o: int) -> list[int]:
        return [o // self.f]


@dataclass(frozen=True)
class Gather:
    """PixelUnshuffle: spatial unit o collects input positions o*r .. o*r + r-1."""

    r: int
    up = 1

    def reads(self, o: int) -> list[int]:
        return [o * self.r + t for t in range(self.r)]


@dataclass(frozen=True)
class Pointwise:
    up = 1

    def reads(self, o: int) -> list[int]:
        return [o]


@dataclass(frozen=True)
class Whole:
    """A layer that sees its whole input axis of n units (Linear on it, Flatten, pooling to
    size 1): every output unit reads units 0 .. n-1 -- also the units a later layer reads
    from its padding, since no later layer may widen a region beyond the whole extent
    (CONTRACT section 4)."""

    n: int
    up = 1

    def reads(self, o: int) -> list[int]:
        return list(range(self.n))


@dataclass(frozen=True)
class Resample:
    """Up-/down-sampling by a rational ratio r (input units per output unit), PyTorch's
    source-index rules: nearest floor(o*r); linear around (o + 1/2)*r - 1/2, both
    neighbours unless that lands exactly on a position."""

    ratio: Fraction
    kind: str = "nearest"

    @property
    def up(self) -> int:
        return self.ratio.denominator

    def reads(self, o: int) -> list[int]:
        p, q = self.ratio.numerator, self.ratio.denominator
        if self.kind == "nearest":
            return [o * p // q]
        # src = (o + 1/2) * p/q - 1/2 = ((2o + 1) * p - q) / (2q)
        num, den = (2 * o + 1) * p - q, 2 * q
        low = num // den
        return [low] if num % den == 0 else [low, low + 1]


@dataclass(frozen=True)
class WholeOfInput:
    """A placeholder for `Whole` in random chains: the axis length is known only once the
    chain's input size is chosen."""

    def resolve(self, n_in: int, n_out: int):
        return Whole(n_in)


@dataclass(frozen=True)
class ScaledUpsample:
    """A placeholder for Upsample(scale_factor=f) in random chains: PyTorch's kernels copy
    along an axis whose output size equals its input size (the linear modes, and nearest
    on 2-D inputs, which also reads o >> 1 when the output is twice the input); otherwise
    the source index follows the ratio 1/f (tests/fixtures/upsample_maps.json holds what
    torch 2.13 does)."""

    factor: float
    kind: str  # "nearest" or "linear"
    ndim: int

    def resolve(self, n_in: int, n_out: int):
        if n_out == n_in and (self.kind == "linear" or self.ndim == 2):
            return Pointwise()
        if self.kind == "nearest" and self.ndim == 2 and n_out == 2 * n_in:
            return Resample(Fraction(1, 2))
        return Resample(1 / Fraction(str(self.factor)), self.kind)


def resolve_ops(ops, sizes):
    """Placeholders replaced by the ops they stand for, given the sizes through the chain."""
    return [op.resolve(sizes[i], sizes[i + 1]) if hasattr(op, "resolve") else op for i, op in enumerate(ops)]


def trace(ops, o: int) -> frozenset[int]:
    """Network-input positions that reach output unit o of the last op."""
    region = {o}
    for op in reversed(ops):
        region = {i for x in region for i in op.reads(x)}
    return frozenset(region)


@dataclass(frozen=True)
class Traced:
    size: int
    stride: Fraction | None  # None only when no input reaches any output unit
    start: int | None


def brute_force_rf(ops) -> Traced:
    period = math.prod(op.up for op in ops)  # a shift that maps every stage onto itself
    regions = [trace(ops, o) for o in range(2 * period)]
    if not any(regions):
        # e.g. ConvTranspose1d(k=1, s=2, p=1) -> Conv1d(k=1, s=2): only the bias reaches
        # the output.  Size 0, no start; the stride has no region to measure.
        return Traced(0, None, None)
    first = next(o for o in range(period) if regions[o])
    shift = min(regions[first + period]) - min(regions[first])
    # the tracer checks itself: one period later every region moved by `shift`
    for o in range(period):
        assert regions[o + period] == frozenset(i + shift for i in regions[o]), (ops, o)
    size = max(max(r) - min(r) + 1 for r in regions[:period] if r)
    start = min(regions[0]) if regions[0] else None
    return Traced(size, Fraction(shift, period), start)


def test_tracer_textbook_values():
    """The tracer itself on numbers worked out by hand."""
    assert brute_force_rf([Window(7, 2, 3)]) == Traced(7, Fraction(2), -3)
    assert brute_force_rf([Window(3, 1, 1, 1), Window(3, 1, 2, 2),
                           Window(3, 1, 4, 4)]) == Traced(15, Fraction(1), -7)
    assert brute_force_rf([Window(7, 2, 3), Window(3, 2, 1)]) == Traced(11, Fraction(4), -5)
    assert brute_force_rf([Scatter(3, 3)]) == Traced(1, Fraction(1, 3), 0)
    assert brute_force_rf([Scatter(1, 2, 1)]) == Traced(1, Fraction(1, 2), None)
    assert brute_force_rf([Repeat(2), Window(3, 1, 1)]) == Traced(2, Fraction(1, 2), -1)
    assert brute_force_rf([Scatter(4, 2, 1)]) == Traced(2, Fraction(1, 2), -1)
    assert brute_force_rf([Scatter(1, 2, 1), Window(1, 2)]) == Traced(0, None, None)
    assert brute_force_rf([Window(3, 1, 1), Whole(8), Window(3, 1, 1)]) == Traced(10, Fraction(0), -1)
    assert brute_force_rf([Resample(Fraction(2, 3))]) == Traced(1, Fraction(2, 3), 0)
    assert brute_force_rf([Resample(Fraction(1, 2), "linear")]) == Traced(2, Fraction(1, 2), -1)


# ============================================================== convcalc access


def rf_of(exprs, shape, layer: int = -1):
    analysis = convcalc.analyze(list(exprs), input_shape=tuple(shape))
    return analysis.layers[layer].receptive_field


def axis(rf, a: int) -> Traced:
    start = rf.start[a]
    return Traced(rf.size[a], Fraction(rf.stride[a]), None if start is None else start)


def assert_matches(rf, a: int, want: Traced, context: str = "") -> None:
    assert rf is not None, f"no receptive field reported {context}"
    assert isinstance(rf.stride[a], Fraction) or float(rf.stride[a]).is_integer(), (
        f"stride should be exact (Fraction), got {rf.stride[a]!r} {context}")
    got = axis(rf, a)
    if want.stride is None:
        got = Traced(got.size, None, got.start)
    assert got == want, f"axis {a}: convcalc {got} != brute force {want} {context}"


# ============================================================== hand-written cases

HAND_CASES = [
    # (exprs, input shape, expected per axis (size, stride, start), tracer ops per axis)
    (["Conv2d(3, 64, 7, stride=2, padding=3)"], (1, 3, 32, 32),
     (7, 2, -3), [Window(7, 2, 3)]),
    (["Conv2d(3, 8, 3, padding=1)", "Conv2d(8, 8, 3, padding=2, dilation=2)",
      "Conv2d(8, 8, 3, padding=4, dilation=4)"], (1, 3, 32, 32),
     (15, 1, -7), [Window(3, 1, 1), Window(3, 1, 2, 2), Window(3, 1, 4, 4)]),
    (["Conv2d(3, 64, 7, stride=2, padding=3, bias=False)", "BatchNorm2d(64)", "ReLU()",
      "MaxPool2d(3, stride=2, padding=1)"], (1, 3, 64, 64),
     (11, 4, -5), [Window(7, 2, 3), Pointwise(), Pointwise(), Window(3, 2, 1)]),
    (["ConvTranspose1d(1, 1, 3, stride=3)"], (1, 1, 16),
     (1, Fraction(1, 3), 0), [Scatter(3, 3)]),
    (["ConvTranspose1d(1, 1, 4, stride=2, padding=1)"], (1, 1, 16),
     (2, Fraction(1, 2), -1), [Scatter(4, 2, 1)]),
    # only the bias reaches output unit 0: start is None
    (["ConvTranspose1d(1, 1, 1, stride=2, padding=1)"], (1, 1, 16),
     (1, Fraction(1, 2), None), [Scatter(1, 2, 1)]),
    (["ConvTranspose1d(1, 1, 1, stride=2)", "Conv1d(1, 1, 1, padding=1)"], (1, 1, 16),
     (1, Fraction(1, 2), None), [Scatter(1, 2), Window(1, 1, 1)]),
    (["ConvTranspose1d(1, 1, 2, stride=3, padding=2)"], (1, 1, 16),
     (1, Fraction(1, 3), None), [Scatter(2, 3, 2)]),
    # no input reaches any output unit: only the bias does (stride not checked)
    (["ConvTranspose1d(1, 1, 1, stride=2, padding=1)", "Conv1d(1, 1, 1, stride=2)"],
     (1, 1, 16), (0, None, None), [Scatter(1, 2, 1), Window(1, 2)]),
    # ... and where unit 0 *is* reached again after a following conv
    (["ConvTranspose1d(1, 1, 1, stride=2, padding=1)", "Conv1d(1, 1, 3, padding=1)"],
     (1, 1, 16), (2, Fraction(1, 2), 0), [Scatter(1, 2, 1), Window(3, 1, 1)]),
    (["Upsample(scale_factor=2, mode='nearest')", "Conv2d(3, 3, 3, padding=1)"],
     (1, 3, 8, 8), (2, Fraction(1, 2), -1), [Repeat(2), Window(3, 1, 1)]),
    (["Conv2d(4, 16, 3, padding=1)", "PixelShuffle(2)", "Conv2d(4, 4, 3, padding=1)"],
     (1, 4, 8, 8), (4, Fraction(1, 2), -2),
     [Window(3, 1, 1), Repeat(2), Window(3, 1, 1)]),
    (["Conv1d(2, 2, 3, stride=2)", "ConvTranspose1d(2, 2, 3, stride=2)"], (1, 2, 21),
     (5, 1, -2), [Window(3, 2, 0), Scatter(3, 2)]),
    # after a dilated transposed conv the map output -> input is not monotonic: unit 1
    # of the transposed conv reads input -1 (1 = 3*(-1) + 2*2), left of unit 0's input 0
    (["ConvTranspose1d(1, 1, 3, stride=3, dilation=2)", "Conv1d(1, 1, 2)"], (1, 1, 16),
     (2, Fraction(1, 3), -1), [Scatter(3, 3, 0, 2), Window(2)]),
    (["ConvTranspose1d(1, 1, 3, stride=3, dilation=2)", "AvgPool1d(2, stride=3)"],
     (1, 1, 16), (2, 1, -1), [Scatter(3, 3, 0, 2), Window(2, 3)]),
    (["ConvTranspose1d(1, 1, 4, stride=3, dilation=2)", "MaxPool1d(2, stride=2, padding=1)"],
     (1, 1, 16), (3, Fraction(2, 3), -2), [Scatter(4, 3, 0, 2), Window(2, 2, 1)]),
    (["Conv2d(3, 3, 5, padding='same', dilation=2)"], (1, 3, 16, 16),
     (9, 1, -4), [Window(5, 1, 4, 2)]),
    (["MaxPool1d(3, stride=2, padding=1, dilation=2, ceil_mode=True)"], (1, 2, 16),
     (5, 2, -1), [Window(3, 2, 1, 2)]),
    # after a layer that sees its whole input, nothing widens the region (CONTRACT section 4)
    (["Linear(8, 4)", "Conv1d(1, 1, 2)"], (1, 1, 8), (8, 0, 0), [Whole(8), Window(2)]),
    (["AdaptiveAvgPool2d(1)", "Upsample(size=(32, 32))", "Conv2d(1, 1, 3, padding=1)"], (1, 1, 32, 32),
     (32, 0, 0), [Whole(32), Resample(Fraction(1, 32)), Window(3, 1, 1)]),
    (["Conv2d(1, 1, 3, padding=1)", "AdaptiveMaxPool2d(1)", "Conv2d(1, 1, 3, padding=1)"], (1, 1, 32, 32),
     (34, 0, -1), [Window(3, 1, 1), Whole(32), Window(3, 1, 1)]),
    (["Conv1d(1, 1, 3)", "Upsample(size=1, mode='area')", "Upsample(scale_factor=4)"], (1, 1, 9),
     (9, 0, 0), [Window(3), Whole(7), Resample(Fraction(1, 4))]),
    # three ratios of 20/41: a period of 41**3 = 68,921 units, past the tabulation limit
    (["Upsample(scale_factor=2.05)"] * 3, (1, 1, 8), (1, Fraction(8000, 68921), 0),
     [Resample(Fraction(20, 41))] * 3),
    (["Upsample(scale_factor=2.05, mode='linear')", "Conv1d(1, 1, 3, padding=1)"] * 2, (1, 1, 8),
     (4, Fraction(400, 1681), -2), [Resample(Fraction(20, 41), "linear"), Window(3, 1, 1)] * 2),
    # an output as large as the input: the linear modes copy (PyTorch's shortcut)
    (["Upsample(scale_factor=1.05, mode='linear')"], (1, 1, 10), (1, 1, 0), [Pointwise()]),
]


@pytest.mark.parametrize("exprs, shape, expected, ops", HAND_CASES,
                         ids=[" -> ".join(c[0]) for c in HAND_CASES])
def test_hand_written(exprs, shape, expected, ops):
    want = Traced(expected[0], None if expected[1] is None else Fraction(expected[1]),
                  expected[2])
    assert brute_force_rf(ops) == want  # the expectation itself, re-derived
    rf = rf_of(exprs, shape)
    for a in range(len(shape) - 2):
        assert_matches(rf, a, want, f"for {' -> '.join(exprs)}")


def test_periods_past_the_tabulation_limit_are_not_null():
    """ConvTranspose1d(k=3, s=100000): output o receives input i when o = 100000*i + j, j < 3, so
    each unit sees at most one position and unit 0 sees position 0; a 3-window after it still
    sees one position (its neighbours of unit 0 receive nothing).  The period, 100000 units,
    is past the tabulation limit: the map is evaluated unit by unit."""
    rf = rf_of(["ConvTranspose1d(1, 1, 3, stride=100000)", "Conv1d(1, 1, 3, padding=1)"], (1, 1, 2))
    assert (rf.size, Fraction(rf.stride[0]), rf.start) == ((1,), Fraction(1, 100000), (0,))
    rf = rf_of(["ConvTranspose1d(1, 1, 3, stride=100000, padding=1)"], (1, 1, 2))
    assert (rf.size, Fraction(rf.stride[0]), rf.start) == ((1,), Fraction(1, 100000), (0,))  # o=0: i=0, j=1
    rf = rf_of(["ConvTranspose1d(1, 1, 3, stride=100000, padding=3)"], (1, 1, 2))
    assert rf.start == (None,)  # o = 100000*i + j - 3 = 0 has no solution with j < 3


def test_pixel_unshuffle_sees_its_block():
    """Convention: a unit is a spatial position (all channels), as for a convolution,
    so a PixelUnshuffle(r) unit sees its r x r block."""
    rf = rf_of(["PixelUnshuffle(2)", "Conv2d(12, 4, 3, padding=1)"], (1, 3, 16, 16))
    want = brute_force_rf([Gather(2), Window(3, 1, 1)])
    assert want == Traced(6, Fraction(2), -2)
    for a in range(2):
        assert_matches(rf, a, want)


def test_unbatched_input():
    rf = rf_of(["Conv2d(3, 8, 7, stride=2, padding=3)", "Conv2d(8, 8, 3, padding=1)"],
               (3, 32, 32))
    want = brute_force_rf([Window(7, 2, 3), Window(3, 1, 1)])
    assert len(rf.size) == 2
    for a in range(2):
        assert_matches(rf, a, want)


def test_axes_are_independent():
    rf = rf_of(["Conv3d(1, 2, (1, 3, 5), stride=(1, 2, 3), padding=(0, 1, 2))",
                "ConvTranspose3d(2, 2, (2, 1, 3), stride=(2, 1, 3))"], (1, 1, 9, 10, 11))
    per_axis_ops = [[Window(1, 1, 0), Scatter(2, 2)], [Window(3, 2, 1), Scatter(1, 1)],
                    [Window(5, 3, 2), Scatter(3, 3)]]
    for a, ops in enumerate(per_axis_ops):
        assert_matches(rf, a, brute_force_rf(ops))


def test_global_pool_sees_whole_input():
    rf = rf_of(["Conv2d(3, 8, 3)", "AdaptiveAvgPool2d(1)"], (1, 3, 32, 24))
    assert tuple(rf.size) == (32, 24)
    assert tuple(rf.start) == (0, 0)


def test_linear_after_flatten_sees_whole_input():
    rf = rf_of(["Conv2d(3, 4, 3)", "Flatten()", "Linear(144, 10)"], (1, 3, 8, 8))
    assert tuple(rf.size) == (8, 8)
    assert tuple(rf.start) == (0, 0)


def test_every_layer_reports_its_own_field():
    analysis = convcalc.analyze(["Conv1d(1, 4, 3)", "ReLU()", "Conv1d(4, 4, 3, stride=2)",
                                 "MaxPool1d(2)"], input_shape=(1, 1, 64))
    sizes = [layer.receptive_field.size[0] for layer in analysis.layers]
    strides = [Fraction(layer.receptive_field.stride[0]) for layer in analysis.layers]
    assert sizes == [3, 3, 5, 7]
    assert strides == [1, 1, 2, 4]


# ============================================================== random chains


@dataclass(frozen=True)
class RFLayer:
    expr: str
    cls_name: str
    kwargs: tuple  # torch keyword arguments
    ops: tuple  # tracer op per spatial axis
    lengths: tuple  # per axis: ("conv"|"pool"|"tconv"|"up", params) for input sizing
    out_channels: int | None = None

    def build(self):
        return getattr(torch.nn, self.cls_name)(**dict(self.kwargs))


def per_axis(values):
    return values[0] if len(set(values)) == 1 else tuple(values)


def out_length(n: int, rule) -> int:
    """Output length along one axis (PyTorch's formulas); < 1 means refused."""
    kind, (k, s, p, d, extra) = rule
    if kind == "conv":
        return (n + 2 * p - d * (k - 1) - 1) // s + 1 if n + 2 * p >= d * (k - 1) + 1 else 0
    if kind == "avgpool3d" and n < k:
        return 0  # PyTorch's avg_pool3d wants the input, padding aside, >= the kernel
    if kind in ("pool", "avgpool3d"):
        span = n + 2 * p - d * (k - 1) - 1
        if span < 0:
            return 0
        if not extra:  # floor mode
            return span // s + 1
        out = -(-span // s) + 1
        if (out - 1) * s >= n + p:  # the last window must start inside input or left pad
            out -= 1
        return out
    if kind == "tconv":
        return (n - 1) * s - 2 * p + d * (k - 1) + extra + 1
    if kind == "up":
        return n * k
    if kind == "upf":  # PyTorch: floor(size * scale_factor), in double precision
        return math.floor(n * k)
    if kind == "whole":
        return 1
    return n


def lengths_through(n: int, layers, a: int) -> list[int] | None:
    sizes = [n]
    for layer in layers:
        n = out_length(n, layer.lengths[a])
        if n < 1:
            return None
        sizes.append(n)
    return sizes


@st.composite
def rf_layer(draw, n: int, channels: int, *, for_gradient: bool) -> RFLayer:
    kinds = ["conv", "conv", "tconv", "avgpool", "up"]
    if not for_gradient:
        kinds += ["maxpool", "relu", "upf", "whole"] + (["shuffle"] if n == 2 else [])
    kind = draw(st.sampled_from(kinds))
    cout = 1 if for_gradient else draw(st.sampled_from([1, 2, 4]))
    ax = range(n)

    if kind == "conv":
        k = [draw(st.integers(1, 5)) for _ in ax]
        d = [draw(st.integers(1, 3)) for _ in ax]
        mode = draw(st.sampled_from(["int", "int", "same", "valid"]))
        s = [draw(st.integers(1, 3)) for _ in ax] if mode in ("int", "valid") else [1] * n
        if mode == "int":
            p = [draw(st.integers(0, 3)) for _ in ax]
            pad_kw: object = per_axis(p)
        elif mode == "valid":
            p, pad_kw = [0] * n, "valid"
        else:  # PyTorch puts the odd extra padding on the right
            p, pad_kw = [di * (ki - 1) // 2 for ki, di in zip(k, d)], "same"
        kw = dict(in_channels=channels, out_channels=cout, kernel_size=per_axis(k),
                  stride=per_axis(s), padding=pad_kw, dilation=per_axis(d), bias=False)
        ops = tuple(Window(k[i], s[i], p[i], d[i]) for i in ax)
        if mode == "same":
            lengths = tuple(("keep", (0, 0, 0, 0, 0)) for _ in ax)
        else:
            lengths = tuple(("conv", (k[i], s[i], p[i], d[i], 0)) for i in ax)
        name = f"Conv{n}d"
    elif kind == "tconv":
        k = [draw(st.integers(1, 4)) for _ in ax]
        s = [draw(st.integers(1, 3)) for _ in ax]
        d = [draw(st.integers(1, 2)) for _ in ax]
        p = [draw(st.integers(0, 2)) for _ in ax]
        op = [draw(st.integers(0, max(si, di) - 1)) for si, di in zip(s, d)]
        kw = dict(in_channels=channels, out_channels=cout, kernel_size=per_axis(k),
                  stride=per_axis(s), padding=per_axis(p), output_padding=per_axis(op),
                  bias=False, dilation=per_axis(d))
        ops = tuple(Scatter(k[i], s[i], p[i], d[i]) for i in ax)
        lengths = tuple(("tconv", (k[i], s[i], p[i], d[i], op[i])) for i in ax)
        name = f"ConvTranspose{n}d"
        cout = cout
    elif kind in ("avgpool", "maxpool"):
        k = [draw(st.integers(1, 4)) for _ in ax]
        s = [draw(st.integers(1, 3)) for _ in ax]
        p = [draw(st.integers(0, ki // 2)) for ki in k]
        d = [draw(st.integers(1, 2)) if kind == "maxpool" else 1 for _ in ax]
        ceil = draw(st.booleans())
        kw = dict(kernel_size=per_axis(k), stride=per_axis(s), padding=per_axis(p),
                  ceil_mode=ceil)
        if kind == "maxpool":
            kw["dilation"] = per_axis(d)
        ops = tuple(Window(k[i], s[i], p[i], d[i]) for i in ax)
        rule = "avgpool3d" if kind == "avgpool" and n == 3 else "pool"
        lengths = tuple((rule, (k[i], s[i], p[i], d[i], ceil)) for i in ax)
        name = f"{'Avg' if kind == 'avgpool' else 'Max'}Pool{n}d"
        cout = None
    elif kind == "up":
        f = [draw(st.integers(2, 3)) for _ in ax]
        kw = dict(scale_factor=per_axis(f), mode="nearest")
        ops = tuple(Repeat(fi) for fi in f)
        lengths = tuple(("up", (fi, 0, 0, 0, 0)) for fi in f)
        name, cout = "Upsample", None
    elif kind == "upf":
        f = [draw(st.sampled_from([0.5, 0.75, 1.25, 1.5, 2.05, 2.5])) for _ in ax]
        linear = draw(st.booleans())
        mode = {1: "linear", 2: "bilinear", 3: "trilinear"}[n] if linear else "nearest"
        kw = dict(scale_factor=per_axis(f), mode=mode)
        ops = tuple(ScaledUpsample(fi, "linear" if linear else "nearest", n) for fi in f)
        lengths = tuple(("upf", (fi, 0, 0, 0, 0)) for fi in f)
        name, cout = "Upsample", None
    elif kind == "whole":
        kw, name, cout = {"output_size": 1}, f"AdaptiveAvgPool{n}d", None
        ops = tuple(WholeOfInput() for _ in ax)
        lengths = tuple(("whole", (0, 0, 0, 0, 0)) for _ in ax)
    elif kind == "shuffle":
        r = draw(st.integers(2, 3))
        if channels % (r * r):
            r = 1
        kw = dict(upscale_factor=r)
        ops = tuple(Repeat(r) for _ in ax)
        lengths = tuple(("up", (r, 0, 0, 0, 0)) for _ in ax)
        name, cout = "PixelShuffle", channels // (r * r)
    else:
        kw, ops, name, cout = {}, tuple(Pointwise() for _ in ax), "ReLU", None
        lengths = tuple(("keep", (0, 0, 0, 0, 0)) for _ in ax)
    expr = f"{name}({', '.join(f'{key}={value!r}' for key, value in kw.items())})"
    return RFLayer(expr, name, tuple(kw.items()), ops, lengths, cout)


@st.composite
def rf_chains(draw, *, for_gradient: bool = False):
    n = draw(st.sampled_from([1, 2] if for_gradient else [1, 2, 3]))
    channels = 1 if for_gradient else draw(st.sampled_from([1, 4, 9]))
    c0 = channels
    layers = []
    for _ in range(draw(st.integers(1, 4 if for_gradient else 5))):
        layer = draw(rf_layer(n, channels, for_gradient=for_gradient))
        if layer.out_channels is not None:
            channels = layer.out_channels
        layers.append(layer)
    return n, c0, tuple(layers)


def smallest_input(layers, a: int, least: int = 1) -> int | None:
    for size in [8, 16, 32, 64, 128, 256, 512, 1024, 2048]:
        if size >= least and lengths_through(size, layers, a) is not None:
            return size
    return None


@PROPERTY
@given(rf_chains())
def test_random_chains_match_tracer(chain):
    n, c0, layers = chain
    sizes = [smallest_input(layers, a) for a in range(n)]
    if None in sizes:
        event("skipped: no valid input size")
        return  # no input makes this chain valid (e.g. too much cropping)
    exprs = [layer.expr for layer in layers]
    analysis = convcalc.analyze(exprs, input_shape=(1, c0, *sizes))
    assert len(analysis.layers) == len(layers)
    ops = [resolve_ops([layer.ops[a] for layer in layers], lengths_through(sizes[a], layers, a)) for a in range(n)]
    event(f"{len(layers)} layers, period {math.prod(op.up for op in ops[0])}")
    for kind in ("Whole", "Resample", "Pointwise"):
        if any(type(op).__name__ == kind for axis_ops in ops for op in axis_ops):
            event(f"has {kind}")
    for i, result in enumerate(analysis.layers):
        for a in range(n):
            want = brute_force_rf(ops[a][: i + 1])
            assert_matches(result.receptive_field, a, want,
                           f"after layer {i} of {' -> '.join(exprs)}")


# ============================================================== (b) autograd


def ones_model(layers):
    model = torch.nn.Sequential(*[layer.build() for layer in layers]).double()
    with torch.no_grad():
        for module in model.modules():
            if getattr(module, "weight", None) is not None:
                module.weight.fill_(1.0)
    return model.eval()


def trace_stages(ops, o: int) -> list[frozenset[int]]:
    """The index sets unit o touches in every tensor, from the output back to the input."""
    stages = [frozenset({o})]
    for op in reversed(ops):
        stages.append(frozenset(i for x in stages[-1] for i in op.reads(x)))
    return stages


def interior_plan(ops):
    """Two periods of output units, starting at a multiple of the period, whose index
    sets are non-negative in every intermediate tensor: nothing they read is padding
    or cropped away on the left."""
    period = math.prod(op.up for op in ops)
    base = 0
    while True:
        units = list(range(base, base + 2 * period))
        stages = [trace_stages(ops, u) for u in units]
        if all(min(st_) >= 0 for unit in stages for st_ in unit if st_):
            return period, units, stages
        base += period


def fits(stages_per_unit, lengths) -> bool:
    """Every index touched lies inside its tensor (lengths: input first)."""
    for stages in stages_per_unit:
        for t, indices in enumerate(stages):
            if indices and max(indices) >= lengths[len(lengths) - 1 - t]:
                return False
    return True


def gradient_regions(model, sizes, probes):
    """For each probe (a tuple of output indices), the non-zero-gradient input positions,
    projected onto every axis."""
    x = torch.zeros((1, 1, *sizes), dtype=torch.float64, requires_grad=True)
    y = model(x)
    found = []
    for probe in probes:
        (grad,) = torch.autograd.grad(y[(0, slice(None)) + probe].sum(), x, retain_graph=True)
        mask = grad[0, 0] != 0
        per_axis_sets = []
        for a in range(len(sizes)):
            other = tuple(b for b in range(len(sizes)) if b != a)
            line = mask.any(dim=other) if other else mask
            per_axis_sets.append(frozenset(torch.nonzero(line).flatten().tolist()))
        found.append(per_axis_sets)
    return found


@requires_torch
@pytest.mark.filterwarnings("ignore::UserWarning")  # padding='same' with an even kernel
@GRADIENT
@given(rf_chains(for_gradient=True))
def test_gradient_support_matches(chain):
    n, _, layers = chain
    plans = [interior_plan([layer.ops[a] for layer in layers]) for a in range(n)]
    sizes = []
    for a, (_, units, stages) in enumerate(plans):
        size = smallest_input(layers, a)
        if size is None:
            event("skipped: no valid input size")
            return
        while not fits(stages, lengths_through(size, layers, a)):
            size *= 2
        sizes.append(size)
    if math.prod(sizes) > 1_000_000:
        event("skipped: input too large")
        return
    plans = [(period, units, [st_[-1] for st_ in stages]) for period, units, stages in plans]

    model = ones_model(layers)
    exprs = [layer.expr for layer in layers]
    rf = convcalc.analyze(exprs, input_shape=(1, 1, *sizes)).layers[-1].receptive_field
    dead = [a for a in range(n) if not any(plans[a][2])]
    if dead:  # no input reaches the output along some axis: every gradient is zero
        event("no input reaches the output")
        for a in dead:
            assert (rf.size[a], rf.start[a]) == (0, None), " -> ".join(exprs)
        return
    for a, (period, units, regions) in enumerate(plans):
        # move along axis a; every other axis sits at a unit of its plan that some
        # input reaches (else every gradient would be zero)
        rest = [next((u for u, r in zip(plans[b][1], plans[b][2]) if r), plans[b][1][0])
                for b in range(n)]
        probes = [tuple(u if b == a else rest[b] for b in range(n)) for u in units]
        measured = [sets[a] for sets in gradient_regions(model, sizes, probes)]
        context = f"axis {a} of {' -> '.join(exprs)} on {sizes}"
        # (a) and (b) agree exactly, unit by unit
        assert measured == regions, f"tracer vs autograd, {context}"

        got = axis(rf, a)
        event(f"period {period}, start {'None' if got.start is None else 'set'}")
        extent = max(max(r) - min(r) + 1 for r in measured if r)
        assert got.size == extent, f"size {got.size} != autograd extent {extent}, {context}"
        base = units[0]  # a multiple of the period: same pattern as unit 0
        first = next(i for i in range(period) if measured[i])
        stride = Fraction(min(measured[first + period]) - min(measured[first]), period)
        assert got.stride == stride, f"stride {got.stride} != {stride}, {context}"
        if got.start is None:
            assert not measured[0], f"start None but unit {base} is reached, {context}"
        else:
            assert measured[0], f"start {got.start} but unit {base} is not reached, {context}"
            assert min(measured[0]) == got.start + base * stride, (
                f"start {got.start} translated to unit {base}: {min(measured[0])}, {context}")


@requires_torch
@pytest.mark.parametrize("exprs, shape, unit", [
    (["Conv2d(1, 1, 7, stride=2, padding=3, bias=False)"], (1, 1, 64, 64), (10, 10)),
    (["Conv2d(1, 1, 3, padding=1, bias=False)", "Conv2d(1, 1, 3, padding=2, dilation=2, "
      "bias=False)", "Conv2d(1, 1, 3, padding=4, dilation=4, bias=False)"],
     (1, 1, 48, 48), (20, 20)),
    (["Conv1d(1, 1, 5, stride=2, bias=False)", "AvgPool1d(3, stride=2)",
      "ConvTranspose1d(1, 1, 3, stride=2, bias=False)"], (1, 1, 120), (12,)),
])
def test_gradient_hand_written(exprs, shape, unit):
    """Whole-extent check for a few famous chains, straight from torch modules."""
    import ast

    modules = []
    for expr in exprs:
        call = ast.parse(expr, mode="eval").body
        modules.append(getattr(torch.nn, call.func.id)(
            *[ast.literal_eval(v) for v in call.args],
            **{k.arg: ast.literal_eval(k.value) for k in call.keywords}))
    model = torch.nn.Sequential(*modules).double()
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(1.0)
    rf = rf_of(exprs, shape)
    x = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(model(x)[(0, 0) + unit].sum(), x)
    nz = torch.nonzero(grad[0, 0] != 0)
    for a in range(len(unit)):
        lo, hi = nz[:, a].min().item(), nz[:, a].max().item()
        assert 0 < lo and hi < shape[2 + a] - 1, "unit not interior"
        assert hi - lo + 1 == rf.size[a]
        if Fraction(rf.stride[a]).denominator == 1:
            assert lo == rf.start[a] + unit[a] * rf.stride[a]


# ============================================================== whole-axis layers, live


def _grad_support(model, shape, unit):
    x = torch.rand(shape, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(model(x)[(0, slice(None)) + unit].sum(), x)
    nz = torch.nonzero(grad[0].abs().sum(dim=0) != 0)
    return [(nz[:, a].min().item(), nz[:, a].max().item()) for a in range(len(unit))]


@requires_torch
@pytest.mark.parametrize("exprs, shape, build", [
    (["AdaptiveAvgPool2d(1)", "Upsample(size=(32, 32))", "Conv2d(1, 1, 3, padding=1)"], (1, 1, 32, 32),
     lambda: torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Upsample(size=(32, 32)),
                                 torch.nn.Conv2d(1, 1, 3, padding=1))),
    (["Linear(8, 4)", "Conv1d(1, 1, 2)"], (1, 1, 8),
     lambda: torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.Conv1d(1, 1, 2))),
])
def test_nothing_widens_a_whole_extent_live(exprs, shape, build):
    """Every output unit, at the border or inside, depends on the whole input and on
    nothing else: the receptive field is the input's extent (CONTRACT section 4)."""
    torch.manual_seed(0)
    model = build().double()
    rf = rf_of(exprs, shape)
    out = convcalc.analyze(exprs, shape).total.output_shape
    for unit in [(0,) * (len(shape) - 2), tuple(s // 2 for s in out[2:]), tuple(s - 1 for s in out[2:])]:
        for a, (lo, hi) in enumerate(_grad_support(model, shape, unit)):
            assert (hi - lo + 1, lo) == (rf.size[a], rf.start[a]) == (shape[2 + a], 0)


@requires_torch
def test_squeeze_excitation_sees_the_whole_input_live():
    """x -> conv(3, p=1) -> a; a * gate(a), the gate a global pool: every unit of the product
    depends on every input position.  In the unbounded sense the region also holds the
    padding the conv reads: -1 .. 32."""
    from convcalc.analysis import Graph, Node, walk
    from convcalc.layers import build_layer

    g = Graph((1, 1, 32, 32))
    g.nodes += [Node("a", build_layer("Conv2d(1, 1, 3, padding=1)"), ("input",), ""),
                Node("gate", build_layer("AdaptiveAvgPool2d(1)"), ("a",), ""),
                Node("mul", build_layer("Mul()"), ("a", "gate"), "")]
    rf = walk(g).layers[-1].receptive_field
    assert (rf.size, rf.start, tuple(rf.stride)) == ((34, 34), (-1, -1), (0, 0))
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(1, 1, 3, padding=1).double()

    def model(x):
        a = conv(x)
        return a * torch.nn.functional.adaptive_avg_pool2d(a, 1)

    for unit in [(0, 0), (15, 20)]:
        assert _grad_support(model, (1, 1, 32, 32), unit) == [(0, 31), (0, 31)]


@requires_torch
@pytest.mark.parametrize("exprs, build, want", [
    (["PixelUnshuffle(2)", "PixelShuffle(2)"],
     lambda: torch.nn.Sequential(torch.nn.PixelUnshuffle(2), torch.nn.PixelShuffle(2)), 1),
    # a depthwise 3x3 between them: a 3x3 with dilation 2 on the full grid, 2*(3-1) + 1
    (["PixelUnshuffle(2)", "Conv2d(4, 4, 3, padding=1, groups=4)", "PixelShuffle(2)"],
     lambda: torch.nn.Sequential(torch.nn.PixelUnshuffle(2), torch.nn.Conv2d(4, 4, 3, padding=1, groups=4),
                                 torch.nn.PixelShuffle(2)), 5),
])
def test_pixel_unshuffle_then_shuffle_live(exprs, build, want):
    torch.manual_seed(0)
    model = build().double()
    rf = rf_of(exprs, (1, 1, 8, 8))
    assert rf.size == (want, want)
    for unit in [(3, 4), (4, 3)]:
        for (lo, hi), u in zip(_grad_support(model, (1, 1, 8, 8), unit), unit):
            assert hi - lo + 1 == want and lo == u - (want - 1) // 2


def test_transposed_taps_are_the_solutions_of_the_index_equation():
    """TransposedStep.taps solves o = i*s - p + j*d for j in closed form (was a loop over the
    kernel for every output unit: a ConvTranspose1d with a 100,000 kernel never finished)."""
    from convcalc.layers.rf import TransposedStep

    for k in (1, 2, 3, 5, 8):
        for s in (1, 2, 3, 4, 6):
            for d in (1, 2, 3, 4):
                for p in (0, 1, 5):
                    step = TransposedStep(k, s, d, p)
                    for o in range(0, 3 * s * d + k * d):
                        brute = sorted((o + p - j * d) // s for j in range(k) if (o + p - j * d) % s == 0)
                        assert step.taps(o) == brute, (k, s, d, p, o)


def test_a_huge_transposed_kernel_is_analysed_quickly():
    import subprocess
    import sys
    import time
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "convcalc", "shape",
                           "ConvTranspose1d(1, 1, 100000, stride=100000, output_padding=99999)", "-i", "1x1x3",
                           "-f", "json"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and time.perf_counter() - start < 20, proc.stderr
    import json
    assert json.loads(proc.stdout)["layers"][0]["receptive_field"]["size"] == [1]  # one input per output unit
