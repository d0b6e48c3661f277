"""ARRAY arguments of `convcalc run`: a `.npy` file, an image (images.py), or an inline nested list.

Read without trusting them: a `.npy` file is opened with `allow_pickle=False`, memory-mapped
(so nothing large is read before the memory budget is checked) and its header is held to
the file's size; an inline list is parsed into a syntax tree and only literal numbers,
lists and tuples are accepted (never `eval`), nested at most 32 deep and rectangular.
Every refusal is one line naming the argument: ragged lists, strings, object or
structured arrays, truncated or padded files, integers beyond 64 bits, non-finite values.
"""

from __future__ import annotations

import ast
import os
from typing import Sequence

import numpy as np

from ..errors import ConvcalcError, Location, quote
from ..layers.base import fmt_shape

MAX_DEPTH = 32
MAX_INLINE = 10_000_000  # characters of an inline list
_INT64 = (-(1 << 63), (1 << 63) - 1)


def _fail(where: str, message: str) -> ConvcalcError:
    return ConvcalcError(message, Location(where))


def read_array(text: str, where: str, *, lazy_image: bool = False):
    """The array an ARRAY argument names; a `.npy` file comes back memory-mapped, an image
    as a `PendingImage` (its shape, not yet decoded) when `lazy_image`."""
    from .images import is_image, open_image
    stripped = text.strip()
    lower = stripped.lower()
    if is_image(stripped):
        pending = open_image(stripped, where)
        return pending if lazy_image else pending.load()
    literal = stripped[:1] in tuple("[(+-.0123456789")
    if lower.endswith(".npy") or os.path.isfile(stripped) or (stripped and not literal):
        return read_npy(stripped, where)  # a file name (what else it could be is refused there)
    return parse_inline(text, where)


# ------------------------------------------------------------------ .npy files

def read_npy(path: str, where: str) -> np.ndarray:
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            try:
                np.lib.format.read_magic(f)
            except ValueError:
                raise _fail(where, f"expected a .npy file (it starts with \\x93NUMPY); got {quote(path)}, "
                                   "which does not") from None
    except FileNotFoundError:
        raise _fail(where, f"expected a .npy file or an inline nested list such as [[1, 2], [3, 4]]; got "
                           f"{quote(path)}: no such file") from None
    except OSError as exc:
        raise _fail(where, f"cannot read {quote(path)}: {exc.strerror or exc}") from None
    try:
        array = np.load(path, allow_pickle=False, mmap_mode="r")
    except ValueError as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "Object arrays" in detail or "Python objects" in detail:
            raise _fail(where, f"expected an array of numbers; got an object array in {quote(path)} "
                               "(pickled objects are never loaded)") from None
        if "mmap length" in detail or "larger than" in detail:
            raise _fail(where, f"{quote(path)} is truncated: its header describes more data than the "
                               f"file's {size} bytes hold") from None
        raise _fail(where, f"expected a valid .npy file; got {quote(path)} ({detail})") from None
    except (OSError, EOFError) as exc:
        raise _fail(where, f"cannot read {quote(path)}: {exc}") from None
    check_numeric(array.dtype, where, quote(path))
    if isinstance(array, np.memmap):
        expected = array.offset + array.nbytes
        if size != expected:
            what = "truncated" if size < expected else "longer than its header says"
            raise _fail(where, f"{quote(path)} is {what}: the header describes {fmt_shape(array.shape)} "
                               f"{array.dtype} ({expected} bytes with the header); the file has {size} bytes")
    return array


def check_numeric(dtype: np.dtype, where: str, what: str = "the array") -> None:
    if dtype.fields is not None or dtype.kind not in "biuf":
        kind = {"U": "strings", "S": "bytes", "O": "Python objects", "c": "complex numbers",
                "M": "dates", "m": "time deltas", "V": "structured records"}.get(dtype.kind, dtype.kind)
        if dtype.fields is not None:
            kind = "structured records"
        raise _fail(where, f"expected an array of numbers (integers or floats); got {kind} "
                           f"(dtype {dtype.str}) in {what}")


