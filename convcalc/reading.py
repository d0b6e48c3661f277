"""An argument or `@file` to built, named layers — and what a `print(model)` dump hides.

A model's forward() may call `torch.flatten(x, 1)` before its classifier (torchvision's
VGG, AlexNet, ResNet), which its printout does not show: a Linear read from a dump then
meets a 4-D tensor. When the values after the batch dimension are exactly its
in_features, the flatten is put back (its own row, `<linear>.flatten`) with a warning
naming the layer; otherwise the error says that a Flatten is missing before it.
"""

from __future__ import annotations

import math

from .errors import ExpressionError, Location
from .layers import Built, Layer, build
from .layers.base import fmt_shape
from .layers.linear import Flatten, Linear
from .parsing import read_layer_file, read_pasted
from .record import field, record

Piece = tuple[Layer, str, "str | None", "Location | None", "str | None"]


#: built layers by expression text: layers are immutable and do not depend on where the
#: text stands, so a network that repeats a layer builds it once
_BUILT: dict[str, "Built"] = {}


def read_item(item: str, source: str) -> list[Piece]:
    """(layer, text, dtype, location, name) for each layer of an argument or `@file`.

    An argument's layers depend only on its text, so a chain that repeats an argument
    (`shape "Conv2d(16, 16, 3)" "ReLU()" "Conv2d(16, 16, 3)" ...`) reads it once; only the
    locations are made anew, naming this argument."""
    if not item.startswith("@"):
        known = _ITEMS.get(item)
        if known is not None:
            return [(layer, text, dtype, None if loc is None else
                     Location(source, loc.line, loc.column, None, loc.text), name)
                    for layer, text, dtype, loc, name in known]
        pieces = _read(item, source)
        if len(_ITEMS) < 4096:
            _ITEMS[item] = pieces
        return pieces
    return _read(item, source)


_ITEMS: dict[str, list[Piece]] = {}


def clear_cache() -> None:
    """Forget the layers read so far (benchmarks time a cold read with this)."""
    _ITEMS.clear()
    _BUILT.clear()


def _read(item: str, source: str) -> list[Piece]:
    if item.strip() == "@":
        raise ExpressionError("expected a file name after '@'; got nothing", Location(source, 1, 2, None, item))
    pasted = read_layer_file(item[1:]) if item.startswith("@") else read_pasted(item, source)
    if not pasted:
        raise ExpressionError("expected a layer expression such as 'Conv2d(3, 64, 3)'; got nothing",
                              Location(source, 1, 1, None, item))
    pieces: list[Piece] = []
    for p in pasted:
        built = _BUILT.get(p.call.text)
        if built is None:
            built = build(p.call)  # errors carry this call's location; successes are shared
            if len(_BUILT) < 4096:
                _BUILT[p.call.text] = built
        layer = built.layer
        if p.from_dump and type(layer) is Linear:
            layer = DumpLinear(layer, p.name or p.call.text)
        pieces.append((layer, p.call.text, built.dtype, p.call.location, p.name))
    return pieces


@record
class ImpliedFlatten(Flatten):
    """`torch.flatten(x, 1)` from a forward() that the printout does not show."""

    note: str = field(default="", repr=False)

    def notes(self, inputs, output) -> list[str]:
        return [self.note]


@record
class DumpLinear(Layer):
    """A Linear read from `print(model)`: it resolves to itself, or to a flatten and itself."""

    linear: Linear = None  # type: ignore[assignment]
    entry: str = ""

    type_name = "Linear"
    wrapper = True

    def spec(self) -> str:
        return self.linear.spec()

    def resolve(self, inputs) -> Layer:
        x = inputs[0]
        want = self.linear.in_features
        if len(x) <= 2 or x[-1] == want:
            return self.linear
        features = math.prod(x[1:])
        if features != want:
            raise self.linear.fail(
                f"expected the last dimension to be in_features={want}; got shape {fmt_shape(x)}: "
                f"the text shows no Flatten before {self.entry!r}, and flattened after the batch "
                f"dimension the input would hold {features} values, not {want}")
        note = (f"added, as forward() does with torch.flatten(x, 1): the printout shows no Flatten "
                f"before Linear {self.entry!r}, and its input {fmt_shape(x)} holds "
                f"in_features={want} values after the batch dimension")
        return _FlattenThen(ImpliedFlatten(1, -1, note), self.linear)


@record
class _FlattenThen(Layer):
    flatten: ImpliedFlatten = None  # type: ignore[assignment]
    linear: Linear = None  # type: ignore[assignment]

    wrapper = True

    def expand(self) -> list[tuple[str, Layer]]:
        return [("flatten", self.flatten), ("", self.linear)]
