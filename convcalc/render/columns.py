"""The columns of a layer table and their units, defined once for every output format."""

from __future__ import annotations

from enum import Enum
from fractions import Fraction
from typing import Callable

from ..analysis.result import Analysis, LayerResult, ReceptiveField
from ..record import record

_DECIMAL = ("K", "M", "G", "T", "P", "E")
_BINARY = ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def _three_digits(num: int, den: int) -> tuple[str, int]:
    """num/den (>= 1) to three significant digits, halves rounded up, never in exponent form.

    Returns the text and the rounded whole part; at 1000 and above the text is that
    whole number, so callers can move to the next unit when it reaches their base.
    """
    for decimals in (2, 1, 0):
        scaled = (2 * num * 10**decimals + den) // (2 * den)
        if scaled < 1000 or decimals == 0:
            break
    whole, fraction = divmod(scaled, 10**decimals)
    return (f"{whole}.{fraction:0{decimals}d}" if decimals else str(whole)), whole


def _scaled(value: int, base: int, units: tuple[str, ...], unitless: str) -> str:
    sign, value = ("-" if value < 0 else ""), abs(value)
    if value < base:
        return f"{sign}{value}{unitless}"
    unit = 0
    while unit + 1 < len(units) and value >= base ** (unit + 2):
        unit += 1
    text, whole = _three_digits(value, base ** (unit + 1))
    if whole >= base and unit + 1 < len(units):  # rounded up into the next unit: 999.5 K -> 1.00 M
        unit += 1
        text, _ = _three_digits(value, base ** (unit + 1))
    return f"{sign}{text} {units[unit]}"


def human(value: int) -> str:
    """Decimal units, as parameter and MAC counts are quoted: 1234567 -> '1.23 M', 999999 -> '1.00 M'."""
    return _scaled(value, 1000, _DECIMAL, "")


def human_bytes(value: int) -> str:
    """Binary units for memory: 3211264 -> '3.06 MiB', 1048473 (1023.9 KiB) -> '1.00 MiB'."""
    return _scaled(value, 1024, _BINARY, " B")


def shape_text(shape, compact: bool = False) -> str:
    """'[1, 64, 112, 112]' as PyTorch prints sizes, or '1×64×112×112' where space is short."""
    if compact and shape:
        return "×".join(str(d) for d in shape)
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _fraction(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def rf_size(rf: ReceptiveField | None) -> str:
    return "-" if rf is None else "×".join(str(s) for s in rf.size)


def rf_stride(rf: ReceptiveField | None) -> str:
    """Per-axis stride; a fraction after up-sampling ('1/2×1/2'), which is why it has its own column."""
    return "-" if rf is None else "×".join(_fraction(s) for s in rf.stride)


def rf_start(rf: ReceptiveField | None) -> str:
    """Per-axis start; 'none' where no input position reaches output unit 0."""
    if rf is None:
        return "-"
    if all(s is None for s in rf.start):
        return "none"
    return ",".join("none" if s is None else str(s) for s in rf.start)


class Align(Enum):
    LEFT = "left"
    RIGHT = "right"


class Key(Enum):
    NAME = "name"
    TYPE = "type"
    SHAPE = "output_shape"
    PARAMS = "params"
    MACS = "macs"
    FLOPS = "flops"
    MEMORY = "output_bytes"
    RF_SIZE = "rf_size"
    RF_STRIDE = "rf_stride"
    RF_START = "rf_start"


@record
class Column:
    """One column. `cell` and `total` take a `compact` flag: narrower text for a narrow terminal."""

    key: Key
    header: str  # a newline splits it over two lines in the terminal table
    cell: Callable[[LayerResult, bool], str]
    total: Callable[[Analysis, bool], str]
    align: Align = Align.RIGHT
    #: 0: always shown; otherwise the order in which a narrow terminal gives columns up (last first)
    rank: int = 0
    #: whether `compact` changes its text
    compacts: bool = False

    @property
    def title(self) -> str:
        """The header on one line (Markdown, messages)."""
        return " ".join(self.header.split())


def _last_rf(a: Analysis) -> ReceptiveField | None:
    return a.layers[-1].receptive_field if a.layers else None


def _count(a: Analysis) -> str:
    return f"{len(a.layers)} layer" + ("" if len(a.layers) == 1 else "s")


COLUMNS: tuple[Column, ...] = (
    Column(Key.NAME, "Name", lambda r, c: r.name, lambda a, c: "Total", Align.LEFT),
    Column(Key.TYPE, "Type", lambda r, c: r.type, lambda a, c: _count(a), Align.LEFT),
    Column(Key.SHAPE, "Output\nshape", lambda r, c: shape_text(r.output_shape, c),
           lambda a, c: shape_text(a.total.output_shape, c), Align.LEFT, compacts=True),
    Column(Key.PARAMS, "Params", lambda r, c: human(r.params), lambda a, c: human(a.total.params)),
    Column(Key.MACS, "MACs", lambda r, c: human(r.macs), lambda a, c: human(a.total.macs)),
    Column(Key.FLOPS, "FLOPs", lambda r, c: human(r.flops), lambda a, c: human(a.total.flops), rank=3),
    Column(Key.MEMORY, "Memory", lambda r, c: human_bytes(r.output_bytes),
           lambda a, c: human_bytes(a.total.output_bytes), rank=2),
    Column(Key.RF_SIZE, "RF\nsize", lambda r, c: rf_size(r.receptive_field),
           lambda a, c: rf_size(_last_rf(a)), rank=1),
    Column(Key.RF_STRIDE, "RF\nstride", lambda r, c: rf_stride(r.receptive_field),
           lambda a, c: rf_stride(_last_rf(a)), rank=4),
    Column(Key.RF_START, "RF\nstart", lambda r, c: rf_start(r.receptive_field),
           lambda a, c: rf_start(_last_rf(a)), rank=5),
)

RF_KEYS = (Key.RF_SIZE, Key.RF_STRIDE, Key.RF_START)

def memory_items(analysis: Analysis) -> list[tuple[str, str, str]]:
    """The memory totals torchinfo users look for: (label, amount, what it adds up)."""
    t = analysis.total
    return [("Parameter memory", human_bytes(t.param_bytes), f"{t.params:,} parameters"),
            ("Input size", human_bytes(t.input_bytes), f"the input {shape_text(analysis.input_shape)}"),
            ("Activation memory", human_bytes(t.activation_bytes), "every layer's output, summed"),
            ("Estimated total", human_bytes(t.total_bytes), "input + parameters + activations")]


#: exact columns for CSV, in the JSON's key names
CSV_FIELDS = ("index", "name", "type", "spec", "inputs", "input_shape", "output_shape", "params",
              "trainable_params", "macs", "flops", "output_bytes", "rf_size", "rf_stride", "rf_start")
