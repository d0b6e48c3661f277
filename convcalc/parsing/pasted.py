"""Pasted text to named layer calls: code, `->` chains and `print(model)` dumps.

Text comes from an argument or an `@file`, and may hold, in any mix:

* layer expressions, one per line or joined by `->` (also across lines), separated by
  commas as inside a list;
* `nn.Sequential(...)` blocks as written in code, over many lines, with comments, blank
  lines and trailing commas; `Sequential(OrderedDict([("conv1", ...), ...]))` names its
  layers by the keys; nested blocks give PyTorch's dotted names (`3.0`, `block.conv`);
  `self.features = nn.Sequential(...)` names its layers `features.0`, ...;
* what `print(model)` writes: `(name): Layer(...)` lines, container lines
  (`Sequential(`, `VGG(`, `(layer1): Sequential(` ... `)`), and ModuleList's collapsed
  repeats (`(0-2): 3 x Conv2d(...)`, also of a multi-line block).

A dump lists modules, not what forward() does with them; a container known to join
branches (ResNet's BasicBlock, a `downsample` beside it) is refused here, because no
chain read from the text can be right. Knows nothing of layers.
"""

from __future__ import annotations

import ast
import bisect
import re

from ..errors import ExpressionError, Location
from ..record import record
from .expr import MAX_EXPRESSION, LayerCall, call_from_node, parse_call, split_chain

_PREFIX = re.compile(r"\s*\(([^()\s]+)\):[ \t]*")  # `(features): `, `(0-2): `
_RANGE = re.compile(r"(\d{1,9})-(\d{1,9})$")
_REPEAT = re.compile(r"(\d{1,9}) x ")
_HEADER = re.compile(r"[A-Za-z_][\w.]*\($")  # `Sequential(`, `BasicBlock(` alone
_SELF_ATTR = re.compile(r"\s*self\.([A-Za-z_]\w*)\s*=(?!=)")
_ASSIGN = re.compile(r"\s*[A-Za-z_]\w*\s*=(?!=)")
_EMPTY_CONTAINERS = ("sequential", "modulelist", "moduledict")
_PLAIN_CONTAINERS = ("Sequential", "ModuleList", "ModuleDict")

#: torchvision's blocks whose forward() joins branches (a skip connection, parallel
#: paths or a gate), so their printout is not a chain.
BRANCHED_BLOCKS = frozenset({
    "BasicBlock", "Bottleneck", "InvertedResidual", "MBConv", "FusedMBConv", "CNBlock",
    "_DenseLayer", "_DenseBlock", "Fire", "Inception", "InceptionA", "InceptionB",
    "InceptionC", "InceptionD", "InceptionE", "InceptionAux", "SqueezeExcitation",
    "ResBottleneckBlock"})
_BRANCH_WORDS = re.compile(r"(?i)residual|bottleneck|basicblock|inception")
#: more layers than any real network has; `(0-99999999): 100000000 x ReLU()` is refused
#: before it is expanded
MAX_LAYERS = 50_000
#: the name a block gives the path that bypasses it (ResNet, and most re-implementations)
_SKIP_NAMES = ("downsample", "shortcut")


@record
class Pasted:
    """One layer call, its PyTorch name when the text gives one, and whether it came from
    a `print(model)` dump (where forward() may flatten before a Linear unseen)."""

    call: LayerCall
    name: str | None
    from_dump: bool = False


def read_pasted(text: str, source: str) -> list[Pasted]:
    """The layers of pasted text, in order; ExpressionError (with file:line:column) if not."""
    if text.startswith("\ufeff"):  # a byte-order mark, e.g. from `$(cat file)`
        text = text[1:]
    return _Reader(text, source).read()


def _join(prefix: str | None, name: str | None) -> str | None:
    if not prefix:
        return name
    return f"{prefix}.{name}" if name else prefix


class _Frame:
    """An open container of a dump: its names (several for a collapsed repeat), its class,
    and the layers read inside it, named relative to it."""

    def __init__(self, names: list[str], kind: str, path: str, line: int):
        self.names, self.kind, self.path, self.line = names, kind, path, line
        self.items: list[Pasted] = []


