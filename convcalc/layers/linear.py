"""Shape plumbing and dense layers: Linear, Flatten, Identity."""

from __future__ import annotations

from typing import Sequence

from ..record import record, replace, set_field
from .base import (ArgumentError, Layer, Parameterless, Pointwise, Shape, as_flag, as_int, check_numel,
                   fmt_shape, positional)
from .formula import Sym, product, term

WEIGHT = Sym("in_features") * Sym("out_features")
OUT_FEATURES = Sym("out_features")


@record
class Linear(Layer):
    in_features: int = positional()
    out_features: int = positional()
    bias: bool = True

    type_name = "Linear"

    def check(self) -> None:
        in_f = as_int("in_features", self.in_features, minimum=0)
        out_f = as_int("out_features", self.out_features, minimum=0)
        check_numel("out_features", (out_f, in_f))  # torch.empty((out_features, in_features))
        set_field(self, "in_features", in_f)
        set_field(self, "out_features", out_f)
        set_field(self, "bias", as_flag("bias", self.bias))

    def derive(self, inputs, terms) -> Shape:
        (x,) = inputs
        if x[-1] != self.in_features:
            raise self.fail(f"expected the last dimension to be in_features={self.in_features}; "
                            f"got shape {fmt_shape(x)}")
        out = term(terms, "features_out", OUT_FEATURES, {"out_features": self.out_features},
                   note=f"the last dim {self.in_features} (in_features) becomes out_features")
        return x[:-1] + (out,)

    def params(self, terms=None) -> int:
        env = {"in_features": self.in_features, "out_features": self.out_features}
        weight = term(terms, "weight", WEIGHT, env)
        return weight + (term(terms, "bias", OUT_FEATURES, env) if self.bias else 0)

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
class Flatten(Parameterless, Layer):
    start_dim: int = 1
    end_dim: int = -1

    type_name = "Flatten"

    def check(self) -> None:
        set_field(self, "start_dim", as_int("start_dim", self.start_dim))
        set_field(self, "end_dim", as_int("end_dim", self.end_dim))

    def _span(self, x: Shape) -> tuple[int, int]:
        start = normalise_dim(self, self.start_dim, len(x), "start_dim")
        end = normalise_dim(self, self.end_dim, len(x), "end_dim")
        if start > end:
            raise self.fail(f"start_dim {self.start_dim} comes after end_dim {self.end_dim} "
                            f"for a {len(x)}-D input")
        return start, end

    def derive(self, inputs, terms) -> Shape:
        (x,) = inputs
        start, end = self._span(x)
        dims = [Sym(f"d{i}", f"dim{i}") for i in range(start, end + 1)]
        env = {f"d{i}": x[i] for i in range(start, end + 1)}
        merged = term(terms, f"dim{start}_out", product(dims), env,
                      note=f"dims {start}..{end} multiplied into one")
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
class Identity(Parameterless, Pointwise, Layer):
    type_name = "Identity"

    def derive(self, inputs, terms) -> Shape:
        return inputs[0]


@record
class LazyLinear(Layer):
    """LazyLinear: in_features comes from the first input."""

    template: Linear = None  # type: ignore[assignment]

    type_name = "LazyLinear"
    wrapper = True

    @classmethod
    def of(cls, **arguments) -> "LazyLinear":
        return cls(Linear(in_features=0, **arguments))

    def check(self) -> None:
        if not isinstance(self.template, Linear):
            raise ArgumentError("template", f"expected a Linear; got {self.template!r}")

    def spec(self) -> str:
        return "Lazy" + self.template.spec()  # in_features=0, as PyTorch prints it

    def resolve(self, inputs: Sequence[Shape]) -> Layer:
        return replace(self.template, in_features=inputs[0][-1])
