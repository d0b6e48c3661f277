"""The columns of a layer table, defined once for every output format."""

from __future__ import annotations

from ..record import record
from enum import Enum
from fractions import Fraction
from typing import Callable

from ..analysis.result import LayerResult, Totals


def human(value: int) -> str:
    """1234567 -> '1.23 M' (decimal units, as parameter and MAC counts are quoted)."""
    for unit, scale in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {unit}"
    return str(value)


def human_bytes(value: int) -> str:
    """Binary units for memory: 3211264 -> '3.06 MiB'."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value} B"


def shape_text(shape) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _fraction(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def rf_text(row: LayerResult) -> str:
    """'7x7 /2 @-3,-3' style: size, stride, start."""
    rf = row.receptive_field
    if rf is None:
        return "-"
    size = "×".join(str(s) for s in rf.size)
    stride = "×".join(_fraction(s) for s in rf.stride)
    start = ",".join("-" if s is None else str(s) for s in rf.start)
    return f"{size} /{stride} @{start}"


class Align(Enum):
    LEFT = "left"
    RIGHT = "right"


@record
class Column:
    header: str
    cell: Callable[[LayerResult], str]
    total: Callable[[Totals], str]
    align: Align = Align.RIGHT


COLUMNS: tuple[Column, ...] = (
    Column("Name", lambda r: r.name, lambda t: "Total", Align.LEFT),
    Column("Type", lambda r: r.type, lambda t: "", Align.LEFT),
    Column("Output shape", lambda r: shape_text(r.output_shape), lambda t: shape_text(t.output_shape), Align.LEFT),
    Column("Params", lambda r: human(r.params), lambda t: human(t.params)),
    Column("MACs", lambda r: human(r.macs), lambda t: human(t.macs)),
    Column("FLOPs", lambda r: human(r.flops), lambda t: human(t.flops)),
    Column("Memory", lambda r: human_bytes(r.output_bytes), lambda t: human_bytes(t.output_bytes)),
    Column("Receptive field", rf_text, lambda t: "", Align.LEFT),
)

#: exact columns for CSV, in the JSON's key names
CSV_FIELDS = ("index", "name", "type", "spec", "inputs", "input_shape", "output_shape", "params",
              "trainable_params", "macs", "flops", "output_bytes", "rf_size", "rf_stride", "rf_start")
