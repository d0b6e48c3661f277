"""Shape plumbing and dense layers: Linear, Flatten, Identity."""

from __future__ import annotations

from ..record import record, replace
from typing import Sequence

from .base import Layer, Shape, fmt_shape, positional


@record
class Linear(Layer):
    in_features: int = positional()
    out_features: int = positional()
    bias: bool = True

    type_name = "Linear"

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        (x,) = inputs
        if x[-1] != self.in_features:
            raise self.fail(f"expected the last dimension to be in_features={self.in_features}; "
                            f"got shape {fmt_shape(x)}")
        return x[:-1] + (self.out_features,)

    def param_count(self) -> int:
        return self.in_features * self.out_features + (self.out_features if self.bias else 0)

    def rf_effect(self, inputs, output):
        from .rf import GlobalStep, RFEffect
        # Applied to a spatial tensor, Linear mixes the whole last axis.
        return RFEffect({-1: GlobalStep(inputs[0][-1])})

    def spec(self) -> str:
        return f"Linear(in_features={self.in_features}, out_features={self.out_features}, bias={self.bias})"


def normalise_dim(layer: Layer, dim: int, rank: int, what: str = "dim") -> int:
    """PyTorch's wrap of a possibly negative dim, with its range error."""
    lo, hi = -max(rank, 1), max(rank, 1) - 1
    if not lo <= dim <= hi:
        raise layer.fail(f"{what} {dim} is out of range for a {rank}-D input "
                         f"(expected {lo} to {hi})")
    return dim % max(rank, 1)


@record
class Flatten(Layer):
    start_dim: int = 1
    end_dim: int = -1

    type_name = "Flatten"

    def _span(self, x: Shape) -> tuple[int, int]:
        start = normalise_dim(self, self.start_dim, len(x), "start_dim")
        end = normalise_dim(self, self.end_dim, len(x), "end_dim")
        if start > end:
            raise self.fail(f"start_dim {self.start_dim} comes after end_dim {self.end_dim} "
                            f"for a {len(x)}-D input")
        return start, end

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        (x,) = inputs
        start, end = self._span(x)
        merged = 1
        for d in x[start:end + 1]:
            merged *= d
        return x[:start] + (merged,) + x[end + 1:]

    def rf_effect(self, inputs, output):
        from .rf import IDENTITY, GlobalStep, RFEffect
        x = inputs[0]
        start, end = self._span(x)
        if start == end:
            return IDENTITY
        rank, out_rank = len(x), len(output)
        steps = {a - rank: GlobalStep(x[a]) for a in range(start, end + 1)}
        remap = {}
        for a in range(out_rank):
            if a < start:
                remap[a - out_rank] = a - rank
            elif a > start:
                remap[a - out_rank] = a + (end - start) - rank
        return RFEffect(steps, remap)

    def spec(self) -> str:
        return f"Flatten(start_dim={self.start_dim}, end_dim={self.end_dim})"


@record
class Identity(Layer):
    type_name = "Identity"

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        return inputs[0]


@record
class LazyLinear(Layer):
    """LazyLinear: in_features comes from the first input."""

    template: Linear = None  # type: ignore[assignment]

    type_name = "LazyLinear"

    def resolve(self, inputs) -> Layer:
        return replace(self.template, in_features=inputs[0][-1])
