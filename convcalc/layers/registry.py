"""From a parsed call to a layer: PyTorch's signatures, defaults and constructor checks.

Every class name maps to a `Spec`: its parameters in PyTorch's positional order with
their defaults, and a builder that validates them the way PyTorch's constructor does
(forward-time checks live in the layer classes).
"""

from __future__ import annotations

from typing import Callable

from ..dtypes import DTYPE_BYTES
from ..errors import ExpressionError, LayerConfigError
from ..parsing.expr import LayerCall
from ..record import record
from .base import ArgumentError, Layer, as_bool, as_choice, as_float, as_int, ntuple

REQUIRED = object()
ALIASES = {"k": "kernel_size", "s": "stride", "p": "padding", "d": "dilation", "g": "groups",
           "op": "output_padding"}
FACTORY = (("device", None), ("dtype", None))


@record
class Spec:
    name: str
    params: tuple[tuple[str, object], ...]  # (name, default) in positional order
    build: Callable[[dict], Layer]
    keyword_only: tuple[tuple[str, object], ...] = ()
    any_args: bool = False  # nn.Identity(*args, **kwargs)


@record
class Built:
    """A layer plus what the expression said about it beyond PyTorch's semantics."""

    layer: Layer
    dtype: str | None = None


# ------------------------------------------------------------------ builders

def _expand_one(value: object, n: int) -> object:
    """PyTorch repeats a 1-element stride/padding/dilation over every spatial axis."""
    if isinstance(value, tuple) and len(value) == 1 and n > 1:
        return value[0]
    return value


def _conv_common(b: dict, n: int) -> dict:
    from . import conv
    if isinstance(b["groups"], bool):
        raise ArgumentError("groups", f"groups must be an integer; got {b['groups']!r}")
    groups = as_int("groups", b["groups"])
    if groups <= 0:
        raise ArgumentError("groups", f"groups must be a positive integer; got {groups}")
    pad = b["padding"]
    mode = as_choice("padding_mode", b["padding_mode"], conv.PADDING_MODES)
    if isinstance(pad, str):
        pad = as_choice("padding", pad, ("same", "valid"))
    else:
        if isinstance(pad, tuple) and len(pad) == 1 and n > 1 and mode != "zeros":
            raise ArgumentError("padding", f"a 1-element padding {pad!r} cannot be used with "
                                           f"padding_mode={mode!r}; give {n} values")
        # With a padding_mode other than zeros PyTorch pads with F.pad, which crops on
        # negative values; only zero padding must be non-negative.
        pad = ntuple("padding", _expand_one(pad, n), n, minimum=0 if mode == "zeros" else None)
    stride = ntuple("stride", _expand_one(b["stride"], n), n, minimum=1)
    if pad == "same" and any(s != 1 for s in stride):
        raise ArgumentError("padding", f"padding='same' is not supported for strided convolutions (stride={stride})")
    common = dict(kernel_size=ntuple("kernel_size", b["kernel_size"], n, minimum=1), stride=stride, padding=pad,
                  dilation=ntuple("dilation", _expand_one(b["dilation"], n), n, minimum=1), groups=groups,
                  bias=as_bool("bias", b["bias"]), padding_mode=mode)
    if pad == "same" and mode != "zeros" and n > 1 and isinstance(b["dilation"], tuple) and len(b["dilation"]) == 1:
        common["same_first_axis_only"] = True
    return common


def _check_conv_channels(in_c: int, out_c: int, groups: int) -> None:
    if in_c % groups:
        raise ArgumentError("groups", f"in_channels={in_c} must be divisible by groups={groups}")
    if out_c % groups:
        raise ArgumentError("groups", f"out_channels={out_c} must be divisible by groups={groups}")


def build_conv(n: int, b: dict, lazy: bool = False) -> Layer:
    from . import conv
    common = _conv_common(b, n)
    in_c = common["groups"] if lazy else as_int("in_channels", b["in_channels"], minimum=0)
    out_c = as_int("out_channels", b["out_channels"], minimum=1)
    _check_conv_channels(in_c, out_c, common["groups"])
    layer = conv.ConvNd(in_c, out_c, ndim=n, **common)
    return conv.LazyConv(layer) if lazy else layer


