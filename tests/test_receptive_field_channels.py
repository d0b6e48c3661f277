"""Receptive fields through channel structure, checked without convcalc's own composition.

PixelUnshuffle stores sub-positions in channels and PixelShuffle takes them back, so what
a unit sees depends on which channels the layers in between keep apart: a depthwise
convolution between the two acts on the full-resolution grid, a full one mixes the
sub-positions.  A per-axis tracer cannot see that; the tracer here follows single
elements (channel, y, x) from an output position back to the network input (negative
indices are positions inside padding, as in test_receptive_field.py).  A unit is a
spatial position with all its channels; along each axis:

  size   = max over units (y, x) of the extent of the region's projection on that axis
  stride = how far that projection moves over one period of units, per unit
  start  = first position of unit (0, 0)'s projection

PyTorch's autograd checks the tracer itself (every weight 1, float64; the gradient of the
sum over a unit's channels is non-zero exactly on its receptive field).
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
except ImportError:  # the tracer comparisons still run
    torch = None

requires_torch = pytest.mark.skipif(torch is None, reason="needs torch")

PROPERTY = settings(max_examples=120, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


# ============================================================== the element tracer


@dataclass(frozen=True)
class Conv:
    """Convolution (and channel-wise pooling: groups = channels): output (c, y, x) reads
    every input channel of c's group at y*s - p + j*d (and likewise along x)."""

    cin: int
    cout: int
    groups: int
    k: tuple[int, int]
    s: tuple[int, int] = (1, 1)
    p: tuple[int, int] = (0, 0)
    d: tuple[int, int] = (1, 1)
    up = 1

    def reads(self, c, y, x):
        per_in, g = self.cin // self.groups, c // (self.cout // self.groups)
        for ci in range(g * per_in, (g + 1) * per_in):
            for jy in range(self.k[0]):
                for jx in range(self.k[1]):
                    yield (ci, y * self.s[0] - self.p[0] + jy * self.d[0],
                           x * self.s[1] - self.p[1] + jx * self.d[1])


