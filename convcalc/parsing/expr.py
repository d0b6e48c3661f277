"""Read `Conv2d(3, 64, 3, stride=2)` into a `LayerCall`, safely.

The text goes through `ast.parse(mode="eval")` and only literal nodes are accepted:
numbers, strings, booleans, None, tuples/lists of those, and bare (possibly dotted)
names, which `print(model)` writes for strings (`padding=same`, `mode=bilinear`).
Nothing is ever evaluated.  Whatever the text (non-UTF-8 bytes, megabytes, deep
nesting, huge numbers), the answer is a LayerCall or an ExpressionError, quickly.
"""

from __future__ import annotations

import ast
import re

from ..errors import ExpressionError, Location, quote
from ..record import field, record

_PREFIXES = ("torch.nn.", "nn.")
_TORCHVISION_PREFIXES = ("torchvision.ops.", "ops.")
_TORCHVISION_LAYERS = ("deformconv2d",)
# ast.parse spends ~1.5 s on a megabyte of arguments; no layer call comes near this size.
MAX_EXPRESSION = 100_000
# The largest magnitude a PyTorch argument can hold (a double); bigger literals are refused
# here, before they reach messages or arithmetic (Python will not print a 5,000-digit int).
_MAX_LITERAL_BITS = 1024
_MAX_ARGUMENTS = 100  # a call with more is refused before its arguments are read, one by one
_UNREADABLE = re.compile("[\x00\ud800-\udfff]")  # NUL, or bytes argv could not decode
_CHAIN_TOKENS = re.compile(r"""'(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?|[(\[{)\]}]|->""", re.S)


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
    """Split `A(...) -> B(...)` at top-level arrows; return (piece, 0-based offset) pairs.

    Arrows inside brackets or strings do not split.  The scan stops at a piece longer than
    MAX_EXPRESSION and returns the rest as one piece, which parse_call then refuses."""
    if "->" not in text:
        return [(text, 0)]
    pieces: list[tuple[str, int]] = []
    depth, start = 0, 0
    for match in _CHAIN_TOKENS.finditer(text):
        token = match.group()
        if match.start() - start > MAX_EXPRESSION:
            break
        if token in "([{":
            depth += 1
        elif token in ")]}":
            depth -= 1
        elif token == "->" and depth == 0:
            pieces.append((text[start:match.start()], start))
            start = match.end()
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
    if len(stripped) > MAX_EXPRESSION:
        raise ExpressionError(f"expected a layer of at most {MAX_EXPRESSION:,} characters; got "
                              f"{len(stripped):,} (give one layer per argument or per line of an @FILE)",
                              where(0))
    bad = _UNREADABLE.search(stripped)
    if bad:
        raise ExpressionError(f"expected UTF-8 text; got {_describe_char(bad.group())}",
                              where(bad.start()))
    src = _Source(stripped, where, lead)
    try:
        tree = ast.parse(stripped, mode="eval")
        return _call(tree.body, src)
    except SyntaxError as exc:
        raise _syntax_error(exc, src) from None
    except (RecursionError, MemoryError):  # Python's parser, or _literal, on deep nesting
        raise _too_deep(where) from None


def _too_deep(where) -> ExpressionError:
    return ExpressionError("expected a layer expression nested at most a few hundred levels "
                           "deep; got one nested deeper", where(0))


def _syntax_error(exc: SyntaxError, src: _Source) -> ExpressionError:
    """Python's SyntaxError in convcalc's words, pointing into the user's text."""
    reason = (exc.msg or "invalid syntax").lower()
    index = src.index(exc.lineno or 1, max((exc.offset or 1) - 1, 0))  # offset counts characters
    if "integer string conversion" in reason:  # Python reads at most ~4,300 digits
        digits = max(re.finditer(r"\d+", src.text), key=lambda m: len(m.group()))
        return ExpressionError(f"expected a number a PyTorch argument can hold; got a "
                               f"{len(digits.group()):,}-digit number", src.where(digits.start()))
    if reason.startswith("'(' was never closed") or "never closed" in reason:
        reason = "unclosed '(': expected ')'"
    return ExpressionError(f"syntax error in layer expression: {reason}", src.where(index))


