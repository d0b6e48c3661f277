"""The `expect:` block: what `convcalc check` holds a network to.

    expect:
      output_shape: [1, 1000]
      params: 25557032            # exactly (also macs, flops)
      max_params: 26M             # ceilings: max_params, max_macs, max_flops,
      max_macs: 4.2G              #   max_activation_bytes, max_param_bytes
      max_activation_bytes: 120MiB
      min_receptive_field: 400    # of the output: every axis, or a list per axis
      max_receptive_field: [500, 500]
      entries:                    # per entry (dotted names reach into blocks)
        layer1: [1, 256, 56, 56]  #   its output shape, or:
        layer3.5.conv2: {shape: [1, 256, 14, 14], min_receptive_field: 100}

Amounts are whole numbers or numbers with a suffix: K, M, G, T (thousands, as parameter
and MAC counts are quoted) or, for bytes, Ki, Mi, Gi, Ti (1024s); a trailing B is allowed.
"""

from __future__ import annotations

import difflib
import re
from fractions import Fraction

from ..errors import ConvcalcError, ShapeError, quote
from ..parsing import parse_shape
from ..record import record
from .loader import Map, Seq, type_name

EXACT = ("params", "macs", "flops")
CEILINGS = ("max_params", "max_macs", "max_flops", "max_activation_bytes", "max_param_bytes")
RF_BOUNDS = ("min_receptive_field", "max_receptive_field")
EXPECT_KEYS = ("output_shape", *EXACT, *CEILINGS, *RF_BOUNDS, "entries")
ENTRY_KEYS = ("shape", *RF_BOUNDS)
_BYTES = {"max_activation_bytes", "max_param_bytes"}
_AMOUNT = re.compile(r"\s*([0-9][0-9_]*(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]([+-]?[0-9]{1,3}))?\s*"
                     r"([kKMGT]i?)?\s*(B?)\s*\Z")
_SCALE = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
          "ki": 2**10, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


@record
class Expectation:
    key: str  # as written: 'max_macs', 'entries.layer1.shape'
    line: int
    metric: str  # 'shape', 'params', 'macs', 'flops', 'activation_bytes', 'param_bytes', 'rf'
    bound: str  # 'exact', 'max', 'min'
    value: object  # a shape tuple, a Fraction, or a tuple of ints (per axis; one int: every axis)
    text: str  # the value as written
    entry: str | None = None  # None: the network's output


@record
class Outcome:
    expectation: Expectation
    ok: bool
    message: str  # what was expected and what was found


def read_expect(spec) -> list[Expectation]:
    """The expectations of a spec, or ConvcalcError naming the line of a malformed one."""
    block: Map | None = spec.expect
    if block is None:
        return []
    found: list[Expectation] = []
    _keys(spec, block, EXPECT_KEYS, "'expect'")
    for key, value in block.items():
        line = block.line_of(key)
        if key == "output_shape":
            found.append(Expectation(key, line, "shape", "exact", _shape(spec, value, line, key), _text(value)))
        elif key in EXACT:
            found.append(Expectation(key, line, key, "exact", _amount(spec, value, line, key), _text(value)))
        elif key in CEILINGS:
            found.append(Expectation(key, line, key[len("max_"):], "max", _amount(spec, value, line, key),
                                     _text(value)))
        elif key in RF_BOUNDS:
            found.append(Expectation(key, line, "rf", key[:3], _axes(spec, value, line, key), _text(value)))
        else:
            found += _entries(spec, value, line)
    return found


def _entries(spec, value: object, line: int) -> list[Expectation]:
    if not isinstance(value, Map):
        raise _fail(spec, f"'entries' must map entry names to shapes or to {{shape: ..., "
                          f"min_receptive_field: ...}}; got {type_name(value)}", line)
    found = []
    for name, item in value.items():
        where = value.line_of(name)
        if isinstance(item, Map):
            _keys(spec, item, ENTRY_KEYS, f"the expectations of {name!r}")
            for key, v in item.items():
                full, at = f"entries.{name}.{key}", item.line_of(key)
                if key == "shape":
                    found.append(Expectation(full, at, "shape", "exact", _shape(spec, v, at, full), _text(v), name))
                else:
                    found.append(Expectation(full, at, "rf", key[:3], _axes(spec, v, at, full), _text(v), name))
        else:
            full = f"entries.{name}"
            found.append(Expectation(full, where, "shape", "exact", _shape(spec, item, where, full), _text(item), name))
    return found


def _keys(spec, block: Map, allowed, what: str) -> None:
    for key in block:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6) if len(key) < 64 else []
            mean = f"; did you mean {close[0]!r}?" if close else ""
            raise _fail(spec, f"unknown key {quote(key)} in {what}{mean} (expected {', '.join(allowed)})",
                        block.key_lines.get(key, block.line))


def _fail(spec, message: str, line: int) -> ConvcalcError:
    return ConvcalcError(message, spec.where(line))


