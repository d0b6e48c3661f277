"""Read `Conv2d(3, 64, 3, stride=2)` into a `LayerCall`, safely.

The text goes through `ast.parse(mode="eval")` and only literal nodes are accepted:
numbers, strings, booleans, None, tuples/lists of those, and bare (possibly dotted)
names, which `print(model)` writes for strings (`padding=same`, `mode=bilinear`).
Nothing is ever evaluated.
"""

from __future__ import annotations

import ast
from ..record import field, record

from ..errors import ExpressionError, Location

_PREFIXES = ("torch.nn.", "nn.")


@record
class Arg:
    """One argument value and the 1-based column where it starts."""

    value: object
    column: int


@record
class LayerCall:
    """A parsed constructor call: the class name as written and its arguments."""

    name: str
    args: tuple[Arg, ...]
    kwargs: dict[str, Arg] = field(default_factory=dict)
    text: str = ""
    location: Location | None = None

    def at_column(self, column: int) -> Location | None:
        """A copy of this call's location pointing at another column."""
        loc = self.location
        if loc is None:
            return None
        return Location(loc.source, loc.line, column, loc.entry, loc.text)


def split_chain(text: str) -> list[tuple[str, int]]:
    """Split `A(...) -> B(...)` at top-level arrows; return (piece, 0-based offset) pairs."""
    pieces: list[tuple[str, int]] = []
    depth, quote, start, i = 0, "", 0, 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "-" and depth == 0 and text.startswith("->", i):
            pieces.append((text[start:i], start))
            start = i + 2
            i += 1
        i += 1
    pieces.append((text[start:], start))
    return pieces


def parse_call(text: str, source: str = "<expr>", offset: int = 0, line: int | None = 1,
               full_text: str | None = None) -> LayerCall:
    """Parse one layer expression.

    `offset` is where `text` starts inside `full_text` (the whole argument), so that
    columns in messages point into what the user typed.
    """
    full = full_text if full_text is not None else text
    stripped = text.strip()
    lead = offset + (len(text) - len(text.lstrip()))

    def where(col0: int) -> Location:
        return Location(source, line, lead + col0 + 1, None, full)

    if not stripped:
        raise ExpressionError("expected a layer expression such as 'Conv2d(3, 64, 3)'; got nothing",
                              where(0))
    try:
        tree = ast.parse(stripped, mode="eval")
    except SyntaxError as exc:
        col = (exc.offset or 1) - 1
        if exc.lineno and exc.lineno > 1:  # multi-line text: fall back to its start
            col = 0
        reason = (exc.msg or "invalid syntax").lower()
        if reason.startswith("'(' was never closed") or "never closed" in reason:
            reason = "unclosed '(': expected ')'"
        raise ExpressionError(f"syntax error in layer expression: {reason}",
                              where(min(col, len(stripped)))) from None

    return _call(tree.body, stripped, where, lead)


def call_from_node(node: ast.AST, text: str, source: str, line: int, lead: int, full: str) -> LayerCall:
    """A LayerCall from a node already parsed out of one line of ASCII `text`, which
    starts at 0-based column `lead` of `full` (saves parsing the text a second time)."""
    def where(col0: int) -> Location:
        return Location(source, line, lead + col0 + 1, None, full)

    return _call(node, text, where, lead)


def flatten_calls(call: LayerCall) -> list[LayerCall]:
    """`Sequential(A(...), B(...))` as the list of its layers (nested ones too)."""
    if call.name.lower() != "sequential":
        return [call]
    if call.kwargs:
        raise ExpressionError("Sequential takes layers as positional arguments only", call.location)
    return [leaf for arg in call.args for leaf in flatten_calls(arg.value)]  # type: ignore[arg-type]


