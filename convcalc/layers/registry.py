"""Names, signatures and aliases: from a parsed call to a layer.

Every class name maps to a `Spec`: PyTorch's parameters in positional order with their
defaults, the family class, and the fixed arguments that pick the variant (`ndim=2`).
The checks live in the family classes themselves; this module only binds arguments.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

from ..dtypes import DTYPE_BYTES
from ..errors import ExpressionError, LayerConfigError, Location
from ..parsing.expr import LayerCall
from ..record import field, record
from .base import ArgumentError, Layer

REQUIRED = object()
ALIASES = {"k": "kernel_size", "s": "stride", "p": "padding", "d": "dilation", "g": "groups",
           "op": "output_padding"}
FACTORY = (("device", None), ("dtype", None))


@record
class Spec:
    name: str
    family: type  # the Layer class the expression builds
    params: tuple[tuple[str, object], ...]  # (name, default) in positional order
    make: Callable[..., Layer] = field(default=None)  # type: ignore[assignment]  # default: family(**args)
    keyword_only: tuple[tuple[str, object], ...] = ()
    any_args: bool = False  # nn.Identity(*args, **kwargs)

    def build(self, arguments: dict[str, Any]) -> Layer:
        return (self.make or self.family)(**arguments)


@record
class Built:
    """A layer plus what the expression said about it beyond PyTorch's semantics."""

    layer: Layer
    dtype: str | None = None


# ------------------------------------------------------------------ the table

def _conv_params(transposed: bool, lazy: bool) -> tuple[tuple[str, object], ...]:
    head = (() if lazy else (("in_channels", REQUIRED),)) + (("out_channels", REQUIRED), ("kernel_size", REQUIRED),
                                                             ("stride", 1), ("padding", 0))
    if transposed:
        tail = (("output_padding", 0), ("groups", 1), ("bias", True), ("dilation", 1), ("padding_mode", "zeros"))
    else:
        tail = (("dilation", 1), ("groups", 1), ("bias", True), ("padding_mode", "zeros"))
    return head + tail + FACTORY


