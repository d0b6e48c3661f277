"""The spec format (CONTRACT section 5, plus blocks): checked and read into records.

Everything about the file's shape is checked here, before any layer is built: the keys
(unknown ones with a did-you-mean), the types of their values, the parameters and
placeholders of blocks. Layer expressions stay text until `expand` builds them, since a
block's text holds placeholders. See the README for the format.
"""

from __future__ import annotations

import difflib
import keyword
import re
from typing import Sequence

from ..dtypes import DTYPE_BYTES
from ..errors import ConvcalcError, Location, quote
from ..record import field, record
from . import template
from .loader import Lines, Map, Seq, type_name

TOP_KEYS = ("name", "description", "input", "dtype", "blocks", "layers", "expect")
ENTRY_KEYS = ("name", "layer", "layers", "from", "repeat", "when")
BLOCK_KEYS = ("description", "params", "inputs", "layers")
REQUIRED = object()
MAX_REPEAT = 100_000
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_RELATIVE = re.compile(r"-[0-9]+\Z")
_RESERVED = {"input", "min", "max", "abs", "int", "round", "True", "False", "None"}


@record
class Ref:
    """A reference in `from`: an entry name, `input`, or a negative relative index."""

    value: str | int
    line: int


@record
class Entry:
    index: int  # its position in its list
    line: int
    name: str | None
    layer: str | None  # a layer or block expression (placeholders not yet filled in)
    column: int | None  # of `layer` in its line, where the file shows it as it is
    group: "tuple[Entry, ...] | None"  # an inline group (`layers:`)
    refs: tuple[Ref, ...] | None  # `from`; None: the previous entry
    repeat: int | str | None
    when: bool | str | None
    lines: dict = field(default_factory=dict, repr=False)  # key -> line of its value


@record
class Block:
    name: str
    line: int
    params: tuple[tuple[str, object], ...]  # (name, default or REQUIRED) in positional order
    inputs: tuple[str, ...]
    entries: tuple[Entry, ...]
    description: str = ""

    def signature(self) -> str:
        parts = [n if d is REQUIRED else f"{n}={template.literal(d)}" for n, d in self.params]
        return f"{self.name}({', '.join(parts)})"


@record
class Spec:
    source: str  # the file name as shown in messages
    text: str = field(repr=False)  # the file's text, for caret lines
    name: str | None
    description: str | None
    input: tuple[int, ...] | None  # the input shape, when the spec gives one
    input_line: int
    dtype: str | None
    dtype_line: int
    blocks: dict  # name -> Block
    entries: tuple[Entry, ...]
    layers_line: int
    expect: Map | None
    expect_line: int
    lines: Lines = field(default=None, repr=False)  # type: ignore[assignment]  # the text's lines

    def where(self, line: int | None, entry: str | None = None, column: int | None = None) -> Location:
        if column is not None and line is not None:
            return Location(self.source, line, column, entry, self.line(line))
        return Location(self.source, line, None, entry)

    def line(self, number: int) -> str:
        return self.lines(number)


class _Reader:
    """Checks of one file's values, with errors that name the file and line."""

    def __init__(self, source: str, text: str):
        self.source, self.text = source, text
        self.seen: dict[tuple, tuple] = {}  # (id of a list, parameters) -> its entries

    def fail(self, message: str, line: int | None, entry: str | None = None) -> ConvcalcError:
        return ConvcalcError(message, Location(self.source, line, None, entry))

    def keys(self, mapping: Map, allowed: Sequence[str], what: str, entry: str | None = None,
             hint: str = "") -> None:
        for key in mapping:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6) if len(key) < 64 else []
                mean = f"; did you mean {close[0]!r}?" if close else ""
                raise self.fail(f"unknown key {quote(key)} in {what}{mean} (expected {', '.join(allowed)})"
                                + hint, mapping.key_lines.get(key, mapping.line), entry)

    def string(self, value: object, what: str, line: int, entry: str | None = None) -> str:
        if isinstance(value, str):
            return value
        hint = _quote_hint(value)
        raise self.fail(f"{what} must be a string; got {type_name(value)}{hint}", line, entry)


def _quote_hint(value: object) -> str:
    """Why YAML gave a boolean, a number or null where text was meant."""
    if isinstance(value, bool):
        return " (YAML reads yes, no, on, off, true and false as booleans: quote the word)"
    if isinstance(value, (int, float)):
        return " (quote it to make it a name)"
    if value is None:
        return " (nothing was written: an empty value is null)"
    return ""


