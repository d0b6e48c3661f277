"""Receptive fields, composed exactly along the graph.

For each spatial axis of the network input we keep, per tensor, a map from an output
unit `u` to the first and last network-input positions that can influence it (None
when none can).  The map is periodic: `region(u + period) = region(u) + shift`, so a
table of `period` entries describes it whole, and composing a layer costs
`period * taps`, independent of the input size.  This handles fractional strides
(up-sampling, transposed convolutions) and units no input reaches, where the
textbook recurrence `r += (k-1)*d*j` does not.

Three refinements keep the maps exact where a single table per axis would not be:

- Channel classes.  PixelUnshuffle moves sub-positions into channels, and PixelShuffle
  moves them back, so between the two, channels of one tensor see different regions.
  An axis then keeps one map per *class* of channels and a row of class ids per channel;
  channel maps (groups, shuffles) transform the rows.  When a PixelShuffle makes the
  region along H depend on the unit's position along W (possible after a grouped
  convolution or a ChannelShuffle between the shuffles), the rows are indexed by that
  unit's residue along the partner axis as well.  Reported values take, at each unit,
  the union over the channels (a unit is a spatial position, all channels).
- Whole axes.  After a layer that sees its whole input along an axis (Linear, Flatten,
  pooling to size 1) every unit sees the same region, also units a later layer reads
  from its padding: a constant map (period 1, shift 0), which no later layer widens.
- Long periods.  Beyond MAX_PERIOD units a map is not tabulated but evaluated unit by
  unit on demand; its size is then the largest over the first SAMPLE units.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Callable, Iterable, Sequence

from ..layers.rf import (AxisStep, ChannelPermutation, Groups, PixelShuffleMap, RatioStep, RFEffect,
                         WindowStep)

#: composite periods up to this are tabulated; longer ones are evaluated on demand
MAX_PERIOD = 1 << 16
#: units whose regions give the size of a map whose period is longer than MAX_PERIOD
SAMPLE = 4096
#: class rows (residues along a partner axis) beyond this are merged (an upper bound)
MAX_ROWS = 4096

Region = tuple[int, int] | None


def _union(regions: Iterable[Region]) -> Region:
    lo = hi = None
    for r in regions:
        if r is None:
            continue
        if lo is None:
            lo, hi = r
        else:
            lo, hi = min(lo, r[0]), max(hi, r[1])
    return None if lo is None else (lo, hi)


# ------------------------------------------------------------------ one periodic map


class AxisMap:
    """unit -> region, with region(u + period) = region(u) + shift."""

    __slots__ = ("period", "shift", "_ordered")

    def region(self, unit: int) -> Region:  # pragma: no cover - interface
        raise NotImplementedError

    @property
    def stride(self) -> Fraction:
        return Fraction(self.shift, self.period)

    @property
    def start(self) -> int | None:
        first = self.region(0)
        return None if first is None else first[0]

    def units(self) -> range:
        """The units whose regions describe the map: a period, or the first SAMPLE units."""
        return range(self.period)

    @property
    def size(self) -> int:
        """Largest extent over all units, first to last position inclusive."""
        return max((r[1] - r[0] + 1 for r in map(self.region, self.units()) if r is not None), default=0)

    @property
    def ordered(self) -> bool:
        return False

    def hull(self, units: int) -> Region:
        """The union of the regions of units 0 .. units-1."""
        lo = hi = None
        for r in range(min(units, len(self.units()))):
            found = self.region(r)
            if found is None:
                continue
            last = (units - 1 - r) // self.period * self.shift  # the last unit of this residue
            a, b = min(found[0], found[0] + last), max(found[1], found[1] + last)
            lo, hi = (a, b) if lo is None else (min(lo, a), max(hi, b))
        return None if lo is None else (lo, hi)

    def then(self, step: AxisStep | None) -> "AxisMap":
        """This map followed by one more layer's step."""
        if step is None:
            return self
        if step.whole:
            return Table(1, 0, (self.hull(step.size),))
        # After m periods of the step, its taps have moved a whole number of our periods.
        m = self.period // math.gcd(step.period_in, self.period)
        period = m * step.period_out
        shift = (m * step.period_in // self.period) * self.shift
        if self.ordered:
            # Regions never move backwards as the unit index grows, so the union over a
            # window is spanned by its first and last taps: no need to list them.
            return build(period, shift, lambda o: self._span(step.bounds(o)))
        return build(period, shift, lambda o: _union(self.region(u) for u in step.taps(o)))

    def _span(self, bounds: tuple[int, int] | None) -> Region:
        if bounds is None:
            return None
        first, last = self.region(bounds[0]), self.region(bounds[1])
        return (first[0], last[1])  # type: ignore[index]

    def constant(self) -> "AxisMap":
        """Every unit sees what unit 0 sees (a size-1 axis broadcast by a merge)."""
        return Table(1, 0, (self.region(0),))


class Table(AxisMap):
    """A map tabulated over one period."""

    __slots__ = ("table",)

    def __init__(self, period: int, shift: int, table: tuple[Region, ...]):
        self.period, self.shift, self.table = period, shift, table
        self._ordered: bool | None = None

    def region(self, unit: int) -> Region:
        q, r = divmod(unit, self.period)
        found = self.table[r]
        if found is None:
            return None
        return (found[0] + q * self.shift, found[1] + q * self.shift)

    @property
    def size(self) -> int:
        return max((r[1] - r[0] + 1 for r in self.table if r is not None), default=0)

    @property
    def ordered(self) -> bool:
        """Every unit is reached and both ends of its region are non-decreasing in the unit
        index. Not so after a dilated transposed convolution: with stride 3 and dilation 2,
        output 1 reads input -1 (1 = 3·(-1) + 2·2) while output 0 reads input 0.
        (Computed once per map: composing a long chain asks it at every layer.)"""
        if self._ordered is None:
            self._ordered = self._is_ordered()
        return self._ordered

    def _is_ordered(self) -> bool:
        table = self.table
        if len(table) == 1:
            return table[0] is not None and self.shift >= 0
        regions = list(table) + [self.region(self.period)]
        if any(r is None for r in regions):
            return False
        return all(a[0] <= b[0] and a[1] <= b[1] for a, b in zip(regions, regions[1:]))  # type: ignore[index]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Table) and (self.period, self.shift, self.table) == (
            other.period, other.shift, other.table)

    def __hash__(self) -> int:
        return hash((self.period, self.shift, self.table))

    def __repr__(self) -> str:
        return f"Table({self.period}, {self.shift}, {self.table!r})"


