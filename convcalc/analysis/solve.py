"""The inverse question: which kernel, stride, padding... take this input shape to that one?

A template is a convolution or pooling expression (DeformConv2d too) whose unknown integer
geometry arguments are written `?` (`ConvTranspose2d(64, 32, k=?, s=2, p=?, op=?)`).  Each `?` is replaced by a one-character
placeholder name before the ordinary, non-evaluating expression parser reads the text, so
columns in error messages still point into what the user typed.  Every assignment in a
bounded search space is then built through the layer registry and its `output_shape`
(PyTorch's own accept/reject rules apply) and kept when it gives the target shape.

Search space, per unknown (a `?` for a whole argument is one value used on every spatial
axis; a `?` inside a tuple is that axis alone):

- kernel_size 1..11, dilation 1..4, stride 1..4;
- padding 0..e-1, where e = dilation*(kernel_size-1)+1 is the kernel's extent on that axis
  (so padding < kernel_size without dilation); pooling's own limit (padding <= half the
  kernel) is PyTorch's and applies on top;
- output_padding 0..max(stride, dilation)-1, as PyTorch allows.

Solutions are ordered simplest and most common first: dilation 1, then the fewest warnings,
then odd kernels with padding 0 or (extent-1)/2 (for direct convolutions and pooling), then
no output_padding, then the smallest values.
"""

from __future__ import annotations

import itertools
import math
import re
from typing import Iterator

from ..errors import ConvcalcError, ExpressionError, Location
from ..layers.base import Layer, fmt_shape
from ..layers.conv import ConvNd, ConvTransposeNd, LazyConv
from ..layers.deform import DeformConv2d
from ..layers.pool import AvgPoolNd, MaxPoolNd
from ..layers.registry import ALIASES, build, table
from ..parsing.expr import Arg, LayerCall, parse_call
from ..record import field, record

KERNEL_MAX = 11
STRIDE_MAX = 4
DILATION_MAX = 4
MAX_ASSIGNMENTS = 200_000  # a template with more candidate assignments is refused
UNKNOWN_PARAMS = ("kernel_size", "dilation", "stride", "padding", "output_padding")
#: the families whose integer geometry may be unknown (classes, not names: a subclass counts)
_FAMILIES = (ConvNd, ConvTransposeNd, LazyConv, DeformConv2d, MaxPoolNd, AvgPoolNd)
_PLACEHOLDER = "\ua757"  # a letter Python accepts in a name, one character like '?'
_TOKENS = re.compile(r"""'(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?|\?""", re.S)

MARK_DROPS = "drops input"
MARK_PADDING = "padding only"
MARK_NO_INPUT = "outputs without input"
MARK_UNEVEN = "uneven overlap"


@record
class Solution:
    """One assignment of the unknowns that gives the target shape."""

    values: dict[str, object]  # PyTorch keyword name -> int, or a tuple when an axis was unknown
    spec: str
    output_shape: tuple[int, ...]
    notes: list[str] = field(default_factory=list)  # the layer's own warnings
    marks: list[str] = field(default_factory=list)  # MARK_* the notes amount to

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {k: list(v) if isinstance(v, tuple) else v for k, v in self.values.items()}
        out["spec"] = self.spec
        out["marks"] = list(self.marks)
        out["notes"] = list(self.notes)
        return out


@record
class _Unknown:
    param: str  # PyTorch's keyword name
    element: int | None  # index inside a tuple, None for the whole argument
    column: int  # 1-based column of the '?' in the template


@record
class Template:
    """A parsed template: the call with placeholders and where each unknown goes."""

    call: LayerCall
    unknowns: tuple[_Unknown, ...]
    where: dict[str, str]  # param -> the argument's key in the call: "#<index>" or the keyword
    given: dict[str, object]  # the other geometry arguments as written