def _call(node: ast.AST, text: str, where, lead: int) -> LayerCall:
    """A LayerCall from a call node (or a bare class name); Sequential holds calls."""
    if getattr(node, "lineno", 0) == getattr(node, "end_lineno", -1) == 1 and text.isascii():
        segment = text[node.col_offset:node.end_col_offset]  # the common case, without re-splitting lines
    else:
        segment = ast.get_source_segment(text, node) or text
    if isinstance(node, (ast.Name, ast.Attribute)):
        # A bare class name (`ReLU`, `nn.Identity`) is read as a call without arguments.
        name = _dotted(node)
        if name is not None:
            return LayerCall(_strip_prefix(name), (), {}, segment, where(node.col_offset))
    if not isinstance(node, ast.Call):
        raise ExpressionError(
            "expected a layer constructor call such as 'Conv2d(3, 64, 3)'; "
            f"got {_describe(node)}", where(node.col_offset))
    name = _dotted(node.func)
    if name is None:
        raise ExpressionError("expected a layer class name before '('; "
                              f"got {_describe(node.func)}", where(node.func.col_offset))
    name = _strip_prefix(name)
    if "." in name:
        raise ExpressionError(f"unknown module path {name!r}: only 'nn.' and 'torch.nn.' prefixes "
                              "are understood", where(node.func.col_offset))
    nested = name.lower() == "sequential"
    args = []
    for a in node.args:
        if isinstance(a, ast.Starred):
            raise ExpressionError("'*' arguments are not supported; write the values out",
                                  where(a.col_offset))
        value = _call(a, text, where, lead) if nested else _literal(a, where)
        args.append(Arg(value, lead + a.col_offset + 1))
    kwargs: dict[str, Arg] = {}
    for kw in node.keywords:
        if kw.arg is None:
            raise ExpressionError("'**' arguments are not supported; write the keywords out",
                                  where(kw.value.col_offset - 2))
        if kw.arg in kwargs:
            raise ExpressionError(f"keyword {kw.arg!r} given twice", where(kw.col_offset))
        kwargs[kw.arg] = Arg(_literal(kw.value, where), lead + kw.value.col_offset + 1)
    return LayerCall(name, tuple(args), kwargs, segment, where(node.col_offset))


def _strip_prefix(name: str) -> str:
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def _dotted(node: ast.AST) -> str | None:
    """`a.b.c` for a chain of names, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _literal(node: ast.AST, where) -> object:
    """The value of a literal node; bare words become strings; anything else is refused."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, (int, float, str, bool)) or node.value is None:
            return node.value
        if node.value is Ellipsis:
            raise ExpressionError("'...' is not a value: write the argument out or leave it off",
                                  where(node.col_offset))
        raise ExpressionError(f"unsupported literal {node.value!r}", where(node.col_offset))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _literal(node.operand, where)
        if isinstance(inner, (int, float)) and not isinstance(inner, bool):
            return -inner if isinstance(node.op, ast.USub) else inner
        raise ExpressionError("a sign must be followed by a number", where(node.col_offset))
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_literal(e, where) for e in node.elts)
    if isinstance(node, (ast.Name, ast.Attribute)):
        name = _dotted(node)
        if name is not None:
            return name
    raise ExpressionError(f"only literal values are allowed in a layer expression; got {_describe(node)}",
                          where(getattr(node, "col_offset", 0)))


def _describe(node: ast.AST) -> str:
    kinds = {ast.Call: "a function call", ast.BinOp: "an arithmetic expression",
             ast.Lambda: "a lambda", ast.Subscript: "a subscript", ast.Dict: "a dict",
             ast.Set: "a set", ast.Compare: "a comparison", ast.BoolOp: "a boolean expression",
             ast.JoinedStr: "an f-string", ast.ListComp: "a comprehension",
             ast.GeneratorExp: "a generator expression", ast.IfExp: "a conditional expression"}
    for kind, text in kinds.items():
        if isinstance(node, kind):
            return text
    if isinstance(node, ast.Constant):
        return repr(node.value)
    return type(node).__name__.lower()