@dataclass(frozen=True)
class Shuffle:
    """PixelShuffle(r): output (c, y, x) is input channel c*r*r + (y mod r)*r + (x mod r) at
    (y // r, x // r) (floor division: also for padding positions left of 0)."""

    r: int

    @property
    def up(self) -> int:
        return self.r

    def reads(self, c, y, x):
        r = self.r
        yield (c * r * r + (y % r) * r + x % r, y // r, x // r)


@dataclass(frozen=True)
class Unshuffle:
    """PixelUnshuffle(r): output channel c*r*r + i*r + j at (y, x) is input c at (y*r + i, x*r + j)."""

    r: int
    up = 1

    def reads(self, c, y, x):
        base, rest = divmod(c, self.r * self.r)
        i, j = divmod(rest, self.r)
        yield (base, y * self.r + i, x * self.r + j)


@dataclass(frozen=True)
class ChannelShuffle:
    """ChannelShuffle(g) of C channels: output channel a*g + b is input channel b*(C/g) + a."""

    groups: int
    channels: int
    up = 1

    def reads(self, c, y, x):
        a, b = divmod(c, self.groups)
        yield (b * (self.channels // self.groups) + a, y, x)


@dataclass(frozen=True)
class Nearest:
    """Upsample(scale_factor=f) with an integer f: (c, y, x) is input (c, y // f, x // f)."""

    f: int

    @property
    def up(self) -> int:
        return self.f

    def reads(self, c, y, x):
        yield (c, y // self.f, x // self.f)


def trace_stages(ops, channels: int, y: int, x: int) -> list[frozenset]:
    """The elements a unit (all `channels` channels at (y, x)) touches in every tensor,
    from the output back to the network input."""
    stages = [frozenset((c, y, x) for c in range(channels))]
    for op in reversed(ops):
        stages.append(frozenset(e for el in stages[-1] for e in op.reads(*el)))
    return stages


def projections(elements) -> tuple[frozenset, frozenset]:
    return frozenset(e[1] for e in elements), frozenset(e[2] for e in elements)


@dataclass(frozen=True)
class Traced:
    size: tuple[int, int]
    stride: tuple[Fraction, Fraction]
    start: tuple[int, int]


def brute_force(ops, channels: int) -> Traced:
    period = math.prod(op.up for op in ops)
    regions = {(y, x): projections(trace_stages(ops, channels, y, x)[-1])
               for y in range(2 * period) for x in range(2 * period)}
    sizes, strides = [], []
    for a in range(2):
        sizes.append(max(max(r[a]) - min(r[a]) + 1 for (y, x), r in regions.items() if y < period and x < period))
        step = (period, 0) if a == 0 else (0, period)
        shift = min(regions[step][a]) - min(regions[(0, 0)][a])
        strides.append(Fraction(shift, period))
        # the tracer checks itself: one period later along a, every projection moved by shift
        for y in range(period):
            for x in range(period):
                moved = regions[(y + step[0], x + step[1])]
                here = regions[(y, x)]
                assert moved[a] == frozenset(i + shift for i in here[a]), (ops, y, x, a)
                assert moved[1 - a] == here[1 - a], (ops, y, x, a)
    first = regions[(0, 0)]
    return Traced(tuple(sizes), tuple(strides), (min(first[0]), min(first[1])))  # type: ignore[arg-type]


def test_tracer_by_hand():
    # PixelUnshuffle then PixelShuffle puts every element back: the identity
    assert brute_force([Unshuffle(2), Shuffle(2)], 1) == Traced((1, 1), (1, 1), (0, 0))
    # a depthwise 3x3 between them is a 3x3 with dilation 2 on the full grid: 2*2 + 1 = 5
    assert brute_force([Unshuffle(2), Conv(4, 4, 4, (3, 3), p=(1, 1)), Shuffle(2)], 1) == \
        Traced((5, 5), (1, 1), (-2, -2))
    # a full 3x3 mixes the four sub-positions: 3 units of 2 positions each
    assert brute_force([Unshuffle(2), Conv(4, 4, 1, (3, 3), p=(1, 1)), Shuffle(2)], 1) == \
        Traced((6, 6), (1, 1), (-2, -2))
    # one unit (all channels) of PixelUnshuffle alone: its 2x2 block
    assert brute_force([Unshuffle(2)], 4) == Traced((2, 2), (2, 2), (0, 0))


# ============================================================== convcalc against the tracer


def rf_rows(exprs, shape):
    return [row.receptive_field for row in convcalc.analyze(list(exprs), shape).layers]


def as_traced(rf) -> Traced:
    return Traced(tuple(rf.size), tuple(Fraction(s) for s in rf.stride), tuple(rf.start))


@pytest.mark.parametrize("exprs, shape, ops, channels", [
    (["PixelUnshuffle(2)", "PixelShuffle(2)"], (1, 1, 8, 8), [Unshuffle(2), Shuffle(2)], 1),
    (["PixelUnshuffle(2)", "Conv2d(4, 4, 3, padding=1, groups=4)", "PixelShuffle(2)"], (1, 1, 8, 8),
     [Unshuffle(2), Conv(4, 4, 4, (3, 3), p=(1, 1)), Shuffle(2)], 1),
    (["PixelUnshuffle(2)", "Conv2d(4, 4, 3, padding=1)", "PixelShuffle(2)"], (1, 1, 8, 8),
     [Unshuffle(2), Conv(4, 4, 1, (3, 3), p=(1, 1)), Shuffle(2)], 1),
    # groups of two sub-positions: along y each unit reads one row, which one depends on x
    (["PixelUnshuffle(2)", "Conv2d(8, 4, 1, groups=4)", "PixelShuffle(2)"], (1, 2, 8, 8),
     [Unshuffle(2), Conv(8, 4, 4, (1, 1)), Shuffle(2)], 1),
    # ... so a window along x that spans both parities spans two rows along y
    (["PixelUnshuffle(2)", "Conv2d(8, 4, 1, groups=4)", "PixelShuffle(2)", "Conv2d(1, 1, (1, 2))"], (1, 2, 8, 8),
     [Unshuffle(2), Conv(8, 4, 4, (1, 1)), Shuffle(2), Conv(1, 1, 1, (1, 2))], 1),
    (["PixelUnshuffle(2)", "ChannelShuffle(2)", "PixelShuffle(2)"], (1, 1, 8, 8),
     [Unshuffle(2), ChannelShuffle(2, 4), Shuffle(2)], 1),
    (["Conv2d(1, 4, 3, padding=1)", "PixelShuffle(2)", "PixelUnshuffle(2)"], (1, 1, 8, 8),
     [Conv(1, 4, 1, (3, 3), p=(1, 1)), Shuffle(2), Unshuffle(2)], 4),
])
def test_hand_written(exprs, shape, ops, channels):
    got = as_traced(rf_rows(exprs, shape)[-1])
    assert got == brute_force(ops, channels), " -> ".join(exprs)


@dataclass(frozen=True)
class Layer:
    expr: str
    op: object
    channels: int  # output channels
    size: tuple[int, int]  # output spatial size
    module: tuple  # (torch.nn class name, kwargs) for the autograd check


def _out(n: int, k: int, s: int, p: int, d: int) -> int:
    span = n + 2 * p - d * (k - 1) - 1
    return span // s + 1 if span >= 0 else 0


@st.composite
def channel_chains(draw):
    c0 = c = draw(st.sampled_from([1, 2, 4]))
    h = w = side = draw(st.sampled_from([8, 12, 16]))
    layers = []
    plan = [draw(st.sampled_from(["conv", "conv", "pool", "unshuffle", "unshuffle", "shuffle", "shuffle",
                                  "chshuffle", "up"])) for _ in range(draw(st.integers(1, 5)))]
    if draw(st.booleans()):  # half of the chains: sub-positions into channels and back
        plan = ["unshuffle"] + plan[:3] + ["to4", "shuffle"]
    for kind in plan:
        if kind == "to4":  # a convolution to a multiple of 4 channels, if needed, for the shuffle
            if c % 4 == 0:
                continue
            kind, cout = "conv", 4 * c
        elif kind == "conv":
            cout = draw(st.sampled_from([c, 2 * c] + ([c // 2] if c % 2 == 0 else [])))
        if kind == "conv":
            g = draw(st.sampled_from([d for d in range(1, c + 1) if c % d == 0 and cout % d == 0]))
            k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
            s = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
            p = (draw(st.integers(0, 1)), draw(st.integers(0, 1)))
            d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
            size = (_out(h, k[0], s[0], p[0], d[0]), _out(w, k[1], s[1], p[1], d[1]))
            expr = f"Conv2d({c}, {cout}, {k}, stride={s}, padding={p}, dilation={d}, groups={g}, bias=False)"
            layer = Layer(expr, Conv(c, cout, g, k, s, p, d), cout, size,
                          ("Conv2d", dict(in_channels=c, out_channels=cout, kernel_size=k, stride=s, padding=p,
                                          dilation=d, groups=g, bias=False)))
        elif kind == "pool":
            k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
            s = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
            p = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
            size = (_out(h, k[0], s[0], p[0], 1), _out(w, k[1], s[1], p[1], 1))
            layer = Layer(f"AvgPool2d({k}, stride={s}, padding={p})", Conv(c, c, c, k, s, p), c, size,
                          ("AvgPool2d", dict(kernel_size=k, stride=s, padding=p)))
        elif kind == "unshuffle":
            if h % 2 or w % 2:
                continue
            layer = Layer("PixelUnshuffle(2)", Unshuffle(2), 4 * c, (h // 2, w // 2),
                          ("PixelUnshuffle", {"downscale_factor": 2}))
        elif kind == "shuffle":
            if c % 4:
                continue
            layer = Layer("PixelShuffle(2)", Shuffle(2), c // 4, (2 * h, 2 * w),
                          ("PixelShuffle", {"upscale_factor": 2}))
        elif kind == "chshuffle":
            divisors = [d for d in range(2, c + 1) if c % d == 0]
            if not divisors:
                continue
            g = draw(st.sampled_from(divisors))
            layer = Layer(f"ChannelShuffle({g})", ChannelShuffle(g, c), c, (h, w),
                          ("ChannelShuffle", {"groups": g}))
        else:
            if h * w > 24 * 24:
                continue
            layer = Layer("Upsample(scale_factor=2.0, mode='nearest')", Nearest(2), c, (2 * h, 2 * w),
                          ("Upsample", {"scale_factor": 2.0, "mode": "nearest"}))
        if min(layer.size) < 1:
            continue
        layers.append(layer)
        c, (h, w) = layer.channels, layer.size
    return c0, side, tuple(layers)


@PROPERTY
@given(channel_chains())
def test_random_channel_chains_match_tracer(chain):
    c0, side, layers = chain
    if not layers:
        return
    exprs = [layer.expr for layer in layers]
    rows = rf_rows(exprs, (1, c0, side, side))
    kinds = {type(layer.op).__name__ for layer in layers}
    event(f"{'shuffle ' if 'Shuffle' in kinds else ''}{'unshuffle' if 'Unshuffle' in kinds else ''}")
    for i, rf in enumerate(rows):
        ops = [layer.op for layer in layers[: i + 1]]
        want = brute_force(ops, layers[i].channels)
        assert as_traced(rf) == want, f"after layer {i} of {' -> '.join(exprs)}"


# ============================================================== the tracer against autograd


def ones_model(layers):
    modules = [getattr(torch.nn, name)(**kwargs) for name, kwargs in (layer.module for layer in layers)]
    model = torch.nn.Sequential(*modules).double()
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(1.0)
    return model.eval()


@requires_torch
@settings(PROPERTY, max_examples=20)
@given(channel_chains())
def test_tracer_matches_autograd(chain):
    """Interior units of a chain on a large input: the gradient of a unit's channel sum is
    non-zero exactly where the tracer says, projection by projection."""
    c0, _, layers = chain
    if not layers:
        return
    ops = [layer.op for layer in layers]
    period = math.prod(op.up for op in ops)
    # the sizes the chain gives for a 32x32 input (the generator drew them for its own size)
    size = 32
    sizes = [(size, size)]
    for layer in layers:
        op = layer.op
        h, w = sizes[-1]
        if isinstance(op, Conv):
            nxt = (_out(h, op.k[0], op.s[0], op.p[0], op.d[0]), _out(w, op.k[1], op.s[1], op.p[1], op.d[1]))
        elif isinstance(op, Shuffle):
            nxt = (h * 2, w * 2)
        elif isinstance(op, Unshuffle):
            if h % 2 or w % 2:
                event("skipped: odd size for PixelUnshuffle")
                return
            nxt = (h // 2, w // 2)
        elif isinstance(op, Nearest):
            nxt = (h * 2, w * 2)
        else:
            nxt = (h, w)
        if min(nxt) < 1:
            event("skipped: no output")
            return
        sizes.append(nxt)
    out_h, out_w = sizes[-1]
    base_y, base_x = (out_h // 2) // period * period, (out_w // 2) // period * period
    probes = [(base_y + dy, base_x + dx) for dy in range(period) for dx in range(period)]
    channels = layers[-1].channels
    # interior: every element each probe touches lies inside its tensor
    for y, x in probes:
        if y >= out_h or x >= out_w:
            event("skipped: output too small")
            return
        for t, stage in enumerate(reversed(trace_stages(ops, channels, y, x))):
            h, w = sizes[t]
            if any(not (0 <= e[1] < h and 0 <= e[2] < w) for e in stage):
                event("skipped: not interior")
                return
    model = ones_model(layers)
    x_in = torch.zeros((1, c0, size, size), dtype=torch.float64, requires_grad=True)
    y_out = model(x_in)
    for y, x in probes:
        (grad,) = torch.autograd.grad(y_out[0, :, y, x].sum(), x_in, retain_graph=True)
        mask = (grad[0] != 0).any(dim=0)
        rows = frozenset(torch.nonzero(mask.any(dim=1)).flatten().tolist())
        cols = frozenset(torch.nonzero(mask.any(dim=0)).flatten().tolist())
        want = projections(trace_stages(ops, channels, y, x)[-1])
        assert (rows, cols) == want, f"unit {(y, x)} of {' -> '.join(l.expr for l in layers)}"
    event("checked")


# ============================================================== merges keep channels apart


def _walk(nodes, shape):
    from convcalc.analysis import Graph, Node, walk
    from convcalc.layers import build_layer

    g = Graph(shape)
    g.nodes += [Node(name, build_layer(expr), tuple(inputs), expr) for name, expr, inputs in nodes]
    return walk(g).layers[-1].receptive_field


CONCAT_THEN_SHUFFLE = [
    ("a", "PixelUnshuffle(2)", ["input"]),
    ("b", "Conv2d(4, 4, 3, padding=1, groups=4, bias=False)", ["a"]),
    ("c", "Concat(dim=1)", ["a", "b"]),  # channels 0-3: a's sub-positions; 4-7: b's
    ("d", "Conv2d(8, 4, 1, groups=4, bias=False)", ["c"]),  # groups {a0, a1}, {a2, a3}, {b0, b1}, {b2, b3}
    ("e", "PixelShuffle(2)", ["d"]),
]


def test_concat_keeps_each_inputs_channels():
    """Even rows y read a's sub-positions (y itself; along x the pair 2(x//2), +1), odd rows
    b's: a depthwise 3x3 on the half-resolution grid, 2*2 + 1 = 5 rows and 6 columns.
    Unit (0, 0) reads a: rows from 0, columns from 0."""
    rf = _walk(CONCAT_THEN_SHUFFLE, (1, 1, 16, 16))
    assert (rf.size, rf.start, tuple(rf.stride)) == ((5, 6), (0, 0), (1, 1))


@requires_torch
def test_concat_keeps_each_inputs_channels_live():
    torch.manual_seed(0)
    unshuffle, shuffle = torch.nn.PixelUnshuffle(2), torch.nn.PixelShuffle(2)
    depthwise = torch.nn.Conv2d(4, 4, 3, padding=1, groups=4, bias=False).double()
    grouped = torch.nn.Conv2d(8, 4, 1, groups=4, bias=False).double()

    def model(x):
        a = unshuffle(x)
        return shuffle(grouped(torch.cat([a, depthwise(a)], 1)))

    x = torch.rand(1, 1, 16, 16, dtype=torch.float64, requires_grad=True)
    y = model(x)
    extents = [[], []]
    for unit in [(8, 8), (8, 9), (9, 8), (9, 9)]:
        (grad,) = torch.autograd.grad(y[0, :, unit[0], unit[1]].sum(), x, retain_graph=True)
        mask = grad[0, 0] != 0
        for a, line in enumerate((mask.any(dim=1), mask.any(dim=0))):
            nz = torch.nonzero(line).flatten()
            extents[a].append(nz.max().item() - nz.min().item() + 1)
    assert (max(extents[0]), max(extents[1])) == _walk(CONCAT_THEN_SHUFFLE, (1, 1, 16, 16)).size
