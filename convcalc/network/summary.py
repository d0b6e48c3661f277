"""The rows `convcalc summary` shows: layers grouped under their blocks, folded by depth.

A group (a block use, an inline group, a named repeat) gets a row of its own, placed
before its first layer: its output shape and receptive field are its last entry's, its
params, MACs, FLOPs and memory the sums of its layers. Below it, indented, come its
members, each named relative to it (`conv1` under `layer1.0`). With `depth`, groups
`depth` levels down are folded: their row stands alone for all their layers. The
machine formats (JSON, CSV) list every layer whatever the depth.
"""

from __future__ import annotations

from ..analysis.result import LayerResult
from .result import GroupTotals, NetworkAnalysis

INDENT = "  "


def display_rows(result: NetworkAnalysis, depth: int | None = None, full_names: bool = False) -> list[LayerResult]:
    """The rows to show; `full_names` writes every name in full, without indentation
    (Markdown renderers drop leading spaces)."""
    totals = {id(t.group): t for t in result.group_totals()}
    rows: list[LayerResult] = []
    shown: set[int] = set()  # groups whose row is out
    current: list = []  # groups open at the previous row, outermost first
    for row, node in zip(result.analysis.layers, result.row_nodes):
        chain = _chain(result.network.node_groups.get(node), totals)
        folded = depth is not None and len(chain) >= depth
        visible = chain[:depth] if folded else chain
        common = 0
        while common < min(len(current), len(visible)) and current[common] is visible[common]:
            common += 1
        for level in range(common, len(visible)):
            group = visible[level]
            fold = folded and level == len(visible) - 1
            if fold and id(group) in shown:  # a folded group's one row is out already
                continue
            # a group entered here (again, as a continuation, if its layers do not follow
            # each other in the walk: only forward references can do that)
            rows.append(_group_row(totals[id(group)], level, len(rows), full_names))
            shown.add(id(group))
        current = visible
        if not folded:
            name = row.name
            if not full_names and chain:  # relative to its group, indented under it
                parent = chain[-1].name
                local = name[len(parent) + 1:] if name.startswith(parent + ".") else name
                name = INDENT * len(chain) + local
            rows.append(_renamed(row, name, len(rows)))
    return rows


def _chain(group, totals) -> list:
    chain = []
    while group is not None:
        if id(group) in totals:
            chain.append(group)
        group = group.parent
    return chain[::-1]


def _group_row(t: GroupTotals, level: int, index: int, full_name: bool = False) -> LayerResult:
    g = t.group
    parent = g.parent.name if g.parent is not None and not full_name else ""
    local = g.name[len(parent) + 1:] if parent and g.name.startswith(parent + ".") else g.name
    out = t.output
    return LayerResult(index, local if full_name else INDENT * level + local, g.type, g.spec, (), out.input_shapes, out.output_shape,
                       t.params, t.trainable_params, t.macs, t.flops, t.output_bytes, out.receptive_field,
                       (), None, out.dtype, 0)


def _renamed(row: LayerResult, name: str, index: int) -> LayerResult:
    return LayerResult(index, name, row.type, row.spec, row.inputs, row.input_shapes, row.output_shape,
                       row.params, row.trainable_params, row.macs, row.flops, row.output_bytes,
                       row.receptive_field, row.notes, row.layer, row.dtype, row.buffers)
