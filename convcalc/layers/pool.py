"""Pooling: MaxPoolNd, AvgPoolNd and the adaptive pools."""

from __future__ import annotations

from ..record import field, record, set_field
from .base import (ArgumentError, Layer, Parameterless, Shape, _fmt, as_bool, as_flag, as_int, check_non_empty, check_rank, fmt_shape,
                   ntuple, tuple_arg)
from .formula import Sym, term
from .windows import CEIL_LAST_WINDOW, WINDOW, WINDOW_CEIL, axis_name, window_notes


INT32_MAX = (1 << 31) - 1


def _pool_tuple(layer, param: str, value: object, minimum: int | None) -> tuple[int, ...]:
    """kernel_size, stride, padding, dilation as the pooling operators read them: an int or
    a tuple (a 1-tuple repeats for every axis).  Only AvgPool1d passes them through
    `_single` first (so a string becomes its characters); the others hand a string to
    the operator, which refuses it.  Every CPU kernel but max_pool1d's holds them in
    32-bit ints."""
    n = layer.ndim
    if isinstance(value, str) and not (layer.family == "AvgPool" and n == 1):
        raise ArgumentError(param, f"{param} must be an integer or a tuple of {n} integers; got {value!r}")
    items = ntuple(param, value, n, minimum=minimum, expand=True)
    if not (layer.family == "MaxPool" and n == 1) and any(abs(v) > INT32_MAX for v in items):
        raise ArgumentError(param, f"{param} must fit in 32-bit integers (PyTorch's {layer.name} kernel "
                                   f"holds it in one); got {_fmt(items)}")
    return items


@record
class _WindowPool(Parameterless, Layer):
    kernel_size: tuple[int, ...] = field(metadata={"always": True})
    stride: tuple[int, ...] | None = tuple_arg(None, always=True)
    padding: tuple[int, ...] = tuple_arg(0, unless=0)
    ndim: int = field(default=2, repr=False)

    family = "Pool"

    @property
    def name(self) -> str:
        return f"{self.family}{self.ndim}d"

    @property
    def dilations(self) -> tuple[int, ...]:
        return (1,) * self.ndim

    @property
    def ceil(self) -> bool:
        return False

    def check(self) -> None:
        kernel = _pool_tuple(self, "kernel_size", self.kernel_size, None)
        given = self.stride
        # no stride (None, or an empty list for the operator: AvgPool1d makes '' one) is the kernel size
        no_stride = given is None or given == () or (given == "" and self.name == "AvgPool1d")
        stride = kernel if no_stride else _pool_tuple(self, "stride", given, None)
        if any(s == 0 for s in stride):
            raise ArgumentError("stride", f"stride must be positive; got {given if given is not None else kernel!r}"
                                + (" (it defaults to kernel_size)" if given is None else ""))
        for name, vals in (("stride", stride), ("kernel_size", kernel)):
            if any(v <= 0 for v in vals):
                raise ArgumentError(name, f"{name} must be positive; got {vals!r}")
        set_field(self, "kernel_size", kernel)
        set_field(self, "stride", stride)
        set_field(self, "padding", _pool_tuple(self, "padding", self.padding, 0))

    def spatial_ndim(self, shape: Shape) -> int:
        return self.ndim

    def derive(self, inputs, terms) -> Shape:
        (x,) = inputs
        n = self.ndim
        check_rank(self, x, (n + 1, n + 2), unbatched=n + 1)
        check_non_empty(self, x, len(x) == n + 2)
        outs = []
        for i, size in enumerate(x[-n:]):
            a = axis_name(i, n)
            k, s, p, d = self.kernel_size[i], self.stride[i], self.padding[i], self.dilations[i]
            if 2 * p > k:
                raise self.fail(f"padding {p} along {a} must be at most half of the kernel size {k}")
            if 2 * p > d * (k - 1) + 1:
                raise self.fail(f"padding {p} along {a} must be at most half of the "
                                f"effective kernel size {d * (k - 1) + 1}")
            if self.family == "AvgPool" and n == 3 and size < k:
                # avg_pool3d alone checks the unpadded input against the kernel
                raise self.fail(f"input size {size} along {a} is smaller than the kernel "
                                f"size {k} (AvgPool3d does not count padding here)")
            env = {"in": size, "padding": p, "dilation": d, "kernel": k, "stride": s}
            if self.ceil:
                env["ceil"] = term(terms, "{a}_ceil", WINDOW_CEIL, env, a, "ceil_mode rounds up")
                out = term(terms, "{a}_out", CEIL_LAST_WINDOW, env, a,
                           "ceil_mode: the last window must start inside the input or its left padding")
            else:
                out = term(terms, "{a}_out", WINDOW, env, a)
            if out < 1:
                raise self.fail(f"output size along {a} would be {out} for input size "
                                f"{size} (kernel {k}, stride {s}, padding {p}"
                                + (f", dilation {d}" if d != 1 else "") + "): output size is too small")
            outs.append(out)
        if terms is not None:
            term(terms, "C_out", Sym("C_in"), {"C_in": x[-n - 1]}, note="channels unchanged")
        return x[:-n] + tuple(outs)

    def rf_effect(self, inputs, output):
        from .rf import RFEffect, WindowStep
        n = self.ndim
        return RFEffect({i - n: WindowStep(self.kernel_size[i], self.stride[i], self.dilations[i],
                                           self.padding[i]) for i in range(n)})

    def notes(self, inputs, output) -> list[str]:
        n = self.ndim
        pads = [(p, p) for p in self.padding]
        return window_notes(self, inputs[0][-n:], output[-n:], self.kernel_size, self.stride,
                            self.dilations, pads)


