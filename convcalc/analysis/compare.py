"""`convcalc compare`: every counting convention's MACs side by side, per layer.

The graph is walked once (shapes, under convcalc's own convention); each row is then
counted under every convention, with the working, so that each count that differs
from convcalc's comes with the reason its rule gives (the note of its `MACs` term).
A count its rule marks as a miscount (a transposed convolution over output positions,
an operation counted twice) is flagged as such, not shown as one more valid convention.
"""

from __future__ import annotations

from typing import Sequence

from ..record import record
from . import conventions
from .conventions.common import MISCOUNT, is_miscount
from .graph import Graph, walk


@record
class Difference:
    """One convention's count of one layer, where it is not convcalc's."""

    convention: str
    macs: int
    delta: int  # this count minus convcalc's
    reason: str
    miscount: bool

    def to_dict(self) -> dict:
        return {"convention": self.convention, "macs": self.macs, "delta": self.delta, "reason": self.reason,
                "miscount": self.miscount}


@record
class ComparedLayer:
    index: int
    name: str
    type: str
    spec: str
    output_shape: tuple[int, ...]
    macs: tuple[int, ...]  # one per convention, in Comparison.conventions' order
    differences: tuple[Difference, ...]

    def to_dict(self, names: Sequence[str]) -> dict:
        return {"index": self.index, "name": self.name, "type": self.type, "spec": self.spec,
                "output_shape": list(self.output_shape), "macs": dict(zip(names, self.macs)),
                "differences": [d.to_dict() for d in self.differences]}


@record
class Comparison:
    input_shape: tuple[int, ...]
    conventions: tuple[str, ...]  # the reference (convcalc) first
    layers: tuple[ComparedLayer, ...]
    totals: tuple[int, ...]
    warnings: tuple[str, ...] = ()

    @property
    def reference(self) -> str:
        return self.conventions[0]

    def differing(self) -> list[ComparedLayer]:
        return [layer for layer in self.layers if layer.differences]

    def to_dict(self) -> dict:
        names = self.conventions
        return {"input_shape": list(self.input_shape), "reference": self.reference, "conventions": list(names),
                "layers": [layer.to_dict(names) for layer in self.layers],
                "total": {"macs": dict(zip(names, self.totals))}, "warnings": list(self.warnings)}


def compare(graph: Graph, names: Sequence[str] | None = None) -> Comparison:
    """Count every layer of the graph under each convention (default: all of them,
    convcalc's own first, which the others are compared against)."""
    names = tuple(names or conventions.NAMES)
    counting = [conventions.get(name) for name in names]
    analysis = walk(graph, convention=counting[0])
    layers = []
    for row in analysis.layers:
        counts, notes = [], []
        for convention in counting:
            terms: list = []
            macs, _ = convention.count(row.layer, row.input_shapes, row.output_shape, terms)
            counts.append(macs)
            notes.append(next((t.note for t in terms if t.name == "MACs" and t.note), ""))
        reference = counts[0]
        differences = tuple(
            Difference(name, macs, macs - reference, _reason(note), is_miscount(note))
            for name, macs, note in zip(names[1:], counts[1:], notes[1:]) if macs != reference)
        layers.append(ComparedLayer(row.index, row.name, row.type, row.spec, row.output_shape, tuple(counts),
                                    differences))
    totals = tuple(sum(layer.macs[i] for layer in layers) for i in range(len(names)))
    return Comparison(analysis.input_shape, names, tuple(layers), totals, analysis.warnings)


def _reason(note: str) -> str:
    return note[len(MISCOUNT):] if is_miscount(note) else note
