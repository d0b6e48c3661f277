"""One error family, so the CLI can map every user mistake to exit status 2.

Messages are lower case, quote the offending token and say what was expected and
what was found.  A `Location` says where: an argument, a file line, a column.
"""

from __future__ import annotations

import re

from .record import record

QUOTE_LIMIT = 120  # characters of the user's text an error message or caret line shows
_BYTE_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\udc([89a-f][0-9a-f])")


def printable(text: str) -> str:
    """`text` on one line: control characters and the surrogates that stand for non-UTF-8
    argv bytes are written as escapes (`\\n`, `\\xff`), so any terminal shows them."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


def _escape(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # the stand-in Python's argv decoding uses for a non-UTF-8 byte
        return f"\\x{code - 0xDC00:02x}"
    return repr(ch)[1:-1]


def shorten(text: str, limit: int = QUOTE_LIMIT) -> str:
    """At most `limit` characters of `text`, the middle elided, for quoting in a message."""
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    return f"{text[:head]}…{text[len(text) - (limit - head - 1):]}"


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """`repr(value)` for a message: shortened, on one line, whatever the user typed."""
    if isinstance(value, str):  # repr writes a non-UTF-8 byte as \\udcff: show it as \\xff
        return _BYTE_ESCAPE.sub(r"\1\\x\2", repr(shorten(value, limit)))
    try:
        text = repr(value)
    except ValueError:  # an int of more than 4,300 digits, which Python will not print
        text = f"<a {type(value).__name__} too large to print>"
    return printable(shorten(text, limit))


def one_line(message: str) -> str:
    """The message on one line with no word longer than QUOTE_LIMIT, so that a 10 MB
    argument quoted by any check still gives a short error."""
    if len(message) > QUOTE_LIMIT * 2:
        words = message.split(" ")
        message = shorten(" ".join(shorten(w) if len(w) > QUOTE_LIMIT else w for w in words),
                          QUOTE_LIMIT * 4)
    # a value quoted with !r shows an argv byte as \\udcff: written as the byte, \\xff, as quote() does
    return printable(_BYTE_ESCAPE.sub(r"\1\\x\2", message))


@record
class Location:
    """Where an error was found: e.g. `<arg 1>:1:25` plus the source line for a caret."""

    source: str  # "<arg 1>", "--input", "nets/resnet.yaml"
    line: int | None = None
    column: int | None = None  # 1-based
    entry: str | None = None  # layer name inside a chain or network
    text: str | None = None  # the source text, for the caret line

    def __str__(self) -> str:
        where = self.source
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        if self.entry is not None:
            where += f" (entry {self.entry!r})"
        return where


class ConvcalcError(Exception):
    """Base of every error caused by the user's input."""

    def __init__(self, message: str, location: Location | None = None):
        super().__init__(message)
        self.message = message
        self.location = location

    def at(self, location: Location) -> "ConvcalcError":
        """Attach a location unless a more precise one is already there."""
        if self.location is None:
            self.location = location
        return self

    def __str__(self) -> str:
        if self.location is None:
            return one_line(self.message)
        return one_line(f"{self.location}: {self.message}")

    def caret(self, width: int = QUOTE_LIMIT) -> str | None:
        """The source text around the column (at most `width` characters of it, on one
        line) with a caret under the column, when both are known."""
        loc = self.location
        if loc is None or loc.text is None or loc.column is None:
            return None
        text, index = loc.text, min(max(loc.column - 1, 0), len(loc.text))
        start = max(0, min(index - width * 2 // 3, len(text) - width))
        end = min(len(text), start + width)
        before = ("…" if start else "") + printable(text[start:index])
        after = printable(text[index:end]) + ("…" if end < len(text) else "")
        return f"  {before}{after}\n  {' ' * len(before)}^"


class ExpressionError(ConvcalcError):
    """A layer expression that is not a valid constructor call."""


class ShapeError(ConvcalcError):
    """An input shape that cannot be read."""


class LayerConfigError(ConvcalcError):
    """A layer whose arguments PyTorch would refuse at construction."""


class IncompatibleInputError(ConvcalcError):
    """A layer that cannot accept the tensor reaching it (PyTorch fails in forward)."""
