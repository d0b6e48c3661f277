"""Receptive fields, composed exactly along the graph.

For each spatial axis of the network input we keep, per tensor, a map from an output
unit `u` to the first and last network-input positions that can influence it (None
when none can).  The map is periodic: `region(u + period) = region(u) + shift`, so a
table of `period` entries describes it whole, and composing a layer costs
`period * taps`, independent of the input size.  This handles fractional strides
(up-sampling, transposed convolutions) and units no input reaches, where the
textbook recurrence `r += (k-1)*d*j` does not.
"""

from __future__ import annotations

import math
from ..record import record
from fractions import Fraction
from typing import Sequence

from ..layers.rf import AxisStep, RFEffect

#: composite periods beyond this are not tabulated (the receptive field is then unknown)
MAX_PERIOD = 1 << 16

Region = tuple[int, int] | None


class PeriodTooLarge(Exception):
    """The composed index map repeats only after more than MAX_PERIOD units."""


@record
class AxisRF:
    period: int  # output units per period
    shift: int  # input positions the region moves per period
    table: tuple[Region, ...]  # regions of units 0 .. period-1

    @classmethod
    def identity(cls) -> "AxisRF":
        return cls(1, 1, ((0, 0),))

    def region(self, unit: int) -> Region:
        q, r = divmod(unit, self.period)
        found = self.table[r]
        if found is None:
            return None
        return (found[0] + q * self.shift, found[1] + q * self.shift)

    def then(self, step: AxisStep) -> "AxisRF":
        """This map followed by one more layer's step."""
        # After m periods of the step, its taps have moved a whole number of our periods.
        m = self.period // math.gcd(step.period_in, self.period)
        period = m * step.period_out
        if period > MAX_PERIOD:
            raise PeriodTooLarge(period)
        shift = (m * step.period_in // self.period) * self.shift
        if self.ordered:
            # Regions never move backwards as the unit index grows, so the union over a
            # window is spanned by its first and last taps: no need to list them.
            table = tuple(self._span(step.bounds(o)) for o in range(period))
        else:
            table = tuple(_union(self.region(u) for u in step.taps(o)) for o in range(period))
        return AxisRF(period, shift, table)

    @property
    def ordered(self) -> bool:
        """Every unit is reached and both ends of its region are non-decreasing in the unit
        index. Not so after a dilated transposed convolution: with stride 3 and dilation 2,
        output 1 reads input -1 (1 = 3·(-1) + 2·2) while output 0 reads input 0.
        (Computed once per map: composing a long chain asks it at every layer.)"""
        known = self.__dict__.get("_ordered")
        if known is None:
            known = self._is_ordered()
            object.__setattr__(self, "_ordered", known)
        return known

    def _is_ordered(self) -> bool:
        table = self.table
        if len(table) == 1:
            first = table[0]
            return first is not None and self.shift >= 0
        regions = list(table) + [self.region(self.period)]
        if any(r is None for r in regions):
            return False
        return all(a[0] <= b[0] and a[1] <= b[1] for a, b in zip(regions, regions[1:]))  # type: ignore[index]

    def _span(self, bounds: tuple[int, int] | None) -> Region:
        if bounds is None:
            return None
        first, last = self.region(bounds[0]), self.region(bounds[1])
        return (first[0], last[1])  # type: ignore[index]

    @classmethod
    def merge(cls, maps: Sequence["AxisRF"]) -> "AxisRF":
        """A unit of a merge (Add, Concat, ...) sees what any of its inputs sees."""
        if len(maps) == 1:
            return maps[0]
        period = math.lcm(*(m.period for m in maps))
        if period > MAX_PERIOD:
            raise PeriodTooLarge(period)
        shift = maps[0].shift * (period // maps[0].period)
        table = tuple(_union(m.region(o) for m in maps) for o in range(period))
        return cls(period, shift, table)

    @property
    def size(self) -> int:
        """Largest extent over all units, first to last position inclusive."""
        return max((r[1] - r[0] + 1 for r in self.table if r is not None), default=0)

    @property
    def stride(self) -> Fraction:
        return Fraction(self.shift, self.period)

    @property
    def start(self) -> int | None:
        first = self.table[0]
        return None if first is None else first[0]


def _union(regions) -> Region:
    lo = hi = None
    for r in regions:
        if r is None:
            continue
        lo = r[0] if lo is None else min(lo, r[0])
        hi = r[1] if hi is None else max(hi, r[1])
    return None if lo is None else (lo, hi)


@record
class RFState:
    """Receptive fields of one tensor: one map per network-input spatial axis, and which
    tensor axis (negative index) still follows which network axis."""

    axes: tuple[AxisRF, ...]
    mapping: dict[int, int]

    @classmethod
    def network_input(cls, spatial_dims: int) -> "RFState":
        return cls((AxisRF.identity(),) * spatial_dims,
                   {i - spatial_dims: i for i in range(spatial_dims)})

    def apply(self, effect: RFEffect, out_rank: int) -> "RFState":
        axes = list(self.axes)
        for tensor_axis, step in effect.steps.items():
            dim = self.mapping.get(tensor_axis)
            if dim is not None:
                axes[dim] = axes[dim].then(step)
        if effect.remap is None:
            mapping = {a: d for a, d in self.mapping.items() if -a <= out_rank}
        else:
            mapping = {out: self.mapping[src] for out, src in effect.remap.items() if src in self.mapping}
        return RFState(tuple(axes), mapping)

    @classmethod
    def merge(cls, states: Sequence["RFState"]) -> "RFState":
        if len(states) == 1:
            return states[0]
        axes = tuple(AxisRF.merge([s.axes[d] for s in states]) for d in range(len(states[0].axes)))
        return cls(axes, states[0].mapping)
