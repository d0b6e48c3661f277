"""Which positions one output unit depends on, exactly, in every tensor before it.

`receptive.py` summarises a receptive field by its extent (size, stride, start); a figure
needs the set itself: a dilated layer after a strided one leaves holes in the
intermediate tensors, and a residual branch adds its own shape.  Here index sets are
propagated backwards from the chosen unit through each layer's exact index map (the
`rf_effect()` steps of `layers/rf.py`): a layer's output positions in the set pull in
the taps they read, and every path into a merge contributes (the union over paths).

Only the last two spatial axes of the network input are followed (one for a 1-D
network: its other axis is a dummy of length 1), as 2-D boolean arrays, one matmul per
layer with the per-axis tap matrices (the layers' index maps are separable along axes).
A unit is a spatial position with all its channels (CONTRACT section 4), so the set is
the union over channels: between a PixelUnshuffle and a PixelShuffle around grouped
layers it can hold positions that only other channels read.

Taps that fall in a layer's padding are kept apart: they are drawn as padding, and
carry nothing further back with zero padding; reflect, replicate and circular padding
(and interpolation's clamping at the border) read real positions, which join the set.
An axis that a layer does not carry on (Flatten, Linear, pooling to size 1, Unfold)
makes the whole axis of its input visible.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import ConvcalcError, Location
from ..layers.rf import RatioStep, TransposedStep, WindowStep
from ..record import field, record

INPUT = "input"
#: a filler in tap columns: no tap (units of a transposed convolution read unequal numbers)
NO_TAP = -(1 << 62)


@record(frozen=False)
class Tensor:
    """One tensor on a path to the unit: its grid along the drawn axes and what the unit
    reads of it.  `seen` is in tensor coordinates (rows x cols); `read` covers the grid
    grown by the padding its readers read (origin at -top, -left) and marks every cell read."""

    name: str
    label: str  # the layer that made it ("input" for the network input)
    shape: tuple[int, ...]
    rows: int
    cols: int
    seen: np.ndarray = field(repr=False)
    read: np.ndarray = field(repr=False)
    top: int = 0
    left: int = 0
    chosen: tuple[int, int] | None = None
    #: the drawn axes are both tensor axes here (False: gone, after Flatten or Unfold)
    spatial: bool = True

    @property
    def count(self) -> int:
        return int(self.seen.sum())

    @property
    def padding_read(self) -> int:
        return int(self.read.sum()) - int(self.read[self.top:self.top + self.rows,
                                                    self.left:self.left + self.cols].sum())

    def padding_cells(self) -> tuple[int, int, int, int]:
        """top, bottom, left, right: padding cells shown around the grid."""
        h, w = self.read.shape
        return self.top, h - self.top - self.rows, self.left, w - self.left - self.cols


@record
class Dependence:
    entry: str
    unit: tuple[int, int] | None  # the chosen unit (row, column; row 0 in 1-D), None: the whole output
    axes: int  # drawn axes: 2, or 1 for a 1-D network
    tensors: tuple[Tensor, ...]  # network input first, the entry last
    notes: tuple[str, ...] = ()


def _fail(message: str, where: str = "--rf") -> ConvcalcError:
    return ConvcalcError(message, Location(where))


def spatial_count(rows) -> int:
    for row in rows:
        if row.receptive_field is not None:
            return len(row.receptive_field.size)
    return 0


def trace(analysis, entry: str, at: str | None = None) -> Dependence:
    """The positions the unit `at` (default: the centre) of row `entry` depends on."""
    rows = analysis.layers
    k = spatial_count(rows)
    if k == 0:
        raise _fail("expected an input with spatial axes to draw a receptive field on; got "
                    f"{'x'.join(map(str, analysis.input_shape))}", "--input")
    by_name = {r.name: r for r in rows}
    drawn = (-2, -1) if k >= 2 else (-1,)
    maps: dict[str, dict[int, int]] = {INPUT: {a: d for d, a in enumerate((-2, -1)) if a in drawn}}
    shapes: dict[str, tuple[int, ...]] = {INPUT: tuple(analysis.input_shape)}
    effects = {}
    for row in rows:
        effect = row.layer.rf_effect(list(row.input_shapes), row.output_shape)
        effects[row.name] = effect
        base = max(range(len(row.inputs)), key=lambda i: len(row.input_shapes[i])) if effect.merge else 0
        src = maps[row.inputs[base]]
        if effect.remap is None:
            maps[row.name] = {a: d for a, d in src.items() if -a <= len(row.output_shape)}
        else:
            maps[row.name] = {o: src[i] for o, i in effect.remap.items() if i in src}
        shapes[row.name] = tuple(row.output_shape)

    target = by_name[entry]
    unit = _unit(at, target.name, shapes[entry], maps[entry])
    need: dict[str, _Need] = {}
    lengths = {n: _lengths(shapes[n], maps[n]) for n in shapes}
    _check_size(lengths, shapes)
    seed = np.zeros(lengths[entry], dtype=bool)
    if unit is None:
        seed[:] = True
    else:
        seed[unit] = True
    need[entry] = _Need(seed)
    order = list(rows[:rows.index(target) + 1])  # rows come in dependency order
    for row in reversed(order):
        found = need.get(row.name)
        if found is None:
            continue
        effect = effects[row.name]
        box = _box(found.seen)
        if box is None:
            continue
        seen = found.seen[box[0][0]:box[0][1], box[1][0]:box[1][1]]
        for i, ref in enumerate(row.inputs):
            mats = [_axis(row, effect, i, d, maps, shapes, ref, box[d]) for d in (0, 1)]
            ext = _apply(mats[0][0], seen, mats[1][0])
            dep = _apply(mats[0][1], seen, mats[1][1])
            lo = (mats[0][2], mats[1][2])
            if not ext.any():  # this input reaches none of the positions: not on a path
                continue
            need.setdefault(ref, _Need(np.zeros(lengths[ref], dtype=bool))).add(dep, ext, lo)

    tensors = []
    for name in [INPUT] + [r.name for r in order]:
        found = need.get(name)
        if found is None:
            continue
        spatial = all(a in maps[name] for a in drawn)
        rows_, cols_ = lengths[name]
        read, top, left = found.grid()
        label = "input" if name == INPUT else by_name[name].type
        chosen = unit if name == entry else None
        tensors.append(Tensor(name, label, shapes[name], rows_, cols_, found.seen, read, top, left,
                              chosen, spatial))  # type: ignore[arg-type]
    types = [by_name[t.name].type for t in tensors if t.name != INPUT]
    notes = []
    if "PixelUnshuffle" in types and "PixelShuffle" in types[types.index("PixelUnshuffle"):]:
        notes.append("between PixelUnshuffle and PixelShuffle the sets are united over channels: they can "
                     "hold positions that only other channels of a unit read (an upper bound there)")
    return Dependence(entry, unit, len(drawn), tuple(tensors), tuple(notes))


def _lengths(shape: tuple[int, ...], mapping: dict[int, int]) -> tuple[int, int]:
    """The tensor's sizes along drawn axes 0 and 1 (1 where it does not carry one)."""
    inverse = {d: a for a, d in mapping.items()}
    return tuple(shape[inverse[d]] if d in inverse else 1 for d in (0, 1))  # type: ignore[return-value]