def parse_template(text: str, source: str = "TEMPLATE") -> Template:
    """Read a template safely: each `?` (outside strings) becomes a placeholder name, then
    the ordinary expression parser reads it; a `?` anywhere but a geometry argument of a
    convolution or pooling layer is refused."""
    columns = [m.start() + 1 for m in _TOKENS.finditer(text) if m.group() == "?"]
    if not columns:
        raise ExpressionError("expected at least one unknown written '?' (e.g. 'Conv2d(3, 8, k=?, p=1)'); "
                              "got none", Location(source, 1, 1, None, text))
    holes = {c - 1 for c in columns}
    masked = "".join(_PLACEHOLDER if i in holes else ch for i, ch in enumerate(text))
    call = parse_call(masked, source, full_text=text)
    call = LayerCall(call.name, call.args, call.kwargs, text, call.location)

    def loc(column: int) -> Location:
        return Location(source, 1, column, None, text)

    spec = table().get(call.name.lower())
    if spec is None:
        build(call)  # the registry's own "unknown layer" error
    names = [p for p, _ in spec.params]
    keys: list[tuple[str, str, Arg]] = []  # (param, key, arg) in the text's order
    for i, arg in enumerate(call.args):
        keys.append((names[i] if i < len(names) else f"#{i}", f"#{i}", arg))
    for key, arg in call.kwargs.items():
        keys.append((ALIASES.get(key, key) if key not in dict(spec.params) else key, key, arg))
    family_ok = issubclass(spec.family, _FAMILIES)
    found: list[tuple[str, int | None]] = []
    where: dict[str, str] = {}
    given: dict[str, object] = {}
    for param, key, arg in keys:
        value = arg.value
        holes = ([None] if value == _PLACEHOLDER else
                 [j for j, v in enumerate(value) if v == _PLACEHOLDER] if isinstance(value, tuple) else [])
        if param in UNKNOWN_PARAMS:
            where[param] = key
            if not holes:
                given[param] = value
        for element in holes:
            column = columns[len(found)] if len(found) < len(columns) else arg.column
            if not family_ok:
                raise ExpressionError(f"expected '?' only in a convolution or pooling layer's geometry "
                                      f"arguments; got one in {spec.name}", loc(column))
            if param not in UNKNOWN_PARAMS:
                raise ExpressionError(f"expected '?' only for {', '.join(UNKNOWN_PARAMS)}; got one for "
                                      f"{param!r}", loc(column))
            found.append((param, element))
    if len(found) != len(columns):
        column = columns[len(found)] if len(found) < len(columns) else columns[-1]
        raise ExpressionError("expected '?' alone as an argument or a tuple element (e.g. k=? or k=(?, 3)); "
                              "got one elsewhere", loc(column))
    unknowns = tuple(_Unknown(p, e, c) for (p, e), c in zip(found, columns))
    return Template(call, unknowns, where, given)


def solve(template: str, input_shape: tuple[int, ...], output_shape: tuple[int, ...],
          source: str = "TEMPLATE") -> list[Solution]:
    """Every assignment of the template's unknowns in the search space (module docstring)
    whose layer takes `input_shape` to `output_shape`, simplest first."""
    t = parse_template(template, source)
    inputs = [tuple(input_shape)]
    target = tuple(output_shape)
    solutions: list[tuple[tuple, Solution]] = []
    first_error: ConvcalcError | None = None
    built_any = False
    size = _space_size(t)  # counted first: refusing after building 200,000 layers took 10 s
    if size > MAX_ASSIGNMENTS:
        raise ConvcalcError(f"expected a search space of at most {MAX_ASSIGNMENTS:,} assignments; got {size:,} "
                            "(give some of the unknowns a value)", Location(source, 1, 1, None, template))
    for values in _assignments(t):
        call = _substitute(t, values)
        try:
            layer = build(call).layer
        except ConvcalcError as exc:
            first_error = first_error or exc
            continue
        built_any = True
        try:
            layer = layer.resolve(inputs)  # a Lazy layer takes its channels from the input
            out = tuple(layer.output_shape(inputs))
        except ConvcalcError:
            continue
        if out != target or not _in_space(t, layer):
            continue
        notes = list(layer.notes(inputs, out))
        solution = Solution({p: v for p, v in values.items()}, layer.spec(), out, notes, _marks(notes))
        solutions.append((_rank(t, layer, solution), solution))
    if not built_any and first_error is not None:
        raise first_error  # the template is wrong whatever the unknowns are
    solutions.sort(key=lambda pair: pair[0])
    return [s for _, s in solutions]


def search_space(template: Template | str) -> str:
    """The searched ranges of a template's unknowns, in words."""
    t = parse_template(template) if isinstance(template, str) else template
    ranges = {"kernel_size": f"1..{KERNEL_MAX}", "dilation": f"1..{DILATION_MAX}", "stride": f"1..{STRIDE_MAX}",
              "padding": "0..extent-1", "output_padding": "0..max(stride, dilation)-1"}
    seen = dict.fromkeys(u.param for u in t.unknowns)
    return ", ".join(f"{p} {ranges[p]}" for p in seen)


def no_solution_message(input_shape, output_shape, template: Template | str) -> str:
    return (f"no configuration in the search space gives {fmt_shape(output_shape)} from "
            f"{fmt_shape(input_shape)} (searched {search_space(template)})")


# ------------------------------------------------------------------ search

def _assignments(t: Template) -> Iterator[dict[str, object]]:
    """Each assignment, as the value of every param holding an unknown; the window's
    kernel, dilation and stride first, then the padding ranges they allow."""
    later = [u for u in t.unknowns if u.param in ("padding", "output_padding")]
    for values, ranges in _blocks(t):
        for rest in itertools.product(*ranges):
            yield values | _fill(t, later, rest)