def build_conv_transpose(n: int, b: dict, lazy: bool = False) -> Layer:
    from . import conv
    if isinstance(b["padding"], str):
        raise ArgumentError("padding", f"ConvTranspose{n}d takes integer padding, not "
                                       f"{b['padding']!r}")
    common = _conv_common(b, n)
    if common["padding_mode"] != "zeros":
        raise ArgumentError("padding_mode", f'only "zeros" padding mode is supported for '
                                            f"ConvTranspose{n}d; got {common['padding_mode']!r}")
    in_c = common["groups"] if lazy else as_int("in_channels", b["in_channels"], minimum=0)
    out_c = as_int("out_channels", b["out_channels"], minimum=1)
    _check_conv_channels(in_c, out_c, common["groups"])
    op = ntuple("output_padding", _expand_one(b["output_padding"], n), n)
    if any(v < 0 for v in op):
        raise ArgumentError("output_padding", f"output_padding must not be negative; got {b['output_padding']!r}")
    common.pop("same_first_axis_only", None)
    layer = conv.ConvTransposeNd(in_c, out_c, common["kernel_size"], common["stride"],
                                 common["padding"], op, common["groups"], common["bias"],
                                 common["dilation"], "zeros", n)
    return conv.LazyConv(layer) if lazy else layer


def build_separable(n: int, b: dict) -> Layer:
    from . import conv
    common = _conv_common(dict(b, groups=1), n)
    in_c = as_int("in_channels", b["in_channels"], minimum=1)
    out_c = as_int("out_channels", b["out_channels"], minimum=1)
    dm = as_int("depth_multiplier", b["depth_multiplier"], minimum=1)
    del common["groups"]
    common.pop("same_first_axis_only", None)
    return conv.SeparableConv(in_c, out_c, depth_multiplier=dm, ndim=n, **common)


def _pool_tuple(param: str, value: object, n: int, minimum: int | None) -> tuple[int, ...]:
    # Pooling, too, accepts a 1-tuple for any dimensionality and repeats it.
    return ntuple(param, _expand_one(value, n), n, minimum=minimum)


def _pool_geometry(b: dict, n: int) -> dict:
    kernel = _pool_tuple("kernel_size", b["kernel_size"], n, None)
    stride = kernel if b["stride"] is None or b["stride"] == () else _pool_tuple("stride", b["stride"], n, None)
    if any(s == 0 for s in stride):
        raise ArgumentError("stride", f"stride must be positive; got {b['stride'] if b['stride'] is not None else kernel!r}"
                            + (" (it defaults to kernel_size)" if b["stride"] is None else ""))
    for name, vals in (("stride", stride), ("kernel_size", kernel)):
        if any(v <= 0 for v in vals):
            raise ArgumentError(name, f"{name} must be positive; got {vals!r}")
    return dict(kernel_size=kernel, stride=stride,
                padding=_pool_tuple("padding", b["padding"], n, 0))


def build_maxpool(n: int, b: dict) -> Layer:
    from . import pool
    return pool.MaxPoolNd(ndim=n, dilation=_pool_tuple("dilation", b["dilation"], n, 1),
                          return_indices=as_bool("return_indices", b["return_indices"]),
                          ceil_mode=as_bool("ceil_mode", b["ceil_mode"]), **_pool_geometry(b, n))


def build_avgpool(n: int, b: dict) -> Layer:
    from . import pool
    div = b.get("divisor_override")
    if div is not None:
        div = as_int("divisor_override", div)
        if div == 0:
            raise ArgumentError("divisor_override", "divisor_override must not be zero")
    return pool.AvgPoolNd(ndim=n, ceil_mode=as_bool("ceil_mode", b["ceil_mode"]),
                          count_include_pad=as_bool("count_include_pad", b["count_include_pad"]),
                          divisor_override=div, **_pool_geometry(b, n))