def _table() -> dict[str, Spec]:
    from .conv import ConvNd, ConvTransposeNd, LazyConv, SeparableConv
    from .deform import DeformConv2d
    from .elementwise import Elementwise, PReLU
    from .linear import Flatten, Identity, LazyLinear, Linear
    from .merge import Concat, ElementwiseMerge
    from .norm import BatchNormNd, LazyBatchNorm
    from .padding import PadNd
    from .pool import AdaptivePoolNd, AvgPoolNd, MaxPoolNd
    from .resample import ChannelShuffle, PixelShuffle, PixelUnshuffle, Upsample
    from .elementwise import Softmax2d
    from .fold import Fold, Unfold
    from .norm import GroupNorm, InstanceNormNd, LayerNorm, LocalResponseNorm

    t: dict[str, Spec] = {}

    def add(name: str, family: type, params, make=None, **options) -> None:
        t[name.lower()] = Spec(name, family, params, make, **options)

    for n in (1, 2, 3):
        add(f"Conv{n}d", ConvNd, _conv_params(False, False), partial(ConvNd, ndim=n))
        # output_size= is what the transposed convolution's forward() takes (seed 004)
        add(f"ConvTranspose{n}d", ConvTransposeNd, _conv_params(True, False), partial(ConvTransposeNd, ndim=n),
            keyword_only=(("output_size", None),))
        add(f"LazyConv{n}d", LazyConv, _conv_params(False, True), partial(LazyConv.of, ConvNd, ndim=n))
        add(f"LazyConvTranspose{n}d", LazyConv, _conv_params(True, True),
            partial(LazyConv.of, ConvTransposeNd, ndim=n), keyword_only=(("output_size", None),))
        add(f"SeparableConv{n}d", SeparableConv,
            (("in_channels", REQUIRED), ("out_channels", REQUIRED), ("kernel_size", REQUIRED), ("stride", 1),
             ("padding", 0), ("dilation", 1), ("bias", True), ("padding_mode", "zeros"), ("depth_multiplier", 1)),
            partial(SeparableConv, ndim=n))
        add(f"MaxPool{n}d", MaxPoolNd, (("kernel_size", REQUIRED), ("stride", None), ("padding", 0),
                                        ("dilation", 1), ("return_indices", False), ("ceil_mode", False)),
            partial(MaxPoolNd, ndim=n))
        avg = (("kernel_size", REQUIRED), ("stride", None), ("padding", 0), ("ceil_mode", False),
               ("count_include_pad", True)) + ((("divisor_override", None),) if n > 1 else ())
        add(f"AvgPool{n}d", AvgPoolNd, avg, partial(AvgPoolNd, ndim=n))
        for kind in ("Avg", "Max"):
            params = (("output_size", REQUIRED),) + ((("return_indices", False),) if kind == "Max" else ())
            add(f"Adaptive{kind}Pool{n}d", AdaptivePoolNd, params, partial(AdaptivePoolNd, ndim=n, kind=kind))
        bn = (("num_features", REQUIRED), ("eps", 1e-5), ("momentum", 0.1), ("affine", True),
              ("track_running_stats", True)) + FACTORY
        add(f"BatchNorm{n}d", BatchNormNd, bn, partial(BatchNormNd, ndim=n), keyword_only=(("bias", True),))
        add(f"LazyBatchNorm{n}d", LazyBatchNorm, bn[1:], partial(LazyBatchNorm.of, ndim=n),
            keyword_only=(("bias", True),))
        for mode in ("Zero", "Reflection", "Replication", "Circular"):
            add(f"{mode}Pad{n}d", PadNd, (("padding", REQUIRED),), partial(PadNd, mode=mode, ndim=n))
        add(f"ConstantPad{n}d", PadNd, (("padding", REQUIRED), ("value", REQUIRED)),
            partial(PadNd, mode="Constant", ndim=n))
        add(f"Dropout{n}d", Elementwise, (("p", 0.5), ("inplace", False)), partial(Elementwise.of, f"Dropout{n}d"))

    add("Linear", Linear, (("in_features", REQUIRED), ("out_features", REQUIRED), ("bias", True)) + FACTORY)
    add("LazyLinear", LazyLinear, (("out_features", REQUIRED), ("bias", True)) + FACTORY, LazyLinear.of)
    add("Flatten", Flatten, (("start_dim", 1), ("end_dim", -1)))
    add("Identity", Identity, (), any_args=True)
    for name, params in ACTIVATIONS.items():
        add(name, Elementwise, params, partial(Elementwise.of, name))
    add("PReLU", PReLU, (("num_parameters", 1), ("init", 0.25)) + FACTORY)
    add("Upsample", Upsample, (("size", None), ("scale_factor", None), ("mode", "nearest"), ("align_corners", None),
                               ("recompute_scale_factor", None)))
    # print(model) shows these with Upsample's keywords (mode=..., align_corners=...)
    add("UpsamplingNearest2d", Upsample, (("size", None), ("scale_factor", None)),
        partial(Upsample.fixed, "nearest", None), keyword_only=(("mode", "nearest"),))
    add("UpsamplingBilinear2d", Upsample, (("size", None), ("scale_factor", None)),
        partial(Upsample.fixed, "bilinear", True), keyword_only=(("mode", "bilinear"), ("align_corners", True)))
    add("PixelShuffle", PixelShuffle, (("upscale_factor", REQUIRED),))
    add("PixelUnshuffle", PixelUnshuffle, (("downscale_factor", REQUIRED),))
    add("ChannelShuffle", ChannelShuffle, (("groups", REQUIRED),))
    for n in (1, 2, 3):
        add(f"InstanceNorm{n}d", InstanceNormNd, (("num_features", REQUIRED), ("eps", 1e-5), ("momentum", 0.1),
                                                  ("affine", False), ("track_running_stats", False)) + FACTORY,
            partial(InstanceNormNd, ndim=n), keyword_only=(("bias", True),))
    add("GroupNorm", GroupNorm, (("num_groups", REQUIRED), ("num_channels", REQUIRED), ("eps", 1e-5),
                                 ("affine", True)) + FACTORY, keyword_only=(("bias", True),))
    add("LayerNorm", LayerNorm, (("normalized_shape", REQUIRED), ("eps", 1e-5), ("elementwise_affine", True),
                                 ("bias", True)) + FACTORY)
    add("LocalResponseNorm", LocalResponseNorm, (("size", REQUIRED), ("alpha", 1e-4), ("beta", 0.75), ("k", 1.0)))
    add("Unfold", Unfold, (("kernel_size", REQUIRED), ("dilation", 1), ("padding", 0), ("stride", 1)))
    add("Fold", Fold, (("output_size", REQUIRED), ("kernel_size", REQUIRED), ("dilation", 1), ("padding", 0),
                       ("stride", 1)))
    add("Softmax2d", Softmax2d, ())
    add("Add", ElementwiseMerge, (), partial(ElementwiseMerge, "Add"))
    add("Mul", ElementwiseMerge, (), partial(ElementwiseMerge, "Mul"))
    add("Concat", Concat, (("dim", 1),))
    # torchvision.ops.DeformConv2d: inputs x, offset and an optional mask
    add("DeformConv2d", DeformConv2d, (("in_channels", REQUIRED), ("out_channels", REQUIRED), ("kernel_size", REQUIRED),
                                       ("stride", 1), ("padding", 0), ("dilation", 1), ("groups", 1), ("bias", True)))
    t["cat"] = t["concat"]
    return t


