"""The layer-family protocol: what every family implements, in its own module.

A family is a frozen record whose fields are PyTorch's constructor arguments.  It owns
  - its constructor checks (`check`, run on construction, so a layer built in Python is
    refused exactly as the parsed expression is);
  - its shape rule with the formula terms `explain` prints (`derive`);
  - its parameters and buffers (`params`, `buffers`), as formula terms too;
  - its receptive-field step (`rf_effect`) and the warnings it can raise (`notes`).
Counting conventions (MACs, FLOPs) and numeric kernels are policies keyed by the family
class, registered elsewhere (`analysis.conventions`, `numeric`); tests check that every
registered family has each piece.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Sequence

from ..errors import IncompatibleInputError, LayerConfigError
from ..record import field, fields, record
from .formula import Term

if TYPE_CHECKING:
    from .rf import RFEffect

Shape = tuple[int, ...]

#: PyTorch's integer arguments are 64-bit
INT64_MAX = (1 << 63) - 1


class ArgumentError(LayerConfigError):
    """A bad constructor argument; `param` lets the parser point at its column."""

    def __init__(self, param: str, detail: str, layer: str | None = None):
        super().__init__(f"{layer}: {detail}" if layer else detail)
        self.param, self.detail = param, detail

    def named(self, layer: str) -> "ArgumentError":
        return ArgumentError(self.param, self.detail, layer)


@record
class Layer:
    """Base class. Subclasses are frozen records whose fields are PyTorch's arguments."""

    type_name: ClassVar[str] = "Layer"
    #: how many inputs the layer takes; None for a variable number (merges), at least `min_inputs`
    arity: ClassVar[int | None] = 1
    min_inputs: ClassVar[int] = 1
    #: a wrapper (Lazy*, SeparableConv) becomes concrete layers before it is analysed
    wrapper: ClassVar[bool] = False

    @property
    def name(self) -> str:
        return self.type_name

    # -- construction
    def __post_init__(self) -> None:
        try:
            self.check()
        except ArgumentError as exc:
            raise exc.named(self.name) from None

    def check(self) -> None:
        """Normalise and validate the arguments as PyTorch's constructor does."""

    # -- shape
    def derive(self, inputs: Sequence[Shape], terms: list[Term] | None) -> Shape:
        """The output shape for these input shapes (or IncompatibleInputError); each
        size is computed through `formula.term`, which records the working in `terms`."""
        raise NotImplementedError(f"{type(self).__name__} has no shape rule")

    def output_shape(self, inputs: Sequence[Shape]) -> Shape:
        return self.derive(inputs, None)

    def shape_terms(self, inputs: Sequence[Shape]) -> list[Term]:
        terms: list[Term] = []
        self.derive(inputs, terms)
        return terms

    # -- parameters
    def params(self, terms: list[Term] | None = None) -> int:
        """Learnable parameters (PyTorch's `sum(p.numel() for p in m.parameters())`)."""
        raise NotImplementedError(f"{type(self).__name__} has no parameter count")

    def buffers(self, terms: list[Term] | None = None) -> int:
        """Buffer elements (running statistics): state, not parameters."""
        return 0

    def param_count(self) -> int:
        return self.params(None)

    # -- receptive field and warnings
    def rf_effect(self, inputs: Sequence[Shape], output: Shape) -> "RFEffect":
        """How this layer maps output indices to input indices, per spatial axis."""
        raise NotImplementedError(f"{type(self).__name__} has no receptive-field step")

    def notes(self, inputs: Sequence[Shape], output: Shape) -> list[str]:
        """Warnings for a user who is likely to be surprised; never errors."""
        return []

    def spatial_ndim(self, shape: Shape) -> int | None:
        """How many trailing axes of `shape` this layer treats as spatial (None: no opinion)."""
        return None

    # -- wrappers
    def resolve(self, inputs: Sequence[Shape]) -> "Layer":
        """The concrete layer for these inputs (Lazy* layers take in_channels from here)."""
        return self

    def expand(self) -> list[tuple[str, "Layer"]]:
        """Sub-layers for convenience blocks (SeparableConv2d); a plain layer is itself."""
        return [("", self)]

    # -- printing
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


def protocol_gaps(cls: type) -> list[str]:
    """The protocol pieces a family class leaves to the base class (the exhaustiveness
    test names them): a concrete family needs its own shape rule, parameter count and
    receptive-field step; a wrapper must resolve or expand into concrete layers."""
    if cls.wrapper:
        own = cls.resolve is not Layer.resolve or cls.expand is not Layer.expand
        return [] if own else ["resolve or expand"]
    return [what for what, method in (("shape rule (derive)", "derive"), ("parameter count (params)", "params"),
                                      ("receptive-field step (rf_effect)", "rf_effect"))
            if getattr(cls, method) is getattr(Layer, method)]


class Parameterless:
    """Mixin for families without learnable parameters."""

    def params(self, terms: list[Term] | None = None) -> int:
        return 0


class Pointwise:
    """Mixin for families whose output unit i reads input unit i on every spatial axis."""

    def rf_effect(self, inputs, output):
        from .rf import IDENTITY
        return IDENTITY


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
    if not -INT64_MAX - 1 <= value <= INT64_MAX:
        raise ArgumentError(param, f"{param} must fit in a 64-bit integer; got {value}")
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
    for v in items:
        if not -INT64_MAX - 1 <= v <= INT64_MAX:
            raise ArgumentError(param, f"{param} must fit in 64-bit integers; got {_fmt(value)}")
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


def tuple_arg(default: object = (), *, unless: object = None, always: bool = False):
    """A per-axis tuple field (given as an int or a tuple, stored as a tuple), printed
    unless every entry equals `unless` (or `always`)."""
    return field(default=default, metadata={"unless": unless, "always": always})


def expand_one(value: object, n: int) -> object:
    """PyTorch repeats a 1-element stride/padding/dilation over every spatial axis."""
    if isinstance(value, tuple) and len(value) == 1 and n > 1:
        return value[0]
    return value