class _Reader:
    def __init__(self, text: str, source: str):
        self.source = source
        self.raw = text.splitlines() or [""]
        self.lines = [_strip_comment(line) for line in self.raw]
        self.frames: list[_Frame] = []
        self.out: list[Pasted] = []

    # ------------------------------------------------------------------ driver
    def read(self) -> list[Pasted]:
        i, n = 0, len(self.lines)
        while i < n:
            line = self.lines[i]
            stripped = line.strip()
            if not stripped:
                i += 1
            elif _PREFIX.match(line):
                self._dump_line(i)
                i += 1
            elif stripped == ")" and self.frames:
                self._close()
                i += 1
            elif _HEADER.match(stripped) and self._next_is_dump(i):
                self._open([""], stripped[:-1], i)
                i += 1
            else:
                i = self._statement(i)
        while self.frames:  # a dump cut short: what was read still counts
            self._close()
        return self.out

    def _next_is_dump(self, i: int) -> bool:
        for j in range(i + 1, len(self.lines)):
            if self.lines[j].strip():
                return bool(_PREFIX.match(self.lines[j]))
        return False

    def _emit(self, items: list[Pasted], i: int) -> None:
        self._room(len(items), i)
        (self.frames[-1].items if self.frames else self.out).extend(items)

    def _room(self, count: int, i: int) -> None:
        """Refuse, before building them, more layers than MAX_LAYERS."""
        total = len(self.frames[-1].items if self.frames else self.out) + count
        if total > MAX_LAYERS:
            raise ExpressionError(f"expected at most {MAX_LAYERS:,} layers; got {total:,} "
                                  f"by line {i + 1}", Location(self.source, i + 1))

    # ------------------------------------------------------------------ print(model) dumps
    def _dump_line(self, i: int) -> None:
        line = self.lines[i]
        match = _PREFIX.match(line)
        name, start = match.group(1), match.end()
        names = [name]
        rng, rep = _RANGE.match(name), _REPEAT.match(line, start)
        if rng and rep:  # ModuleList's `(0-2): 3 x Conv2d(...)`: names 0, 1, 2
            first, last = int(rng.group(1)), int(rng.group(2))
            if int(rep.group(1)) == last - first + 1 and last >= first:
                self._room(last - first + 1, i)
                names = [str(k) for k in range(first, last + 1)]
                start = rep.end()
        body = line[start:].rstrip()
        if _HEADER.match(body):
            self._open(names, body[:-1], i)
            return
        if not body:
            raise ExpressionError("expected a layer after the name; got nothing",
                                  Location(self.source, i + 1, start + 1, None, self.raw[i]))
        call = parse_call(body, self.source, start, i + 1, self.raw[i])
        if call.name.lower() in _EMPTY_CONTAINERS and not call.args and not call.kwargs:
            return  # `(empty): ModuleList()` holds nothing
        self._check_skip(names[0], i)
        self._emit([Pasted(call, each, True) for each in names], i)

    def _open(self, names: list[str], kind: str, i: int) -> None:
        path = ".".join(p for p in [f.names[0] for f in self.frames] + [names[0]] if p)
        frame = _Frame(names, kind.rsplit(".", 1)[-1], path, i)
        if frame.kind in BRANCHED_BLOCKS or _BRANCH_WORDS.search(frame.kind):
            self._branches(i, path, f"{frame.kind} {path or 'the model'!r}")
        self._check_skip(names[0], i)
        self.frames.append(frame)

    def _check_skip(self, name: str, i: int) -> None:
        """`downsample` inside a custom block is ResNet's bypass path."""
        parent = self.frames[-1] if self.frames else None
        if name in _SKIP_NAMES and parent is not None and parent.kind not in _PLAIN_CONTAINERS:
            path = _join(parent.path, name)
            self._branches(i, path, f"{path!r} bypasses {parent.kind} {parent.path or 'the model'!r}")

    def _branches(self, i: int, path: str, why: str) -> None:
        raise ExpressionError(
            f"expected a chain of layers; got a model with branches ({why}): print(model) lists "
            "the modules but not how forward() joins them, so the text cannot show the model; "
            "describe it in the YAML network format (coming) or import it from PyTorch or ONNX "
            "(importers coming)", Location(self.source, i + 1, None, path or None, None))

    def _close(self) -> None:
        frame = self.frames.pop()
        self._room(len(frame.names) * len(frame.items), frame.line)
        self._emit([Pasted(item.call, _join(name, item.name), item.from_dump)
                    for name in frame.names for item in frame.items], frame.line)

    # ------------------------------------------------------------------ code
    def _statement(self, i: int) -> int:
        """Read lines from i until brackets balance and no `->` continues the chain; return
        the index of the next line."""
        depth, j, n = 0, i, len(self.lines)
        while True:
            depth += _depth_change(self.lines[j])
            j += 1
            if j >= n:
                break
            if depth > 0:
                continue
            if self.lines[j - 1].rstrip().endswith("->"):
                continue
            k = j
            while k < n and not self.lines[k].strip():
                k += 1
            if k < n and self.lines[k].lstrip().startswith("->"):
                continue
            break
        self._parse_statement(i, j)
        return j

    def _parse_statement(self, first: int, end: int) -> None:
        text = "\n".join(self.lines[first:end])
        starts = [0]
        for line in self.lines[first:end - 1]:
            starts.append(starts[-1] + len(line) + 1)

        def place(offset: int) -> tuple[int, int]:
            """(line index, 0-based column) of an offset into `text`."""
            row = bisect.bisect_right(starts, offset) - 1
            return first + row, offset - starts[row]

        for piece, offset in split_chain(text):
            self._piece(piece, offset, place)

    def _piece(self, piece: str, offset: int, place) -> None:
        lead = len(piece) - len(piece.lstrip())
        body = piece.strip()
        base = offset + lead
        prefix = None
        if body:
            assign = _SELF_ATTR.match(body) or _ASSIGN.match(body)
            if assign:
                prefix = assign.group(1) if assign.re is _SELF_ATTR else None
                cut = len(body) - len(body[assign.end():].lstrip())
                body, base = body[cut:], base + cut
        row, col = place(base)
        if len(body) > MAX_EXPRESSION:  # parse_call words the refusal, before any parsing
            parse_call(body, self.source, col, row + 1, self.raw[row])
        try:
            tree = ast.parse(body, mode="eval")
        except (RecursionError, MemoryError):  # too deeply nested: parse_call says so
            parse_call(body, self.source, col, row + 1, self.raw[row])
            raise
        except (SyntaxError, ValueError) as exc:
            if "\n" not in body or not isinstance(exc, SyntaxError):
                # one line: parse_call words the error and points at the column
                parse_call(body, self.source, col, row + 1, self.raw[row])
                raise ExpressionError("expected a layer expression", Location(
                    self.source, row + 1, col + 1, None, self.raw[row])) from None
            line = (exc.lineno or 1) - 1
            where_row, where_col = place(base + sum(len(s) + 1 for s in body.split("\n")[:line]))
            column = where_col + max((exc.offset or 1) - 1, 0)
            reason = (exc.msg or "invalid syntax").lower()
            if "never closed" in reason:
                reason = "unclosed '(': expected ')'"
                where_row, column = row, col
            raise ExpressionError(f"syntax error in layer expression: {reason}",
                                  Location(self.source, where_row + 1, column + 1, None,
                                           self.raw[where_row])) from None
        body_starts = [0]
        for line in body.split("\n")[:-1]:
            body_starts.append(body_starts[-1] + len(line) + 1)
        lines = body.split("\n")

        def offset_of(lineno: int, col_bytes: int) -> int:
            text = lines[lineno - 1]
            return body_starts[lineno - 1] + len(text.encode("utf-8")[:col_bytes].decode("utf-8", "ignore"))

        def leaf(node: ast.AST, name: str | None) -> None:
            a = offset_of(node.lineno, node.col_offset)
            b = offset_of(node.end_lineno, node.end_col_offset)
            segment = body[a:b]
            r, c = place(base + a)
            if "\n" not in body and body.isascii():  # the common case: no second parse
                call = call_from_node(node, body, self.source, r + 1, c - a, self.raw[r])
            elif "\n" in segment:  # a call written over several lines: shown on one
                flat = re.sub(r"\s*\n\s*", " ", segment)
                call = parse_call(flat, self.source, 0, r + 1, flat)
            else:
                call = parse_call(segment, self.source, c, r + 1, self.raw[r])
            self._emit([Pasted(call, name, False)], r)

        def where(node: ast.AST) -> Location:
            r, c = place(base + offset_of(node.lineno, node.col_offset))
            return Location(self.source, r + 1, c + 1, None, self.raw[r])

        def visit(node: ast.AST, name: str | None, top: bool) -> None:
            if top and isinstance(node, ast.Tuple):  # `A(...), B(...),` as inside a list
                for element in node.elts:
                    visit(element, name, False)
                return
            if not (isinstance(node, ast.Call) and _callee(node.func) == "sequential"):
                leaf(node, name)
                return
            if node.keywords:
                raise ExpressionError("Sequential takes layers as positional arguments only",
                                      where(node))
            if len(node.args) == 1 and isinstance(node.args[0], ast.Call) \
                    and _callee(node.args[0].func) in ("ordereddict", "collections.ordereddict"):
                for key, value in _pairs(node.args[0], where):
                    visit(value, _join(name, key), False)
                return
            for index, arg in enumerate(node.args):
                if isinstance(arg, ast.Starred):
                    raise ExpressionError("'*' arguments are not supported; write the layers out",
                                          where(arg))
                visit(arg, _join(name, str(index)), False)

        visit(tree.body, prefix, True)