def _space_size(t: Template) -> int:
    """How many assignments `_assignments` yields, counted without building one."""
    return sum(math.prod(len(r) for r in ranges) for _, ranges in _blocks(t))


def _blocks(t: Template):
    """(kernel, dilation and stride values, the padding ranges they allow) for each choice."""
    first = [u for u in t.unknowns if u.param in ("kernel_size", "dilation", "stride")]
    later = [u for u in t.unknowns if u.param in ("padding", "output_padding")]
    limits = {"kernel_size": range(1, KERNEL_MAX + 1), "dilation": range(1, DILATION_MAX + 1),
              "stride": range(1, STRIDE_MAX + 1)}
    for chosen in itertools.product(*(limits[u.param] for u in first)):
        values = _fill(t, first, chosen)
        extent = _largest(values.get("kernel_size", t.given.get("kernel_size", 1)), 1)
        dilation = _largest(values.get("dilation", t.given.get("dilation", 1)), 1)
        stride = _largest(values.get("stride", t.given.get("stride", 1)), 1)
        reach = dilation * (extent - 1) + 1
        later_limits = {"padding": range(0, reach), "output_padding": range(0, max(stride, dilation))}
        yield values, [later_limits[u.param] for u in later]


def _largest(value: object, default: int) -> int:
    items = value if isinstance(value, tuple) else (value,)
    ints = [v for v in items if isinstance(v, int) and not isinstance(v, bool)]
    return max(ints, default=default)


def _fill(t: Template, unknowns: list[_Unknown], chosen) -> dict[str, object]:
    """Put chosen values into the params' written values (a tuple keeps its other elements)."""
    values: dict[str, object] = {}
    for u, v in zip(unknowns, chosen):
        if u.element is None:
            values[u.param] = v
        else:
            current = values.get(u.param, _written(t, u.param))
            items = list(current)  # type: ignore[arg-type]
            items[u.element] = v
            values[u.param] = tuple(items)
    return values


def _written(t: Template, param: str) -> object:
    key = t.where[param]
    return (t.call.args[int(key[1:])] if key.startswith("#") else t.call.kwargs[key]).value


def _substitute(t: Template, values: dict[str, object]) -> LayerCall:
    args = list(t.call.args)
    kwargs = dict(t.call.kwargs)
    for param, value in values.items():
        key = t.where[param]
        if key.startswith("#"):
            i = int(key[1:])
            args[i] = Arg(value, args[i].column)
        else:
            kwargs[key] = Arg(value, kwargs[key].column)
    return LayerCall(t.call.name, tuple(args), kwargs, t.call.text, t.call.location)


def _axes(layer: Layer, name: str) -> tuple[int, ...] | None:
    value = getattr(layer, name, None)
    if isinstance(value, tuple) and all(isinstance(v, int) for v in value):
        return value
    return None


def _dilations(layer: Layer, n: int) -> tuple[int, ...]:
    for name in ("dilations", "dilation"):
        value = _axes(layer, name)
        if value is not None:
            return value
    return (1,) * n


def _in_space(t: Template, layer: Layer) -> bool:
    """Unknown padding stays below the kernel's extent on every axis."""
    if not any(u.param == "padding" for u in t.unknowns):
        return True
    kernel, padding = _axes(layer, "kernel_size"), _axes(layer, "padding")
    if kernel is None or padding is None:
        return True
    dilation = _dilations(layer, len(kernel))
    return all(p < d * (k - 1) + 1 for p, k, d in zip(padding, kernel, dilation))


def _marks(notes: list[str]) -> list[str]:
    marks = []
    if any("read by no window" in n for n in notes):
        marks.append(MARK_DROPS)
    if any("only padding" in n for n in notes):
        marks.append(MARK_PADDING)
    if any("only the bias" in n for n in notes):  # a transposed convolution's unreached outputs
        marks.append(MARK_NO_INPUT)
    if any("uneven" in n for n in notes):
        marks.append(MARK_UNEVEN)
    return marks


def _rank(t: Template, layer: Layer, solution: Solution) -> tuple:
    kernel = _axes(layer, "kernel_size") or ()
    dilation = _dilations(layer, len(kernel))
    padding = _axes(layer, "padding") or (0,) * len(kernel)
    output_padding = _axes(layer, "output_padding") or ()
    transposed = isinstance(layer, ConvTransposeNd)
    uncommon = 0
    if not transposed:
        uncommon += sum(1 for k in kernel if k % 2 == 0 and k > 1)
        uncommon += sum(1 for p, k, d in zip(padding, kernel, dilation) if p not in (0, d * (k - 1) // 2))
    size = sum(sum(v) if isinstance(v, tuple) else v for v in solution.values.values())  # type: ignore[arg-type]
    return (sum(d - 1 for d in dilation), len(solution.marks), uncommon, sum(output_padding), size,
            solution.spec)