def build_adaptive(n: int, kind: str, b: dict) -> Layer:
    from . import pool
    size = b["output_size"]
    items = size if isinstance(size, tuple) else (size,) * n
    if len(items) != n:
        raise ArgumentError("output_size", f"output_size must be an integer or a tuple of {n}; got {size!r}")
    for v in items:
        if v is None and n == 1:
            raise ArgumentError("output_size", f"output_size of Adaptive{kind}Pool1d must be an integer; got {size!r}")
        if v is not None and (not isinstance(v, int) or v < 0):
            raise ArgumentError("output_size", f"output_size entries must be integers >= 0 or None; got {size!r}")
    return pool.AdaptivePoolNd(tuple(items), as_bool("return_indices", b.get("return_indices", False)),
                               ndim=n, kind=kind, given_as_tuple=isinstance(size, tuple))


def build_batchnorm(n: int, b: dict, lazy: bool = False) -> Layer:
    from . import norm
    layer = norm.BatchNormNd(as_int("num_features", b["num_features"], minimum=0),
                            as_float("eps", b["eps"]),
                            None if b["momentum"] is None else as_float("momentum", b["momentum"]),
                            as_bool("affine", b["affine"]),
                            as_bool("track_running_stats", b["track_running_stats"]),
                            as_bool("bias", b["bias"]), ndim=n)
    return norm.LazyBatchNorm(layer) if lazy else layer


def build_linear(b: dict, lazy: bool = False) -> Layer:
    from . import linear
    in_f = 0 if lazy else as_int("in_features", b["in_features"], minimum=0)
    layer = linear.Linear(in_f, as_int("out_features", b["out_features"], minimum=0),
                          as_bool("bias", b["bias"]))
    return linear.LazyLinear(layer) if lazy else layer


def build_elementwise(name: str, b: dict) -> Layer:
    from . import elementwise
    if "inplace" in b:
        as_bool("inplace", b["inplace"])
    if name.endswith("Dropout") or name.startswith("Dropout"):
        p = as_float("p", b["p"])
        if not 0 <= p <= 1:
            raise ArgumentError("p", f"dropout probability p must be between 0 and 1; got {b['p']!r}")
    if name == "GELU":
        as_choice("approximate", b["approximate"], ("none", "tanh"))
    for key in ("negative_slope", "alpha", "beta", "threshold", "min_val", "max_val", "lambd"):
        if key in b:
            as_float(key, b[key])
    if name == "CELU" and as_float("alpha", b["alpha"]) == 0:
        raise ArgumentError("alpha", "alpha cannot be 0 for CELU")
    if name in ("Softmax", "LogSoftmax") and b["dim"] is not None:
        as_int("dim", b["dim"])
    options = tuple((k, v) for k, v in b.items() if k != "inplace" or v)
    return elementwise.Elementwise(name, options)


def build_prelu(b: dict) -> Layer:
    from . import elementwise
    return elementwise.PReLU(as_int("num_parameters", b["num_parameters"], minimum=1),
                             as_float("init", b["init"]))


def build_upsample(b: dict) -> Layer:
    from . import resample
    size, sf = b["size"], b["scale_factor"]
    mode = b.get("mode", "nearest")
    align_corners = b.get("align_corners")
    if size is not None and sf is not None:
        raise ArgumentError("size", "give only one of size or scale_factor")
    if size is None and sf is None:
        raise ArgumentError("size", "give either size or scale_factor")
    if size is not None and b.get("recompute_scale_factor"):
        raise ArgumentError("recompute_scale_factor", "recompute_scale_factor is not meaningful with an explicit size")
    if size is not None:
        items = size if isinstance(size, tuple) else (size,)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in items):
            raise ArgumentError("size", f"size must be an integer or a tuple of integers; got {size!r}")
    if sf is not None:
        items = sf if isinstance(sf, tuple) else (sf,)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in items):
            raise ArgumentError("scale_factor", f"scale_factor must be a number or a tuple of numbers; got {sf!r}")
        sf = tuple(float(v) for v in sf) if isinstance(sf, tuple) else float(sf)
        import math
        if not all(math.isfinite(v) for v in (sf if isinstance(sf, tuple) else (sf,))):
            raise ArgumentError("scale_factor", f"scale_factor must be finite; got {b['scale_factor']!r}")
    mode = as_choice("mode", mode, tuple(resample.MODE_DIMS))
    if align_corners is not None:
        align_corners = as_bool("align_corners", align_corners)
        if mode not in resample.INTERPOLATING:
            raise ArgumentError("align_corners", "align_corners can only be set with the interpolating "
                                                 "modes linear, bilinear, bicubic, trilinear")
    rsf = b.get("recompute_scale_factor")
    rsf = None if rsf is None else as_bool("recompute_scale_factor", rsf)
    return resample.Upsample(size, sf, mode, align_corners, rsf)