class _Source:
    """The expression's text, turning ast's positions (line, UTF-8 byte offset in the line)
    into character indexes, so that columns stay right after non-ASCII text or a newline."""

    def __init__(self, text: str, where, lead: int):
        self.text, self.where, self.lead = text, where, lead
        self._simple = text.isascii() and "\n" not in text and "\r" not in text
        self._starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
        self._chars: dict[int, list[int]] = {}  # line -> character index of each byte

    def index(self, lineno: int, col: int, in_bytes: bool = False) -> int:
        """The 0-based character index of column `col` of line `lineno` (1-based)."""
        if self._simple:
            return min(col, len(self.text))
        line = min(max(lineno, 1), len(self._starts)) - 1
        if in_bytes:
            chars = self._line_chars(line)
            col = chars[min(col, len(chars) - 1)]
        return min(self._starts[line] + col, len(self.text))

    def _line_chars(self, line: int) -> list[int]:
        chars = self._chars.get(line)
        if chars is None:
            end = self._starts[line + 1] if line + 1 < len(self._starts) else len(self.text)
            chars = []
            for i, ch in enumerate(self.text[self._starts[line]:end]):
                chars.extend([i] * len(ch.encode("utf-8", "surrogatepass")))
            chars.append(end - self._starts[line])
            self._chars[line] = chars
        return chars

    def start(self, node: ast.AST) -> int:
        return self.index(node.lineno, node.col_offset, in_bytes=True)

    def at(self, node: ast.AST, shift: int = 0) -> Location:
        """The location of a node (shifted by `shift` characters) in the user's text."""
        return self.where(max(self.start(node) + shift, 0))

    def column(self, node: ast.AST) -> int:
        return self.lead + self.start(node) + 1

    def segment(self, node: ast.AST) -> str:
        end = self.index(node.end_lineno or node.lineno, node.end_col_offset or 0, in_bytes=True)
        return self.text[self.start(node):end] or self.text


def _describe_char(ch: str) -> str:
    code = ord(ch)
    if ch == "\x00":
        return "a NUL character"
    if 0xDC80 <= code <= 0xDCFF:
        return f"the byte 0x{code - 0xDC00:02x}"
    return f"the unpaired surrogate U+{code:04X}"


def call_from_node(node: ast.AST, text: str, source: str, line: int, lead: int, full: str) -> LayerCall:
    """A LayerCall from a node already parsed out of one line of ASCII `text`, which
    starts at 0-based column `lead` of `full` (saves parsing the text a second time)."""
    def where(col0: int) -> Location:
        return Location(source, line, lead + col0 + 1, None, full)

    try:
        return _call(node, _Source(text, where, lead))
    except (RecursionError, MemoryError):  # _literal on deep nesting
        raise _too_deep(where) from None


def flatten_calls(call: LayerCall) -> list[LayerCall]:
    """`Sequential(A(...), B(...))` as the list of its layers (nested ones too)."""
    if call.name.lower() != "sequential":
        return [call]
    if call.kwargs:
        raise ExpressionError("Sequential takes layers as positional arguments only", call.location)
    return [leaf for arg in call.args for leaf in flatten_calls(arg.value)]  # type: ignore[arg-type]