@record
class MaxPoolNd(_WindowPool):
    dilation: tuple[int, ...] = tuple_arg(1, unless=1, always=True)
    return_indices: bool = False
    ceil_mode: bool = field(default=False, metadata={"always": True})

    family = "MaxPool"

    @property
    def dilations(self) -> tuple[int, ...]:
        return self.dilation

    @property
    def ceil(self) -> bool:
        return self.ceil_mode

    def check(self) -> None:
        super().check()
        set_field(self, "dilation", _pool_tuple(self, "dilation", self.dilation, 1))
        set_field(self, "return_indices", as_flag("return_indices", self.return_indices))
        set_field(self, "ceil_mode", as_bool("ceil_mode", self.ceil_mode))


@record
class AvgPoolNd(_WindowPool):
    ceil_mode: bool = False
    count_include_pad: bool = True
    divisor_override: int | None = None

    family = "AvgPool"

    @property
    def ceil(self) -> bool:
        return self.ceil_mode

    def check(self) -> None:
        super().check()
        div = self.divisor_override
        if div is not None:
            div = as_int("divisor_override", div)
            if div == 0:
                raise ArgumentError("divisor_override", "divisor_override must not be zero")
        set_field(self, "divisor_override", div)
        set_field(self, "ceil_mode", as_bool("ceil_mode", self.ceil_mode))
        set_field(self, "count_include_pad", as_bool("count_include_pad", self.count_include_pad))