def read_spec(value: object, source: str, text: str) -> Spec:
    """The spec in a loaded document, or ConvcalcError naming the file and line."""
    r = _Reader(source, text)
    if not isinstance(value, Map):
        got = "an empty file" if value is None else type_name(value)
        hint = " (put the list under 'layers:')" if isinstance(value, Seq) else ""
        raise r.fail(f"expected a mapping with 'layers:' (and 'input:', 'expect:', ...); got {got}{hint}",
                     getattr(value, "line", 1))
    r.keys(value, TOP_KEYS, "the spec")
    name = value.get("name")
    if name is not None:
        name = r.string(name, "'name'", value.line_of("name"))
    description = value.get("description")
    if description is not None:
        description = r.string(description, "'description'", value.line_of("description"))
    dtype = value.get("dtype")
    if "dtype" in value:
        dtype = r.string(dtype, "'dtype'", value.line_of("dtype")).strip()
        dtype = dtype[len("torch."):] if dtype.startswith("torch.") else dtype
        if dtype not in DTYPE_BYTES:
            raise r.fail(f"unknown dtype {quote(dtype)}; expected one of {', '.join(DTYPE_BYTES)}",
                         value.line_of("dtype"))
    blocks: dict[str, Block] = {}
    raw_blocks = value.get("blocks")
    if "blocks" in value:
        if not isinstance(raw_blocks, Map):
            raise r.fail(f"'blocks' must be a mapping of block names to definitions; got {type_name(raw_blocks)}",
                         value.line_of("blocks"))
        for block_name, body in raw_blocks.items():
            blocks[block_name] = _block(r, block_name, body, raw_blocks.key_lines[block_name])
    if "layers" not in value:
        raise r.fail("the spec has no 'layers:'; expected a list of layer expressions or entries", value.line)
    entries = _entries(r, value["layers"], value.line_of("layers"), "'layers'", (), "")
    expect = value.get("expect")
    if "expect" in value and not isinstance(expect, Map):
        raise r.fail(f"'expect' must be a mapping (output_shape, max_params, ...); got {type_name(expect)}",
                     value.line_of("expect"))
    shape = _input(r, value["input"], value.line_of("input")) if "input" in value else None
    spec = Spec(source, text, name, description, shape, value.line_of("input"), dtype,
                value.line_of("dtype"), blocks, entries, value.key_lines["layers"], expect, value.line_of("expect"),
                Lines(text))
    if expect is not None:
        from .expect import read_expect
        read_expect(spec)  # checked now, so that a malformed expect is found by every command
    return spec


def _input(r: _Reader, value: object, line: int) -> tuple[int, ...]:
    from ..errors import ShapeError
    from ..parsing import parse_shape

    if isinstance(value, bool) or not isinstance(value, (Seq, str)) or \
            isinstance(value, Seq) and not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise r.fail(f"'input' must be a shape such as [1, 3, 224, 224] or '1x3x224x224'; got {type_name(value)}",
                     line)
    try:
        return parse_shape(list(value) if isinstance(value, Seq) else value, "input")
    except ShapeError as exc:
        raise r.fail(f"'input': {exc.message}", line) from None


def _entries(r: _Reader, value: object, line: int, what: str, params: tuple[str, ...],
             prefix: str | None = None) -> tuple[Entry, ...]:
    """The entries of a list, read once per list: an alias that repeats a list (a group
    written once, used many times) shares its entries rather than reading them again.
    `prefix` is the list's full name where it is known before expansion (the spec's
    list, its groups), so that errors name entries as the network will; inside a block
    the line says where."""
    key = (id(value), params)  # the prefix only names errors, which the first reading raises
    known = r.seen.get(key)
    if known is None:
        known = r.seen[key] = _read_entries(r, value, line, what, params, prefix)
    return known


def _read_entries(r: _Reader, value: object, line: int, what: str, params: tuple[str, ...],
                  prefix: str | None) -> tuple[Entry, ...]:
    if not isinstance(value, Seq):
        raise r.fail(f"{what} must be a list of layer expressions or entries; got {type_name(value)}", line)
    if not value:
        raise r.fail(f"{what} is empty; expected at least one layer", line)
    for i, item in enumerate(value):
        if isinstance(item, str) and item.count("(") > item.count(")"):
            raise r.fail(f"the layer expression {quote(item)} was cut at a comma: inside [...] write each "
                         "layer in quotes, or one per line", value.line_of(i))
    entries = []
    slot: int | None = 0  # the nn.Sequential position, while it is known without expanding
    for i, item in enumerate(value):
        given = item.get("name") if isinstance(item, Map) else None
        local = given if isinstance(given, str) else None if slot is None else str(slot)
        label = None if prefix is None or local is None else f"{prefix}.{local}" if prefix else local
        e = _entry(r, i, item, value.line_of(i), value.columns[i], params, label)
        entries.append(e)
        if slot is not None:
            if isinstance(e.when, str) or isinstance(e.repeat, str):
                slot = None
            elif e.when is not False and e.repeat != 0:
                slot += e.repeat if e.repeat is not None and e.name is None else 1
    return tuple(entries)