def _call(node: ast.AST, src: _Source) -> LayerCall:
    """A LayerCall from a call node (or a bare class name); Sequential holds calls."""
    segment = src.segment(node)
    if isinstance(node, (ast.Name, ast.Attribute)):
        # A bare class name (`ReLU`, `nn.Identity`) is read as a call without arguments.
        name = _dotted(node)
        if name is not None:
            return LayerCall(_strip_prefix(name), (), {}, segment, src.at(node))
    if not isinstance(node, ast.Call):
        raise ExpressionError(
            "expected a layer constructor call such as 'Conv2d(3, 64, 3)'; "
            f"got {_describe(node)}", src.at(node))
    name = _dotted(node.func)
    if name is None:
        raise ExpressionError("expected a layer class name before '('; "
                              f"got {_describe(node.func)}", src.at(node.func))
    name = _strip_prefix(name)
    if "." in name:
        raise ExpressionError(f"unknown module path {quote(name)}: only 'nn.' and 'torch.nn.' prefixes "
                              "(and 'torchvision.ops.' for DeformConv2d) are understood", src.at(node.func))
    nested = name.lower() == "sequential"
    if not nested and len(node.args) + len(node.keywords) > _MAX_ARGUMENTS:
        raise ExpressionError(f"expected at most {_MAX_ARGUMENTS} arguments, more than any PyTorch "
                              f"layer takes; got {len(node.args) + len(node.keywords):,}", src.at(node))
    args = []
    for a in node.args:
        if isinstance(a, ast.Starred):
            raise ExpressionError("'*' arguments are not supported; write the values out", src.at(a))
        value = _call(a, src) if nested else _literal(a, src)
        args.append(Arg(value, src.column(a)))
    kwargs: dict[str, Arg] = {}
    for kw in node.keywords:
        if kw.arg is None:
            raise ExpressionError("'**' arguments are not supported; write the keywords out",
                                  src.at(kw.value, -2))
        if kw.arg in kwargs:
            raise ExpressionError(f"keyword {quote(kw.arg)} given twice", src.at(kw))
        kwargs[kw.arg] = Arg(_literal(kw.value, src), src.column(kw.value))
    return LayerCall(name, tuple(args), kwargs, segment, src.at(node))


def _strip_prefix(name: str) -> str:
    for prefix in _TORCHVISION_PREFIXES:  # torchvision's one layer: pasted as torchvision.ops.DeformConv2d
        if name.startswith(prefix) and name[len(prefix):].lower() in _TORCHVISION_LAYERS:
            return name[len(prefix):]
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


def _literal(node: ast.AST, src: _Source) -> object:
    """The value of a literal node; bare words become strings; anything else is refused."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, int) and node.value.bit_length() > _MAX_LITERAL_BITS:
            raise ExpressionError("expected a number a PyTorch argument can hold; got one of "
                                  f"{node.value.bit_length():,} bits", src.at(node))
        if isinstance(node.value, (int, float, str, bool)) or node.value is None:
            return node.value
        if node.value is Ellipsis:
            raise ExpressionError("'...' is not a value: write the argument out or leave it off",
                                  src.at(node))
        raise ExpressionError(f"unsupported literal {quote(node.value)}", src.at(node))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _literal(node.operand, src)
        if isinstance(inner, (int, float)) and not isinstance(inner, bool):
            return -inner if isinstance(node.op, ast.USub) else inner
        raise ExpressionError("a sign must be followed by a number", src.at(node))
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_literal(e, src) for e in node.elts)
    if isinstance(node, (ast.Name, ast.Attribute)):
        name = _dotted(node)
        if name is not None:
            _refuse_other_spellings(name, node, src)
            return name
    raise ExpressionError(f"only literal values are allowed in a layer expression; got {_describe(node)}",
                          src.at(node) if hasattr(node, "col_offset") else src.where(0))


# YAML's and JSON's spellings of Python's constants: read as bare words they would become
# truthy strings, so `bias=false` would silently keep the bias.
_OTHER_SPELLINGS = {"true": "True", "false": "False", "none": "None", "null": "None"}


def _refuse_other_spellings(name: str, node: ast.AST, src: _Source) -> None:
    python = _OTHER_SPELLINGS.get(name.lower())
    if python is not None and name != python:
        raise ExpressionError(f"expected Python's {python}; got the bare word {quote(name)}", src.at(node))


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
        return quote(node.value)
    return type(node).__name__.lower()
