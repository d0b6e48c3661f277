"""One error family, so the CLI can map every user mistake to exit status 2.

Messages are lower case, quote the offending token and say what was expected and
what was found.  A `Location` says where: an argument, a file line, a column.
"""

from __future__ import annotations

from .record import record


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
            return self.message
        return f"{self.location}: {self.message}"

    def caret(self) -> str | None:
        """The source line with a caret under the column, when both are known."""
        loc = self.location
        if loc is None or loc.text is None or loc.column is None:
            return None
        return f"  {loc.text}\n  {' ' * (loc.column - 1)}^"


class ExpressionError(ConvcalcError):
    """A layer expression that is not a valid constructor call."""


class ShapeError(ConvcalcError):
    """An input shape that cannot be read."""


class LayerConfigError(ConvcalcError):
    """A layer whose arguments PyTorch would refuse at construction."""


class IncompatibleInputError(ConvcalcError):
    """A layer that cannot accept the tensor reaching it (PyTorch fails in forward)."""
