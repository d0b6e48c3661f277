"""Normalisation: BatchNorm (inference view: running statistics are buffers, not parameters),
GroupNorm, LayerNorm, InstanceNorm and LocalResponseNorm."""

from __future__ import annotations

import math

from ..record import field, record, replace, set_field
from .base import (INT64_MAX, ArgumentError, Layer, Parameterless, Pointwise, Shape, as_flag, as_float, as_int,
                   check_numel, check_rank, fmt_shape, positional)
from .formula import Expr, Sym, term
from .rf import AxisStep, RFEffect

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


# ---------------------------------------------------------------- normalisation by the input's own statistics
#
# GroupNorm, LayerNorm and InstanceNorm (without running statistics) normalise with a
# mean and variance computed from the input itself, over the whole normalised extent, so
# every position of that extent can influence every output unit (CONTRACT section 4's
# definition of a receptive field): on those axes each unit reads the whole axis, and the
# region no longer moves from unit to unit.



@record
class WholeAxis(AxisStep):
    """Every output unit reads the whole axis of `size` units: statistics taken over it.

    Unlike `GlobalStep` (a layer whose output axis vanishes or is replaced), the output
    keeps the axis and all its units read the same region, so the region does not move
    (`period_in` 0: stride 0), and no later layer can widen it beyond the whole axis."""

    size: int

    period_in = 0  # type: ignore[assignment]

    def taps(self, o: int) -> range:  # type: ignore[override]
        return range(self.size)

    def bounds(self, o: int) -> tuple[int, int] | None:
        return (0, self.size - 1) if self.size > 0 else None


def whole_axes(x: Shape, axes: range) -> RFEffect:
    """The statistics' index map: each of `axes` (non-negative, of `x`) read whole."""
    return RFEffect({a - len(x): WholeAxis(x[a]) for a in axes})


def _feature_count(param: str, value: object, sizes_tensors: bool) -> object:
    """num_channels / num_features. PyTorch sizes tensors with it when there are weights
    or running statistics (then an integer >= 0, not a bool); otherwise it is only
    compared with the input, and any number passes the constructor."""
    if sizes_tensors:
        if isinstance(value, bool):
            raise ArgumentError(param, f"{param} must be an integer; got {value!r}")
        return as_int(param, value, minimum=0)
    if isinstance(value, float):
        return value
    return as_int(param, value)


def _real(param: str, value: object) -> float:
    """A float argument of these families: PyTorch's functional ops take bools and ints
    for it too (`eps=True` is 1.0), but no strings (as_float's bare `inf`/`nan`, which
    print(model) writes for such values, aside)."""
    return as_float(param, float(value) if isinstance(value, bool) else value)


def _affine_params(terms, count: Expr, env: dict, bias: bool) -> int:
    weight = term(terms, "weight (γ)", count, env)
    return weight + (term(terms, "bias (β)", count, env) if bias else 0)


CHANNELS = Sym("num_channels")


