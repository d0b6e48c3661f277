"""The graph walk: shapes, counts and receptive fields for a chain or a DAG.

`Graph.validate` puts the nodes in an order where every input is defined before it is
read, refusing unknown references, cycles and wrong input counts with the entry named.
Each node is then visited once, so the walk is linear in the number of layers.
"""

from __future__ import annotations

import math
from typing import Sequence

from ..dtypes import DTYPE_BYTES
from ..errors import ConvcalcError, IncompatibleInputError, Location
from ..layers.base import Layer, Shape
from ..record import field, record
from . import conventions
from .receptive import RFState
from .result import Analysis, LayerResult, ReceptiveField, Totals

INPUT = "input"


@record
class Node:
    name: str
    layer: Layer
    inputs: tuple[str, ...]
    spec: str
    dtype: str | None = None
    location: Location | None = None

    def where(self) -> Location:
        return self.location or Location("<graph>", entry=self.name)


@record(frozen=False)
class Graph:
    input_shape: Shape
    nodes: list[Node] = field(default_factory=list)

    def validate(self) -> list[Node]:
        """The nodes in dependency order; ConvcalcError naming the entry for an unknown
        reference, a cycle, a repeated name or a wrong number of inputs."""
        by_name: dict[str, Node] = {}
        for node in self.nodes:
            if node.name == INPUT or node.name in by_name:
                what = "is reserved for the network input" if node.name == INPUT else "is used twice"
                raise ConvcalcError(f"the name {node.name!r} {what}", node.where())
            by_name[node.name] = node
        for node in self.nodes:
            if not node.inputs:
                raise ConvcalcError(f"{node.layer.name} has no input", node.where())
            for ref in node.inputs:
                if ref != INPUT and ref not in by_name:
                    known = ", ".join(list(by_name)[:8]) + (", ..." if len(by_name) > 8 else "")
                    raise ConvcalcError(f"unknown reference {ref!r}; expected 'input' or an entry name "
                                        f"({known})", node.where())
            arity, least = node.layer.arity, node.layer.min_inputs
            if arity is not None and len(node.inputs) != arity:
                raise ConvcalcError(f"{node.layer.name} takes {arity} input; got {len(node.inputs)} "
                                    f"({', '.join(node.inputs)})", node.where())
            if len(node.inputs) < least:
                raise IncompatibleInputError(
                    f"{node.layer.name}: needs at least {'two' if least == 2 else least} inputs; got "
                    f"{len(node.inputs)} (in a chain each layer has one input; give a merge its inputs "
                    "with 'from:' in a YAML network spec)", node.where())
        return _dependency_order(self.nodes, by_name)


def _dependency_order(nodes: list[Node], by_name: dict[str, Node]) -> list[Node]:
    """Nodes ordered so that inputs come first, keeping the given order where it already
    does (a chain stays as written); a cycle is named by one of its entries."""
    done: set[str] = {INPUT}
    order: list[Node] = []
    state: dict[str, int] = {}  # 1: being visited, 2: done
    for root in nodes:
        if root.name in done:
            continue
        stack = [(root, 0)]
        while stack:
            node, i = stack.pop()
            if i == 0:
                state[node.name] = 1
            if i < len(node.inputs):
                stack.append((node, i + 1))
                ref = node.inputs[i]
                if ref in done:
                    continue
                if state.get(ref) == 1:
                    raise ConvcalcError(f"cycle: {node.name!r} reads {ref!r}, which depends on "
                                        f"{node.name!r}", node.where())
                stack.append((by_name[ref], 0))
            else:
                state[node.name] = 2
                done.add(node.name)
                order.append(node)
    return order


def spatial_dims(graph: Graph) -> int:
    """How many trailing input axes are spatial: the first layer with an opinion decides."""
    x = graph.input_shape
    for node in graph.nodes:
        n = node.layer.spatial_ndim(x)
        if n is not None:
            return max(0, min(n, len(x) - 1))
    return max(0, len(x) - 2)


