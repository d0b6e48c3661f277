"""The Python API the CLI is a thin shell over.

    >>> import convcalc
    >>> a = convcalc.analyze(["Conv2d(3, 64, 7, stride=2, padding=3, bias=False)"], (1, 3, 224, 224))
    >>> a.total.output_shape, a.total.params, a.total.macs
    ((1, 64, 112, 112), 9408, 118013952)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from .analysis import DTYPE_BYTES, Analysis, Graph, Node, conventions, walk
from .analysis.conventions import Convention
from .errors import ConvcalcError, Location
from .layers import Layer
from .parsing import parse_shape
from .reading import read_item

if TYPE_CHECKING:
    from .analysis.explain import LayerExplanation

ShapeLike = str | Sequence[int]


def chain_graph(layers: str | Sequence[str | Layer], input_shape: ShapeLike,
                sources: Sequence[str] | None = None) -> Graph:
    """A chain from expressions (each may hold several layers joined by '->'), `@file`
    arguments or Layer objects."""
    shape = parse_shape(input_shape)
    items = [layers] if isinstance(layers, (str, Layer)) else list(layers)
    if not items:
        raise ConvcalcError("give at least one layer")
    graph = Graph(shape)
    previous = "input"
    taken = {"input"}
    for i, item in enumerate(items):
        source = sources[i] if sources is not None else f"<layer {i + 1}>"  # type: ignore[index]
        if isinstance(item, Layer):
            pieces = [(item, item.spec(), None, None, None)]
        elif isinstance(item, str):  # pasted text or an @file: convcalc/reading.py
            pieces = read_item(item, source)
        else:
            raise ConvcalcError(f"expected a layer expression string; got {type(item).__name__}",
                                Location(source))
        for layer, text, dtype, location, given in pieces:
            name = given if given and given not in taken else str(len(graph.nodes))
            taken.add(name)
            where = None
            if location is not None:
                where = Location(location.source, location.line, location.column, name, location.text)
            graph.nodes.append(Node(name, layer, (previous,), text, dtype, where))
            previous = name
    return graph



def analyze(layers: str | Sequence[str | Layer], input_shape: ShapeLike, *,
            dtype: str = "float32", convention: str | Convention | None = None,
            sources: Sequence[str] | None = None) -> Analysis:
    """Shapes, parameters, MACs, FLOPs, memory and receptive fields of a chain of layers.

    `layers` is one expression (`"Conv2d(3, 8, 3) -> ReLU()"`), a Layer, or a list of
    them; `input_shape` a tuple or a string such as `"1x3x224x224"`; `convention` names
    how MACs and FLOPs are counted (default: convcalc's, CONTRACT section 4).  Raises
    ConvcalcError (with the location) for anything PyTorch would refuse.
    """
    if dtype not in DTYPE_BYTES:
        allowed = ", ".join(DTYPE_BYTES)
        raise ConvcalcError(f"unknown dtype {dtype!r}; expected one of {allowed}", Location("--dtype"))
    return walk(chain_graph(layers, input_shape, sources), dtype, conventions.get(convention))


def explain(layers: str | Sequence[str | Layer], input_shape: ShapeLike, *,
            dtype: str = "float32", convention: str | Convention | None = None,
            sources: Sequence[str] | None = None) -> list[LayerExplanation]:
    """The arithmetic behind `analyze`, one LayerExplanation per analysed layer."""
    from .analysis.explain import explain as explain_analysis
    return explain_analysis(analyze(layers, input_shape, dtype=dtype, convention=convention, sources=sources))