def build_fixed_upsample(b: dict, mode: str, align: bool | None) -> Layer:
    """UpsamplingNearest2d / UpsamplingBilinear2d: Upsample with a fixed mode."""
    if b.pop("mode") != mode:
        raise ArgumentError("mode", f"this layer always uses mode={mode!r}")
    if align is not None and b.pop("align_corners") is not True:
        raise ArgumentError("align_corners", "UpsamplingBilinear2d always uses align_corners=True")
    return build_upsample(dict(b, mode=mode, align_corners=align))


def build_pad(n: int, mode: str, b: dict) -> Layer:
    from . import padding
    pad = b["padding"]
    if isinstance(pad, tuple):
        # Like F.pad, any even number of values works: (left, right) of the last axis first.
        if not pad or len(pad) % 2 or not all(isinstance(v, int) for v in pad):
            raise ArgumentError("padding", f"padding must be an integer or a tuple of an even number "
                                           f"of integers (e.g. {2 * n}); got {pad!r}")
        pad = tuple(int(v) for v in pad)
    else:
        pad = (as_int("padding", pad),) * (2 * n)
    value = as_float("value", b["value"]) if "value" in b else 0.0
    return padding.PadNd(pad, value, mode, n)


def build_flatten(b: dict) -> Layer:
    from . import linear
    return linear.Flatten(as_int("start_dim", b["start_dim"]), as_int("end_dim", b["end_dim"]))


def build_identity(b: dict) -> Layer:
    from . import linear
    return linear.Identity()


def build_shuffle(kind: str, param: str, b: dict) -> Layer:
    from . import resample
    return getattr(resample, kind)(as_int(param, b[param], minimum=1))


