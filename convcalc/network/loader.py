"""YAML text to plain values that remember their lines — safely, within fixed limits.

The document is read as a stream of parser events (libyaml's parser when PyYAML has it,
PyYAML's own otherwise) and put together here rather than by PyYAML's composer and
constructor, so that:
  - only data is built: strings, numbers, booleans, null, lists and mappings; any other
    tag (`!!python/object`, `!!binary`, a local `!tag`) is refused before anything is
    constructed;
  - every mapping and list records the line (and, for a one-line string, the column) of
    each of its values, so errors can say `net.yaml:14:11`;
  - hostile files end in one error, quickly: the size of the file, the number of parser
    events (the parser's time is proportional to them), the nesting depth (libyaml spends
    time proportional to the depth on every token) and the number of values that
    aliases expand to (billion laughs) are bounded; a recursive alias is refused; keys
    given twice are refused rather than silently replaced.

This is the only module of convcalc that imports yaml.
"""

from __future__ import annotations

from ..errors import ConvcalcError, Location, quote
from ..parsing.files import decode, read_bounded, shown_path

#: a spec of 10,000 layers written out one mapping per layer is about 600 KiB
MAX_BYTES = 4 * 2**20
#: parser events (one per scalar, list or mapping): 100,000-200,000 a second are read and put
#: together here, so this bounds a file to about a second; 10,000 mapping entries are 60,000-100,000
MAX_EVENTS = 120_000
#: lists and mappings inside each other; a spec needs fewer than 20
MAX_DEPTH = 50
#: values after aliases are expanded (each alias counts what it repeats)
MAX_VALUES = 1_000_000

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_TAG}{t}" for t in ("str", "int", "float", "bool", "null")}
_MAP_TAG, _SEQ_TAG = f"{_TAG}map", f"{_TAG}seq"


class Map(dict):
    """A mapping read from YAML: `line` is where it starts; `lines[key]` and
    `columns[key]` say where each value stands, `key_lines[key]` where its key does."""

    __slots__ = ("line", "lines", "columns", "key_lines")

    def __init__(self, line: int):
        super().__init__()
        self.line, self.lines, self.columns, self.key_lines = line, {}, {}, {}

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.line)


class Seq(list):
    """A list read from YAML: `line` is where it starts; `lines[i]`, `columns[i]` where
    each item stands."""

    __slots__ = ("line", "lines", "columns")

    def __init__(self, line: int):
        super().__init__()
        self.line, self.lines, self.columns = line, [], []

    def line_of(self, index: int) -> int:
        return self.lines[index] if 0 <= index < len(self.lines) else self.line


def read_spec_text(path: str) -> tuple[str, str]:
    """(shown name, text) of a spec file, or `-` for standard input; bounded and UTF-8 only."""
    shown = shown_path(path, stdin=True)
    where = Location(shown)
    data = read_bounded(path, "a YAML network spec", "the spec", where, MAX_BYTES, stdin=True)
    return shown, decode(data, where)




def load_text(text: str, source: str) -> object:
    """The document's value (None for an empty document), built from parser events."""
    import yaml

    if not text.strip():  # blank: YAML's scanner would refuse a tab as a token, not say "empty"
        return None

    loader_class = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
    loader = loader_class(text)
    builder = _Builder(text, source, loader)
    feed, check, get = builder.feed, loader.check_event, loader.get_event
    try:
        count = 0
        while check():
            event = get()
            count += 1
            if count > MAX_EVENTS:
                raise builder.error(event, f"expected a spec of at most {MAX_EVENTS:,} YAML values; got more "
                                           "(a network this large is better written with blocks and repeat)")
            feed(event)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, source) from None
    except RecursionError:  # not expected (nothing here recurses), but never a traceback
        raise ConvcalcError(f"expected YAML nested at most {MAX_DEPTH} levels deep; got deeper",
                            Location(source)) from None
    finally:
        loader.dispose()
    return builder.result


def _yaml_error(exc, text: str, source: str) -> ConvcalcError:
    """PyYAML's error (several lines, with a snippet) as one line with file:line:column."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    message = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
    if mark is None:
        return ConvcalcError(message, Location(source))
    return ConvcalcError(message, _location(text, source, mark.line + 1, mark.column + 1))


def _location(text: str, source: str, line: int, column: int | None = None) -> Location:
    """A location in the file; with a column, the line's text comes along for a caret."""
    if column is None:
        return Location(source, line)
    return Location(source, line, column, None, line_text(text, line))


def line_text(text: str, line: int) -> str:
    """Line `line` (1-based) of `text`, without its end (for one error; `Lines` for many)."""
    start = 0
    for _ in range(line - 1):
        start = text.find("\n", start) + 1
        if start == 0:
            return ""
    end = text.find("\n", start)
    return text[start:] if end < 0 else text[start:end]


