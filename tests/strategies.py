"""Hypothesis strategies for layer configurations, shared by the property tests.

Every strategy produces a `LayerCase`: the layer expression convcalc reads, an input
shape, and a `build()` that constructs the *same* torch module (same positional and
keyword arguments, real keyword names where the expression uses an alias such as
`k=` or `s=`).  A `LayerCase` unpacks as `(expr, input_shape, build)`.

The strategies deliberately do not filter to valid configurations: kernels larger
than the input, groups that do not divide the channels, `padding='same'` with a
stride, reflect padding wider than the input, output_padding >= stride, a mode that
does not fit the input rank, unbatched or wrongly ranked inputs, keywords a layer
does not have.  The tests assert accept/reject parity with PyTorch, so invalid cases
are as useful as valid ones.  Tensors stay small (a few hundred elements), so running
torch as the oracle is cheap.

Nothing here imports torch; `build()` imports it lazily.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

from hypothesis import strategies as st

# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class LayerSpec:
    """One layer: its expression and the constructor call it stands for."""

    expr: str
    cls_name: str  # attribute of torch.nn
    args: tuple
    kwargs: tuple  # ((name, value), ...) with PyTorch's real keyword names
    out_channels: int | None = None  # channels after the layer, None when unchanged

    def build(self):
        import torch.nn as nn

        return getattr(nn, self.cls_name)(*self.args, **dict(self.kwargs))


@dataclass(frozen=True)
class LayerCase:
    spec: LayerSpec
    input_shape: tuple[int, ...]

    @property
    def expr(self) -> str:
        return self.spec.expr

    @property
    def build(self) -> Callable[[], Any]:
        return self.spec.build

    @property
    def specs(self) -> tuple[LayerSpec, ...]:
        return (self.spec,)

    @property
    def exprs(self) -> list[str]:
        return [self.spec.expr]

    def __iter__(self) -> Iterator:
        return iter((self.expr, self.input_shape, self.build))


@dataclass(frozen=True)
class ChainCase:
    specs: tuple[LayerSpec, ...]
    input_shape: tuple[int, ...]

    @property
    def exprs(self) -> list[str]:
        return [s.expr for s in self.specs]


# --------------------------------------------------------------------------- helpers

# PyTorch constructor signatures (positional order).
CONV_SIG = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation",
            "groups", "bias", "padding_mode")
CONVT_SIG = ("in_channels", "out_channels", "kernel_size", "stride", "padding",
             "output_padding", "groups", "bias", "dilation", "padding_mode")
MAXPOOL_SIG = ("kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode")
AVGPOOL1_SIG = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad")
AVGPOOL_SIG = AVGPOOL1_SIG + ("divisor_override",)
ADAPTIVE_SIG = ("output_size",)
UPSAMPLE_SIG = ("size", "scale_factor", "mode", "align_corners", "recompute_scale_factor")
LINEAR_SIG = ("in_features", "out_features", "bias")
UNFOLD_SIG = ("kernel_size", "dilation", "padding", "stride")
FOLD_SIG = ("output_size",) + UNFOLD_SIG
GROUPNORM_SIG = ("num_groups", "num_channels", "eps", "affine")
INSTANCENORM_SIG = ("num_features", "eps", "momentum", "affine", "track_running_stats")

ALIASES = {"kernel_size": "k", "stride": "s", "padding": "p", "dilation": "d",
           "groups": "g", "output_padding": "op"}

SPATIAL_MAX = {1: 16, 2: 9, 3: 6}  # largest input extent per spatial rank


def chance(draw, percent: int) -> bool:
    """True with the given probability; shrinks towards True (the common case)."""
    return draw(st.integers(0, 99)) < percent


def fmt(value, bare: bool = False) -> str:
    """A Python literal as it appears in an expression."""
    if isinstance(value, str):
        return value if bare else repr(value)
    if isinstance(value, tuple):
        if len(value) == 1:
            return f"({fmt(value[0])},)"
        return "(" + ", ".join(fmt(v) for v in value) + ")"
    if isinstance(value, list):
        return "[" + ", ".join(fmt(v) for v in value) + "]"
    return repr(value)  # bool, None, int, float


@st.composite
def render(draw, cls_name: str, signature: tuple[str, ...], present: dict, *,
           aliases: bool = False, bare_ok: tuple[str, ...] = (),
           out_channels: int | None = None) -> LayerSpec:
    """Write the call with a random positional/keyword split, prefix and aliases."""
    for name in present:
        assert name in signature, name
    max_pos = 0
    while max_pos < len(signature) and signature[max_pos] in present:
        max_pos += 1
    n_pos = draw(st.integers(0, max_pos))
    args = tuple(present[n] for n in signature[:n_pos])
    kw_names = [n for n in signature[n_pos:] if n in present]
    kwargs = tuple((n, present[n]) for n in kw_names)

    parts = [fmt(a) for a in args]
    for name, value in kwargs:
        shown = name
        if aliases and name in ALIASES and chance(draw, 15):
            shown = ALIASES[name]
        # print(model) shows some strings unquoted; never a hyphenated one
        bare = (isinstance(value, str) and name in bare_ok and value.isidentifier()
                and chance(draw, 20))
        parts.append(f"{shown}={fmt(value, bare=bare)}")
    prefix = draw(st.sampled_from(["", "", "", "nn.", "torch.nn."]))
    shown_cls = cls_name.lower() if chance(draw, 5) else cls_name
    expr = f"{prefix}{shown_cls}({', '.join(parts)})"
    return LayerSpec(expr, cls_name, args, kwargs, out_channels)


@st.composite
def int_or_tuple(draw, n: int, lo: int, hi: int, *, wild: bool = True, list_ok: bool = False):
    """An int, or a tuple of n ints (rarely of the wrong length when `wild`)."""
    if chance(draw, 50):
        return draw(st.integers(lo, hi))
    length = n
    if wild and chance(draw, 3):
        length = draw(st.sampled_from([k for k in (1, 2, 3, 4) if k != n]))
    values = tuple(draw(st.integers(lo, hi)) for _ in range(length))
    if list_ok and chance(draw, 10):
        return list(values)
    return values


@st.composite
def input_shape(draw, n: int, channels: int | None, *, wild: bool = True,
                unbatched_ok: bool = True, short_ok: bool = True,
                lo: int = 2) -> tuple[int, ...]:
    """(N, C, *spatial) mostly; sometimes unbatched, a wrong C or a wrong rank."""
    spatial = tuple(draw(st.integers(lo, SPATIAL_MAX[n])) for _ in range(n))
    c = channels if channels is not None else draw(st.integers(1, 8))
    if wild and channels is not None and chance(draw, 7):
        c = draw(st.integers(1, 8))
    roll = draw(st.integers(0, 99))
    if roll < 80 or not wild:
        return (draw(st.integers(1, 3)), c) + spatial
    if roll < 95 and unbatched_ok:
        return (c,) + spatial
    if short_ok and chance(draw, 50):
        return spatial  # too few dims (or unbatched without channels)
    return (1, 2, c) + spatial  # one dim too many


def grouped_channels(draw, groups: int, wild: bool) -> int:
    if not wild or chance(draw, 85):
        return groups * draw(st.integers(1, 3))
    return draw(st.integers(1, 8))


# --------------------------------------------------------------------------- layers


@st.composite
def conv_spec(draw, n: int, cin: int | None = None, *, wild: bool = True) -> LayerSpec:
    groups = draw(st.sampled_from([1, 1, 1, 1, 2, 3, 4]))
    if cin is None:
        cin = grouped_channels(draw, groups, wild)
    elif cin % groups and (not wild or chance(draw, 80)):
        groups = 1
    cout = grouped_channels(draw, groups, wild)
    present: dict[str, Any] = {"in_channels": cin, "out_channels": cout,
                               "kernel_size": draw(int_or_tuple(n, 1, 4, wild=wild,
                                                                list_ok=True))}
    if chance(draw, 50):
        present["stride"] = draw(int_or_tuple(n, 1, 3, wild=wild))
        if wild and chance(draw, 3):
            present["stride"] = 0
    roll = draw(st.integers(0, 99))
    if roll < 45:
        present["padding"] = draw(int_or_tuple(n, 0, 3, wild=wild))
    elif roll < 60:
        present["padding"] = "same"
        if "stride" in present and chance(draw, 80):
            del present["stride"]
    elif roll < 68:
        present["padding"] = "valid"
    elif wild and roll < 71:
        present["padding"] = -1
    if chance(draw, 40):
        present["dilation"] = draw(int_or_tuple(n, 1, 3, wild=wild))
    if groups != 1 or chance(draw, 20):
        present["groups"] = groups
    if chance(draw, 30):
        present["bias"] = draw(st.booleans())
    if chance(draw, 40):
        modes = ["zeros", "reflect", "replicate", "circular"]
        if wild:
            modes.append("mirror")  # not a PyTorch mode
        present["padding_mode"] = draw(st.sampled_from(modes))
    return draw(render(f"Conv{n}d", CONV_SIG, present, aliases=True,
                       bare_ok=("padding", "padding_mode"), out_channels=cout))


@st.composite
def conv_transpose_spec(draw, n: int, cin: int | None = None, *,
                        wild: bool = True) -> LayerSpec:
    groups = draw(st.sampled_from([1, 1, 1, 1, 2, 3]))
    if cin is None:
        cin = grouped_channels(draw, groups, wild)
    elif cin % groups and (not wild or chance(draw, 80)):
        groups = 1
    cout = grouped_channels(draw, groups, wild)
    present: dict[str, Any] = {"in_channels": cin, "out_channels": cout,
                               "kernel_size": draw(int_or_tuple(n, 1, 4, wild=wild))}
    if chance(draw, 65):
        present["stride"] = draw(int_or_tuple(n, 1, 3, wild=wild))
    if chance(draw, 50):
        present["padding"] = draw(int_or_tuple(n, 0, 3, wild=wild))
        if wild and chance(draw, 3):
            present["padding"] = "same"  # not supported by transposed convs
    if chance(draw, 40):
        present["output_padding"] = draw(int_or_tuple(n, 0, 2, wild=wild))
    if groups != 1 or chance(draw, 20):
        present["groups"] = groups
    if chance(draw, 30):
        present["bias"] = draw(st.booleans())
    if chance(draw, 35):
        present["dilation"] = draw(int_or_tuple(n, 1, 3, wild=wild))
    if wild and chance(draw, 5):
        present["padding_mode"] = draw(st.sampled_from(["zeros", "reflect"]))
    return draw(render(f"ConvTranspose{n}d", CONVT_SIG, present, aliases=True,
                       bare_ok=("padding_mode",), out_channels=cout))


@st.composite
def pool_padding(draw, n: int, kernel, wild: bool):
    """Mostly within PyTorch's limit (at most half the kernel), sometimes beyond it."""
    if chance(draw, 25):
        return draw(int_or_tuple(n, 0, 2, wild=wild))
    smallest = kernel if isinstance(kernel, int) else min(kernel, default=1)
    return draw(int_or_tuple(n, 0, max(smallest, 1) // 2, wild=wild))


@st.composite
def max_pool_spec(draw, n: int, *, wild: bool = True) -> LayerSpec:
    present: dict[str, Any] = {"kernel_size": draw(int_or_tuple(n, 1, 4, wild=wild))}
    if chance(draw, 60):
        present["stride"] = (None if chance(draw, 10)
                             else draw(int_or_tuple(n, 1, 3, wild=wild)))
        if wild and chance(draw, 3):
            present["stride"] = 0
    if chance(draw, 50):
        present["padding"] = draw(pool_padding(n, present["kernel_size"], wild))
    if chance(draw, 40):
        present["dilation"] = draw(int_or_tuple(n, 1, 3, wild=wild))
    if chance(draw, 40):
        present["ceil_mode"] = draw(st.booleans())
    return draw(render(f"MaxPool{n}d", MAXPOOL_SIG, present, aliases=True))


@st.composite
def avg_pool_spec(draw, n: int, *, wild: bool = True) -> LayerSpec:
    present: dict[str, Any] = {"kernel_size": draw(int_or_tuple(n, 1, 4, wild=wild))}
    if chance(draw, 60):
        present["stride"] = (None if chance(draw, 10)
                             else draw(int_or_tuple(n, 1, 3, wild=wild)))
    if chance(draw, 50):
        present["padding"] = draw(pool_padding(n, present["kernel_size"], wild))
    if chance(draw, 40):
        present["ceil_mode"] = draw(st.booleans())
    if chance(draw, 40):
        present["count_include_pad"] = draw(st.booleans())
    sig = AVGPOOL_SIG
    if n > 1 and chance(draw, 30):
        present["divisor_override"] = draw(st.sampled_from([None, 1, 2, 3, 5, 0] if wild
                                                           else [None, 1, 2, 3, 5]))
    elif n == 1 and wild and chance(draw, 3):
        present["divisor_override"] = 2  # AvgPool1d has no such keyword: TypeError
    if n == 1 and "divisor_override" not in present:
        sig = AVGPOOL1_SIG
    return draw(render(f"AvgPool{n}d", sig, present, aliases=True))


@st.composite
def adaptive_pool_spec(draw, n: int) -> LayerSpec:
    kind = draw(st.sampled_from(["Avg", "Max"]))
    if chance(draw, 50):
        size: Any = draw(st.integers(1, 5))
    else:
        size = tuple(None if chance(draw, 20) else draw(st.integers(1, 5)) for _ in range(n))
    return draw(render(f"Adaptive{kind}Pool{n}d", ADAPTIVE_SIG, {"output_size": size}))


SCALE_FLOATS = [0.5, 1.5, 2.0, 2.5, 0.75, 1.7, 0.3]
MODES = ["nearest", "nearest", "linear", "bilinear", "bicubic", "trilinear", "nearest-exact"]
MODE_RANK = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


@st.composite
def upsample_spec(draw, n: int, *, wild: bool = True) -> LayerSpec:
    """Upsample for an input with n spatial dims (mode usually fits the rank)."""
    present: dict[str, Any] = {}
    roll = draw(st.integers(0, 99))
    use_size = roll < 35 or (wild and roll >= 97)
    use_scale = 35 <= roll < 97 or (wild and roll >= 97)
    if wild and 95 <= roll < 97:
        use_size = use_scale = False  # neither: PyTorch refuses
    if use_size:
        present["size"] = draw(int_or_tuple(n, 1, 10, wild=wild))
    if use_scale:
        if chance(draw, 50):
            present["scale_factor"] = draw(st.integers(1, 3))
        elif chance(draw, 60):
            present["scale_factor"] = draw(st.sampled_from(SCALE_FLOATS))
        else:
            pool = st.sampled_from([1, 2, 3, 0.5, 1.5, 2.0])
            length = n if not wild or chance(draw, 95) else n + 1
            present["scale_factor"] = tuple(draw(pool) for _ in range(length))
    if chance(draw, 75):
        fitting = [m for m in MODES if MODE_RANK.get(m, n) == n]
        present["mode"] = draw(st.sampled_from(fitting if not wild or chance(draw, 85)
                                               else MODES))
    mode = present.get("mode", "nearest")
    if mode in MODE_RANK and chance(draw, 40):
        present["align_corners"] = draw(st.booleans())
    elif wild and chance(draw, 5):
        present["align_corners"] = draw(st.sampled_from([True, False]))
    return draw(render("Upsample", UPSAMPLE_SIG, present, bare_ok=("mode",)))


@st.composite
def pad_spec(draw, n: int) -> LayerSpec:
    kind = draw(st.sampled_from(["Zero", "Constant", "Reflection", "Replication"]))
    lo = -1 if chance(draw, 10) else 0
    if chance(draw, 40):
        padding: Any = draw(st.integers(lo, 3))
    else:
        length = 2 * n if chance(draw, 95) else draw(st.sampled_from([1, 2 * n + 1]))
        padding = tuple(draw(st.integers(lo, 3)) for _ in range(length))
    present: dict[str, Any] = {"padding": padding}
    sig: tuple[str, ...] = ("padding",)
    if kind == "Constant":
        present["value"] = draw(st.sampled_from([0.0, 1.5, -2, 0]))
        sig = ("padding", "value")
    return draw(render(f"{kind}Pad{n}d", sig, present))


# --------------------------------------------------------------------------- families


@st.composite
def conv_cases(draw) -> LayerCase:
    n = draw(st.sampled_from([1, 2, 3]))
    spec = draw(conv_spec(n))
    cin = dict(spec.kwargs).get("in_channels", spec.args[0] if spec.args else None)
    return LayerCase(spec, draw(input_shape(n, cin)))


@st.composite
def conv_transpose_cases(draw) -> LayerCase:
    n = draw(st.sampled_from([1, 2, 3]))
    spec = draw(conv_transpose_spec(n))
    cin = dict(spec.kwargs).get("in_channels", spec.args[0] if spec.args else None)
    return LayerCase(spec, draw(input_shape(n, cin)))


@st.composite
def max_pool_cases(draw) -> LayerCase:
    n = draw(st.sampled_from([1, 2, 3]))
    return LayerCase(draw(max_pool_spec(n)), draw(input_shape(n, None)))


@st.composite
def avg_pool_cases(draw) -> LayerCase:
    n = draw(st.sampled_from([1, 2, 3]))
    return LayerCase(draw(avg_pool_spec(n)), draw(input_shape(n, None)))


@st.composite
def adaptive_pool_cases(draw) -> LayerCase:
    n = draw(st.sampled_from([1, 2, 3]))
    # no too-short inputs: AdaptiveAvgPool2d(1) takes a fast path (a mean over the
    # last dims) that skips PyTorch's rank check, so torch "accepts" a 2-D input
    return LayerCase(draw(adaptive_pool_spec(n)), draw(input_shape(n, None, short_ok=False)))


@st.composite
def upsample_cases(draw) -> LayerCase:
    n = draw(st.sampled_from([1, 2, 3]))
    spec = draw(upsample_spec(n))
    # interpolate reads a 3-D input as (N, C, L): no unbatched form
    return LayerCase(spec, draw(input_shape(n, None, unbatched_ok=False)))


@st.composite
def pad_cases(draw) -> LayerCase:
    n = draw(st.sampled_from([1, 2, 3]))
    return LayerCase(draw(pad_spec(n)), draw(input_shape(n, None)))


@st.composite
def pixel_shuffle_cases(draw) -> LayerCase:
    r = draw(st.integers(1, 3))
    unshuffle = draw(st.booleans())
    if unshuffle:
        spec = draw(render("PixelUnshuffle", ("downscale_factor",), {"downscale_factor": r}))
        c = draw(st.integers(1, 4))
        h, w = (r * draw(st.integers(1, 3)) if chance(draw, 80) else draw(st.integers(1, 7))
                for _ in range(2))
    else:
        spec = draw(render("PixelShuffle", ("upscale_factor",), {"upscale_factor": r}))
        c = r * r * draw(st.integers(1, 2)) if chance(draw, 80) else draw(st.integers(1, 9))
        h, w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    if chance(draw, 70):
        shape: tuple[int, ...] = (draw(st.integers(1, 2)), c, h, w)
    elif chance(draw, 85):
        shape = (c, h, w)
    else:
        shape = (h, w)
    return LayerCase(spec, shape)


@st.composite
def linear_cases(draw) -> LayerCase:
    fin, fout = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    present: dict[str, Any] = {"in_features": fin, "out_features": fout}
    if chance(draw, 30):
        present["bias"] = draw(st.booleans())
    spec = draw(render("Linear", LINEAR_SIG, present))
    lead = tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 3))))
    last = fin if chance(draw, 90) else draw(st.integers(1, 8))
    return LayerCase(spec, lead + (last,))