@record
class GroupNorm(Layer):
    num_groups: int = positional()
    num_channels: int = positional()
    eps: float = 1e-05
    affine: bool = True
    bias: bool = True  # keyword-only in PyTorch

    type_name = "GroupNorm"

    def check(self) -> None:
        if isinstance(self.num_groups, bool):
            raise ArgumentError("num_groups", f"num_groups must be an integer; got {self.num_groups!r}")
        groups = as_int("num_groups", self.num_groups, minimum=1)
        set_field(self, "num_groups", groups)
        for flag in ("affine", "bias"):
            set_field(self, flag, as_flag(flag, getattr(self, flag)))
        set_field(self, "eps", _real("eps", self.eps))
        channels = _feature_count("num_channels", self.num_channels, self.affine)
        if channels % groups:
            raise ArgumentError("num_channels", f"num_channels ({channels}) must be divisible by "
                                                f"num_groups ({groups})")
        set_field(self, "num_channels", channels)

    def spatial_ndim(self, shape: Shape) -> int:
        return len(shape) - 2

    def derive(self, inputs, terms) -> Shape:
        (x,) = inputs
        if len(x) < 2:
            raise self.fail(f"expected an input with at least 2 dims (N, C, ...); got shape {fmt_shape(x)}")
        n, c, g = x[0], x[1], self.num_groups
        # PyTorch checks this in eval() too: each group's statistics need more than one value
        if (n * c // g) * math.prod(x[2:]) == 1:
            raise self.fail(f"each group's statistics need more than 1 value; got shape {fmt_shape(x)} "
                            f"with num_groups={g}")
        if c % g:
            raise self.fail(f"expected channels (dim 1) divisible by num_groups={g}; got shape {fmt_shape(x)}")
        if self.affine and c != self.num_channels:
            raise self.fail(f"expected input with {self.num_channels} channels (dim 1); got shape {fmt_shape(x)}")
        return x

    def params(self, terms=None) -> int:
        if not self.affine:
            return 0
        return _affine_params(terms, CHANNELS, {"num_channels": self.num_channels}, self.bias)

    def rf_effect(self, inputs, output):
        x = inputs[0]
        return whole_axes(x, range(2, len(x)))


NORMALIZED = Sym("normalized", "prod(normalized_shape)")


@record
class LayerNorm(Layer):
    normalized_shape: tuple[int, ...] = positional()
    eps: float = 1e-05
    elementwise_affine: bool = True
    bias: bool = True

    type_name = "LayerNorm"

    def check(self) -> None:
        shape = self.normalized_shape
        items = shape if isinstance(shape, tuple) else (shape,)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in items):
            raise ArgumentError("normalized_shape", "normalized_shape must be an integer or a tuple of "
                                                    f"integers; got {shape!r}")
        if not items:
            raise ArgumentError("normalized_shape", "normalized_shape must have at least one entry; got ()")
        for v in items:
            as_int("normalized_shape", v, minimum=0)
        set_field(self, "normalized_shape", tuple(items))
        set_field(self, "eps", _real("eps", self.eps))
        for flag in ("elementwise_affine", "bias"):
            set_field(self, flag, as_flag(flag, getattr(self, flag)))

    def derive(self, inputs, terms) -> Shape:
        (x,) = inputs
        k = len(self.normalized_shape)
        if len(x) < k or tuple(x[-k:]) != self.normalized_shape:
            trailing = "*, " + ", ".join(str(d) for d in self.normalized_shape)
            raise self.fail(f"expected an input of shape [{trailing}] (normalized_shape "
                            f"{_tuple_text(self.normalized_shape)} are its last dims); got shape {fmt_shape(x)}")
        return x

    def params(self, terms=None) -> int:
        if not self.elementwise_affine:
            return 0
        env = {"normalized": math.prod(self.normalized_shape)}
        return _affine_params(terms, NORMALIZED, env, self.bias)

    def rf_effect(self, inputs, output):
        x = inputs[0]
        return whole_axes(x, range(len(x) - len(self.normalized_shape), len(x)))


def _tuple_text(values: tuple[int, ...]) -> str:
    return f"({values[0]},)" if len(values) == 1 else "(" + ", ".join(map(str, values)) + ")"