#: activations and dropout: one family (`Elementwise`), PyTorch's signatures
ACTIVATIONS: dict[str, tuple[tuple[str, object], ...]] = {
    "ReLU": (("inplace", False),), "ReLU6": (("inplace", False),),
    "LeakyReLU": (("negative_slope", 0.01), ("inplace", False)),
    "GELU": (("approximate", "none"),), "SiLU": (("inplace", False),), "Sigmoid": (), "Tanh": (),
    "Hardswish": (("inplace", False),), "Hardsigmoid": (("inplace", False),),
    "Hardtanh": (("min_val", -1.0), ("max_val", 1.0), ("inplace", False)),
    "ELU": (("alpha", 1.0), ("inplace", False)), "SELU": (("inplace", False),),
    "CELU": (("alpha", 1.0), ("inplace", False)), "Mish": (("inplace", False),),
    "Softplus": (("beta", 1.0), ("threshold", 20.0)), "Softsign": (), "Tanhshrink": (),
    "Softmax": (("dim", None),), "LogSoftmax": (("dim", None),),
    "Dropout": (("p", 0.5), ("inplace", False)), "AlphaDropout": (("p", 0.5), ("inplace", False)),
    "FeatureAlphaDropout": (("p", 0.5), ("inplace", False)),
}


def elementwise_types() -> list[str]:
    """Every `Elementwise.type` an expression can produce (conventions need a cost for each)."""
    return sorted(spec.name for spec in table().values() if spec.name in ACTIVATIONS or
                  spec.name.startswith("Dropout"))


def families() -> list[type]:
    """Every registered family class (wrappers included), once each."""
    seen: dict[type, None] = {}
    for spec in table().values():
        seen[spec.family] = None
    return list(seen)


_TABLE: dict[str, Spec] | None = None


def table() -> dict[str, Spec]:
    global _TABLE
    if _TABLE is None:
        _TABLE = _table()
    return _TABLE


def layer_names() -> list[str]:
    return sorted(spec.name for key, spec in table().items() if key != "cat")


