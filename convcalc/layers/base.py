"""What every layer is, and the argument checks the families share.

A layer is a frozen record built from a PyTorch constructor call.  It knows its
output shape rule, its parameter count and its receptive-field step; counting
conventions (MACs, FLOPs) live in `convcalc.analysis.counting`.
"""

from __future__ import annotations

from ..record import field, fields, record
from typing import TYPE_CHECKING, ClassVar, Sequence

from ..errors import IncompatibleInputError, LayerConfigError

if TYPE_CHECKING:
    from .rf import RFEffect

Shape = tuple[int, ...]


class ArgumentError(LayerConfigError):
    """A bad constructor argument; `param` lets the parser point at its column."""

    def __init__(self, param: str, message: str):
        super().__init__(message)
        self.param = param


@record
class Layer:
    """Base class. Subclasses are frozen records whose fields are PyTorch's arguments."""

    type_name: ClassVar[str] = "Layer"
    #: how many inputs the layer takes; None for any number >= 1 (merges)
    arity: ClassVar[int | None] = 1

    @property
    def name(self) -> str:
        return self.type_name

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        """The output shape for these input shapes, or IncompatibleInputError."""
        raise NotImplementedError

    def param_count(self) -> int:
        """Learnable parameters (PyTorch's `sum(p.numel() for p in m.parameters())`)."""
        return 0

    def rf_effect(self, inputs: Sequence[Shape], output: Shape) -> "RFEffect":
        """How this layer maps output indices to input indices, per spatial axis."""
        from .rf import IDENTITY
        return IDENTITY

    def spatial_ndim(self, shape: Shape) -> int | None:
        """How many trailing axes of `shape` this layer treats as spatial (None: no opinion)."""
        return None

    def notes(self, inputs: Sequence[Shape], output: Shape) -> list[str]:
        """Warnings for a user who is likely to be surprised; never errors."""
        return []

    def resolve(self, inputs: Sequence[Shape]) -> "Layer":
        """The concrete layer for these inputs (Lazy* layers take in_channels from here)."""
        return self

    def expand(self) -> list[tuple[str, "Layer"]]:
        """Sub-layers for convenience blocks (SeparableConv2d); a plain layer is itself."""
        return [("", self)]

    def spec(self) -> str:
        """A PyTorch-style expression for this layer, keywords only where not default."""
        parts = []
        for f in fields(self):
            if not f.repr:
                continue
            value = getattr(self, f.name)
            if f.metadata.get("positional"):
                parts.append(_fmt(value))
                continue
            default = f.metadata.get("unless", f.default)
            if isinstance(value, tuple) and not isinstance(default, tuple):
                default = (default,) * len(value)
            if f.metadata.get("always") or value != default:
                parts.append(f"{f.name}={_fmt(value)}")
        return f"{self.name}({', '.join(parts)})"

    def fail(self, message: str) -> IncompatibleInputError:
        return IncompatibleInputError(f"{self.name}: {message}")


def _fmt(value: object) -> str:
    if isinstance(value, tuple):
        inner = ", ".join(_fmt(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


def fmt_shape(shape: Sequence[int]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


# ---------------------------------------------------------------- argument checks

def as_int(param: str, value: object, *, minimum: int | None = None, what: str = "an integer") -> int:
    """An int argument (bools count, as in PyTorch); `minimum` bounds it."""
    if not isinstance(value, int):
        raise ArgumentError(param, f"{param} must be {what}; got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        bound = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ArgumentError(param, f"{param} must be {bound}; got {value}")
    return value


def ntuple(param: str, value: object, n: int, *, minimum: int | None = None) -> tuple[int, ...]:
    """An int or a tuple of n ints, as PyTorch's `_ntuple` reads them."""
    if isinstance(value, tuple):
        if len(value) != n or not all(isinstance(v, int) for v in value):
            raise ArgumentError(param, f"{param} must be an integer or a tuple of {n} integers; "
                                       f"got {_fmt(value)}")
        items = tuple(int(v) for v in value)
    elif isinstance(value, int):
        items = (int(value),) * n
    else:
        raise ArgumentError(param, f"{param} must be an integer or a tuple of {n} integers; "
                                   f"got {value!r}")
    if minimum is not None:
        for v in items:
            if v < minimum:
                bound = "positive" if minimum == 1 else f">= {minimum}"
                raise ArgumentError(param, f"{param} must be {bound}; got {_fmt(value)}")
    return items


def as_bool(param: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ArgumentError(param, f"{param} must be True or False; got {value!r}")


def as_float(param: str, value: object) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and value in ("inf", "-inf", "nan"):
        return float(value)
    raise ArgumentError(param, f"{param} must be a number; got {value!r}")


def as_choice(param: str, value: object, choices: Sequence[str]) -> str:
    if isinstance(value, str) and value in choices:
        return value
    allowed = ", ".join(repr(c) for c in choices)
    raise ArgumentError(param, f"{param} must be one of {allowed}; got {value!r}")


def check_rank(layer: Layer, shape: Shape, allowed: Sequence[int], unbatched: int | None = None) -> None:
    """Refuse an input whose rank PyTorch refuses, naming the accepted ranks."""
    if len(shape) in allowed:
        return
    words = []
    for r in allowed:
        tag = " (unbatched)" if r == unbatched else (" (batched)" if unbatched is not None else "")
        words.append(f"{r}-D{tag}")
    expected = " or ".join(words)
    raise layer.fail(f"expected a {expected} input; got shape {fmt_shape(shape)}")


def positional(**kw):
    """A field PyTorch prints positionally (`Conv2d(3, 64, ...)`)."""
    return field(metadata={"positional": True}, **kw)


def tuple_arg(unless: object = None, *, always: bool = False):
    """A per-axis tuple field, printed unless every entry equals `unless` (or `always`)."""
    return field(default=(), metadata={"unless": unless, "always": always})
