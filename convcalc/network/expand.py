"""A spec's entries to a `Graph`: blocks and groups expanded under dotted names.

Each list of entries (the spec's, a block's, an inline group's) is a scope. An entry's
output is a `Target`: a layer node, a group (its output is its last entry's), or,
for an entry left out by `when:` (or `repeat: 0`), the entry's first input passed through.
References by name are resolved once every scope is expanded, so an entry may name a
later one (the graph's validation then orders the nodes, and refuses a cycle).

Cost: one pass over the entries, each layer expression parsed and built once per
distinct text; the number of layers a spec may expand to is bounded (`MAX_LAYERS`), so
blocks that repeat blocks cannot make the expansion run away.
"""

from __future__ import annotations

import difflib
import re
from typing import Sequence

from ..analysis.graph import INPUT, Graph, Node
from ..errors import ConvcalcError, Location, quote
from ..layers import Built, build
from ..layers.registry import table
from ..parsing import parse_call
from ..record import field, record
from . import template
from .spec import MAX_REPEAT, REQUIRED, Block, Entry, Ref, Spec

#: layers a spec may expand to (ResNet-152 has about 500; a 10,000-layer spec is a benchmark)
MAX_LAYERS = 100_000
_CALLED = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\(|\Z)")


@record(frozen=False)
class Group:
    """A block use, an inline group or a named repeat, shown as one row when folded."""

    name: str  # the full dotted name
    type: str  # the block's name, or 'Sequential'
    spec: str  # the block call as written, or a description of the group
    line: int
    depth: int  # 0 for a group in the spec's own list
    parent: "Group | None" = field(default=None, repr=False)
    output: str = ""  # the node whose output is the group's (set once references are resolved)


@record(frozen=False)
class Network:
    """A spec expanded: the graph to walk, the groups for display, and the names to look up."""

    spec: Spec
    graph: Graph
    output: str  # the node whose output is the network's
    groups: list  # Group, in the order they were expanded
    node_groups: dict  # node name -> its innermost Group (or None)
    unread: list  # node names that no entry reads and that are not the output
    scope: object = field(repr=False)  # the top-level scope, for looking names up

    def find(self, name: str) -> str | None:
        """The node whose output an entry name (dotted for nested ones) stands for."""
        target = self.scope.find(name)
        return None if target is None else _resolve(target, self.spec)


class Target:
    """What an entry's output is; resolved to a node name once everything is expanded."""

    __slots__ = ("node", "via", "inner", "pending", "resolved", "group")

    def __init__(self, node: str | None = None, via: "Target | None" = None, inner: "Scope | None" = None,
                 pending: "tuple | None" = None, group: Group | None = None):
        self.node, self.via, self.inner, self.pending = node, via, inner, pending
        self.resolved: str | None = node
        self.group = group


class Scope:
    """One list of entries: its names, its inputs, the parameters its text may read."""

    def __init__(self, prefix: str, inputs: Sequence[Target], input_names: Sequence[str],
                 params: dict, parent: "Scope | None", what: str):
        self.prefix, self.inputs, self.input_names = prefix, list(inputs), tuple(input_names)
        self.params, self.parent, self.what = params, parent, what
        self.items: list[Target] = []  # one per written entry, in order
        self.names: dict[str, Target] = {}
        self.name_lines: dict[str, int] = {}

    def full(self, local: str) -> str:
        return f"{self.prefix}.{local}" if self.prefix else local

    def find(self, name: str, local_only: bool = False) -> Target | None:
        if not local_only:
            if name == INPUT:
                return self.inputs[0]
            if name in self.input_names:
                return self.inputs[self.input_names.index(name)]
        target = self.names.get(name)
        if target is not None:
            return target
        dot = name.find(".")
        while dot > 0:  # 'layer1.0.conv1': into the group 'layer1', then '0', then 'conv1'
            head = self.names.get(name[:dot])
            if head is not None and head.inner is not None:
                found = head.inner.find(name[dot + 1:], local_only=True)
                if found is not None:
                    return found
            dot = name.find(".", dot + 1)
        return None

    def lookup(self, name: str) -> Target | None:
        """A name in this scope or, from an inline group, in the scopes around it."""
        scope: Scope | None = self
        while scope is not None:
            found = scope.find(name)
            if found is not None:
                return found
            scope = scope.parent
        return None

    def visible(self) -> list[str]:
        names: list[str] = []
        scope: Scope | None = self
        while scope is not None:
            names += [*scope.input_names, *scope.names]
            scope = scope.parent
        return names