def _entry(r: _Reader, index: int, item: object, line: int, column: int | None,
           params: tuple[str, ...], label: str | None) -> Entry:
    if isinstance(item, str):
        _placeholders(r, item, params, line, label)
        return Entry(index, line, None, item, column, None, None, None, None)
    if not isinstance(item, Map):
        raise r.fail(f"an entry must be a layer expression or a mapping with 'layer' (or 'layers'); "
                     f"got {type_name(item)}", line, label)
    name = None
    if "name" in item:
        name = _name(r, item["name"], item.line_of("name"), label)
    hint = ""
    layer_text = item.get("layer")
    if isinstance(layer_text, str) and layer_text.count("(") > layer_text.count(")"):
        hint = (f" — the layer expression {quote(layer_text)} was cut at a comma: inside {{...}} write it "
                "in quotes")
    r.keys(item, ENTRY_KEYS, "an entry", label, hint)
    if ("layer" in item) == ("layers" in item):
        raise r.fail("an entry needs one of 'layer' (a layer or block expression) and 'layers' (a group "
                     "of entries)" + ("; got both" if "layer" in item else ""), item.line, label)
    layer = group = None
    column = None
    if "layer" in item:
        layer = r.string(item["layer"], "'layer'", item.line_of("layer"), label)
        column = item.columns.get("layer")
        _placeholders(r, layer, params, item.line_of("layer"), label)
    else:
        inner = label if "repeat" not in item else None  # copies are name.0, name.1, ...
        group = _entries(r, item["layers"], item.line_of("layers"), "'layers'", params, inner)
    refs = None
    if "from" in item:
        refs = _refs(r, item["from"], item, label)
    repeat = item.get("repeat")
    if "repeat" in item:
        repeat = _repeat(r, repeat, item.line_of("repeat"), label, params)
        if refs is not None and len(refs) > 1:
            raise r.fail("'repeat' needs an entry with one input: each copy reads the one before; "
                         f"got 'from' with {len(refs)} references", item.line_of("repeat"), label)
    when = item.get("when")
    if "when" in item:
        if isinstance(when, str):
            _names(r, _expression(when), params, item.line_of("when"), label)
        elif not isinstance(when, bool):
            raise r.fail(f"'when' must be a condition on the block's parameters (e.g. 'stride != 1') or "
                         f"true/false; got {type_name(when)}", item.line_of("when"), label)
    lines = {k: item.line_of(k) for k in item}
    return Entry(index, item.line, name, layer, column, group, refs, repeat, when, lines)


def _name(r: _Reader, value: object, line: int, label: str | None) -> str:
    name = r.string(value, "'name'", line)
    if not name.strip() or name != name.strip() or any(ch.isspace() for ch in name):
        raise r.fail(f"'name' must be a word without spaces, such as 'conv1'; got {quote(name)}", line)
    if name == "input":
        raise r.fail("the name 'input' is reserved for the network input; choose another", line)
    if name.startswith(("-", ".")):
        raise r.fail(f"'name' cannot start with '-' (relative indices do) or '.'; got {quote(name)}", line, label)
    if template.has_placeholders(name):
        raise r.fail(f"'name' cannot hold placeholders; got {quote(name)}", line, label)
    return name


def _refs(r: _Reader, value: object, item: Map, label: str | None) -> tuple[Ref, ...]:
    line = item.line_of("from")
    if isinstance(value, Seq):
        if not value:
            raise r.fail("'from' is an empty list; expected entry names, 'input' or negative indices",
                         line, label)
        return tuple(_ref(r, v, value.line_of(i), label) for i, v in enumerate(value))
    return (_ref(r, value, line, label),)


def _ref(r: _Reader, value: object, line: int, label: str | None) -> Ref:
    if isinstance(value, str) and _RELATIVE.match(value.strip()):
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if value >= 0:
            raise r.fail(f"a relative reference must be negative (-1 is the previous entry); got {value} (an "
                         f"entry named {str(value)!r} is referred to in quotes)", line, label)
        return Ref(value, line)
    if isinstance(value, str) and value.strip():
        return Ref(value.strip(), line)
    raise r.fail(f"'from' must name entries ('conv1', 'input') or give negative indices (-1); got "
                 f"{type_name(value)}{_quote_hint(value)}", line, label)


def _repeat(r: _Reader, value: object, line: int, label: str | None, params: tuple[str, ...]) -> int | str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        hint = " (a placeholder must be quoted: '{n}')" if isinstance(value, Map) else ""
        raise r.fail(f"'repeat' must be a whole number of copies; got {type_name(value)}{hint}", line, label)
    if isinstance(value, int):
        if not 0 <= value <= MAX_REPEAT:
            raise r.fail(f"'repeat' must be from 0 to {MAX_REPEAT:,}; got {value}", line, label)
        return value
    _names(r, _expression(_bare(value)), params, line, label)
    return value