def _callee(func: ast.AST) -> str | None:
    """`nn.Sequential` -> 'sequential'; None for anything but a dotted name."""
    parts = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        return None
    name = ".".join([func.id] + parts[::-1])
    for prefix in ("torch.nn.", "nn."):
        if name.startswith(prefix):
            name = name[len(prefix):]
    return name.lower()


def _pairs(call: ast.Call, where) -> list[tuple[str, ast.AST]]:
    """The (name, layer) pairs of `OrderedDict([("conv1", ...), ...])`, `OrderedDict({...})`
    or `OrderedDict(conv1=...)`."""
    wrong = ExpressionError("OrderedDict takes a list of (name, layer) pairs, e.g. "
                            "OrderedDict([('conv1', nn.Conv2d(3, 8, 3))])", where(call))
    if not call.args and all(kw.arg for kw in call.keywords):
        return [(kw.arg, kw.value) for kw in call.keywords]  # type: ignore[misc]
    if len(call.args) != 1 or call.keywords:
        raise wrong
    (arg,) = call.args
    if isinstance(arg, ast.Dict):
        items = list(zip(arg.keys, arg.values))
    elif isinstance(arg, (ast.List, ast.Tuple)):
        items = []
        for element in arg.elts:
            if not (isinstance(element, ast.Tuple) and len(element.elts) == 2):
                raise ExpressionError("expected a (name, layer) pair; got "
                                      f"{type(element).__name__.lower()}", where(element))
            items.append(tuple(element.elts))
    else:
        raise wrong
    pairs = []
    seen = set()
    for key, value in items:
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value
                and "." not in key.value):
            raise ExpressionError("a layer's name must be a non-empty string without '.'",
                                  where(key) if key is not None else where(call))
        if key.value in seen:
            raise ExpressionError(f"layer name {key.value!r} given twice", where(key))
        seen.add(key.value)
        pairs.append((key.value, value))
    return pairs


#: a quoted string (to its end if unclosed), or a `#`: scanned by the regex engine, so a
#: 10 MB line costs milliseconds
_STRING = r"""'[^'\\]*(?:\\.[^'\\]*)*'?|"[^"\\]*(?:\\.[^"\\]*)*"?"""
_STRING_OR_HASH = re.compile(_STRING + "|#")
_STRINGS = re.compile(_STRING)


def _strip_comment(line: str) -> str:
    """The line without a `#` comment (a `#` inside quotes stays)."""
    if "#" not in line:
        return line
    for match in _STRING_OR_HASH.finditer(line):
        if match.group() == "#":
            return line[:match.start()]
    return line


def _depth_change(line: str) -> int:
    """Open minus closed brackets on a line (brackets inside quotes do not count)."""
    if "'" in line or '"' in line:
        line = _STRINGS.sub("", line)
    return (line.count("(") + line.count("[") + line.count("{")
            - line.count(")") - line.count("]") - line.count("}"))