class Lines:
    """The lines of a text, found once, so that every node of a large spec can carry its
    line for a caret without scanning the file again."""

    def __init__(self, text: str):
        self.text = text
        self.starts = [0]
        find, start = text.find, 0
        while True:
            start = find("\n", start) + 1
            if start == 0:
                break
            self.starts.append(start)

    def __call__(self, line: int) -> str:
        if not 1 <= line <= len(self.starts):
            return ""
        start = self.starts[line - 1]
        end = self.starts[line] - 1 if line < len(self.starts) else len(self.text)
        return self.text[start:end].rstrip("\r")


class _Frame:
    __slots__ = ("value", "is_map", "key", "size", "anchor", "merges")

    def __init__(self, value, is_map: bool, anchor):
        self.value, self.is_map, self.key, self.size, self.anchor = value, is_map, None, 1, anchor
        self.merges: list | None = None


class _Builder:
    """Puts values together from parser events; see the module docstring for the limits.

    Per event a few dictionary operations: keys are taken as written (never resolved to
    booleans or numbers), plain scalars are resolved once per distinct text, and columns
    come from the marks' character offsets."""

    def __init__(self, text: str, source: str, loader):
        import yaml

        self.yaml = yaml
        self.text, self.source, self.loader = text, source, loader
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[object, int]] = {}  # anchor -> (value, expanded size)
        self.open: set[str] = set()  # anchors of containers not yet complete
        self.documents = 0
        self.result: object = None
        self.total = 0
        self.resolved: dict[str, object] = {}  # plain scalar text -> its value
        self.handlers = {yaml.ScalarEvent: self._scalar_event, yaml.MappingStartEvent: self._start,
                         yaml.SequenceStartEvent: self._start, yaml.MappingEndEvent: self._end,
                         yaml.SequenceEndEvent: self._end, yaml.AliasEvent: self._alias,
                         yaml.DocumentStartEvent: self._document}

    def error(self, event, message: str, column: bool = True) -> ConvcalcError:
        mark = event.start_mark
        return ConvcalcError(message, _location(self.text, self.source, mark.line + 1,
                                                mark.column + 1 if column else None))

    def feed(self, event) -> None:
        handler = self.handlers.get(type(event))
        if handler is not None:
            handler(event)

    def _document(self, event) -> None:
        self.documents += 1
        if self.documents > 1:
            raise self.error(event, "expected one YAML document; got a second one (a '---' line "
                                    "starts a new document)", column=False)

    def _scalar_event(self, event) -> None:
        stack = self.stack
        if stack and stack[-1].is_map and stack[-1].key is None:  # a key: taken as written
            frame = stack[-1]
            if event.tag is not None and event.tag != "!":
                self._check_tag(event, _TAG + "str")
            key = event.value
            line = event.start_mark.line + 1
            if key == "<<" and not event.style and event.tag is None:
                frame.key = _MERGE
                return
            container = frame.value
            if key in container:
                first = container.key_lines[key]
                raise self.error(event, f"the key {quote(key)} is given twice (first at line {first})")
            frame.key = key
            container.key_lines[key] = line
            self._count(event, 1)
            frame.size += 1
            if event.anchor is not None:
                self.anchors[event.anchor] = (key, 1)
            return
        value = self._scalar(event)
        if event.anchor is not None:
            self.anchors[event.anchor] = (value, 1)
        column = self._column(event, value) if isinstance(value, str) else None
        self._count(event, 1)
        self._put(event, value, 1, event.start_mark.line + 1, column)

    def _start(self, event) -> None:
        mapping = type(event) is self.yaml.MappingStartEvent
        self._check_tag(event, _MAP_TAG if mapping else _SEQ_TAG)
        if len(self.stack) >= MAX_DEPTH:
            raise self.error(event, f"expected YAML nested at most {MAX_DEPTH} levels deep; got deeper")
        line = event.start_mark.line + 1
        frame = _Frame(Map(line) if mapping else Seq(line), mapping, event.anchor)
        self._count(event, 1)
        if event.anchor is not None:
            self.open.add(event.anchor)
        self.stack.append(frame)

    def _end(self, event) -> None:
        frame = self.stack.pop()
        if frame.merges:
            self._merge(frame)
        if frame.anchor is not None:
            self.open.discard(frame.anchor)
            self.anchors[frame.anchor] = (frame.value, frame.size)
        if self.stack and self.stack[-1].is_map and self.stack[-1].key is None:
            raise self.error(event, "expected a plain key such as 'layers'; got a list or mapping as a key")
        self._put(event, frame.value, frame.size, frame.value.line, None)

    def _alias(self, event) -> None:
        if event.anchor in self.open:
            raise self.error(event, f"the alias *{event.anchor} refers to the mapping or list that "
                                    "contains it; a spec cannot be recursive")
        if event.anchor not in self.anchors:
            raise self.error(event, f"unknown alias *{event.anchor}; expected an anchor "
                                    f"&{event.anchor} defined before it")
        if self.stack and self.stack[-1].is_map and self.stack[-1].key is None:
            raise self.error(event, "expected a plain key such as 'layers'; got an alias as a key")
        value, size = self.anchors[event.anchor]
        self._count(event, size)  # what the alias repeats, counted again
        self._put(event, value, size, event.start_mark.line + 1, None)

    def _count(self, event, size: int) -> None:
        self.total += size
        if self.total > MAX_VALUES:
            raise self.error(event, f"expected a spec of at most {MAX_VALUES:,} values once aliases are "
                                    "expanded; got more (an alias bomb?)")

    def _put(self, event, value, size: int, line: int, column: int | None) -> None:
        if not self.stack:
            self.result = value
            return
        frame = self.stack[-1]
        frame.size += size
        container = frame.value
        if not frame.is_map:
            container.append(value)
            container.lines.append(line)
            container.columns.append(column)
            return
        key, frame.key = frame.key, None
        if key is _MERGE:
            self._note_merge(event, frame, value)
            return
        container[key] = value
        container.lines[key] = line
        container.columns[key] = column

    def _check_tag(self, event, own: str) -> None:
        tag = event.tag
        if tag is None or tag == "!" or tag == own:
            return
        if own != _SEQ_TAG and own != _MAP_TAG and tag in _SCALAR_TAGS:
            return
        shown = tag.replace(_TAG, "!!")
        raise self.error(event, f"the tag {quote(shown)} is not allowed; a spec holds only strings, numbers, "
                                "booleans, null, lists and mappings")

    def _scalar(self, event) -> object:
        value = event.value
        if event.tag is not None and event.tag != "!":
            self._check_tag(event, _TAG + "str")
            return self._construct(event, event.tag)
        if event.tag == "!" or event.style:  # quoted, a block scalar (| or >), or `! text`: a string
            return value
        known = self.resolved.get(value, _MERGE)
        if known is not _MERGE:
            return known
        tag = self.loader.resolve(self.yaml.ScalarNode, value, event.implicit)
        result = self._construct(event, tag)
        if len(self.resolved) < 10000:
            self.resolved[value] = result
        return result

    def _construct(self, event, tag: str) -> object:
        y = self.yaml
        if tag == _TAG + "str" or tag not in _SCALAR_TAGS:  # e.g. an implicit timestamp: keep the text
            return event.value
        node = y.ScalarNode(tag, event.value, event.start_mark, event.end_mark)
        try:
            return self.loader.yaml_constructors[tag](self.loader, node)
        except ValueError:  # Python refuses to read an int of more than 4,300 digits
            raise self.error(event, f"expected a number convcalc can read; got one of {len(event.value):,} "
                                    "characters") from None
        except y.YAMLError as exc:
            raise _yaml_error(exc, self.text, self.source) from None

    def _column(self, event, value: str) -> int | None:
        """The 1-based column of a one-line string's text in its line, when the file shows
        it as it is (plain, or quoted without escapes): carets can then point into the file."""
        start, end = event.start_mark, event.end_mark
        if start.line != end.line:
            return None
        a, b = start.index, end.index
        if event.style in ("'", '"'):
            a, b = a + 1, b - 1
        elif event.style:
            return None
        if self.text[a:b] == value:
            return start.column + 1 + (a - start.index)
        return None

    def _note_merge(self, event, frame: _Frame, value) -> None:
        items = value if isinstance(value, Seq) else [value]
        if not all(isinstance(item, Map) for item in items):
            raise self.error(event, "expected a mapping (or a list of mappings) after '<<'; got "
                                    f"{type_name(value)}")
        frame.merges = (frame.merges or []) + list(items)

    def _merge(self, frame: _Frame) -> None:
        """YAML's merge key: keys of the merged mappings that the mapping does not give itself."""
        own = frame.value
        for source in frame.merges or ():
            for key, item in source.items():
                if key not in own:
                    own[key] = item
                    own.lines[key] = source.lines.get(key, source.line)
                    own.columns[key] = source.columns.get(key)
                    own.key_lines[key] = source.key_lines.get(key, source.line)


_MERGE = object()


def type_name(value: object) -> str:
    """How a YAML value is described in messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (Map, dict)):
        return "a mapping"
    if isinstance(value, (Seq, list)):
        return "a list"
    if isinstance(value, int):
        return f"the number {quote(value)}"
    if isinstance(value, float):
        return f"the number {value!r}"
    return f"the string {quote(value)}"
