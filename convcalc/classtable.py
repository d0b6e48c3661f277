"""Policies keyed by layer class: counting conventions and numeric kernels.

A lookup walks the layer's MRO, so a subclass of ConvNd is counted (or executed) as a
ConvNd, and a family with no entry is an error that names it, never a silent default.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable


class MissingEntry(LookupError):
    """A layer family has no entry in a table: a gap in convcalc, not in the user's input."""


class ClassTable:
    def __init__(self, what: str):
        self.what = what  # "counting rule of the 'convcalc' convention", "numeric kernel"
        self._entries: dict[type, Any] = {}
        self._cache: dict[type, Any] = {}

    def register(self, *classes: type) -> Callable[[Any], Any]:
        """Decorator: `@table.register(ConvNd)` stores the function for that class."""
        def put(entry: Any) -> Any:
            for cls in classes:
                if cls in self._entries:
                    raise ValueError(f"{cls.__name__} already has a {self.what}")
                self._entries[cls] = entry
            self._cache.clear()
            return entry
        return put

    def lookup(self, cls: type) -> Any:
        found = self._cache.get(cls)
        if found is None:
            for base in cls.__mro__:
                if base in self._entries:
                    found = self._cache[cls] = self._entries[base]
                    break
            else:
                raise MissingEntry(f"{cls.__name__} has no {self.what}")
        return found

    def covers(self, cls: type) -> bool:
        return any(base in self._entries for base in cls.__mro__)

    def missing(self, classes: Iterable[type]) -> list[str]:
        """Names of the classes without an entry (for the exhaustiveness tests)."""
        return sorted(cls.__name__ for cls in classes if not self.covers(cls))