def build_merge(kind: str, b: dict) -> Layer:
    from . import merge
    if kind == "Concat":
        return merge.Concat(as_int("dim", b["dim"]))
    return merge.ElementwiseMerge(kind)


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
    t: dict[str, Spec] = {}

    def add(spec: Spec) -> None:
        t[spec.name.lower()] = spec

    for n in (1, 2, 3):
        add(Spec(f"Conv{n}d", _conv_params(False, False), lambda b, n=n: build_conv(n, b)))
        add(Spec(f"ConvTranspose{n}d", _conv_params(True, False), lambda b, n=n: build_conv_transpose(n, b)))
        add(Spec(f"LazyConv{n}d", _conv_params(False, True), lambda b, n=n: build_conv(n, b, lazy=True)))
        add(Spec(f"LazyConvTranspose{n}d", _conv_params(True, True),
                 lambda b, n=n: build_conv_transpose(n, b, lazy=True)))
        add(Spec(f"SeparableConv{n}d", (("in_channels", REQUIRED), ("out_channels", REQUIRED),
                                        ("kernel_size", REQUIRED), ("stride", 1), ("padding", 0),
                                        ("dilation", 1), ("bias", True), ("padding_mode", "zeros"),
                                        ("depth_multiplier", 1)), lambda b, n=n: build_separable(n, b)))
        add(Spec(f"MaxPool{n}d", (("kernel_size", REQUIRED), ("stride", None), ("padding", 0), ("dilation", 1),
                                  ("return_indices", False), ("ceil_mode", False)),
                 lambda b, n=n: build_maxpool(n, b)))
        avg = (("kernel_size", REQUIRED), ("stride", None), ("padding", 0), ("ceil_mode", False),
               ("count_include_pad", True)) + ((("divisor_override", None),) if n > 1 else ())
        add(Spec(f"AvgPool{n}d", avg, lambda b, n=n: build_avgpool(n, b)))
        add(Spec(f"AdaptiveAvgPool{n}d", (("output_size", REQUIRED),), lambda b, n=n: build_adaptive(n, "Avg", b)))
        add(Spec(f"AdaptiveMaxPool{n}d", (("output_size", REQUIRED), ("return_indices", False)),
                 lambda b, n=n: build_adaptive(n, "Max", b)))
        bn = (("num_features", REQUIRED), ("eps", 1e-5), ("momentum", 0.1), ("affine", True),
              ("track_running_stats", True)) + FACTORY
        add(Spec(f"BatchNorm{n}d", bn, lambda b, n=n: build_batchnorm(n, b), keyword_only=(("bias", True),)))
        add(Spec(f"LazyBatchNorm{n}d", bn[1:], lambda b, n=n: build_batchnorm(n, dict(b, num_features=1), lazy=True),
                 keyword_only=(("bias", True),)))
        for mode in ("Zero", "Reflection", "Replication", "Circular"):
            add(Spec(f"{mode}Pad{n}d", (("padding", REQUIRED),), lambda b, n=n, m=mode: build_pad(n, m, b)))
        add(Spec(f"ConstantPad{n}d", (("padding", REQUIRED), ("value", REQUIRED)),
                 lambda b, n=n: build_pad(n, "Constant", b)))
        add(Spec(f"Dropout{n}d", (("p", 0.5), ("inplace", False)), lambda b, n=n: build_elementwise(f"Dropout{n}d", b)))

    add(Spec("Linear", (("in_features", REQUIRED), ("out_features", REQUIRED), ("bias", True)) + FACTORY, build_linear))
    add(Spec("LazyLinear", (("out_features", REQUIRED), ("bias", True)) + FACTORY, lambda b: build_linear(b, True)))
    add(Spec("Flatten", (("start_dim", 1), ("end_dim", -1)), build_flatten))
    add(Spec("Identity", (), build_identity, any_args=True))
    simple = {
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
    for name, params in simple.items():
        add(Spec(name, params, lambda b, name=name: build_elementwise(name, b)))
    add(Spec("PReLU", (("num_parameters", 1), ("init", 0.25)) + FACTORY, build_prelu))
    add(Spec("Upsample", (("size", None), ("scale_factor", None), ("mode", "nearest"), ("align_corners", None),
                          ("recompute_scale_factor", None)), build_upsample))
    # print(model) shows these with Upsample's keywords (mode=..., align_corners=...)
    add(Spec("UpsamplingNearest2d", (("size", None), ("scale_factor", None)),
             lambda b: build_fixed_upsample(b, "nearest", None), keyword_only=(("mode", "nearest"),)))
    add(Spec("UpsamplingBilinear2d", (("size", None), ("scale_factor", None)),
             lambda b: build_fixed_upsample(b, "bilinear", True),
             keyword_only=(("mode", "bilinear"), ("align_corners", True))))
    add(Spec("PixelShuffle", (("upscale_factor", REQUIRED),),
             lambda b: build_shuffle("PixelShuffle", "upscale_factor", b)))
    add(Spec("PixelUnshuffle", (("downscale_factor", REQUIRED),),
             lambda b: build_shuffle("PixelUnshuffle", "downscale_factor", b)))
    add(Spec("ChannelShuffle", (("groups", REQUIRED),), lambda b: build_shuffle("ChannelShuffle", "groups", b)))
    add(Spec("Add", (), lambda b: build_merge("Add", b)))
    add(Spec("Mul", (), lambda b: build_merge("Mul", b)))
    add(Spec("Concat", (("dim", 1),), lambda b: build_merge("Concat", b)))
    t["cat"] = t["concat"]
    return t


_TABLE: dict[str, Spec] | None = None


def table() -> dict[str, Spec]:
    global _TABLE
    if _TABLE is None:
        _TABLE = _table()
    return _TABLE


def layer_names() -> list[str]:
    return sorted(spec.name for key, spec in table().items() if key != "cat")


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
        return Built(spec.build({}))
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
        raise LayerConfigError(f"{spec.name}: {exc.message}",
                               call.at_column(column) if column else call.location) from None
    except LayerConfigError as exc:
        raise exc.at(call.location) from None
    return Built(layer, dtype)


def _dtype_name(value: object) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text.split(".")[-1]
