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

import math
from typing import TYPE_CHECKING, ClassVar, Sequence

from ..errors import IncompatibleInputError, LayerConfigError, quote, shorten
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
        out = self.derive(inputs, None)
        check_output_size(self, out)
        return out

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


def check_output_size(layer: Layer, shape: Shape) -> None:
    """Refuse an output PyTorch cannot hold: a size beyond 64 bits, or more bytes (float32,
    its default dtype) than a 64-bit size counts (torch's storage-size check)."""
    count = 1
    for size in shape:
        count *= size
    if count * 4 > INT64_MAX or any(size > INT64_MAX for size in shape):
        raise layer.fail(f"the output {shorten(fmt_shape(shape), 80)} would hold more elements than "
                         "PyTorch's 64-bit sizes can count")


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
#
# PyTorch's modules keep most arguments as given and its operators check them at the
# first forward; these helpers refuse at construction exactly the values one of those
# refuses (recorded against torch in tests/fixtures/torch_args.json):
#   - an int argument of an operator takes an int, not a bool or a float, within 64 bits;
#   - a list-of-ints argument (kernel_size, stride, ...) takes such an int or a tuple
#     of them; the modules' `_ntuple` turns any iterable into a tuple first, so a string
#     becomes a tuple of characters (and '' an empty tuple);
#   - a flag the module tests with `if flag:` takes any value, by its truth;
#   - a number handed to an operator as a Scalar (an activation's slope, a padding value)
#     takes bools, ints from -2**63 to 2**64-1 and floats, which must fit in float32;
#     one handed over as a double (eps, momentum) takes any real number.

#: the largest finite float32, PyTorch's default dtype: Scalars are converted to it
FLOAT32_MAX = 3.4028234663852886e38
_SCALAR_INTS = (-(1 << 63), (1 << 64) - 1)


def _bound(param: str, value: int, minimum: int | None, what: str) -> None:
    if minimum is not None and value < minimum:
        bound = "positive" if minimum == 1 else "non-negative" if minimum == 0 else f">= {minimum}"
        raise ArgumentError(param, f"{param} must be {what}{bound}; got {value}")


def is_int(value: object) -> bool:
    """An int as PyTorch's operators take one: a bool is not."""
    return isinstance(value, int) and not isinstance(value, bool)


def as_int(param: str, value: object, *, minimum: int | None = None, what: str = "an integer",
           bools: bool = False) -> int:
    """An int argument within 64 bits; not a bool, which PyTorch's operators refuse, unless
    `bools` (a module that does arithmetic on the value first turns True into 1)."""
    if not (is_int(value) or bools and isinstance(value, bool)):
        raise ArgumentError(param, f"{param} must be {what}; got {quote(value)}")
    value = int(value)  # type: ignore[arg-type]
    if not -INT64_MAX - 1 <= value <= INT64_MAX:
        raise ArgumentError(param, f"{param} must fit in a 64-bit integer; got {value}")
    if minimum is not None and value < minimum:
        bound = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ArgumentError(param, f"{param} must be {bound}; got {value}")
    return value


def module_tuple(value: object) -> object:
    """What PyTorch's `_ntuple` keeps of an iterable argument: a tuple of its items (a
    string becomes its characters); anything else is kept as it is."""
    if isinstance(value, (tuple, list, str)):
        return tuple(value)
    return value


def is_int_list(value: tuple) -> bool:
    """A tuple PyTorch's parser reads as a list of ints: ints, the first one not a bool
    (the parser tells a list by its first item; a later bool passes as an int)."""
    return all(isinstance(v, int) for v in value) and not (value and isinstance(value[0], bool))


