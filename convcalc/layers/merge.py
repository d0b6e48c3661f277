"""Merges of several inputs: Add, Mul (broadcasting, like torch.add/mul) and Concat."""

from __future__ import annotations

from typing import Sequence

from ..record import record, set_field
from .base import Layer, Parameterless, Pointwise, Shape, as_choice, as_int, fmt_shape
from .formula import Sym, term
from .linear import normalise_dim


def broadcast(layer: Layer, shapes: Sequence[Shape]) -> Shape:
    rank = max(len(s) for s in shapes)
    out = []
    for i in range(rank):
        sizes = {s[len(s) - rank + i] for s in shapes if len(s) - rank + i >= 0}
        sizes.discard(1)
        if len(sizes) > 1:
            shown = " and ".join(fmt_shape(s) for s in shapes)
            raise layer.fail(f"cannot broadcast shapes {shown}")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def _check_inputs(layer: Layer, inputs: Sequence[Shape]) -> None:
    if len(inputs) < 2:
        raise layer.fail(f"needs at least two inputs; got {len(inputs)}")


@record
class ElementwiseMerge(Parameterless, Pointwise, Layer):
    op: str = "Add"

    arity = None
    min_inputs = 2

    @property
    def name(self) -> str:
        return self.op

    def check(self) -> None:
        as_choice("op", self.op, ("Add", "Mul"))

    def derive(self, inputs, terms) -> Shape:
        _check_inputs(self, inputs)
        return broadcast(self, inputs)

    def rf_effect(self, inputs, output):
        from .rf import RFEffect
        return RFEffect({}, merge="broadcast")

    def spec(self) -> str:
        return f"{self.op}()"


@record
class Concat(Parameterless, Pointwise, Layer):
    dim: int = 1

    arity = None
    type_name = "Concat"

    def check(self) -> None:
        set_field(self, "dim", as_int("dim", self.dim))

    def derive(self, inputs, terms) -> Shape:
        first = inputs[0]  # torch.cat of a single tensor is allowed
        dim = normalise_dim(self, self.dim, len(first))
        for s in inputs:
            if len(s) != len(first) or any(a != b for i, (a, b) in enumerate(zip(s, first)) if i != dim):
                shown = " and ".join(fmt_shape(x) for x in inputs)
                raise self.fail(f"shapes {shown} must match except in dim {self.dim}")
        parts = [Sym(f"s{i}", f"dim{dim}_in{i + 1}") for i in range(len(inputs))]
        total = parts[0]
        for p in parts[1:]:
            total = total + p
        size = term(terms, f"dim{dim}_out", total, {f"s{i}": s[dim] for i, s in enumerate(inputs)},
                    note=f"sizes along dim {self.dim} add up")
        return first[:dim] + (size,) + first[dim + 1:]

    def rf_effect(self, inputs, output):
        from .rf import RFEffect
        rank = len(inputs[0])
        return RFEffect({}, merge="concat", merge_axis=self.dim % rank - rank)
