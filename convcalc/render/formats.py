"""Machine formats: JSON (the contract's document), CSV (exact integers), Markdown."""

from __future__ import annotations

import json

from ..analysis.result import Analysis
from .columns import COLUMNS, CSV_FIELDS, Align, memory_items
from .tables import csv_text, markdown_text, shape_cell


def to_json(analysis: Analysis) -> str:
    return json.dumps(analysis.to_dict(), indent=2)


def to_csv(analysis: Analysis) -> str:
    rows = []
    for row in analysis.layers:
        d = row.to_dict()
        rf = d["receptive_field"] or {}
        rows.append([d["index"], d["name"], d["type"], d["spec"], " ".join(d["inputs"]),
                     shape_cell(row.input_shape), shape_cell(row.output_shape),
                     d["params"], d["trainable_params"], d["macs"], d["flops"], d["output_bytes"],
                     shape_cell(rf.get("size", [])), shape_cell(rf.get("stride", [])),
                     "x".join("" if v is None else str(v) for v in rf.get("start", []))])
    t = analysis.total
    rows.append(["", "total", "", "", "", shape_cell(analysis.input_shape), shape_cell(t.output_shape),
                 t.params, t.trainable_params, t.macs, t.flops, t.output_bytes, "", "", ""])
    return csv_text(CSV_FIELDS, rows)


def to_markdown(analysis: Analysis, rows=None) -> str:
    rows = analysis.layers if rows is None else rows
    cells = [[c.cell(r, False) for c in COLUMNS] for r in rows]
    cells.append([f"**{c.total(analysis, False)}**" for c in COLUMNS])
    table = markdown_text([c.title for c in COLUMNS], cells, [c.align is Align.RIGHT for c in COLUMNS])
    memory = [f"- {name}: {value} ({why})" for name, value, why in memory_items(analysis)]
    return table + "\n" + "\n".join(memory) + "\n"
