"""The executor's memory budget: an estimate of the peak, made from the analysis before
anything large is allocated, and the refusal above `--max-memory`.

The model walks the rows in execution order. While a row runs, memory holds
  - every activation still to be read (the network input included) — an activation is
    freed after the last row that reads it;
  - the row's output;
  - the row's parameters and buffers (made for the row, dropped after it);
  - the row's scratch: for a family with a `@scratch(Cls)` entry, what its kernel
    allocates besides its output (ConvNd: the padded copy, one chunk of im2col columns
    and that chunk's products); for any other family, a generous default of two arrays
    the size of its largest input or output plus one chunk.
The peak is the largest such sum, in the element size of the computation (int64 for
integer arrays), plus 1 MiB for the interpreter's own objects (rows, records, the small
arrays numpy makes on the way). Kernels keep their extra arrays to `chunk_bytes` at a time, so the
estimate holds for any input size; tests/test_execute.py measures real peaks (numpy's
allocations, traced) against it.
"""

from __future__ import annotations

import math
import re
from typing import Callable

from ..classtable import ClassTable
from ..errors import ConvcalcError, Location
from ..record import record

DEFAULT_MAX_MEMORY = 2 << 30
DEFAULT_CHUNK = 64 << 20
BOOKKEEPING = 1 << 20

SCRATCH = ClassTable("scratch estimate")
#: decorator: `@scratch(ConvNd)` registers fn(layer, input_shapes, output_shape, itemsize, chunk_bytes) -> bytes
scratch: Callable[..., Callable] = SCRATCH.register


def chunk_for(max_memory: int | None) -> int:
    """The scratch chunk: 64 MiB, or an eighth of a smaller budget (at least 64 KiB)."""
    if max_memory is None:
        return DEFAULT_CHUNK
    return max(64 << 10, min(DEFAULT_CHUNK, max_memory // 8))


def default_scratch(inputs, output, itemsize: int, chunk_bytes: int) -> int:
    largest = max([math.prod(s) for s in inputs] + [math.prod(output)])
    return 2 * largest * itemsize + chunk_bytes


@record
class Estimate:
    peak: int  # bytes
    row: str  # the row at the peak: "'3' (Conv2d)"
    activations: int
    parameters: int
    scratch: int

    def describe(self) -> str:
        return (f"{fmt_bytes(self.peak)} at layer {self.row} ({fmt_bytes(self.activations)} of activations, "
                f"{fmt_bytes(self.parameters)} of parameters, {fmt_bytes(self.scratch)} of scratch, "
                f"1 MiB of bookkeeping)")


def estimate(analysis, itemsize: int, chunk_bytes: int, param_counts=None) -> Estimate:
    """The peak of the model above. `param_counts` maps a row name to its parameter and
    buffer elements when they are not the row's own (default: params + buffers)."""
    from .kernels import load_all
    load_all()
    rows = analysis.layers
    size = {"input": math.prod(analysis.input_shape) * itemsize}
    last_use: dict[str, int] = {"input": -1}
    for i, row in enumerate(rows):
        for ref in row.inputs:
            last_use[ref] = i
    final = rows[-1].name if rows else None
    live = size["input"]
    best = Estimate(live + BOOKKEEPING, "input", live, 0, 0)
    for i, row in enumerate(rows):
        out = math.prod(row.output_shape) * itemsize
        count = (param_counts or {}).get(row.name, row.params + row.buffers)
        params = count * itemsize
        cls = type(row.layer)
        if row.layer is not None and SCRATCH.covers(cls):
            extra = SCRATCH.lookup(cls)(row.layer, row.input_shapes, row.output_shape, itemsize, chunk_bytes)
        else:
            extra = default_scratch(row.input_shapes, row.output_shape, itemsize, chunk_bytes)
        total = live + out + params + extra + BOOKKEEPING
        if total > best.peak:
            best = Estimate(total, f"{row.name!r} ({row.type})", live + out, params, extra)
        live += out
        size[row.name] = out
        for ref in set(row.inputs):
            if last_use.get(ref) == i and ref != final:
                live -= size.get(ref, 0)
        if last_use.get(row.name, -1) < i and row.name != final:  # read by no later row
            live -= out
    return best


def check_budget(found: Estimate, max_memory: int | None) -> None:
    if max_memory is not None and found.peak > max_memory:
        raise ConvcalcError(f"expected a run that fits in {fmt_bytes(max_memory)}; got an estimated peak of "
                            f"{found.describe()} (raise --max-memory, or use a smaller input)",
                            Location("--max-memory"))


_UNITS = {"": 1, "b": 1, "k": 10 ** 3, "kb": 10 ** 3, "m": 10 ** 6, "mb": 10 ** 6, "g": 10 ** 9, "gb": 10 ** 9,
          "t": 10 ** 12, "tb": 10 ** 12, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}
_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)(?:e(\d+))?\s*([a-z]*)\s*", re.IGNORECASE)


def parse_size(text: str, where: str = "--max-memory") -> int | None:
    """Bytes from `2GiB`, `512MiB`, `1.5GB`, `4e9`, `100000`; `none` for no limit.
    KB/MB/GB (and K/M/G) are powers of 1000, KiB/MiB/GiB powers of 1024."""
    if text.strip().lower() in ("none", "off", "unlimited"):
        return None
    match = _SIZE.fullmatch(text)
    unit = match and match.group(3).lower()
    if not match or unit not in _UNITS:
        raise ConvcalcError(f"expected a size such as 2GiB, 512MiB, 1.5GB or a number of bytes; got {text!r}",
                            Location(where))
    value = float(match.group(1)) * 10 ** int(match.group(2) or 0) * _UNITS[unit]
    if not 1 <= value < 1 << 62:
        raise ConvcalcError(f"expected a size between 1 byte and 4 EiB; got {text!r}", Location(where))
    return int(value)


def fmt_bytes(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} B"
