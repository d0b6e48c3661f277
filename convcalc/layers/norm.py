"""Batch normalisation (inference view: running statistics are buffers, not parameters)."""

from __future__ import annotations

from ..record import field, record, replace
from typing import Sequence

from .base import Layer, Shape, check_rank, fmt_shape, positional


@record
class BatchNormNd(Layer):
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

    def spatial_ndim(self, shape: Shape) -> int:
        return len(shape) - 2

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        (x,) = inputs
        ranks = {1: (2, 3), 2: (4,), 3: (5,)}[self.ndim]
        check_rank(self, x, ranks)
        # Without weights or running statistics PyTorch has nothing to check the channels against.
        if (self.affine or self.track_running_stats) and x[1] != self.num_features:
            raise self.fail(f"expected input with {self.num_features} channels (dim 1); "
                            f"got shape {fmt_shape(x)}")
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

    def param_count(self) -> int:
        if not self.affine:
            return 0
        return self.num_features * (2 if self.bias else 1)

    def notes(self, inputs, output) -> list[str]:
        if self._values_per_channel(inputs[0]) == 1:
            return [f"{self.name}: one value per channel: fine in eval(), but PyTorch refuses it "
                    f"in training mode"]
        return []


@record
class LazyBatchNorm(Layer):
    """LazyBatchNormNd: num_features comes from the input's dim 1."""

    template: BatchNormNd = None  # type: ignore[assignment]

    @property
    def name(self) -> str:
        return "Lazy" + self.template.name

    def spatial_ndim(self, shape: Shape) -> int:
        return len(shape) - 2

    def resolve(self, inputs) -> Layer:
        x = inputs[0]
        if len(x) < 2:
            raise self.fail(f"expected an input with a channel dim; got shape {fmt_shape(x)}")
        return replace(self.template, num_features=x[1])