# ------------------------------------------------------------------ inline lists

def parse_inline(text: str, where: str) -> np.ndarray:
    """An inline nested list (or a single number) as an int64 or float32 array."""
    if len(text) > MAX_INLINE:
        raise _fail(where, f"expected an inline list of at most {MAX_INLINE:,} characters; got "
                           f"{len(text):,} (save larger arrays with numpy.save and give the .npy file)")
    depth = deepest = 0
    for ch in text:
        if ch in "[(":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                raise _fail(where, f"expected a list nested at most {MAX_DEPTH} deep; got deeper nesting")
        elif ch in "])":
            depth -= 1
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError) as exc:
        if os.path.sep in text or text.strip().lower().endswith((".npy", ".npz")):
            raise _fail(where, f"no such file: {quote(text.strip())}") from None
        column = f" (column {exc.offset})" if getattr(exc, "offset", None) else ""
        raise _fail(where, f"expected a .npy file or a nested list of numbers such as [[1, 2], [3, 4]]; "
                           f"got {quote(text)}{column}") from None
    values = _literal(tree.body, where, text)
    shape = _shape(values, where)
    flat = list(_flatten(values, len(shape)))
    if all(isinstance(v, int) for v in flat):
        for v in flat:
            if not _INT64[0] <= v <= _INT64[1]:
                raise _fail(where, f"expected integers that fit in 64 bits; got {quote(v)}")
        return np.array(flat, dtype=np.int64).reshape(shape)
    array = np.array(flat, dtype=np.float64).reshape(shape)
    check_finite(array, where)
    with np.errstate(over="ignore"):  # an overflow becomes inf, refused next with its index
        single = array.astype(np.float32)
    check_finite(single, where, "float32")
    return single


def _literal(node: ast.AST, where: str, text: str):
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(item, where, text) for item in node.elts]
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -1 if isinstance(node.op, ast.USub) else 1
        node = node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return sign * node.value
    found = ast.get_source_segment(text.strip(), node) or type(node).__name__
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        what = f"the string {quote(node.value)}"
    else:
        what = quote(found)
    raise _fail(where, f"expected numbers in a nested list; got {what} (column {node.col_offset + 1})")


def _shape(values, where: str, path: str = "") -> tuple[int, ...]:
    """The rectangular shape of nested lists, or the first place they are ragged."""
    if not isinstance(values, list):
        return ()
    if not values:
        return (0,)
    kinds = {isinstance(v, list) for v in values}
    if len(kinds) > 1:
        first_list = next(i for i, v in enumerate(values) if isinstance(v, list))
        first_number = next(i for i, v in enumerate(values) if not isinstance(v, list))
        raise _fail(where, f"ragged nested list: item {path}[{first_list}] is a list but item "
                           f"{path}[{first_number}] is a number")
    shapes = [_shape(v, where, f"{path}[{i}]") for i, v in enumerate(values)]
    for i, s in enumerate(shapes[1:], 1):
        if s != shapes[0]:
            raise _fail(where, f"ragged nested list: item {path}[{i}] has shape {fmt_shape(s)} but item "
                               f"{path}[0] has {fmt_shape(shapes[0])}")
    return (len(values),) + shapes[0]


def _flatten(values, depth: int):
    if depth == 0:
        yield values
        return
    for v in values:
        yield from _flatten(v, depth - 1)


# ------------------------------------------------------------------ dtypes and checks

def compute_dtype(dtype: np.dtype, where: str = "--input") -> np.dtype:
    """The element type a run computes in: float64 stays, other floats compute in float32,
    integers and booleans exactly in int64."""
    check_numeric(dtype, where)
    if dtype.kind == "f":
        return np.dtype(np.float64) if dtype.itemsize >= 8 else np.dtype(np.float32)
    return np.dtype(np.int64)