def walk(graph: Graph, dtype: str = "float32",
         convention: "str | conventions.Convention | None" = None) -> Analysis:
    """Analyse every node under a counting convention; errors carry the node's location."""
    counting = conventions.get(convention)
    order = graph.validate()
    shapes: dict[str, Shape] = {INPUT: graph.input_shape}
    k = spatial_dims(graph)
    fields: dict[str, RFState | None] = {INPUT: RFState.network_input(k, graph.input_shape) if k else None}
    rows: list[LayerResult] = []
    last_row: dict[str, str] = {INPUT: INPUT}  # node name -> name of its last (expanded) row
    # element types flow as a tensor's do: a layer without its own dtype= passes on its
    # (first) input's, and the network input has --dtype
    dtypes: dict[str, str] = {INPUT: dtype}
    warnings: list[str] = []
    for node in order:
        in_shapes = [shapes[ref] for ref in node.inputs]
        in_fields = [fields[ref] for ref in node.inputs]
        node_dtype = node.dtype or dtypes[node.inputs[0]]
        try:
            layer = node.layer.resolve(in_shapes)
            # several inputs are merged by the merge layer's own effect (broadcast, concat)
            rf: RFState | list | None = None if any(f is None for f in in_fields) else (
                in_fields[0] if len(in_fields) == 1 else list(in_fields))
            current, refs = in_shapes, tuple(last_row[r] for r in node.inputs)
            for suffix, sub in layer.expand():
                name = f"{node.name}.{suffix}" if suffix else node.name
                _check_arity(sub, current)
                out = sub.output_shape(current)
                rf = _advance(rf, sub, current, out)
                spec = sub.spec() if suffix else node.spec
                row = _row(len(rows), name, spec, sub, node, refs, current, out, rf, node_dtype, counting)
                rows.append(row)
                warnings.extend(f"{name}: {note}" for note in row.notes)
                current, refs = [out], (name,)
        except ConvcalcError as exc:
            if node.location is not None:
                exc.at(node.location)
            raise
        shapes[node.name] = out
        fields[node.name] = rf
        dtypes[node.name] = node_dtype
        last_row[node.name] = rows[-1].name
    if not rows:
        raise ConvcalcError("no layers to analyse")
    total = Totals(
        params=sum(r.params for r in rows), trainable_params=sum(r.trainable_params for r in rows),
        macs=sum(r.macs for r in rows), flops=sum(r.flops for r in rows),
        output_shape=rows[-1].output_shape, output_bytes=sum(r.output_bytes for r in rows),
        # parameters take their row's element type (a layer's own dtype= included)
        param_bytes=sum(r.params * DTYPE_BYTES[r.dtype] for r in rows),
        input_bytes=math.prod(graph.input_shape) * DTYPE_BYTES[dtype])
    return Analysis(graph.input_shape, tuple(rows), total, dtype, tuple(warnings), counting.name)


def _check_arity(layer: Layer, inputs: Sequence[Shape]) -> None:
    if layer.arity is not None and len(inputs) != layer.arity:
        raise IncompatibleInputError(f"{layer.name} takes {layer.arity} input; got {len(inputs)}")


def _advance(rf: "RFState | list[RFState] | None", layer: Layer, inputs, out: Shape) -> RFState | None:
    if rf is None:
        return None
    effect = layer.rf_effect(inputs, out)
    if isinstance(rf, list):
        if effect.per_input is not None:  # each input through its own step, then united
            moved = [st.apply(e, [shape], out) for st, e, shape in zip(rf, effect.per_input, inputs)]
            return RFState.merge(moved, [out] * len(moved), effect, out)
        return RFState.merge(rf, inputs, effect, out)
    return rf.apply(effect, inputs, out)


def _row(index: int, name: str, spec: str, layer: Layer, node: Node, refs, inputs, out: Shape,
         rf: RFState | None, dtype: str, counting: "conventions.Convention") -> LayerResult:
    params = layer.params()
    size = DTYPE_BYTES[node.dtype or dtype]
    field_ = None
    if rf is not None and rf.axes:
        found = rf.summary()
        field_ = ReceptiveField(tuple(a[0] for a in found), tuple(a[1] for a in found),
                                tuple(a[2] for a in found))
    macs, flops = counting.count(layer, inputs, out)
    # positional: a 10,000-layer analysis builds 10,000 of these
    return LayerResult(index, name, layer.name, spec, tuple(refs), tuple(tuple(s) for s in inputs), tuple(out),
                       params, params, macs, flops, math.prod(out) * size, field_, tuple(layer.notes(inputs, out)),
                       layer, node.dtype or dtype, layer.buffers())