@record
class AdaptivePoolNd(Parameterless, Layer):
    #: as given: an int, or a tuple whose None entries keep the input size
    output_size: int | tuple[int | None, ...] = field(metadata={"always": True})
    return_indices: bool = False
    ndim: int = field(default=2, repr=False)
    kind: str = field(default="Avg", repr=False)

    @property
    def name(self) -> str:
        return f"Adaptive{self.kind}Pool{self.ndim}d"

    @property
    def sizes(self) -> tuple[int | None, ...]:
        size = self.output_size
        return size if isinstance(size, tuple) else (size,) * self.ndim

    def check(self) -> None:
        n, size = self.ndim, self.output_size
        if self.kind not in ("Avg", "Max"):
            raise ArgumentError("kind", f"kind must be 'Avg' or 'Max'; got {self.kind!r}")
        if size is None:
            raise ArgumentError("output_size", f"output_size must be an integer or a tuple of {n}; got None")
        items = self.sizes
        # a list of ints for the operator (None entries become the input's sizes first)
        if isinstance(size, bool) or items and isinstance(items[0], bool):
            raise ArgumentError("output_size", f"output_size must be an integer or a tuple of {n} integers; "
                                               f"got {size!r}")
        if len(items) != n:
            raise ArgumentError("output_size", f"output_size must be an integer or a tuple of {n}; got {size!r}")
        for v in items:
            if v is None and n == 1:
                raise ArgumentError("output_size", f"output_size of Adaptive{self.kind}Pool1d must be an "
                                                   f"integer; got {size!r}")
            if v is not None and (not isinstance(v, int) or v < 0):
                raise ArgumentError("output_size", f"output_size entries must be integers >= 0 or None; "
                                                   f"got {size!r}")
            if v is not None:
                as_int("output_size", int(v))
        set_field(self, "return_indices", as_flag("return_indices", self.return_indices))

    def spatial_ndim(self, shape: Shape) -> int:
        return self.ndim

    def derive(self, inputs, terms) -> Shape:
        (x,) = inputs
        n = self.ndim
        # PyTorch's shortcut: a mean over the last axes, for any rank that has them (a
        # tuple output_size is first checked against the rank, an int is not)
        given_as_tuple = isinstance(self.output_size, tuple)
        if not (self.kind == "Avg" and n > 1 and len(x) >= n + (1 if given_as_tuple else 0)
                and all((size if o is None else o) == 1 for o, size in zip(self.sizes, x[-n:]))):
            check_rank(self, x, (n + 1, n + 2), unbatched=n + 1)
        self.check_non_empty(x)
        outs = []
        for i, (o, size) in enumerate(zip(self.sizes, x[-n:])):
            a = axis_name(i, n)
            if o is None:
                outs.append(term(terms, "{a}_out", Sym("in", "{a}_in"), {"in": size}, a,
                                 "output_size None keeps the input size"))
            else:
                outs.append(term(terms, "{a}_out", Sym("output_size"), {"output_size": o}, a,
                                 f"window i covers [floor(i×{size}/{o}), ceil((i+1)×{size}/{o}))"
                                 + (": " + ", ".join(f"[{lo}, {hi})" for lo, hi in self.windows(size, o))
                                    if 0 < o <= 8 else "")))
        return x[:-n] + tuple(outs)

    def check_non_empty(self, x: Shape) -> None:
        """PyTorch's zero-size checks: none when an average to 1×…×1 is a mean; the last two
        axes for 1-D and 2-D average pooling (its kernel is 2-D); otherwise every axis
        but the first, even of an unbatched input."""
        n = self.ndim
        resolved = [size if o is None else o for o, size in zip(self.sizes, x[-n:])]
        if self.kind == "Avg" and all(o == 1 for o in resolved):
            return
        dims = x[-n:] if self.kind == "Avg" and n < 3 else x[1:]
        if 0 in dims:
            which = "spatial dimension" if self.kind == "Avg" and n < 3 else "dimension but the first"
            raise self.fail(f"expected a non-zero size in every {which}; got shape {fmt_shape(x)}")

    def rf_effect(self, inputs, output):
        from fractions import Fraction

        from .rf import GlobalStep, RatioStep, RFEffect
        n = self.ndim
        steps = {}
        for i, (size, out) in enumerate(zip(inputs[0][-n:], output[-n:])):
            if out == 1:  # one window over the whole axis
                steps[i - n] = GlobalStep(size)
            elif out > 0 and size != out:
                steps[i - n] = RatioStep(Fraction(size, out), "adaptive")
        return RFEffect(steps)

    def windows(self, size: int, out: int) -> list[tuple[int, int]]:
        """PyTorch's adaptive windows: [floor(o*in/out), ceil((o+1)*in/out))."""
        return [((o * size) // out, -((-(o + 1) * size) // out)) for o in range(out)]
