"""Read an input shape: `1x3x224x224`, `1,3,224,224`, `[1, 3, 224, 224]`, `(1, 3, 224, 224)`."""

from __future__ import annotations

import re

from ..errors import Location, ShapeError

_SEPARATORS = re.compile(r"\s*[x×X*,]\s*")


def parse_shape(text: object, source: str = "--input") -> tuple[int, ...]:
    """A tuple of positive ints, or ShapeError naming what was wrong."""
    loc = Location(source)
    if isinstance(text, (tuple, list)):
        items = list(text)
        shown = list(text)
    else:
        raw = str(text).strip()
        shown = raw
        body = raw
        if body[:1] in "([" and body[-1:] in ")]":
            body = body[1:-1].strip()
        if not body:
            raise ShapeError("expected a shape such as '1x3x224x224'; got an empty shape", loc)
        body = body[:-1] if body.endswith(",") else body  # "(10,)"
        items = _SEPARATORS.split(body) if _SEPARATORS.search(body) else body.split()
    dims: list[int] = []
    for item in items:
        if isinstance(item, bool):
            item = str(item)
        if isinstance(item, int):
            value = item
        else:
            token = str(item).strip()
            if not re.fullmatch(r"[+-]?\d+", token):
                raise ShapeError(f"expected whole numbers in a shape such as '1x3x224x224'; "
                                 f"got {token!r} in {shown!r}", loc)
            value = int(token)
        if value <= 0:
            raise ShapeError(f"every dimension must be a positive integer; got {value} in {shown!r}", loc)
        dims.append(value)
    if not dims:
        raise ShapeError("expected a shape such as '1x3x224x224'; got an empty shape", loc)
    return tuple(dims)