class Lazy(AxisMap):
    """A map whose period is too long to tabulate: each residue's region is computed on
    first use (and kept)."""

    __slots__ = ("fn", "memo")

    def __init__(self, period: int, shift: int, fn: Callable[[int], Region]):
        self.period, self.shift, self.fn = period, shift, fn
        self.memo: dict[int, Region] = {}
        self._ordered = False

    def region(self, unit: int) -> Region:
        q, r = divmod(unit, self.period)
        memo = self.memo
        if r in memo:
            found = memo[r]
        else:
            found = memo[r] = self.fn(r)
        if found is None:
            return None
        return (found[0] + q * self.shift, found[1] + q * self.shift)

    def units(self) -> range:
        return range(min(self.period, SAMPLE))

    def __repr__(self) -> str:
        return f"Lazy({self.period}, {self.shift})"


def build(period: int, shift: int, fn: Callable[[int], Region]) -> AxisMap:
    if period <= MAX_PERIOD:
        return Table(period, shift, tuple(fn(o) for o in range(period)))
    return Lazy(period, shift, fn)


IDENTITY_MAP = Table(1, 1, ((0, 0),))


def union_maps(maps: Sequence[AxisMap], length: int | None = None) -> AxisMap:
    """A unit that reads the same unit of several tensors (channels, merged inputs) sees
    the union of their regions.  Maps of different strides (a whole-axis branch beside a
    local one) have no periodic union: every unit then gets the hull over the tensor's
    `length` units."""
    unique: list[AxisMap] = []
    for m in maps:
        if not any(m is u or m == u for u in unique):
            unique.append(m)
    if len(unique) == 1:
        return unique[0]
    if len({m.stride for m in unique}) == 1:
        period = math.lcm(*(m.period for m in unique))
        shift = unique[0].shift * (period // unique[0].period)
        return build(period, shift, lambda o: _union(m.region(o) for m in unique))
    units = length if length else max(len(m.units()) for m in unique)
    return Table(1, 0, (_union(m.hull(units) for m in unique),))


def _multiplex(maps: Sequence[AxisMap], r: int) -> AxisMap:
    """Unit u reads unit u // r of maps[u % r] (PixelShuffle gathering sub-positions)."""
    if all(m is maps[0] for m in maps):
        return maps[0].then(RatioStep(Fraction(1, r), "nearest"))
    period = math.lcm(*(m.period for m in maps))
    shift = maps[0].shift * (period // maps[0].period)
    return build(r * period, shift, lambda u: maps[u % r].region(u // r))


# ------------------------------------------------------------------ one network axis


class AxisField:
    """The receptive field along one network-input axis, for every unit of one tensor.

    `rows` is None when every channel sees the same map (`maps[0]`); otherwise
    `rows[q][c]` is the index in `maps` of channel c's map at units whose position along
    the `partner` network axis is q modulo len(rows).
    """

    __slots__ = ("maps", "rows", "partner", "length")

    def __init__(self, maps: tuple[AxisMap, ...], rows: tuple[tuple[int, ...], ...] | None = None,
                 partner: int | None = None, length: int | None = None):
        self.maps, self.rows, self.partner, self.length = maps, rows, partner, length

    def __repr__(self) -> str:
        return f"AxisField({self.maps!r}, rows={self.rows!r}, partner={self.partner})"

    def with_length(self, length: int | None) -> "AxisField":
        return AxisField(self.maps, self.rows, self.partner, length)

    def rows_or_uniform(self, channels: int) -> tuple[tuple[int, ...], ...]:
        return self.rows if self.rows is not None else ((0,) * channels,)

    def collapsed(self) -> "AxisField":
        """All channels and partner positions together (a layer that mixes them all)."""
        if self.rows is None:
            return self
        used = sorted({i for row in self.rows for i in row})
        return AxisField((union_maps([self.maps[i] for i in used], self.length),), None, None, self.length)

    def row_maps(self) -> list[AxisMap]:
        """Per partner residue, the map of the union over the channels."""
        if self.rows is None:
            return [self.maps[0]]
        return [union_maps([self.maps[i] for i in sorted(set(row))], self.length) for row in self.rows]

    def summary(self) -> tuple[int, Fraction, int | None]:
        """(size, stride, start) as reported."""
        rows = self.row_maps()
        return max(m.size for m in rows), rows[0].stride, rows[0].start


def _normalized(maps: list[AxisMap], rows: list[tuple[int, ...]], partner: int | None,
                length: int | None) -> AxisField:
    """Equal maps share an id; rows repeat with their shortest period; one class is no class."""
    ids: list[int] = []
    unique: list[AxisMap] = []
    for m in maps:
        for k, u in enumerate(unique):
            if m is u or m == u:
                ids.append(k)
                break
        else:
            ids.append(len(unique))
            unique.append(m)
    new_rows = [tuple(ids[i] for i in row) for row in rows]
    q = len(new_rows)
    for p in range(1, q + 1):
        if q % p == 0 and all(new_rows[i] == new_rows[i % p] for i in range(q)):
            new_rows = new_rows[:p]
            break
    used = sorted({i for row in new_rows for i in row})
    if len(new_rows) == 1 and len(used) == 1:
        return AxisField((unique[used[0]],), None, None, length)
    dense = {old: k for k, old in enumerate(used)}
    return AxisField(tuple(unique[i] for i in used), tuple(tuple(dense[i] for i in row) for row in new_rows),
                     partner if len(new_rows) > 1 else None, length)


class _Classes:
    """New maps keyed by what they are made of, in order of first use."""

    def __init__(self, make: Callable[[object], AxisMap]):
        self.make, self.ids, self.maps = make, {}, []  # type: ignore[var-annotated]

    def id(self, key: object) -> int:
        found = self.ids.get(key)
        if found is None:
            found = self.ids[key] = len(self.maps)
            self.maps.append(self.make(key))
        return found


def _channel_keys(channels, old_rows: list[tuple[int, ...]], c_in: int, c_out: int) -> list[frozenset]:
    """Per output channel, the set of class ids it reads (over the given old rows)."""
    if isinstance(channels, Groups):
        g = channels.groups
        gin, gout = c_in // g, c_out // g
        keys = []
        for k in range(g):
            found = frozenset(row[c] for row in old_rows for c in range(k * gin, (k + 1) * gin))
            keys.extend([found] * gout)
        return keys
    if isinstance(channels, ChannelPermutation):
        g = channels.groups
        n = c_in // g
        return [frozenset(row[(k % g) * n + k // g] for row in old_rows) for k in range(c_out)]
    return [frozenset(row[c] for row in old_rows) for c in range(c_out)]


# ------------------------------------------------------------------ one tensor


class RFState:
    """Receptive fields of one tensor: one field per network-input spatial axis, which
    tensor axis (negative index) still follows which network axis, and which tensor
    axis holds the channels that class rows refer to."""

    __slots__ = ("axes", "mapping", "channel_axis")

    def __init__(self, axes: tuple[AxisField, ...], mapping: dict[int, int], channel_axis: int | None = None):
        self.axes, self.mapping, self.channel_axis = axes, mapping, channel_axis

    @classmethod
    def network_input(cls, spatial_dims: int, shape: Sequence[int] | None = None) -> "RFState":
        rank = len(shape) if shape is not None else spatial_dims + 1
        lengths = list(shape[-spatial_dims:]) if shape is not None and spatial_dims else [None] * spatial_dims
        return cls(tuple(AxisField((IDENTITY_MAP,), length=n) for n in lengths),
                   {i - spatial_dims: i for i in range(spatial_dims)},
                   -spatial_dims - 1 if rank > spatial_dims else None)

    def summary(self) -> list[tuple[int, Fraction, int | None]]:
        return [f.summary() for f in self.axes]

    @property
    def has_classes(self) -> bool:
        return any(f.rows is not None for f in self.axes)

    def _tensor_axis(self) -> dict[int, int]:
        return {d: a for a, d in self.mapping.items()}

    # -- one layer

    def apply(self, effect: RFEffect, inputs: Sequence[Sequence[int]], output: Sequence[int]) -> "RFState":
        x = inputs[0]
        fields = list(self.axes)
        channel_axis = self.channel_axis
        cmap, lax = effect.channels, effect.channel_axis
        tensor_axis = self._tensor_axis()

        shuffle = isinstance(cmap, PixelShuffleMap) and -3 not in self.mapping and \
            -2 in self.mapping and -1 in self.mapping and len(x) >= 3
        if self.has_classes:
            mismatch = (cmap is not None and lax != channel_axis) or (
                cmap is None and channel_axis is not None and -channel_axis <= min(len(x), len(output))
                and x[channel_axis] != output[channel_axis]) or (
                isinstance(cmap, PixelShuffleMap) and not shuffle)
            if mismatch:
                fields = [f.collapsed() for f in fields]

        # the mapping after this layer, and the length of each network axis in the output
        if effect.remap is None:
            mapping = {a: d for a, d in self.mapping.items() if -a <= len(output)}
            new_channel_axis = channel_axis if channel_axis is not None and -channel_axis <= len(output) else None
        else:
            mapping = {out: self.mapping[src] for out, src in effect.remap.items() if src in self.mapping}
            new_channel_axis = next((out for out, src in effect.remap.items() if src == channel_axis), None)
            if new_channel_axis is None:
                fields = [f.collapsed() for f in fields]
        lengths = {d: output[a] for a, d in mapping.items()}

        if shuffle:
            r = cmap.factor  # type: ignore[union-attr]
            dh, dw = self.mapping[-2], self.mapping[-1]
            if cmap.unshuffle:  # type: ignore[union-attr]
                new_h = _unshuffle(fields[dh], True, r, x[-3], lengths[dh], dw)
                new_w = _unshuffle(fields[dw], False, r, x[-3], lengths[dw], dh)
            else:
                new_h = _shuffle(fields[dh], True, r, output[-3], lengths[dh], dw)
                new_w = _shuffle(fields[dw], False, r, output[-3], lengths[dw], dh)
            fields[dh], fields[dw] = new_h, new_w
            return RFState(tuple(f if d in (dh, dw) else f.with_length(lengths.get(d, f.length))
                                 for d, f in enumerate(fields)), mapping, -3)

        c_in = x[channel_axis] if channel_axis is not None and -channel_axis <= len(x) else 1
        c_out = output[new_channel_axis] if new_channel_axis is not None else 1
        new_fields = []
        for d, f in enumerate(fields):
            a = tensor_axis.get(d)
            step = effect.steps.get(a) if a is not None else None
            length = lengths.get(d, f.length)
            if f.rows is None:
                new_fields.append(AxisField((f.maps[0].then(step),), None, None, length))
                continue
            partner_step = None
            if f.partner is not None:
                pa = tensor_axis.get(f.partner)
                if pa is None:  # the partner axis is gone: its residues no longer tell units apart
                    f = f.collapsed()
                    new_fields.append(AxisField((f.maps[0].then(step),), None, None, length))
                    continue
                partner_step = effect.steps.get(pa)
            new_fields.append(_advance(f, step, partner_step, cmap, c_in, c_out, length))
        return RFState(tuple(new_fields), mapping, new_channel_axis)

    # -- merges

    @classmethod
    def merge(cls, states: Sequence["RFState"], inputs: Sequence[Sequence[int]], effect: RFEffect,
              output: Sequence[int]) -> "RFState":
        """A unit of a merge sees what it reads of every input: a size-1 axis that a merge
        broadcasts gives every unit its unit 0; a concatenation along the channels keeps
        each input's channel classes; otherwise the regions are united."""
        base = max(range(len(states)), key=lambda i: len(inputs[i]))
        mapping, channel_axis = states[base].mapping, states[base].channel_axis
        tensor_axis = states[base]._tensor_axis()
        parts: list[list[AxisField]] = []
        for st, shape in zip(states, inputs):
            fields = []
            own = st._tensor_axis()
            for d, f in enumerate(st.axes):
                a = own.get(d)
                if a is not None and (-a > len(shape) or shape[a] == 1) and output[a] > 1:
                    f = AxisField(tuple(m.constant() for m in f.maps), f.rows, f.partner, f.length)
                if f.partner is not None:
                    pa = own.get(f.partner)
                    if pa is not None and (-pa > len(shape) or shape[pa] == 1) and output[pa] > 1:
                        f = AxisField(f.maps, f.rows[:1], None, f.length)  # type: ignore[index]
                fields.append(f)
            parts.append(fields)

        by_channel = channel_axis is not None and all(
            st.channel_axis == channel_axis and len(s) == len(output) for st, s in zip(states, inputs))
        concat = effect.merge == "concat" and by_channel and effect.merge_axis == channel_axis
        broadcast = effect.merge == "broadcast" and by_channel
        axes = []
        for d in range(len(states[0].axes)):
            a = tensor_axis.get(d)
            length = output[a] if a is not None else parts[base][d].length
            fields = [p[d].with_length(length) for p in parts]
            if not any(f.rows is not None for f in fields) and not concat:
                axes.append(AxisField((union_maps([f.maps[0] for f in fields], length),), None, None, length))
                continue
            partners = {f.partner for f in fields if f.partner is not None}
            if (concat or broadcast) and len(partners) <= 1:
                partner = partners.pop() if partners else None
                axes.append(_merge_channels(fields, inputs, channel_axis,  # type: ignore[arg-type]
                                            output, concat, length, partner))
            else:
                collapsed = [f.collapsed().maps[0] for f in fields]
                axes.append(AxisField((union_maps(collapsed, length),), None, None, length))
        return cls(tuple(axes), dict(mapping), channel_axis)


def _advance(f: AxisField, step: AxisStep | None, partner_step: AxisStep | None, channels,
             c_in: int, c_out: int, length: int | None) -> AxisField:
    """A field with channel classes through a layer: the own axis moves by `step`, the
    partner axis (whose residue selects the row) by `partner_step`, channels by `channels`."""
    rows = f.rows
    assert rows is not None
    q = len(rows)
    if partner_step is None:
        sources: list[list[int]] = [[k] for k in range(q)]
    elif partner_step.whole:
        sources = [list(range(q))]
    else:
        m = q // math.gcd(partner_step.period_in, q)
        q2 = m * partner_step.period_out
        if q2 > MAX_ROWS:
            g = f.collapsed()
            return AxisField((g.maps[0].then(step),), None, None, length)
        sources = [sorted({t % q for t in partner_step.taps(k)}) for k in range(q2)]
        reached = next((s for s in sources if s), list(range(q)))
        # units the partner step gives no input read nothing: they add nothing to the field
        sources = [s or reached for s in sources]
    moved: dict[int, AxisMap] = {}

    def then(i: int) -> AxisMap:
        found = moved.get(i)
        if found is None:
            found = moved[i] = f.maps[i].then(step)
        return found

    classes = _Classes(lambda key: union_maps([then(i) for i in sorted(key)], length))  # type: ignore[arg-type]
    new_rows = []
    for src in sources:
        keys = _channel_keys(channels, [rows[k] for k in src], c_in, c_out)
        new_rows.append(tuple(classes.id(key) for key in keys))
    return _normalized(classes.maps, new_rows, f.partner, length)


def _unshuffle(f: AxisField, own_is_first: bool, r: int, c_in: int, length: int, partner: int) -> AxisField:
    """PixelUnshuffle along one of its two axes: output channel c*r*r + i*r + j at (h, w)
    reads input channel c at (h*r + i, w*r + j).  Along H the own digit is i."""
    rows = f.rows_or_uniform(c_in)
    q = len(rows)
    q2 = q // math.gcd(r, q)
    classes = _Classes(lambda key: f.maps[key[0]].then(WindowStep(1, r, 1, -key[1])))  # type: ignore[index]
    new_rows = []
    for k in range(q2):
        row = []
        for c in range(c_in):
            for i in range(r):
                for j in range(r):
                    own, other = (i, j) if own_is_first else (j, i)
                    row.append(classes.id((rows[(k * r + other) % q][c], own)))
        new_rows.append(tuple(row))
    return _normalized(classes.maps, new_rows, partner, length)


def _shuffle(f: AxisField, own_is_first: bool, r: int, c_out: int, length: int, partner: int) -> AxisField:
    """PixelShuffle along one of its two axes: output (c, y, x) reads input channel
    c*r*r + (y mod r)*r + (x mod r) at (y // r, x // r).  Along H the own digit is y mod r,
    and the channel read depends on x mod r too: the rows follow the partner's residue."""
    rows = f.rows_or_uniform(c_out * r * r)
    q = len(rows)
    classes = _Classes(lambda key: _multiplex([f.maps[i] for i in key], r))  # type: ignore[union-attr]
    new_rows = []
    for k in range(r * q):
        other, old = k % r, rows[(k // r) % q]
        row = []
        for c in range(c_out):
            base = c * r * r
            key = tuple(old[base + (own * r + other if own_is_first else other * r + own)] for own in range(r))
            row.append(classes.id(key))
        new_rows.append(tuple(row))
    return _normalized(classes.maps, new_rows, partner, length)


def _merge_channels(fields: list[AxisField], inputs, channel_axis: int, output, concat: bool,
                    length: int | None, partner: int | None) -> AxisField:
    """Concat along the channels keeps each input's classes; Add/Mul unite, per output
    channel, the channel it reads of each input (channel 0 of a broadcast one)."""
    counts = [s[channel_axis] for s in inputs]
    q = math.lcm(*(len(f.rows) if f.rows is not None else 1 for f in fields))
    if q > MAX_ROWS:
        return AxisField((union_maps([f.collapsed().maps[0] for f in fields], length),), None, None, length)
    maps: list[AxisMap] = []
    offsets = []
    for f in fields:
        offsets.append(len(maps))
        maps.extend(f.maps)
    new_rows = []
    if concat:
        for k in range(q):
            row: list[int] = []
            for f, n, off in zip(fields, counts, offsets):
                own = f.rows_or_uniform(n)
                row.extend(off + i for i in own[k % len(own)])
            new_rows.append(tuple(row))
        return _normalized(maps, new_rows, partner, length)
    classes = _Classes(lambda key: union_maps([maps[i] for i in sorted(key)], length))  # type: ignore[arg-type]
    c_out = output[channel_axis]
    for k in range(q):
        row = []
        for c in range(c_out):
            key = frozenset(off + f.rows_or_uniform(n)[k % len(f.rows_or_uniform(n))][c if n > 1 else 0]
                            for f, n, off in zip(fields, counts, offsets))
            row.append(classes.id(key))
        new_rows.append(tuple(row))
    return _normalized(classes.maps, new_rows, partner, length)
