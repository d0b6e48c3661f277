"""Layers that keep the shape: activations and dropout."""

from __future__ import annotations

from ..record import record, set_field
from .base import (ArgumentError, Layer, Parameterless, Pointwise, Shape, as_choice, as_flag, as_float, as_int,
                   as_scalar, check_numel, check_rank, fmt_shape)
from .formula import Sym, term

_FLOAT_OPTIONS = ("negative_slope", "alpha", "beta", "threshold", "min_val", "max_val", "lambd")


@record
class Elementwise(Parameterless, Pointwise, Layer):
    """An activation or dropout: `type` is PyTorch's class name, `options` its arguments
    (kept for display). Counting conventions key their per-element cost on `type`."""

    type: str = "ReLU"
    options: tuple[tuple[str, object], ...] = ()

    @classmethod
    def of(cls, type: str, **options) -> "Elementwise":
        return cls(type, tuple(options.items()))

    @property
    def name(self) -> str:
        return self.type

    def option(self, key: str, default: object = None) -> object:
        return dict(self.options).get(key, default)

    def check(self) -> None:
        if not isinstance(self.type, str) or not self.type:
            raise ArgumentError("type", f"type must be an activation's class name; got {self.type!r}")
        b = dict(self.options)
        name = self.type
        if "Dropout" in name:  # the module compares p with 0 and 1; the operator takes a double
            p = as_float("p", b.get("p", 0.5))
            if not 0 <= p <= 1:
                raise ArgumentError("p", f"dropout probability p must be between 0 and 1; got {b['p']!r}")
        if name == "GELU":
            as_choice("approximate", b.get("approximate", "none"), ("none", "tanh"))
        for key in _FLOAT_OPTIONS:  # handed to the operator as Scalars
            if key in b:
                as_scalar(key, b[key])
        if name == "Hardtanh":  # the module asserts max_val > min_val
            low, high = as_scalar("min_val", b.get("min_val", -1.0)), as_scalar("max_val", b.get("max_val", 1.0))
            if not high > low:
                raise ArgumentError("max_val", f"max_val ({b.get('max_val', 1.0)!r}) must be greater than "
                                               f"min_val ({b.get('min_val', -1.0)!r})")
        if name == "CELU" and as_scalar("alpha", b.get("alpha", 1.0)) == 0:
            raise ArgumentError("alpha", "alpha cannot be 0 for CELU")
        if name in ("Softmax", "LogSoftmax") and b.get("dim") is not None:
            as_int("dim", b["dim"])
        # the modules test inplace with `if inplace:`
        options = tuple((k, as_flag(k, v) if k == "inplace" else v) for k, v in self.options)
        # inplace=False is the default and is not shown
        set_field(self, "options", tuple((k, v) for k, v in options if k != "inplace" or v))

    def derive(self, inputs, terms) -> Shape:
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
class PReLU(Pointwise, Layer):
    num_parameters: int = 1
    init: float = 0.25

    type_name = "PReLU"

    def check(self) -> None:
        # the module allocates torch.empty(num_parameters) and fills it with init (a Scalar)
        num = self.num_parameters
        if isinstance(num, tuple) and len(num) <= 1:  # a shape for torch.empty: () is a scalar weight
            num = num[0] if num and not isinstance(num[0], bool) else 1 if not num else num
        num = as_int("num_parameters", num, minimum=0)
        check_numel("num_parameters", (num,))
        set_field(self, "num_parameters", num)
        set_field(self, "init", as_scalar("init", self.init))

    def derive(self, inputs, terms) -> Shape:
        (x,) = inputs
        if self.num_parameters != 1:
            channels = x[1] if len(x) >= 2 else 1  # PyTorch: a 1-D input has one channel
            if channels != self.num_parameters:
                raise self.fail(f"num_parameters={self.num_parameters} must equal the channel "
                                f"count; got shape {fmt_shape(x)}")
        return x

    def params(self, terms=None) -> int:
        return term(terms, "weight", Sym("num_parameters"), {"num_parameters": self.num_parameters})


@record
class Softmax2d(Parameterless, Pointwise, Layer):
    """Softmax over the channels at each spatial position of a (C, H, W) or (N, C, H, W) input."""

    type_name = "Softmax2d"

    def spatial_ndim(self, shape: Shape) -> int:
        return 2

    def derive(self, inputs, terms) -> Shape:
        (x,) = inputs
        check_rank(self, x, (3, 4), unbatched=3)
        return x
