"""CSV and Markdown for the commands whose table is not `shape`'s (verify, solve, compare):
one writer each, so every table command takes the contract's four formats alike."""

from __future__ import annotations

import csv
import io
from typing import Iterable, Sequence


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def markdown_text(header: Sequence[str], rows: Iterable[Sequence[object]], right: Sequence[bool]) -> str:
    """A pipe table; `right[i]`: column i holds numbers (right-aligned)."""
    def line(cells) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    lines = [line(header), "| " + " | ".join("---:" if r else ":---" for r in right) + " |"]
    lines += [line(r) for r in rows]
    return "\n".join(lines) + "\n"


def shape_cell(shape) -> str:
    return "x".join(map(str, shape))


def verify_rows(report, csv_like: bool) -> tuple[list[str], list[list[object]]]:
    """verify's table: exact integers and true/false in CSV, ✓/✗ and thousands in Markdown."""
    if csv_like:
        header = ["index", "name", "type", "output_shape", "analysed_output_shape", "shape_ok",
                  "macs_executed", "macs_analysed", "macs_ok"]
        rows = [[c.step.row.index, c.step.row.name, c.step.row.type, shape_cell(c.step.output_shape),
                 shape_cell(c.step.row.output_shape), str(c.shape_ok).lower(), c.step.macs, c.step.row.macs,
                 str(c.macs_ok).lower()] for c in report.checks]
        return header, rows
    mark = {True: "✓", False: "✗"}
    header = ["#", "Name", "Type", "Output shape", "Shape", "MACs executed", "MACs analysed", "MACs"]
    rows = [[c.step.row.index, c.step.row.name, c.step.row.type, shape_cell(c.step.output_shape),
             mark[c.shape_ok], f"{c.step.macs:,}", f"{c.step.row.macs:,}", mark[c.macs_ok]]
            for c in report.checks]
    return header, rows


def verify_text(report, fmt: str) -> str:
    header, rows = verify_rows(report, fmt == "csv")
    if fmt == "csv":
        return csv_text(header, rows)
    return markdown_text(header, rows, [True, False, False, False, False, True, True, False])


def compare_csv(comparison) -> str:
    """One row per layer and a total row: every convention's MACs, exact."""
    names = list(comparison.conventions)
    rows = [[layer.name, layer.type, layer.spec, *layer.macs] for layer in comparison.layers]
    rows.append(["total", "", "", *comparison.totals])
    return csv_text(["name", "type", "spec", *names], rows)


def aligned(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]


def solve_lines(rows: list[list[str]], width: int | None) -> list[str]:
    """solve's table (`#`, the unknowns, `spec`, `marks`); where it is wider than the
    terminal, each spec goes on its own indented line under its row, folded at commas."""
    from .wrap import fold

    lines = aligned(rows)
    if width is None or max(map(len, lines)) <= width:
        return lines
    spec = rows[0].index("spec")
    short = aligned([r[:spec] + r[spec + 1:] for r in rows])
    out = [short[0]]
    for line, row in zip(short[1:], rows[1:]):
        out += [line, fold("    " + row[spec], width, hang=4)]
    return out