def _bare(text: str) -> str:
    """`{n}` or `n`: the expression of a `repeat` given as text."""
    text = text.strip()
    return text[1:-1] if text.startswith("{") and text.endswith("}") else text


def _placeholders(r: _Reader, text: str, params: tuple[str, ...], line: int, label: str | None) -> None:
    if template.has_placeholders(text):
        _names(r, lambda: template.names_in(text), params, line, label)


def _names(r: _Reader, pairs, params: tuple[str, ...], line: int, label: str | None) -> None:
    """Every name the expressions read (`pairs()`: (name, expression) pairs) is a parameter
    of the enclosing block."""
    try:
        found = pairs()
    except template.TemplateError as exc:
        raise r.fail(exc.message, line, label) from None
    known = dict.fromkeys(params)
    for name, expression in found:
        if name not in known:
            raise r.fail(template.unknown_name(name, known, expression).message, line, label)


def _expression(text: str):
    return lambda: [(n, text) for n in template.expression_names(text)]


def _block(r: _Reader, name: str, body: object, line: int) -> Block:
    from ..layers.registry import table

    if not _IDENTIFIER.match(name) or keyword.iskeyword(name):
        raise r.fail(f"a block name must be an identifier such as 'Bottleneck'; got {quote(name)}", line)
    if name.lower() in table() or name.lower() == "sequential":
        raise r.fail(f"the block name {quote(name)} is a layer's name; choose another", line)
    if not isinstance(body, Map):
        raise r.fail(f"block {name!r} must be a mapping with 'layers' (and 'params', 'inputs'); got "
                     f"{type_name(body)}", line)
    r.keys(body, BLOCK_KEYS, f"block {name!r}")
    params: list[tuple[str, object]] = []
    raw = body.get("params", Seq(line))
    if not isinstance(raw, Seq):
        raise r.fail(f"'params' of block {name!r} must be a list such as [in_channels, out_channels, "
                     f"stride: 1]; got {type_name(raw)}", body.line_of("params"))
    for i, item in enumerate(raw):
        where = raw.line_of(i)
        if isinstance(item, str):
            pname, default = item, REQUIRED
        elif isinstance(item, Map) and len(item) == 1:
            pname, default = next(iter(item.items()))
            default = _default(r, default, where, name, pname)
        else:
            raise r.fail(f"a parameter of block {name!r} is a name (required) or 'name: default'; got "
                         f"{type_name(item)}", where)
        if not _IDENTIFIER.match(pname) or keyword.iskeyword(pname) or pname in _RESERVED:
            raise r.fail(f"a parameter name must be an identifier (not a keyword, 'input' or a function "
                         f"name); got {quote(pname)} in block {name!r}", where)
        if any(p == pname for p, _ in params):
            raise r.fail(f"the parameter {pname!r} is given twice in block {name!r}", where)
        if default is REQUIRED and any(d is not REQUIRED for _, d in params):
            raise r.fail(f"the parameter {pname!r} of block {name!r} has no default but follows one that "
                         "has (as in Python, required parameters come first)", where)
        params.append((pname, default))
    inputs: tuple[str, ...] = ("input",)
    if "inputs" in body:
        raw_inputs = body["inputs"]
        where = body.line_of("inputs")
        if not isinstance(raw_inputs, Seq) or not raw_inputs or not all(isinstance(v, str) for v in raw_inputs):
            raise r.fail(f"'inputs' of block {name!r} must be a list of names such as [x, skip]; got "
                         f"{type_name(raw_inputs)}", where)
        for v in raw_inputs:
            if not _IDENTIFIER.match(v):
                raise r.fail(f"an input name must be an identifier; got {quote(v)} in block {name!r}", where)
        if len(set(raw_inputs)) != len(raw_inputs):
            raise r.fail(f"'inputs' of block {name!r} names an input twice", where)
        inputs = tuple(raw_inputs)
    if "layers" not in body:
        raise r.fail(f"block {name!r} has no 'layers'", line)
    description = body.get("description", "")
    if description:
        description = r.string(description, "'description'", body.line_of("description"))
    entries = _entries(r, body["layers"], body.line_of("layers"), f"'layers' of block {name!r}",
                       tuple(p for p, _ in params))
    return Block(name, line, tuple(params), inputs, entries, description or "")


def _default(r: _Reader, value: object, line: int, block: str, pname: str) -> object:
    """A parameter default: a scalar, or a list of scalars (read as a tuple, as PyTorch's
    per-axis arguments are)."""
    if isinstance(value, Seq):
        if all(_scalar(v) for v in value):
            return tuple(value)
    elif _scalar(value):
        return value
    raise r.fail(f"the default of {pname!r} in block {block!r} must be a number, a string, true/false, null "
                 f"or a list of those; got {type_name(value)}", line)


def _scalar(value: object) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))
