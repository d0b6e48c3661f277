"""The graph walk: shapes, counts and receptive fields for a chain or a DAG.

Nodes come in an order where every input is defined before it is read (a chain is the
special case where each node reads the one before).  Each node is visited once, so
the walk is linear in the number of layers.
"""

from __future__ import annotations

from ..record import field, record
from typing import Sequence

from ..dtypes import DTYPE_BYTES
from ..errors import ConvcalcError, IncompatibleInputError, Location
from ..layers.base import Layer, Shape
from . import counting
from .receptive import PeriodTooLarge, RFState
from .result import Analysis, LayerResult, ReceptiveField, Totals



@record
class Node:
    name: str
    layer: Layer
    inputs: tuple[str, ...]
    spec: str
    dtype: str | None = None
    location: Location | None = None


@record(frozen=False)
class Graph:
    input_shape: Shape
    nodes: list[Node] = field(default_factory=list)


def spatial_dims(graph: Graph) -> int:
    """How many trailing input axes are spatial: the first layer with an opinion decides."""
    x = graph.input_shape
    for node in graph.nodes:
        n = node.layer.spatial_ndim(x)
        if n is not None:
            return max(0, min(n, len(x) - 1))
    return max(0, len(x) - 2)


def walk(graph: Graph, dtype: str = "float32") -> Analysis:
    """Analyse every node; errors carry the node's location."""
    shapes: dict[str, Shape] = {"input": graph.input_shape}
    k = spatial_dims(graph)
    fields: dict[str, RFState | None] = {"input": RFState.network_input(k) if k else None}
    rows: list[LayerResult] = []
    last_row: dict[str, str] = {"input": "input"}  # node name -> name of its last (expanded) row
    warnings: list[str] = []
    for node in graph.nodes:
        in_shapes = [shapes[ref] for ref in node.inputs]
        in_fields = [fields[ref] for ref in node.inputs]
        try:
            layer = node.layer.resolve(in_shapes)
            parts = layer.expand()
            rf = None if any(f is None for f in in_fields) else RFState.merge(in_fields)  # type: ignore[arg-type]
            current, refs = in_shapes, tuple(last_row[r] for r in node.inputs)
            for suffix, sub in parts:
                name = f"{node.name}.{suffix}" if suffix else node.name
                _check_arity(sub, current)
                out = sub.output_shape(current)
                rf = _advance(rf, sub, current, out)
                spec = sub.spec() if suffix else node.spec
                row = _row(len(rows), name, spec, sub, node, refs, current, out, rf, dtype)
                rows.append(row)
                warnings.extend(f"{name}: {note}" for note in row.notes)
                current, refs = [out], (name,)
        except ConvcalcError as exc:
            if node.location is not None:
                exc.at(node.location)
            raise
        shapes[node.name] = out
        fields[node.name] = rf
        last_row[node.name] = rows[-1].name
    if not rows:
        raise ConvcalcError("no layers to analyse")
    total = Totals(
        params=sum(r.params for r in rows), trainable_params=sum(r.trainable_params for r in rows),
        macs=sum(r.macs for r in rows), flops=sum(r.flops for r in rows),
        output_shape=rows[-1].output_shape, output_bytes=sum(r.output_bytes for r in rows),
        # parameters take their row's element size (its output's: a layer's own dtype= included)
        param_bytes=sum(r.params * (r.output_bytes // n if (n := counting.numel(r.output_shape))
                                    else DTYPE_BYTES[dtype]) for r in rows),
        input_bytes=counting.numel(graph.input_shape) * DTYPE_BYTES[dtype])
    return Analysis(graph.input_shape, tuple(rows), total, dtype, tuple(warnings))


def _check_arity(layer: Layer, inputs: Sequence[Shape]) -> None:
    if layer.arity is not None and len(inputs) != layer.arity:
        raise IncompatibleInputError(f"{layer.name} takes {layer.arity} input; got {len(inputs)}")


def _advance(rf: RFState | None, layer: Layer, inputs, out: Shape) -> RFState | None:
    if rf is None:
        return None
    try:
        return rf.apply(layer.rf_effect(inputs, out), len(out))
    except PeriodTooLarge:
        return None


def _row(index: int, name: str, spec: str, layer: Layer, node: Node, refs, inputs, out: Shape,
         rf: RFState | None, dtype: str) -> LayerResult:
    params = layer.param_count()
    size = DTYPE_BYTES[node.dtype or dtype]
    field_ = None
    if rf is not None and rf.axes:
        field_ = ReceptiveField(tuple(a.size for a in rf.axes), tuple(a.stride for a in rf.axes),
                                tuple(a.start for a in rf.axes))
    return LayerResult(
        index=index, name=name, type=layer.name, spec=spec, inputs=tuple(refs),
        input_shapes=tuple(tuple(s) for s in inputs), output_shape=tuple(out),
        params=params, trainable_params=params,
        macs=counting.macs(layer, inputs, out), flops=counting.flops(layer, inputs, out),
        output_bytes=counting.numel(out) * size, receptive_field=field_,
        notes=tuple(layer.notes(inputs, out)), layer=layer)