def signature(spec: Spec) -> str:
    """PyTorch's call signature as the registry holds it, e.g. `Conv2d(in_channels,
    out_channels, kernel_size, stride=1, ...)`, without device= and dtype=."""
    if spec.any_args:
        return f"{spec.name}(*args, **kwargs)"
    parts = [name if default is REQUIRED else f"{name}={default!r}"
             for name, default in spec.params if name not in dict(FACTORY)]
    if spec.keyword_only:
        parts.append("*")
        parts.extend(f"{name}={default!r}" for name, default in spec.keyword_only)
    return f"{spec.name}({', '.join(parts)})"


def aliases_of(spec: Spec) -> dict[str, str]:
    """The short keywords that apply to this family (a family's own keyword wins: `k` is
    LocalResponseNorm's own argument, not kernel_size)."""
    names = dict(spec.params) | dict(spec.keyword_only)
    return {short: long for short, long in ALIASES.items() if long in names and short not in names}


def describe(spec: Spec, width: int = 80) -> list[str]:
    """`convcalc layers NAME`: the signature, then what is required, the defaults, the
    keyword-only arguments, the aliases that apply and the other names, wrapped to `width`."""
    import textwrap

    def block(label: str, text: str) -> list[str]:
        head = f"  {label + ':':<14}"
        return textwrap.wrap(text, width, initial_indent=head, subsequent_indent=" " * len(head),
                             break_on_hyphens=False) or [head.rstrip()]

    sig = signature(spec)
    indent = " " * (len(spec.name) + 1)
    lines = textwrap.wrap(sig, width, subsequent_indent=indent, break_on_hyphens=False) + [""]
    if spec.any_args:
        return lines + block("arguments", "any; PyTorch ignores them")
    shown = [(n, d) for n, d in spec.params if n not in dict(FACTORY)]
    required = [n for n, d in shown if d is REQUIRED]
    defaults = [f"{n}={d!r}" for n, d in shown if d is not REQUIRED]
    lines += block("required", ", ".join(required) or "nothing")
    if defaults:
        lines += block("defaults", ", ".join(defaults))
    if spec.keyword_only:
        lines += block("keyword-only", ", ".join(f"{n}={d!r}" for n, d in spec.keyword_only))
    aliases = aliases_of(spec)
    own = [a for a in ALIASES if a in dict(spec.params) | dict(spec.keyword_only)]
    text = ", ".join(f"{a}={n}" for a, n in aliases.items()) or "none"
    if own:
        text += f" ({', '.join(own)} {'is its own argument' if len(own) == 1 else 'are its own arguments'})"
    lines += block("aliases", text)
    if any(n == "dtype" for n, _ in spec.params):
        lines += block("also", "dtype= (e.g. torch.float16) sets the element size of its memory figures "
                               "and of the layers after it; device= is accepted and ignored")
    others = [key for key, other in table().items() if other is spec and key != spec.name.lower()]
    if others:
        lines += block("also written", ", ".join(others))
    return lines


def lookup(name: str, location: Location | None = None) -> Spec:
    """The family called `name` (case-insensitive, `nn.`/`torch.nn.` prefix and a call's
    arguments allowed); ExpressionError with a did-you-mean otherwise."""
    key = name.strip()
    if "(" in key:
        key = key[:key.index("(")].strip()
    for prefix in ("torch.nn.", "nn.", "torchvision.ops.", "ops."):
        if key.lower().startswith(prefix) and (prefix.startswith("torch.nn") or prefix == "nn."
                                               or key[len(prefix):].lower() == "deformconv2d"):
            key = key[len(prefix):]
    spec = table().get(key.lower())
    if spec is None:
        from ..errors import quote
        raise ExpressionError(f"expected a layer name that 'convcalc layers' lists; got {quote(name)}"
                              f"{_closest(key)}", location)
    return spec