def _unit(at: str | None, entry: str, shape, mapping) -> tuple[int, int] | None:
    inverse = {d: a for a, d in mapping.items()}
    axes = [d for d in (0, 1) if d in inverse]
    sizes = [shape[inverse[d]] for d in axes]
    if not axes:
        if at is not None:
            raise _fail(f"expected no --at: the output of {entry!r} ({'x'.join(map(str, shape))}) has no "
                        "spatial axes left, so its units see what the whole output sees", "--at")
        return None
    if 0 in sizes:
        raise _fail(f"expected an entry with output units; {entry!r} has none ({'x'.join(map(str, shape))})")
    if at is None:
        pos = [n // 2 for n in sizes]
    else:
        try:
            pos = [int(v) for v in at.replace("x", ",").split(",")]
        except ValueError:
            raise _fail(f"expected integers i,j; got {at!r}", "--at") from None
        if len(pos) != len(sizes):
            raise _fail(f"expected {len(sizes)} index(es) for the spatial axes of {entry!r} "
                        f"({'x'.join(map(str, sizes))}); got {at!r}", "--at")
        if not all(0 <= p < n for p, n in zip(pos, sizes)):
            raise _fail(f"expected a unit inside the output of {entry!r} ({'x'.join(map(str, sizes))}); "
                        f"got {at!r}", "--at")
    full = [0, 0]
    for d, p in zip(axes, pos):
        full[d] = p
    return tuple(full)  # type: ignore[return-value]


class _Need:
    """What the unit reads of one tensor: in-range positions, and every read cell on a grid
    grown to take in the padding (origin at -lo)."""

    def __init__(self, seen: np.ndarray):
        self.seen = seen
        self.ext = seen.copy()
        self.lo = (0, 0)

    def add(self, dep: np.ndarray, ext: np.ndarray, lo: tuple[int, int]) -> None:
        self.seen |= dep
        new_lo = (min(self.lo[0], lo[0]), min(self.lo[1], lo[1]))
        hi = (max(self.lo[0] + self.ext.shape[0], lo[0] + ext.shape[0]),
              max(self.lo[1] + self.ext.shape[1], lo[1] + ext.shape[1]))
        grown = np.zeros((hi[0] - new_lo[0], hi[1] - new_lo[1]), dtype=bool)
        for arr, at in ((self.ext, self.lo), (ext, lo)):
            r, c = at[0] - new_lo[0], at[1] - new_lo[1]
            grown[r:r + arr.shape[0], c:c + arr.shape[1]] |= arr
        self.ext, self.lo = grown, new_lo

    def grid(self) -> tuple[np.ndarray, int, int]:
        r, c = -self.lo[0], -self.lo[1]
        h, w = self.seen.shape
        self.ext[r:r + h, c:c + w] |= self.seen  # folded padding reads real positions
        return self.ext, r, c


def _apply(rows: np.ndarray, seen: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Input cells read by the output cells in `seen`: rows.T @ seen @ cols > 0.  In float32
    BLAS: every term is 0 or 1, so rounding never turns a positive sum into 0."""
    f = np.float32
    return (rows.T.astype(f) @ seen.astype(f) @ cols.astype(f)) > 0


def _box(seen: np.ndarray) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The bounding box of the set (rows, cols as half-open ranges), None when empty: only
    its output units need tap matrices."""
    r, c = np.flatnonzero(seen.any(axis=1)), np.flatnonzero(seen.any(axis=0))
    if not len(r):
        return None
    return (int(r[0]), int(r[-1]) + 1), (int(c[0]), int(c[-1]) + 1)


#: cells of one traced grid, and of one tap matrix (units x input cells): beyond them the
#: dense sets and products need gigabytes and minutes
GRID_LIMIT = 1 << 26
MATRIX_LIMIT = 1 << 25


def _check_size(lengths: dict[str, tuple[int, int]], shapes) -> None:
    for name, (h, w) in lengths.items():
        if h * w > GRID_LIMIT:
            raise _fail(f"expected at most {GRID_LIMIT:,} positions in a traced grid (8192x8192) to draw a "
                        f"receptive field; {name!r} has {h}x{w}: give a smaller input", "--input")


def _axis(row, effect, i: int, d: int, maps, shapes, ref: str, span: tuple[int, int]):
    """Tap matrices (output units x input cells) of input `i` along drawn axis `d`: one
    over the grid grown by the padding (what is read), one over the input's own positions
    (what it depends on), and where the grown grid starts; only the output units in `span`."""
    out_axis = {dd: a for a, dd in maps[row.name].items()}.get(d)
    in_axis = {dd: a for a, dd in maps[ref].items()}.get(d)
    x = shapes[ref]
    n_out = row.output_shape[out_axis] if out_axis is not None else 1
    n_in = x[in_axis] if in_axis is not None else 1
    if in_axis is None:  # not followed in this input: a dummy axis every unit reads
        ones = np.ones((span[1] - span[0], 1), dtype=bool)
        return ones, ones, 0
    if out_axis is None:  # the axis ends here: each unit of the output reads all of it
        ones = np.ones((1, n_in), dtype=bool)
        return ones, ones, 0
    full, outs = n_out, np.arange(*span)
    n_out = len(outs)
    if effect.merge:
        if x[in_axis] == 1 and full > 1:  # broadcast: every unit reads unit 0
            taps = [np.zeros(n_out, dtype=np.int64)]
        elif effect.merge == "concat" and effect.merge_axis == in_axis:
            before = sum(s[in_axis] for s in row.input_shapes[:i])
            taps = [outs - before]
        else:
            taps = [outs]
        return _matrices(n_out, n_in, taps, (0, 0), None)
    step = effect.steps.get(in_axis) if i == 0 else None
    if step is None:
        return _matrices(n_out, n_in, [outs if full == n_in else np.zeros(n_out, dtype=np.int64)], (0, 0), None)
    taps = _taps(step, outs)
    if isinstance(step, TransposedStep):
        return _matrices(n_out, n_in, taps, (0, 0), None)
    if isinstance(step, RatioStep):  # interpolation clamps its source index at the border
        return _matrices(n_out, n_in, np.where(taps == NO_TAP, taps, np.clip(taps, 0, n_in - 1)), (0, 0), None)
    if not isinstance(step, WindowStep):  # the whole axis, or an adaptive window: all inside
        return _matrices(n_out, n_in, taps, (0, 0), None)
    return _matrices(n_out, n_in, taps, _pads(row.layer, step, in_axis), _mode(row.layer))


def _taps(step, outs: np.ndarray) -> np.ndarray:
    """The taps of the output units `outs`: row j holds each unit's j-th tap (-huge: no tap)."""
    if isinstance(step, WindowStep):
        base = outs * step.stride - step.padding
        return base[None, :] + (np.arange(step.kernel) * step.dilation)[:, None]
    found = [step.taps(int(o)) for o in outs]  # one list per output unit, not per pixel
    width = max((len(t) for t in found), default=0)
    cols = np.full((width, len(outs)), NO_TAP, dtype=np.int64)
    for o, t in enumerate(found):
        cols[:len(t), o] = t
    return cols


def _pads(layer, step: WindowStep, axis: int) -> tuple[int, int]:
    """(before, after) padding of the layer along the (negative) input axis."""
    pairs = None
    if hasattr(layer, "pad_pairs"):
        pairs = list(layer.pad_pairs())
    elif hasattr(layer, "pairs") and hasattr(layer, "padded_dims"):
        pairs = list(layer.pairs())
    if pairs and -axis <= len(pairs):
        return pairs[axis]
    return step.padding, step.padding


def _mode(layer) -> str | None:
    mode = getattr(layer, "padding_mode", None) or getattr(layer, "mode", None)
    return {"reflect": "reflect", "Reflection": "reflect", "replicate": "replicate",
            "Replication": "replicate", "circular": "circular", "Circular": "circular"}.get(mode)


def _matrices(n_out: int, n_in: int, taps, pads: tuple[int, int], mode: str | None):
    """`taps`: a 2-D array (or a list of rows), row j the j-th tap of every unit: all taps set
    at once, not a row at a time (an adaptive pool to 3 over 10 M positions has 3.3 M rows)."""
    before, after = max(pads[0], 0), max(pads[1], 0)
    lo, hi = -before, n_in + after
    if n_out * (hi - lo) > MATRIX_LIMIT:
        raise _fail(f"expected at most {MATRIX_LIMIT:,} taps to trace a receptive field through one layer; "
                    f"got {n_out:,} units over {hi - lo:,} positions: give a smaller input", "--input")
    ext = np.zeros((n_out, hi - lo), dtype=bool)
    dep = np.zeros((n_out, n_in), dtype=bool)
    t = np.asarray(taps, dtype=np.int64).reshape(-1, n_out)
    o = np.broadcast_to(np.arange(n_out), t.shape)
    shown = (t >= lo) & (t < hi)
    ext[o[shown], t[shown] - lo] = True
    inside = (t >= 0) & (t < n_in)
    dep[o[inside], t[inside]] = True
    if mode is not None and n_in > 0:
        out = shown & ~inside
        dep[o[out], _fold(t[out], n_in, mode)] = True
    return ext, dep, lo


def _fold(t: np.ndarray, n: int, mode: str) -> np.ndarray:
    """Where a position past the border reads from under `mode` padding."""
    if mode == "circular":
        return t % n
    if mode == "replicate" or n == 1:
        return np.clip(t, 0, n - 1)
    period = 2 * (n - 1)  # reflect without repeating the edge
    t = np.abs(t) % period
    return np.where(t >= n, period - t, t)
