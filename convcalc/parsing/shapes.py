"""Read an input shape: `1x3x224x224`, `1,3,224,224`, `[1, 3, 224, 224]`, `(1, 3, 224, 224)`,
or `torch.Size([1, 3, 224, 224])` as PyTorch prints one."""

from __future__ import annotations

import re

from ..errors import Location, ShapeError, quote

_SEPARATORS = re.compile(r"[x×X*,]")  # items are stripped of spaces after the split
_TORCH_SIZE = re.compile(r"(?:torch\.)?Size\s*\((.*)\)", re.S)
_WHOLE = re.compile(r"[+-]?\d+")
INT64_MAX = 2**63 - 1  # what PyTorch's sizes hold, each dimension and their product
# More dimensions than any layer reads; the bound keeps a 10 MB `1x1x1...` fast to refuse.
MAX_DIMS = 1000


def parse_shape(text: object, source: str = "--input") -> tuple[int, ...]:
    """A tuple of positive ints, or ShapeError naming what was wrong."""
    loc = Location(source)
    if isinstance(text, (tuple, list)):
        items = list(text)
        shown = quote(list(text))
    else:
        raw = str(text).strip()
        shown = quote(raw)
        size = _TORCH_SIZE.fullmatch(raw)
        body = size.group(1).strip() if size else raw
        if body[:1] in "([" and body[-1:] in ")]":
            body = body[1:-1].strip()
        if not body:
            raise ShapeError("expected a shape such as '1x3x224x224'; got an empty shape", loc)
        body = body[:-1] if body.endswith(",") else body  # "(10,)"
        if _SEPARATORS.search(body):
            items = _SEPARATORS.split(body, maxsplit=MAX_DIMS)
        else:
            items = body.split(maxsplit=MAX_DIMS)
    if len(items) > MAX_DIMS:
        raise ShapeError(f"expected a shape of at most {MAX_DIMS:,} dimensions; got more in {shown}", loc)
    dims = [_dimension(item, shown, loc) for item in items]
    if not dims:
        raise ShapeError("expected a shape such as '1x3x224x224'; got an empty shape", loc)
    numel = 1
    for dim in dims:
        numel *= dim
        if numel > INT64_MAX:
            raise ShapeError(f"expected at most 2**63 - 1 elements in all, as PyTorch's 64-bit sizes "
                             f"hold; got more in {shown}", loc)
    return tuple(dims)


def _dimension(item: object, shown: str, loc: Location) -> int:
    """One dimension: a whole number from 0 to 2**63 - 1."""
    if isinstance(item, int) and not isinstance(item, bool):
        value = item
    else:
        token = str(item).strip()
        if not _WHOLE.fullmatch(token):
            raise ShapeError(f"expected whole numbers in a shape such as '1x3x224x224'; "
                             f"got {quote(token)} in {shown}", loc)
        digits = token.lstrip("+-").lstrip("0")
        if len(digits) > len(str(INT64_MAX)):  # before int(): Python refuses 4,300+ digits
            raise ShapeError(f"expected dimensions of at most 2**63 - 1, as PyTorch's 64-bit sizes hold; "
                             f"got a {len(digits):,}-digit number in {shown}", loc)
        value = int(token)
    if value < 0:  # 0 is a size PyTorch holds (an empty batch); each layer decides, as torch's do
        raise ShapeError(f"every dimension must be a non-negative integer; got {quote(value)} in {shown}", loc)
    if value > INT64_MAX:
        raise ShapeError(f"expected dimensions of at most 2**63 - 1, as PyTorch's 64-bit sizes hold; "
                         f"got {quote(value)} in {shown}", loc)
    return value