def _text(value: object) -> str:
    if isinstance(value, (Seq, list, tuple)):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def _shape(spec, value: object, line: int, key: str) -> tuple[int, ...]:
    if isinstance(value, bool) or not isinstance(value, (Seq, str)):
        raise _fail(spec, f"{key} must be a shape such as [1, 1000]; got {type_name(value)}", line)
    try:
        return parse_shape(list(value) if isinstance(value, Seq) else value, key)
    except ShapeError as exc:
        raise _fail(spec, exc.message, line) from None


def parse_amount(value: object, in_bytes: bool = False) -> Fraction | None:
    """A count such as 25557032, '25.6M', '4.2G' or, for bytes, '120MiB'; None if unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Fraction(value) if value >= 0 else None
    if isinstance(value, float):
        return Fraction(value) if value >= 0 and value == value and value != float("inf") else None
    if not isinstance(value, str):
        return None
    m = _AMOUNT.match(value)
    if m is None:
        return None
    number, exponent, suffix, b = m.groups()
    suffix = suffix or ""
    if (suffix.endswith("i") or b) and not in_bytes:
        return None
    amount = Fraction(number.replace("_", "")) * _SCALE[suffix]
    if exponent:
        amount *= Fraction(10) ** int(exponent)
    return amount


def _amount(spec, value: object, line: int, key: str) -> Fraction:
    in_bytes = key in _BYTES
    amount = parse_amount(value, in_bytes)
    if amount is None:
        example = "'120MiB' or '1.5G'" if in_bytes else "25557032, '25.6M' or '4.2G'"
        raise _fail(spec, f"{key} must be a whole number or a number with a suffix (K, M, G, T"
                          f"{'; Ki, Mi, Gi, Ti' if in_bytes else ''}), such as {example}; got {type_name(value)}",
                    line)
    return amount


def _axes(spec, value: object, line: int, key: str) -> tuple[int, ...]:
    items = list(value) if isinstance(value, Seq) else [value]
    if not items or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in items):
        raise _fail(spec, f"{key} must be a positive whole number (every axis) or a list of them (one per "
                          f"spatial axis); got {type_name(value)}", line)
    return tuple(items)


# ---------------------------------------------------------------- evaluation

def evaluate(expectations: list[Expectation], result) -> list[Outcome]:
    """Each expectation against an analysed network (`NetworkAnalysis`)."""
    total = result.analysis.total
    measured = {"params": total.params, "macs": total.macs, "flops": total.flops,
                "activation_bytes": total.activation_bytes, "param_bytes": total.param_bytes}
    outcomes = []
    for e in expectations:
        if e.metric == "shape":
            got = total.output_shape if e.entry is None else result.row(e.entry, e.line).output_shape
            ok = tuple(got) == e.value
            outcomes.append(Outcome(e, ok, f"{_who(e)}expected shape {_shape_text(e.value)}; got "
                                           f"{_shape_text(got)}"))
        elif e.metric == "rf":
            row = result.output_row() if e.entry is None else result.row(e.entry, e.line)
            outcomes.append(_rf(e, row.receptive_field))
        else:
            got = measured[e.metric]
            limit: Fraction = e.value  # type: ignore[assignment]
            ok = got == limit if e.bound == "exact" else got <= limit
            unit = " bytes" if e.metric.endswith("bytes") else ""
            word = "exactly" if e.bound == "exact" else "at most"
            outcomes.append(Outcome(e, ok, f"expected {e.metric} {word} {_number(limit)}{unit}"
                                           f"{_as_written(e, limit)}; got {got:,}{unit}"))
    return outcomes


def _who(e: Expectation) -> str:
    return "" if e.entry is None else f"entry {e.entry!r}: "


def _shape_text(shape) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _number(value: Fraction) -> str:
    return f"{value.numerator:,}" if value.denominator == 1 else f"{float(value):,.2f}"


def _as_written(e: Expectation, value: Fraction) -> str:
    return "" if e.text.replace(",", "") == str(value.numerator) and value.denominator == 1 else f" ({e.text})"


def _rf(e: Expectation, field) -> Outcome:
    bound = "at least" if e.bound == "min" else "at most"
    who = _who(e)
    if field is None:
        return Outcome(e, False, f"{who}expected a receptive field {bound} {e.text}; got none (no spatial axes)")
    sizes = tuple(field.size)
    wanted: tuple[int, ...] = e.value  # type: ignore[assignment]
    if len(wanted) == 1:
        wanted = wanted * len(sizes)
    if len(wanted) != len(sizes):
        return Outcome(e, False, f"{who}expected {len(wanted)} receptive-field sizes; the output has {len(sizes)} "
                                 f"spatial axes (size {_rf_text(sizes)})")
    ok = all((s >= w) if e.bound == "min" else (s <= w) for s, w in zip(sizes, wanted))
    return Outcome(e, ok, f"{who}expected a receptive field {bound} {_rf_text(wanted)}; got {_rf_text(sizes)}")


def _rf_text(sizes) -> str:
    return "×".join(str(s) for s in sizes)
