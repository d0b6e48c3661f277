"""Batch normalisation (inference view: running statistics are buffers, not parameters)."""

from __future__ import annotations

from ..record import field, record, replace, set_field
from .base import (ArgumentError, Layer, Pointwise, Shape, as_flag, as_float, as_int, check_numel, check_rank,
                   fmt_shape, positional)
from .formula import Sym, term

FEATURES = Sym("num_features")
#: running_mean and running_var, plus the num_batches_tracked counter
RUNNING = 2 * FEATURES + 1


@record
class BatchNormNd(Pointwise, Layer):
    num_features: int = positional()
    eps: float = 1e-05
    momentum: float | None = 0.1
    affine: bool = True
    track_running_stats: bool = True
    bias: bool = True
    ndim: int = field(default=2, repr=False)

    @property
    def name(self) -> str:
        return f"BatchNorm{self.ndim}d"

    def check(self) -> None:
        for flag in ("affine", "track_running_stats", "bias"):  # the module tests them with `if`
            set_field(self, flag, as_flag(flag, getattr(self, flag)))
        if self.affine or self.track_running_stats:  # torch.empty(num_features) for either
            num = as_int("num_features", self.num_features, minimum=0)
            check_numel("num_features", (num,), "running statistics")
            set_field(self, "num_features", num)
        # F.batch_norm takes eps and momentum as doubles, and refuses a negative eps
        eps = as_float("eps", self.eps)
        if eps < 0:
            raise ArgumentError("eps", f"eps must be non-negative; got {self.eps!r}")
        set_field(self, "eps", eps)
        if self.momentum is not None:
            set_field(self, "momentum", as_float("momentum", self.momentum))

    def spatial_ndim(self, shape: Shape) -> int:
        return len(shape) - 2

    def derive(self, inputs, terms) -> Shape:
        (x,) = inputs
        ranks = {1: (2, 3), 2: (4,), 3: (5,)}[self.ndim]
        check_rank(self, x, ranks)
        if x[1] == 0:  # PyTorch's kernel indexes channel 0
            raise self.fail(f"expected at least 1 channel (dim 1); got shape {fmt_shape(x)}")
        # Without weights or running statistics PyTorch has nothing to check the channels against.
        if (self.affine or self.track_running_stats) and x[1] != self.num_features:
            raise self.fail(f"expected input with {self.num_features} channels (dim 1); "
                            f"got shape {fmt_shape(x)}")
        if not self.track_running_stats and self.eps <= 0:
            raise self.fail(f"track_running_stats=False normalises with batch statistics, which need a "
                            f"positive eps; got {self.eps!r}")
        if not self.track_running_stats and self._values_per_channel(x) == 1:
            raise self.fail("track_running_stats=False normalises with batch statistics, which "
                            f"need more than 1 value per channel; got shape {fmt_shape(x)}")
        return x

    @staticmethod
    def _values_per_channel(x: Shape) -> int:
        count = 1
        for i, d in enumerate(x):
            if i != 1:
                count *= d
        return count

    def params(self, terms=None) -> int:
        if not self.affine:
            return 0
        env = {"num_features": self.num_features}
        weight = term(terms, "weight (γ)", FEATURES, env)
        return weight + (term(terms, "bias (β)", FEATURES, env) if self.bias else 0)

    def buffers(self, terms=None) -> int:
        if not self.track_running_stats:
            return 0
        return term(terms, "buffers", RUNNING, {"num_features": self.num_features},
                    note="running mean and var, num_batches_tracked: state, not parameters")

    def notes(self, inputs, output) -> list[str]:
        if self._values_per_channel(inputs[0]) == 1:
            return [f"{self.name}: one value per channel: fine in eval(), but PyTorch refuses it "
                    f"in training mode"]
        return []


@record
class LazyBatchNorm(Layer):
    """LazyBatchNormNd: num_features comes from the input's dim 1."""

    template: BatchNormNd = None  # type: ignore[assignment]

    wrapper = True

    @classmethod
    def of(cls, **arguments) -> "LazyBatchNorm":
        return cls(BatchNormNd(num_features=1, **arguments))

    @property
    def name(self) -> str:
        return "Lazy" + self.template.name

    def check(self) -> None:
        if not isinstance(self.template, BatchNormNd):
            raise ArgumentError("template", f"expected a BatchNormNd; got {self.template!r}")

    def spatial_ndim(self, shape: Shape) -> int:
        return len(shape) - 2

    def spec(self) -> str:
        # PyTorch prints a lazy batch norm with num_features=0 in front
        return "Lazy" + self.template.spec().replace(f"({self.template.num_features}", "(0", 1)

    def resolve(self, inputs) -> Layer:
        x = inputs[0]
        if len(x) < 2:
            raise self.fail(f"expected an input with a channel dim; got shape {fmt_shape(x)}")
        return replace(self.template, num_features=x[1])
