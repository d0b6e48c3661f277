"""Layers that keep the shape: activations and dropout."""

from __future__ import annotations

from ..record import record
from typing import Sequence

from .base import Layer, Shape, check_rank, fmt_shape


@record
class Elementwise(Layer):
    """An activation or dropout. `options` keeps the arguments for display."""

    type: str = "ReLU"
    options: tuple[tuple[str, object], ...] = ()

    @property
    def name(self) -> str:
        return self.type

    def option(self, key: str, default: object = None) -> object:
        return dict(self.options).get(key, default)

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        (x,) = inputs
        if self.type == "Dropout1d":
            check_rank(self, x, (2, 3), unbatched=2)
        elif self.type in ("Softmax", "LogSoftmax") and self.option("dim") is not None:
            dim, rank = self.option("dim"), len(x)
            if not -rank <= dim < rank:  # type: ignore[operator]
                raise self.fail(f"dim {dim} is out of range for a {rank}-D input (expected {-rank} to {rank - 1})")
        return x

    def notes(self, inputs, output) -> list[str]:
        x = inputs[0]
        if self.type in ("Dropout2d", "Dropout3d", "FeatureAlphaDropout") and len(x) < 2:
            return [f"{self.type}: a {len(x)}-D input is accepted in eval() only; in training "
                    "PyTorch needs at least 2 dims"]
        if self.type == "Dropout2d" and len(x) != 4:
            return [f"Dropout2d: a {len(x)}-D input is not the (N, C, H, W) it is meant for; "
                    "PyTorch warns and drops whole channels of it"]
        if self.type == "Dropout3d" and len(x) != 5:
            return [f"Dropout3d: a {len(x)}-D input is not the (N, C, D, H, W) it is meant for; "
                    "PyTorch warns and drops whole channels of it"]
        return []

    def spec(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.options)
        return f"{self.type}({args})"


@record
class PReLU(Layer):
    num_parameters: int = 1
    init: float = 0.25

    type_name = "PReLU"

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        (x,) = inputs
        if self.num_parameters != 1:
            channels = x[1] if len(x) >= 2 else 1  # PyTorch: a 1-D input has one channel
            if channels != self.num_parameters:
                raise self.fail(f"num_parameters={self.num_parameters} must equal the channel "
                                f"count; got shape {fmt_shape(x)}")
        return x

    def param_count(self) -> int:
        return self.num_parameters
