"""Counting conventions: how MACs and FLOPs are counted, one module per convention.

A `Convention` holds one rule per layer family, keyed by class (a subclass is counted
as its base), so a family without a rule is an error that names it, never a silent 0.
A rule is `rule(layer, inputs, output, terms) -> (macs, flops)`; it computes through
`formula.term`, so `explain` prints exactly the arithmetic that was counted.

Adding a convention is a module here that builds a `Convention` and a name in `NAMES`.
"""

from __future__ import annotations

from importlib import import_module
from typing import Callable, Sequence

from ...classtable import ClassTable
from ...errors import ConvcalcError, Location
from ...layers.base import Layer, Shape
from ...layers.formula import Term

Rule = Callable[[Layer, Sequence[Shape], Shape, "list[Term] | None"], tuple[int, int]]

#: the conventions convcalc knows, by the name `--convention` takes
NAMES = ("convcalc", "torchinfo", "ptflops", "fvcore", "thop")
DEFAULT = "convcalc"


class Convention:
    def __init__(self, name: str, summary: str):
        self.name, self.summary = name, summary
        self.rules = ClassTable(f"counting rule in the {name!r} convention")

    def rule(self, *classes: type) -> Callable[[Rule], Rule]:
        """Decorator registering the rule for these layer families."""
        return self.rules.register(*classes)

    def count(self, layer: Layer, inputs: Sequence[Shape], output: Shape,
              terms: list[Term] | None = None) -> tuple[int, int]:
        """(MACs, FLOPs) of one layer on these shapes; `terms` collects the working."""
        return self.rules.lookup(type(layer))(layer, inputs, output, terms)

    def __repr__(self) -> str:
        return f"Convention({self.name!r})"


def get(name: "str | Convention | None" = None) -> Convention:
    """The convention called `name` (the default when None)."""
    if isinstance(name, Convention):
        return name
    name = DEFAULT if name is None else name
    if name not in NAMES:
        raise ConvcalcError(f"unknown convention {name!r}; expected one of {', '.join(NAMES)}",
                            Location("--convention"))
    return import_module(f"{__name__}.{name}").CONVENTION