def ntuple(param: str, value: object, n: int, *, minimum: int | None = None,
           expand: bool = False, bools: bool = False) -> tuple[int, ...]:
    """An int or a tuple of n ints, as PyTorch's operators read a list of ints after the
    module's `_ntuple` (an iterable, a string included, becomes a tuple of its items);
    `expand`: a 1-element tuple stands for every axis, as convolution and pooling allow;
    `bools`: bools count as ints (a kernel size that only shapes the weight)."""
    shown = _fmt(value) if isinstance(value, tuple) else quote(value)
    value = module_tuple(value)
    if expand:
        value = expand_one(value, n)
    expected = f"{param} must be an integer or a tuple of {n} integer{'s' if n != 1 else ''}; got {shown}"
    if isinstance(value, tuple):
        ok = all(isinstance(v, int) for v in value) if bools else is_int_list(value)
        if len(value) != n or not ok:
            raise ArgumentError(param, expected)
        items = tuple(int(v) for v in value)
    elif is_int(value) or bools and isinstance(value, bool):
        items = (int(value),) * n  # type: ignore[call-overload]
    else:
        raise ArgumentError(param, expected)
    for v in items:
        if not -INT64_MAX - 1 <= v <= INT64_MAX:
            raise ArgumentError(param, f"{param} must fit in 64-bit integers; got {shown}")
    if minimum is not None:
        for v in items:
            if v < minimum:
                bound = "positive" if minimum == 1 else f">= {minimum}"
                raise ArgumentError(param, f"{param} must be {bound}; got {shown}")
    return items


def as_flag(param: str, value: object) -> bool:
    """A flag PyTorch tests with `if flag:`: any value, by its truth."""
    return bool(value)


def as_bool(param: str, value: object) -> bool:
    """A flag an operator takes as a C++ bool: True or False only (not 0 or 1)."""
    if isinstance(value, bool):
        return value
    raise ArgumentError(param, f"{param} must be True or False; got {quote(value)}")


def as_float(param: str, value: object) -> float:
    """A number an operator takes as a double (eps, momentum, p): any real number; a bool
    counts as 0 or 1, as in Python."""
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:  # an int beyond a double's range
            raise ArgumentError(param, f"{param} must be a number a double can hold; got {quote(value)}") from None
    raise ArgumentError(param, f"{param} must be a number; got {quote(value)}")


def as_scalar(param: str, value: object) -> float:
    """A number an operator takes as a Scalar and applies to a float32 tensor (a slope,
    a padding value): an int within [-2**63, 2**64) or a float that fits in float32."""
    if isinstance(value, int):
        lo, hi = _SCALAR_INTS
        if not lo <= value <= hi:
            raise ArgumentError(param, f"{param} must be an integer from -2**63 to 2**64-1 or a "
                                       f"float; got {quote(value)}")
        return float(value)
    if isinstance(value, float):
        if math.isfinite(value) and abs(value) > FLOAT32_MAX:
            raise ArgumentError(param, f"{param} must fit in a float32 (at most {FLOAT32_MAX:.7g} "
                                       f"in size); got {value!r}")
        return value
    raise ArgumentError(param, f"{param} must be a number; got {quote(value)}")


def as_choice(param: str, value: object, choices: Sequence[str]) -> str:
    if isinstance(value, str) and value in choices:
        return value
    allowed = ", ".join(repr(c) for c in choices)
    raise ArgumentError(param, f"{param} must be one of {allowed}; got {quote(value)}")


def check_numel(param: str, sizes: Sequence[int], what: str = "weight") -> None:
    """A tensor PyTorch allocates at construction: its byte size (float32, 4 bytes an
    element) must fit in 64 bits, or torch's storage-size calculation overflows."""
    count = 1
    for size in sizes:
        count *= size
    if count * 4 > INT64_MAX:
        raise ArgumentError(param, f"expected a {what} whose bytes a 64-bit size can count; got "
                                   f"{fmt_shape(sizes)}, {count:,} float32 elements")


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


def check_non_empty(layer: Layer, shape: Shape, batched: bool, what: str = "every dimension but the batch") -> None:
    """Refuse a zero-size dimension where PyTorch's kernel wants data: every dimension but
    the batch (dim 0 of a batched input), as pooling, padding by reflection or
    replication, and interpolation check."""
    dims = shape[1:] if batched else shape
    if 0 in dims:
        raise layer.fail(f"expected a non-zero size in {what}; got shape {fmt_shape(shape)}")


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