def expand(spec: Spec, input_shape: tuple[int, ...]) -> Network:
    return _Expander(spec).run(input_shape)


class _Expander:
    def __init__(self, spec: Spec):
        self.spec = spec
        self.pending: list[tuple] = []  # (name, Built, targets, text, location)
        self.groups: list[Group] = []
        self.group_targets: list[tuple[Group, Target]] = []
        self.node_groups: dict[str, Group | None] = {}
        self.calls: dict[str, object] = {}  # text -> Built, or the LayerCall of a block
        self.blocks: list[str] = []  # the blocks being expanded, outermost first
        self.bounds: dict[int, int] = {}  # id of a list of entries -> fewest layers it expands to

    def run(self, input_shape: tuple[int, ...]) -> Network:
        top = Scope("", [Target(INPUT)], (INPUT,), {}, None, "the spec")
        if self.fewest(self.spec.entries) > MAX_LAYERS:  # refused before anything is expanded
            running = 0
            for e in self.spec.entries:
                running += self.fewest_one(e, frozenset())
                if running > MAX_LAYERS:
                    raise self.too_many(e.line, e.name)
        self.entries(top, self.spec.entries, None)
        nodes = []
        read: set[str] = set()
        for name, built, targets, text, location in self.pending:
            inputs = tuple(_resolve(t, self.spec) for t in targets)
            read.update(inputs)
            nodes.append(Node(name, built.layer, inputs, text, built.dtype, location))
        for group, target in self.group_targets:
            group.output = _resolve(target, self.spec)
        output = _resolve(top.items[-1], self.spec)
        if output == INPUT:
            raise ConvcalcError("the network has no layers: every entry is left out by 'when' or 'repeat: 0'",
                                self.spec.where(self.spec.layers_line))
        unread = [n.name for n in nodes if n.name not in read and n.name != output]
        return Network(self.spec, Graph(input_shape, nodes), output, self.groups, self.node_groups, unread, top)

    # -- lists of entries

    def entries(self, scope: Scope, entries: Sequence[Entry], group: Group | None) -> None:
        slot = 0  # nn.Sequential's index: unnamed entries are named by it, copies counted
        for entry in entries:
            slot = self.entry(scope, entry, slot, group)

    def entry(self, scope: Scope, e: Entry, slot: int, group: Group | None) -> int:
        label = scope.full(e.name if e.name is not None else str(slot))
        if e.refs is None:
            inputs = [scope.items[-1] if scope.items else scope.inputs[0]]
        else:
            inputs = [self.ref(scope, r, label) for r in e.refs]
        copies = 1 if e.repeat is None else self.repeat(scope, e, label)
        if copies == 0 or (e.when is not None and not self.condition(scope, e, label)):
            skipped = Target(via=inputs[0])
            scope.items.append(skipped)
            if e.name is not None:
                self.name(scope, e.name, skipped, e.line, label)
            return slot
        if e.repeat is None:
            local = e.name if e.name is not None else str(slot)
            target = self.one(scope, e, scope.full(local), inputs, group)
            self.name(scope, local, target, e.line, label)
            scope.items.append(target)
            return slot + 1
        if e.name is not None:  # copies named name.0, name.1, ... inside a group of their own
            holder = Group(scope.full(e.name), "Sequential", f"{copies} × {e.layer or 'group'}", e.line,
                           _depth(group), group)
            self.groups.append(holder)
            inner = Scope(holder.name, inputs[:1], (INPUT,), scope.params, scope, "a repeat")
            previous = inputs
            before = len(self.pending)
            for k in range(copies):
                target = self.one(inner, e, inner.full(str(k)), previous, holder)
                self.name(inner, str(k), target, e.line, label)
                inner.items.append(target)
                previous = [target]
                if k == 0:
                    self.room(copies, before, e, label)
            target = self.grouped(Target(inner=inner, group=holder))
            self.name(scope, e.name, target, e.line, label)
            scope.items.append(target)
            return slot + 1
        previous = inputs  # unnamed copies take the next Sequential indexes
        before = len(self.pending)
        for k in range(copies):
            local = str(slot + k)
            target = self.one(scope, e, scope.full(local), previous, group)
            self.name(scope, local, target, e.line, label)
            previous = [target]
            if k == 0:
                self.room(copies, before, e, label)
        scope.items.append(previous[0])
        return slot + copies

    def room(self, copies: int, before: int, e: Entry, label: str) -> None:
        """After the first copy of a repeat: refuse now if the others would not fit, rather
        than after expanding 100,000 layers (blocks repeated inside repeated blocks)."""
        each = len(self.pending) - before
        if len(self.pending) + (copies - 1) * each > MAX_LAYERS:
            raise self.too_many(e.lines.get("repeat", e.line), label)

    def check_room(self, layers: int, line: int, name: str) -> None:
        if len(self.pending) + layers > MAX_LAYERS:
            raise self.too_many(line, name)

    def fewest(self, entries: Sequence[Entry], inside: frozenset = frozenset()) -> int:
        """The fewest layers a list of entries can expand to, whatever the parameters
        (entries with conditions or computed repeats count 0): so that a group repeated by
        aliases, or a block made of blocks, too large to expand is refused before it is
        expanded. Computed once per list."""
        known = self.bounds.get(id(entries))
        if known is not None:
            return known
        total = 0
        for e in entries:
            total += self.fewest_one(e, inside)
            if total > MAX_LAYERS:
                break
        self.bounds[id(entries)] = total
        return total

    def fewest_one(self, e: Entry, inside: frozenset) -> int:
        if e.when is not None and e.when is not True or isinstance(e.repeat, str):
            return 0
        copies = 1 if e.repeat is None else e.repeat
        if e.group is not None:
            return copies * self.fewest(e.group, inside)
        called = _CALLED.match(e.layer or "")
        block = self.spec.blocks.get(called.group(1)) if called else None
        if block is None or block.name in inside:
            return copies
        return copies * self.fewest(block.entries, inside | {block.name})

    def too_many(self, line: int, name: str) -> ConvcalcError:
        return ConvcalcError(f"the network expands to more than {MAX_LAYERS:,} layers (blocks repeated "
                             "inside repeated blocks?)", self.spec.where(line, name))

    def name(self, scope: Scope, local: str, target: Target, line: int, label: str) -> None:
        if local in scope.names or local in scope.input_names:
            first = scope.name_lines.get(local)
            where = f" (first at line {first})" if first else " (it names an input)"
            raise ConvcalcError(f"the name {local!r} is used twice in {scope.what}{where}",
                                self.spec.where(line, label))
        scope.names[local] = target
        scope.name_lines[local] = line

    def ref(self, scope: Scope, ref: Ref, label: str) -> Target:
        if isinstance(ref.value, int):
            at = len(scope.items) + ref.value
            if at == -1:  # one before the first entry: what the first entry reads by default
                return scope.inputs[0]
            if at < -1:
                raise ConvcalcError(f"the relative reference {ref.value} reaches before the first entry of "
                                    f"{scope.what} (this entry is number {len(scope.items) + 1}; -1 is the "
                                    "previous one)", self.spec.where(ref.line, label))
            return scope.items[at]
        return Target(pending=(scope, ref.value, ref.line, label))

    def repeat(self, scope: Scope, e: Entry, label: str) -> int:
        if isinstance(e.repeat, int):
            return e.repeat
        text = str(e.repeat).strip()
        if text.startswith("{") and text.endswith("}"):
            text = text[1:-1]
        line = e.lines.get("repeat", e.line)
        value = self.evaluate(text, scope, line, label)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_REPEAT:
            raise ConvcalcError(f"'repeat' must be a whole number from 0 to {MAX_REPEAT:,}; got {quote(value)} "
                                f"from {quote(e.repeat)}", self.spec.where(line, label))
        return value

    def condition(self, scope: Scope, e: Entry, label: str) -> bool:
        if isinstance(e.when, bool):
            return e.when
        value = self.evaluate(str(e.when), scope, e.lines.get("when", e.line), label)
        if not isinstance(value, bool):
            raise ConvcalcError(f"'when' must give true or false; got {quote(value)} from {quote(e.when)}",
                                self.spec.where(e.lines.get("when", e.line), label))
        return value

    def evaluate(self, text: str, scope: Scope, line: int, label: str) -> object:
        try:
            return template.evaluate(text, scope.params)
        except template.TemplateError as exc:
            raise ConvcalcError(exc.message, self.spec.where(line, label)) from None

    # -- one copy of an entry

    def one(self, scope: Scope, e: Entry, name: str, inputs: list[Target], group: Group | None) -> Target:
        if e.group is not None:
            if len(inputs) != 1:
                raise ConvcalcError(f"a group ('layers:') reads one input; got 'from' with {len(inputs)}",
                                    self.spec.where(e.lines.get("from", e.line), name))
            self.check_room(self.fewest(e.group), e.line, name)
            inner_group = Group(name, "Sequential", "group", e.line, _depth(group), group)
            self.groups.append(inner_group)
            inner = Scope(name, inputs, (INPUT,), scope.params, scope, f"group {name!r}")
            self.entries(inner, e.group, inner_group)
            return self.grouped(Target(inner=inner, group=inner_group))
        line = e.lines.get("layer", e.line)
        text = e.layer or ""
        filled = template.has_placeholders(text)
        if filled:
            try:
                text = template.substitute(text, scope.params)
            except template.TemplateError as exc:
                raise ConvcalcError(exc.message, self.spec.where(line, name)) from None
        made = self.calls.get(text)
        if made is None:
            made = self.make(text, e, line, name, filled)
        if isinstance(made, Built):
            return self.node(name, made, inputs, text, e, line, filled, group)
        return self.block(scope, made, e, name, inputs, line, group)

    def make(self, text: str, e: Entry, line: int, name: str, filled: bool):
        """A Built layer, or the LayerCall of a block use; errors located in the file."""
        column = None if filled else e.column
        source = self.spec.source
        try:
            call = parse_call(text, source, (column or 1) - 1, line, self.spec.line(line) if column else None)
            block = self.spec.blocks.get(call.name)
            if block is not None:
                made: object = call
            else:
                if call.name.lower() not in table() and "." not in call.name:
                    self.unknown(call.name, line, name, column)
                made = build(call)
        except ConvcalcError as exc:
            loc = exc.location
            if filled or loc is None or loc.source != source:
                where = f" (in {quote(text)}, the block's text with its parameters put in)" if filled else ""
                raise ConvcalcError(exc.message + where, self.spec.where(line, name)) from None
            exc.location = Location(loc.source, loc.line, loc.column, name, loc.text)
            raise
        if len(self.calls) < 65536:
            self.calls[text] = made
        return made

    def unknown(self, called: str, line: int, name: str, column: int | None) -> None:
        known = [*self.spec.blocks, *(s.name for s in table().values())]
        close = difflib.get_close_matches(called, known, n=1, cutoff=0.6) if len(called) < 64 else []
        if not close:
            lower = {k.lower(): k for k in known}
            close = difflib.get_close_matches(called.lower(), list(lower), n=1, cutoff=0.6)
            close = [lower[c] for c in close]
        hint = f"; did you mean {close[0]!r}?" if close else ""
        what = "layer or block" if self.spec.blocks else "layer"
        raise ConvcalcError(f"unknown {what} {quote(called)}{hint}", self.spec.where(line, name, column))

    def node(self, name: str, built: Built, inputs: list[Target], text: str, e: Entry, line: int,
             filled: bool, group: Group | None) -> Target:
        if len(self.pending) >= MAX_LAYERS:
            raise self.too_many(line, name)
        column = None if filled else e.column
        where = self.spec.where(line, name, column)
        self.pending.append((name, built, inputs, text, where))
        self.node_groups[name] = group
        return Target(name)

    def block(self, scope: Scope, call, e: Entry, name: str, inputs: list[Target], line: int,
              group: Group | None) -> Target:
        block: Block = self.spec.blocks[call.name]
        if block.name in self.blocks:
            chain = " → ".join([*self.blocks[self.blocks.index(block.name):], block.name])
            raise ConvcalcError(f"block {block.name!r} uses itself ({chain}); blocks cannot be recursive",
                                self.spec.where(line, name))
        params = self.bind(block, call, line, name)
        self.check_room(self.fewest(block.entries), line, name)
        if len(inputs) != len(block.inputs):
            raise ConvcalcError(f"block {block.name!r} takes {len(block.inputs)} input"
                                f"{'s' if len(block.inputs) != 1 else ''} ({', '.join(block.inputs)}); got "
                                f"{len(inputs)}", self.spec.where(e.lines.get("from", line), name))
        own = Group(name, block.name, call.text, e.line, _depth(group), group)
        self.groups.append(own)
        inner = Scope(name, inputs, block.inputs, params, None, f"block {block.name!r}")
        self.blocks.append(block.name)
        self.entries(inner, block.entries, own)
        self.blocks.pop()
        return self.grouped(Target(inner=inner, group=own))

    def grouped(self, target: Target) -> Target:
        self.group_targets.append((target.group, target))
        return target

    def bind(self, block: Block, call, line: int, name: str) -> dict:
        """The block's parameters from the call's arguments, bound as Python binds them."""
        names = [p for p, _ in block.params]
        where = self.spec.where(line, name)
        if len(call.args) > len(names):
            raise ConvcalcError(f"block {block.signature()} takes {len(names)} positional argument"
                                f"{'s' if len(names) != 1 else ''}; got {len(call.args)}", where)
        bound = {p: a.value for p, a in zip(names, call.args)}
        for key, arg in call.kwargs.items():
            if key not in names:
                close = difflib.get_close_matches(key, names, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ConvcalcError(f"unknown parameter {key!r} of block {block.signature()}{hint}", where)
            if key in bound:
                raise ConvcalcError(f"block {block.name!r} got two values for {key!r}", where)
            bound[key] = arg.value
        for p, default in block.params:
            if p not in bound:
                if default is REQUIRED:
                    raise ConvcalcError(f"block {block.signature()} is missing the parameter {p!r}", where)
                bound[p] = default
        return {p: bound[p] for p in names}


def _depth(group: Group | None) -> int:
    return 0 if group is None else group.depth + 1


def _resolve(target: Target, spec: Spec) -> str:
    """The node a target stands for, following groups, left-out entries and names."""
    path: list[Target] = []
    seen: set[int] = set()
    t = target
    while t.resolved is None:
        if id(t) in seen:
            raise ConvcalcError("entries left out by 'when' read each other in a circle; one of them must "
                                "read an entry that is there", spec.where(None))
        seen.add(id(t))
        path.append(t)
        if t.inner is not None:
            t = t.inner.items[-1]
        elif t.via is not None:
            t = t.via
        else:
            scope, ref, line, label = t.pending
            found = scope.lookup(ref)
            if found is None:
                raise _unknown_reference(scope, ref, line, label, spec)
            t = found
    for p in path:
        p.resolved = t.resolved
    return t.resolved


def _unknown_reference(scope: Scope, ref: str, line: int, label: str, spec: Spec) -> ConvcalcError:
    visible = scope.visible()
    close = difflib.get_close_matches(ref, visible, n=1, cutoff=0.6) if len(ref) < 64 else []
    hint = f"; did you mean {close[0]!r}?" if close else ""
    if ref.isdigit() and not close:
        hint = " (an unnamed entry is named by its position in its list, from 0)"
    return ConvcalcError(f"unknown reference {quote(ref)}; expected 'input', an entry's name or a negative "
                         f"index{hint}", spec.where(line, label))
