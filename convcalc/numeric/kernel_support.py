"""What the kernels of the parameter-free and element-wise families share: which dtypes
PyTorch computes for each operation, PyTorch's type promotion, scalar arguments
converted to an integer dtype, and splitting work so scratch arrays stay under
`Context.chunk_bytes`.

PyTorch refuses integer input for most floating-point operations (avg pooling of
anything but int64, interpolation, GELU, ...); a kernel states what it accepts with
`accept()` and the refusal names the layer, the operation and the dtype.
"""

from __future__ import annotations

import math
from typing import Iterator, Sequence

import numpy as np

FLOATS = ("float16", "float32", "float64")
#: every integer dtype PyTorch has (bool is not among them: it is named separately)
INTS = ("uint8", "int8", "int16", "int32", "int64")


def dtype_name(dtype) -> str:
    return np.dtype(dtype).name


def accept(layer, x: np.ndarray, ints: Sequence[str] = (), *, floats: bool = True, what: str = "") -> None:
    """Refuse a dtype that PyTorch refuses for this operation: every float dtype when
    `floats`, plus the integer (and "bool") dtypes named in `ints`."""
    name = dtype_name(x.dtype)
    if (floats and name in FLOATS) or name in ints:
        return
    allowed = list(FLOATS[1:]) if floats else []
    allowed += list(ints)
    expected = " or ".join(allowed) if len(allowed) <= 3 else ", ".join(allowed[:-1]) + " or " + allowed[-1]
    op = f" ({what})" if what else ""
    raise layer.fail(f"PyTorch computes this layer{op} only on {expected} input; got {name}")


def compute_dtype(dtype) -> np.dtype:
    """The precision a float kernel computes in: PyTorch's `opmath` type (float16 is
    computed in float32 and rounded once at the end)."""
    dt = np.dtype(dtype)
    return np.dtype(np.float32) if dt == np.float16 else dt


def result_type(arrays: Sequence[np.ndarray]) -> np.dtype:
    """torch.result_type of tensors (not scalars): a floating dtype wins over any integer
    (int64 + float32 is float32, where NumPy would answer float64), the widest float wins
    among floats, integers promote as NumPy does (uint8 + int8 = int16)."""
    floats = [a.dtype for a in arrays if a.dtype.kind == "f"]
    if floats:
        return max(floats, key=lambda d: d.itemsize)
    return np.result_type(*[a.dtype for a in arrays])


def scalar_for(layer, value: float, dtype, what: str, truncate_first: bool = False):
    """A Python number as PyTorch converts it to the tensor's dtype: kept for floats,
    value != 0 for bool, truncated toward zero for integers, which must fit ("value
    cannot be converted to type ... without overflow").  F.pad checks the value itself
    (-0.5 does not fit uint8), hardtanh the truncated value (-0.5 becomes 0 and fits)."""
    dt = np.dtype(dtype)
    if dt.kind == "f":
        return dt.type(value)
    if dt.kind == "b":
        return np.bool_(value != 0)
    info = np.iinfo(dt)
    checked = float(math.trunc(value)) if truncate_first and math.isfinite(value) else value
    if not math.isfinite(value) or not info.min <= checked <= info.max:
        raise layer.fail(f"{what} {value!r} does not fit the input's dtype {dt.name}: expected "
                         f"{info.min} to {info.max}; got {value!r}")
    return dt.type(math.trunc(value))


def parameter(layer, params: dict, name: str, size: int, dtype) -> np.ndarray:
    """params[name] as a flat vector of `size` values in `dtype`, or a one-line error."""
    value = params.get(name)
    if value is None:
        raise layer.fail(f"expected the parameter {name!r} ({size} values); got none")
    value = np.asarray(value)
    if value.size != size:
        raise layer.fail(f"expected the parameter {name!r} to hold {size} values; got shape "
                         f"{list(value.shape)}")
    return value.astype(dtype, copy=False).reshape(size)


def lead_rows(x: np.ndarray, spatial: int) -> np.ndarray:
    """x viewed as (rows, *last `spatial` axes): the leading axes merged into one."""
    lead = x.shape[:x.ndim - spatial]
    return x.reshape((int(np.prod(lead, dtype=np.int64)),) + x.shape[x.ndim - spatial:])


def row_blocks(rows: int, row_bytes: int, chunk_bytes: int) -> Iterator[slice]:
    """Slices of `range(rows)` whose scratch (`row_bytes` each) stays within
    `chunk_bytes` (at least one row per block)."""
    per = max(1, chunk_bytes // max(1, row_bytes))
    for start in range(0, rows, per):
        yield slice(start, min(rows, start + per))


#: element-wise work is never split finer than this (a smaller budget cannot be met
#: by any kernel, and finer blocks would only add Python overhead per element)
MIN_FLAT_BLOCK = 4096


def flat_blocks(size: int, item_bytes: int, chunk_bytes: int) -> Iterator[slice]:
    """The same for element-wise work over a flattened array."""
    return row_blocks(size, item_bytes, max(chunk_bytes, MIN_FLAT_BLOCK * item_bytes))