@st.composite
def block_geometry(draw, *, wild: bool = True) -> dict:
    """Unfold's and Fold's kernel_size, dilation, padding and stride (2 spatial axes)."""
    present: dict[str, Any] = {"kernel_size": draw(int_or_tuple(2, 1 if not wild else 0, 4, wild=wild,
                                                                list_ok=True))}
    for name, lo, hi in (("dilation", 1, 2), ("padding", 0, 2), ("stride", 1, 3)):
        if chance(draw, 50):
            present[name] = draw(int_or_tuple(2, lo - (1 if wild and chance(draw, 5) else 0), hi, wild=wild))
    return present


def _pair(value) -> tuple[int, int]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)  # type: ignore[return-value]


@st.composite
def unfold_cases(draw) -> LayerCase:
    """Unfold (im2col) on inputs of any rank; blocks that do not fit are met too."""
    spec = draw(render("Unfold", UNFOLD_SIG, draw(block_geometry()), aliases=True))
    return LayerCase(spec, draw(input_shape(2, None)))


@st.composite
def fold_cases(draw) -> LayerCase:
    """Fold (col2im) whose input mostly holds as many columns as its output_size has
    blocks, and C×k_H×k_W values per column."""
    present = draw(block_geometry())
    out = draw(int_or_tuple(2, 1, 7, wild=True))
    present = {"output_size": out, **present}
    spec = draw(render("Fold", FOLD_SIG, present, aliases=True))
    k, d, p, s, o = (_pair(present.get(n, default)) for n, default in
                     (("kernel_size", 1), ("dilation", 1), ("padding", 0), ("stride", 1), ("output_size", 1)))
    if all(len(v) == 2 and min(v) > 0 for v in (k, d, s, o)) and min(p) >= 0:
        blocks = [(o[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(2)]
        length = max(1, blocks[0] * blocks[1]) if chance(draw, 85) else draw(st.integers(1, 20))
        values = k[0] * k[1] * draw(st.integers(1, 3)) if chance(draw, 90) else draw(st.integers(1, 20))
    else:
        length, values = draw(st.integers(1, 20)), draw(st.integers(1, 20))
    roll = draw(st.integers(0, 99))
    shape = (draw(st.integers(1, 2)), values, length) if roll < 75 else (
        (values, length) if roll < 95 else (1, 1, values, length))
    return LayerCase(spec, shape)


@st.composite
def norm_spec(draw, n: int, channels: int) -> LayerSpec:
    """GroupNorm or InstanceNorm{n}d for `channels` channels (rarely the wrong count)."""
    c = channels if chance(draw, 95) else channels + 1
    if chance(draw, 50):
        groups = draw(st.sampled_from([g for g in range(1, c + 1) if c % g == 0]))
        present: dict[str, Any] = {"num_groups": groups, "num_channels": c}
        if chance(draw, 30):
            present["affine"] = draw(st.booleans())
        return draw(render("GroupNorm", GROUPNORM_SIG, present))
    present = {"num_features": c}
    for flag in ("affine", "track_running_stats"):
        if chance(draw, 40):
            present[flag] = draw(st.booleans())
    return draw(render(f"InstanceNorm{n}d", INSTANCENORM_SIG, present))


# --------------------------------------------------------------------------- chains


@st.composite
def chain_cases(draw, min_layers: int = 2, max_layers: int = 4) -> ChainCase:
    """Chains of conv / pool / transposed conv / upsample / GroupNorm / InstanceNorm sharing one
    spatial rank."""
    n = draw(st.sampled_from([1, 2, 3]))
    c0 = draw(st.integers(1, 4))
    spatial = tuple(draw(st.integers(3, {1: 24, 2: 12, 3: 7}[n])) for _ in range(n))
    shape = (draw(st.integers(1, 2)), c0) + spatial
    channels = c0
    specs = []
    for _ in range(draw(st.integers(min_layers, max_layers))):
        kind = draw(st.sampled_from(["conv", "conv", "convT", "maxpool", "avgpool",
                                     "upsample", "norm"]))
        if kind == "conv":
            cin = channels if chance(draw, 95) else channels + 1
            spec = draw(conv_spec(n, cin, wild=False))
        elif kind == "convT":
            cin = channels if chance(draw, 95) else channels + 1
            spec = draw(conv_transpose_spec(n, cin, wild=False))
        elif kind == "maxpool":
            spec = draw(max_pool_spec(n, wild=False))
        elif kind == "avgpool":
            spec = draw(avg_pool_spec(n, wild=False))
        elif kind == "norm":
            spec = draw(norm_spec(n, channels))
        else:
            spec = draw(upsample_spec(n, wild=False))
            if "size" not in dict(zip(UPSAMPLE_SIG, spec.args)) | dict(spec.kwargs):
                # keep tensors small: integer-ish scales only in chains
                present = dict(zip(UPSAMPLE_SIG, spec.args)) | dict(spec.kwargs)
                present["scale_factor"] = draw(st.sampled_from([1, 2, 0.5, 1.5]))
                spec = draw(render("Upsample", UPSAMPLE_SIG, present, bare_ok=("mode",)))
        if spec.out_channels is not None:
            channels = spec.out_channels
        specs.append(spec)
    return ChainCase(tuple(specs), shape)


FAMILIES: dict[str, st.SearchStrategy] = {
    "conv": conv_cases(),
    "conv_transpose": conv_transpose_cases(),
    "max_pool": max_pool_cases(),
    "avg_pool": avg_pool_cases(),
    "adaptive_pool": adaptive_pool_cases(),
    "upsample": upsample_cases(),
    "pad": pad_cases(),
    "pixel_shuffle": pixel_shuffle_cases(),
    "linear": linear_cases(),
    "unfold": unfold_cases(),
    "fold": fold_cases(),
}