def _closest(name: str) -> str:
    """A did-you-mean hint.  A name over 64 characters cannot reach the 0.6 cutoff against
    any layer's name, so difflib is not asked (its time grows with the name's length)."""
    if len(name) > 64:
        return ""
    import difflib
    match = difflib.get_close_matches(name.lower(), list(table()), n=1, cutoff=0.6)
    return f"; did you mean {table()[match[0]].name!r}?" if match else ""


def _printed_lazy_form(spec: Spec, call: LayerCall) -> LayerCall:
    """`print(model)` shows LazyConv2d(0, 8, kernel_size=...): drop the printed in_channels=0."""
    lazy_conv = spec.name.startswith("LazyConv")
    if lazy_conv and len(call.args) >= 2 and call.args[0].value == 0 and "kernel_size" in call.kwargs \
            and isinstance(call.args[0].value, int) and not isinstance(call.args[0].value, bool):
        return LayerCall(call.name, call.args[1:], call.kwargs, call.text, call.location)
    if spec.name.startswith("LazyBatchNorm") and call.args and type(call.args[0].value) is int \
            and call.args[0].value == 0:
        return LayerCall(call.name, call.args[1:], call.kwargs, call.text, call.location)
    if spec.name == "LazyLinear" and call.kwargs.get("in_features") is not None:
        if call.kwargs["in_features"].value == 0:
            kwargs = {k: v for k, v in call.kwargs.items() if k != "in_features"}
            return LayerCall(call.name, call.args, kwargs, call.text, call.location)
    return call


def build(call: LayerCall) -> Built:
    """Bind the call's arguments to PyTorch's signature and build the layer."""
    spec = table().get(call.name.lower())
    if spec is None:
        raise ExpressionError(f"unknown layer {call.name!r}{_closest(call.name)}", call.location)
    call = _printed_lazy_form(spec, call)
    names = [p for p, _ in spec.params]
    all_params = dict(spec.params) | dict(spec.keyword_only)
    bound: dict[str, object] = {}
    columns: dict[str, int] = {}
    if spec.any_args:
        return Built(spec.build({}))  # nn.Identity ignores its arguments
    if len(call.args) > len(names):
        extra = call.args[len(names)]
        raise ExpressionError(f"{spec.name} takes at most {len(names)} positional argument"
                              f"{'s' if len(names) != 1 else ''}; got {len(call.args)}",
                              call.at_column(extra.column))
    for pname, arg in zip(names, call.args):
        bound[pname] = arg.value
        columns[pname] = arg.column
    for key, arg in call.kwargs.items():
        pname = key
        if key not in all_params and key in ALIASES and ALIASES[key] in all_params:
            pname = ALIASES[key]
        if pname not in all_params:
            allowed = ", ".join(all_params) or "no arguments"
            raise ExpressionError(f"{spec.name} got an unexpected keyword {key!r} (it takes {allowed})",
                                  call.at_column(arg.column - len(key) - 1))
        if pname in bound:
            raise ExpressionError(f"{spec.name} got multiple values for {pname!r}",
                                  call.at_column(arg.column))
        bound[pname] = arg.value
        columns[pname] = arg.column
    for pname, default in all_params.items():
        if pname not in bound:
            if default is REQUIRED:
                raise ExpressionError(f"{spec.name} is missing the required argument {pname!r}",
                                      call.location)
            bound[pname] = default
    dtype = _dtype_name(bound.pop("dtype", None))
    bound.pop("device", None)
    if dtype is not None and dtype not in DTYPE_BYTES:
        raise ExpressionError(f"unknown dtype {dtype!r}; expected one of {', '.join(DTYPE_BYTES)}",
                              call.at_column(columns["dtype"]))
    try:
        layer = spec.build(bound)
    except ArgumentError as exc:
        column = columns.get(exc.param)
        raise LayerConfigError(f"{spec.name}: {exc.detail}",
                               call.at_column(column) if column else call.location) from None
    except LayerConfigError as exc:
        raise exc.at(call.location) from None
    return Built(layer, dtype)


def _dtype_name(value: object) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text.split(".")[-1]
