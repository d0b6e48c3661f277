"""An analysed network: the walk's rows and totals, plus its groups and names."""

from __future__ import annotations

import difflib

from ..analysis.result import Analysis, LayerResult
from ..errors import ConvcalcError
from ..record import record
from .expand import Group, Network


@record
class GroupTotals:
    """One group's rows summed (what a folded row shows)."""

    group: Group
    layers: int
    params: int
    trainable_params: int
    macs: int
    flops: int
    output_bytes: int
    first: int  # index of its first row
    output: LayerResult  # the row whose output is the group's

    def to_dict(self) -> dict:
        g = self.group
        return {"name": g.name, "type": g.type, "spec": g.spec, "line": g.line, "layers": self.layers,
                "params": self.params, "trainable_params": self.trainable_params, "macs": self.macs,
                "flops": self.flops, "output_bytes": self.output_bytes,
                "output_shape": list(self.output.output_shape)}


class NetworkAnalysis:
    """`analysis` is the walk's result (rows in an order where inputs come first, every
    layer under its full dotted name); `network` the expanded spec."""

    def __init__(self, analysis: Analysis, network: Network):
        self.analysis, self.network = analysis, network
        names = network.node_groups
        self.row_nodes: list[str] = []
        self.last_row: dict[str, LayerResult] = {}
        for row in analysis.layers:
            node = row.name if row.name in names else row.name.rsplit(".", 1)[0]
            self.row_nodes.append(node)
            self.last_row[node] = row
        self._groups: list[GroupTotals] | None = None
        #: warnings about the spec itself (entries no one reads), beside the layers' notes:
        #: (line, message)
        self.spec_warnings: list[tuple[int | None, str]] = []

    @property
    def spec(self):
        return self.network.spec

    def output_row(self) -> LayerResult:
        return self.last_row[self.network.output]

    def row(self, entry: str, line: int | None = None) -> LayerResult:
        """The row whose output an entry name stands for; ConvcalcError for an unknown name."""
        node = self.network.find(entry)
        if node is None or node not in self.last_row:
            close = difflib.get_close_matches(entry, [*self.last_row, *(g.name for g in self.network.groups)],
                                              n=1, cutoff=0.6) if len(entry) < 200 else []
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConvcalcError(f"expect names the entry {entry!r}, which the network does not have{hint}",
                                self.spec.where(line))
        return self.last_row[node]

    def group_totals(self) -> list[GroupTotals]:
        """Every group's sums, in the order of their first rows."""
        if self._groups is not None:
            return self._groups
        sums: dict[int, list] = {}
        for i, (row, node) in enumerate(zip(self.analysis.layers, self.row_nodes)):
            group = self.network.node_groups.get(node)
            while group is not None:
                s = sums.get(id(group))
                if s is None:
                    s = sums[id(group)] = [group, 0, 0, 0, 0, 0, 0, i]
                s[1] += 1
                s[2] += row.params
                s[3] += row.trainable_params
                s[4] += row.macs
                s[5] += row.flops
                s[6] += row.output_bytes
                group = group.parent
        self._groups = sorted((GroupTotals(g, n, p, tp, m, f, b, first, self.last_row[g.output])
                               for g, n, p, tp, m, f, b, first in sums.values() if g.output in self.last_row),
                              key=lambda t: (t.first, t.group.depth))
        return self._groups

    def to_json(self) -> str:
        """The JSON document, one layer (and one group) per line: readable, and written by
        json's C encoder (an indented dump of 10,000 layers takes seconds in pure Python)."""
        return dumps(self.to_dict())

    def to_dict(self) -> dict:
        spec = self.spec
        doc = {"name": spec.name, "source": spec.source}
        doc.update(self.analysis.to_dict())
        doc["output"] = self.output_row().name
        doc["groups"] = [g.to_dict() for g in self.group_totals()]
        return doc


def dumps(doc: dict) -> str:
    """`doc` as JSON with its top-level keys on their own lines and each item of a list of
    objects (the layers, the groups) on one line."""
    import json

    encode = json.JSONEncoder(ensure_ascii=True).encode
    parts = []
    for key, value in doc.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            inner = ",\n    ".join(encode(v) for v in value)
            text = f"[\n    {inner}\n  ]"
        else:
            text = encode(value)
        parts.append(f"  {encode(key)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n}"
