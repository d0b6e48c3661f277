"""Merges of several inputs: Add, Mul (broadcasting, like torch.add/mul) and Concat."""

from __future__ import annotations

from ..record import record
from typing import Sequence

from .base import Layer, Shape, fmt_shape
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


@record
class ElementwiseMerge(Layer):
    op: str = "Add"

    arity = None

    @property
    def name(self) -> str:
        return self.op

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        if len(inputs) < 2:
            raise self.fail(f"needs at least two inputs; got {len(inputs)} "
                            "(in a chain each layer has one input: use a YAML network with 'from:')")
        return broadcast(self, inputs)

    def spec(self) -> str:
        return f"{self.op}()"


@record
class Concat(Layer):
    dim: int = 1

    arity = None
    type_name = "Concat"

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        first = inputs[0]
        dim = normalise_dim(self, self.dim, len(first))
        total = 0
        for s in inputs:
            if len(s) != len(first) or any(a != b for i, (a, b) in enumerate(zip(s, first)) if i != dim):
                shown = " and ".join(fmt_shape(x) for x in inputs)
                raise self.fail(f"shapes {shown} must match except in dim {self.dim}")
            total += s[dim]
        return first[:dim] + (total,) + first[dim + 1:]