def check_finite(array: np.ndarray, where: str, after: str | None = None) -> None:
    if array.dtype.kind != "f" or array.size == 0:
        return
    finite = np.isfinite(array)
    if not finite.all():
        index = tuple(int(i) for i in np.argwhere(~finite)[0])
        value = array[index]
        note = f" once converted to {after}" if after else ""
        raise _fail(where, f"expected finite numbers; got {value} at index {list(index)}{note}")


def to_compute(array: np.ndarray, dtype: np.dtype, where: str) -> np.ndarray:
    """`array` in the run's element type, refusing what the conversion would change."""
    check_numeric(array.dtype, where)
    if array.dtype.kind == "u" and array.size and dtype.kind == "i" and int(array.max()) > _INT64[1]:
        raise _fail(where, f"expected integers that fit in int64; got {int(array.max())}")
    if dtype.kind == "i" and array.dtype.kind == "f":
        check_finite(array, where)
        whole = np.trunc(array) == array
        if not whole.all():
            index = tuple(int(i) for i in np.argwhere(~whole)[0])
            raise _fail(where, f"expected whole numbers, as the input holds integers and computes exactly "
                               f"(write the input with a decimal point, e.g. 1.0, to compute in floating "
                               f"point); got {array[index]} at index {list(index)}")
        if array.size and (float(array.min()) < -2.0 ** 63 or float(array.max()) >= 2.0 ** 63):
            raise _fail(where, "expected integers that fit in int64; got larger values")
    with np.errstate(over="ignore", invalid="ignore"):
        converted = np.ascontiguousarray(array, dtype=dtype)
    check_finite(converted, where, None if converted.dtype == array.dtype else str(dtype))
    return converted


def fit_parameter(array: np.ndarray, expected: Sequence[int], name: str, layer, where: str,
                  layout: str = "") -> np.ndarray:
    """`array` shaped as the layer's `name` (PyTorch's layout); a bare kernel (3×3 for a
    (1, 1, 3, 3) weight) or a bare number (for a one-channel bias) is accepted."""
    expected = tuple(expected)
    shape = array.shape
    if shape != expected:
        if expected[:2] == (1, 1) and len(expected) > 2 and shape == expected[2:]:
            return array.reshape(expected)
        if expected == (1,) and shape == ():
            return array.reshape(expected)
        hint = f" ({layout})" if layout else ""
        raise _fail(where, f"{layer.name}: expected a {name} of shape {fmt_shape(expected)}{hint}; got "
                           f"shape {fmt_shape(shape)}")
    return array


# ------------------------------------------------------------------ printing

#: above this many elements the printout shows the corners only (numpy's summary)
SUMMARY_THRESHOLD = 1000


def format_array(array: np.ndarray, width: int = 80) -> str:
    """A nested-list text of `array`: on one line when it fits `width` (`[[10, 12, 12], [18,
    16, 16], [13, 9, 3]]`), else one innermost row per line, aligned, with the middle of
    arrays over SUMMARY_THRESHOLD elements elided as numpy does. Each number is written in
    the shortest form that reads back as the same value of its dtype."""
    if array.size <= SUMMARY_THRESHOLD:
        items = [str(v) for v in array.ravel()]  # numpy scalars: shortest round-trip text
        text = _nest(items, array.shape) if array.ndim else items[0]
        if len(text) <= width:
            return text
    return np.array2string(array, separator=", ", max_line_width=max(width, 20),
                           threshold=SUMMARY_THRESHOLD, edgeitems=3)


def _nest(items: list[str], shape: tuple[int, ...]) -> str:
    if len(shape) == 1:
        return "[" + ", ".join(items) + "]"
    step = len(items) // shape[0] if shape[0] else 0
    return "[" + ", ".join(_nest(items[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])) + "]"
