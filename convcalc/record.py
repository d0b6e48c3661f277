"""Frozen records without the start-up cost of dataclasses.

`@record` turns annotated class attributes into constructor fields, like
`@dataclass(frozen=True)` (with `__post_init__` run after the fields are set), but with shared generic methods instead of generating and
compiling code for each class: `convcalc shape` builds a few dozen such classes at
start-up, and dataclasses spent about 15 ms doing it.
"""

from __future__ import annotations

from typing import Any, Callable

MISSING: Any = object()


class Field:
    __slots__ = ("name", "default", "factory", "metadata", "repr")

    def __init__(self, default: Any = MISSING, factory: Callable[[], Any] | None = None,
                 metadata: dict | None = None, repr: bool = True, name: str = ""):
        self.name, self.default, self.factory = name, default, factory
        self.metadata, self.repr = metadata or {}, repr


def field(*, default: Any = MISSING, default_factory: Callable[[], Any] | None = None,
          metadata: dict | None = None, repr: bool = True) -> Any:
    return Field(default, default_factory, metadata, repr)


def fields(obj: Any) -> tuple[Field, ...]:
    return obj.__record_fields__


def replace(obj: Any, **changes: Any) -> Any:
    values = {f.name: getattr(obj, f.name) for f in obj.__record_fields__}
    values.update(changes)
    return type(obj)(**values)


def _init(self, *args: Any, **kwargs: Any) -> None:
    cls = type(self)
    plan = cls.__record_plan__  # ((name, default, factory), ...): no per-field attribute lookups
    if len(args) > len(plan):
        raise TypeError(f"{cls.__name__}() takes {len(plan)} arguments; got {len(args)}")
    put = object.__setattr__
    for (name, _, _), value in zip(plan, args):
        put(self, name, value)
    if len(args) < len(plan) or kwargs:
        for name, default, factory in plan[len(args):]:
            if name in kwargs:
                value = kwargs.pop(name)
            elif default is not MISSING:
                value = default
            elif factory is not None:
                value = factory()
            else:
                raise TypeError(f"{cls.__name__}() is missing {name!r}")
            put(self, name, value)
        if kwargs:
            raise TypeError(f"{cls.__name__}() got unexpected {', '.join(sorted(kwargs))}")
    check = cls.__post_init__
    if check is not None:
        check(self)


def set_field(obj: Any, name: str, value: Any) -> None:
    """Set a field of a frozen record from its own `__post_init__` (normalising an argument)."""
    object.__setattr__(obj, name, value)


def _values(self) -> tuple:
    return tuple(getattr(self, f.name) for f in self.__record_fields__)


def _eq(self, other: object) -> bool:
    return type(self) is type(other) and _values(self) == _values(other)


def _hash(self) -> int:
    return hash((type(self), _values(self)))


def _repr(self) -> str:
    shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in self.__record_fields__ if f.repr)
    return f"{type(self).__name__}({shown})"


def _frozen(self, name: str, value: Any = None) -> None:
    raise AttributeError(f"{type(self).__name__} is immutable: cannot set {name!r}")


def record(cls: type | None = None, *, frozen: bool = True) -> Any:
    """Make `cls` a record whose fields are its (and its bases') annotations; frozen unless
    `frozen=False` (then without __hash__)."""
    if cls is None:
        return lambda c: record(c, frozen=frozen)
    collected: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for f in getattr(base, "__record_fields__", ()):
            collected[f.name] = f
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        if str(annotation).startswith(("ClassVar", "typing.ClassVar")):
            continue
        value = cls.__dict__.get(name, MISSING)
        f = value if isinstance(value, Field) else Field(default=value)
        f.name = name
        if f.default is not MISSING:
            setattr(cls, name, f.default)
        elif name in cls.__dict__:
            delattr(cls, name)
        collected[name] = f
    cls.__record_fields__ = tuple(collected.values())  # type: ignore[attr-defined]
    cls.__record_plan__ = tuple((f.name, f.default, f.factory) for f in collected.values())  # type: ignore
    if not hasattr(cls, "__post_init__"):
        cls.__post_init__ = None  # type: ignore[attr-defined]
    cls.__init__ = _init  # type: ignore[misc]
    cls.__eq__ = _eq  # type: ignore[method-assign]
    if frozen:
        cls.__hash__ = _hash  # type: ignore[method-assign]
        cls.__setattr__ = _frozen  # type: ignore[method-assign]
        cls.__delattr__ = _frozen  # type: ignore[method-assign]
    else:
        cls.__hash__ = None  # type: ignore[assignment]
    if "__repr__" not in cls.__dict__:
        cls.__repr__ = _repr  # type: ignore[method-assign]
    return cls