@record
class InstanceNormNd(Layer):
    num_features: int = positional()
    eps: float = 1e-05
    momentum: float | None = 0.1
    affine: bool = False
    track_running_stats: bool = False
    bias: bool = True  # keyword-only in PyTorch
    ndim: int = field(default=2, repr=False)

    @property
    def name(self) -> str:
        return f"InstanceNorm{self.ndim}d"

    def check(self) -> None:
        for flag in ("affine", "track_running_stats", "bias"):
            set_field(self, flag, as_flag(flag, getattr(self, flag)))
        set_field(self, "eps", _real("eps", self.eps))
        if self.momentum is not None:
            set_field(self, "momentum", _real("momentum", self.momentum))
        set_field(self, "num_features", _feature_count("num_features", self.num_features,
                                                       self.affine or self.track_running_stats))

    def spatial_ndim(self, shape: Shape) -> int:
        return self.ndim

    def derive(self, inputs, terms) -> Shape:
        (x,) = inputs
        n = self.ndim
        check_rank(self, x, (n + 1, n + 2), unbatched=n + 1)
        channels = x[-n - 1]  # PyTorch: dim 1, or dim 0 of an unbatched input
        if channels != self.num_features:
            if self.affine:
                raise self.fail(f"expected input with {self.num_features} channels; got {channels} "
                                f"channels in shape {fmt_shape(x)}")
            if self.track_running_stats:
                raise self.fail(f"running statistics hold {self.num_features} channels; got {channels} "
                                f"channels in shape {fmt_shape(x)}")
        if self.affine and math.prod(x[:-n]) == 0:
            # PyTorch repeats the weight once per instance (N × C copies) and its kernel
            # indexes the first copy, so no instance at all has nothing to index
            raise self.fail(f"affine=True needs at least 1 instance (N × C); got shape {fmt_shape(x)}")
        if not self.track_running_stats and math.prod(x[-n:]) == 1:
            raise self.fail("instance statistics need more than 1 spatial element; got shape "
                            f"{fmt_shape(x)} (track_running_stats=True would use running statistics)")
        return x

    def params(self, terms=None) -> int:
        if not self.affine:
            return 0
        return _affine_params(terms, FEATURES, {"num_features": self.num_features}, self.bias)

    def buffers(self, terms=None) -> int:
        if not self.track_running_stats:
            return 0
        return term(terms, "buffers", RUNNING, {"num_features": self.num_features},
                    note="running mean and var, num_batches_tracked: state, not parameters")

    def rf_effect(self, inputs, output):
        if self.track_running_stats:  # eval() normalises with the running statistics
            from .rf import IDENTITY
            return IDENTITY
        x = inputs[0]
        return whole_axes(x, range(len(x) - self.ndim, len(x)))

    def notes(self, inputs, output) -> list[str]:
        x = inputs[0]
        n = self.ndim
        channels = x[-n - 1]
        if channels != self.num_features:
            return [f"{self.name}: {channels} channels but num_features={self.num_features}: PyTorch "
                    "warns and ignores num_features (it is unused with affine=False and "
                    "track_running_stats=False)"]
        if self.track_running_stats and math.prod(x[-n:]) == 1:
            return [f"{self.name}: one spatial element per channel: fine in eval() with running "
                    "statistics, but PyTorch refuses it in training mode"]
        return []


LRN_COST = Sym("size") + 5


@record
class LocalResponseNorm(Parameterless, Pointwise, Layer):
    """Normalises each value by the squares of `size` neighbouring channels at the same
    position: a channel window, so spatially pointwise."""

    size: int = positional()
    alpha: float = 0.0001
    beta: float = 0.75
    k: float = 1.0

    type_name = "LocalResponseNorm"

    def check(self) -> None:
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise ArgumentError("size", f"size must be an integer; got {self.size!r}")
        set_field(self, "size", as_int("size", self.size))
        for key in ("alpha", "beta", "k"):
            value = getattr(self, key)
            # mul/add/pow take them as Scalars: an int must fit in int64 or uint64; a float
            # is kept as a double (1e300 passes)
            if isinstance(value, int) and not isinstance(value, bool) and not -2**63 <= value < 2**64:
                raise ArgumentError(key, f"{key} must be an integer from -2**63 to 2**64-1 or a float; "
                                         f"got {value!r}")
            set_field(self, key, _real(key, value))

    def spatial_ndim(self, shape: Shape) -> int:
        return len(shape) - 2

    def derive(self, inputs, terms) -> Shape:
        (x,) = inputs
        if len(x) < 3:
            raise self.fail(f"expected an input with at least 3 dims (N, C, ...); got shape {fmt_shape(x)}")
        if math.prod(x) and self.size < 1:  # PyTorch returns an empty input untouched
            raise self.fail(f"size must be a positive integer (the channel window); got {self.size}")
        # PyTorch pads the squares with size - 1 channels (size // 2 before, (size - 1) // 2
        # after) into a new float32 tensor, whose channel count and byte size must fit in 64 bits
        padded = x[1] + self.size - 1
        if math.prod(x) and (padded > INT64_MAX or 4 * padded * (math.prod(x) // x[1]) > INT64_MAX):
            raise self.fail(f"the squares padded by size - 1 channels must fit in 64-bit sizes; got "
                            f"size={self.size} for shape {fmt_shape(x)}")
        return x
