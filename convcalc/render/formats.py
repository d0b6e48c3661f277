"""Machine formats: JSON (the contract's document), CSV (exact integers), Markdown."""

from __future__ import annotations

import csv
import io
import json

from ..analysis.result import Analysis
from .columns import COLUMNS, CSV_FIELDS, Align, memory_items


def to_json(analysis: Analysis) -> str:
    return json.dumps(analysis.to_dict(), indent=2)


def to_csv(analysis: Analysis) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for row in analysis.layers:
        d = row.to_dict()
        rf = d["receptive_field"] or {}
        writer.writerow([d["index"], d["name"], d["type"], d["spec"], " ".join(d["inputs"]),
                         "x".join(str(v) for v in row.input_shape), "x".join(str(v) for v in row.output_shape),
                         d["params"], d["trainable_params"], d["macs"], d["flops"], d["output_bytes"],
                         "x".join(str(v) for v in rf.get("size", [])),
                         "x".join(str(v) for v in rf.get("stride", [])),
                         "x".join("" if v is None else str(v) for v in rf.get("start", []))])
    t = analysis.total
    writer.writerow(["", "total", "", "", "", "x".join(str(v) for v in analysis.input_shape),
                     "x".join(str(v) for v in t.output_shape), t.params, t.trainable_params, t.macs,
                     t.flops, t.output_bytes, "", "", ""])
    return buffer.getvalue()


def to_markdown(analysis: Analysis, rows=None) -> str:
    def line(cells):
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    rule = ["---:" if c.align is Align.RIGHT else ":---" for c in COLUMNS]
    lines = [line([c.title for c in COLUMNS]), "| " + " | ".join(rule) + " |"]
    rows = analysis.layers if rows is None else rows
    lines += [line([c.cell(r, False) for c in COLUMNS]) for r in rows]
    lines.append(line([f"**{c.total(analysis, False)}**" for c in COLUMNS]))
    lines.append("")
    lines += [f"- {name}: {value} ({why})" for name, value, why in memory_items(analysis)]
    return "\n".join(lines) + "\n"
