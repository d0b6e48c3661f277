"""Network specs in YAML (CONTRACT section 5): loading with lines, blocks, expect, schema.

    >>> from convcalc.network import analyse
    >>> result = analyse("examples/resnet_tiny.yaml")          # doctest: +SKIP
    >>> result.analysis.total.params, result.analysis.layers[0].name   # doctest: +SKIP

`load` reads and checks a file (or `load_text` a string) into a `Spec`; `expand` turns
a Spec into a `Network` (a `convcalc.analysis.Graph` plus its groups); `analyse` walks
it. Every mistake is a `ConvcalcError` whose location names the file, the line and the
entry. This is the only package that imports yaml (in `loader`).
"""

from __future__ import annotations

from ..analysis import DTYPE_BYTES, walk
from ..errors import ConvcalcError, Location
from ..parsing import parse_shape
from ..record import replace
from .expand import Group, Network, expand
from .loader import load_text as _load_yaml
from .loader import read_spec_text
from .result import GroupTotals, NetworkAnalysis
from .spec import Spec, read_spec

__all__ = ["Group", "GroupTotals", "Network", "NetworkAnalysis", "Spec", "analyse", "build", "load",
           "load_text"]


def load(path: str) -> Spec:
    """Read and check a spec file (`-` reads standard input)."""
    source, text = read_spec_text(path)
    return load_text(text, source)


def load_text(text: str, source: str = "<spec>") -> Spec:
    return read_spec(_load_yaml(text, source), source, text)


def input_shape(spec: Spec, given: object = None) -> tuple[int, ...]:
    """--input when given, else the spec's `input:`; ConvcalcError naming where it was read."""
    if given is not None:
        return parse_shape(given)
    if spec.input is None:
        raise ConvcalcError("no input shape: give 'input: [1, 3, 224, 224]' in the spec or --input",
                            spec.where(1))
    return spec.input


def build(spec: Spec, input: object = None) -> Network:
    """The spec expanded into a graph at its input shape (or `input`)."""
    return expand(spec, input_shape(spec, input))


def analyse(spec: "Spec | str", input: object = None, dtype: str | None = None,
            convention: object = None) -> NetworkAnalysis:
    """Walk the network: every layer's shape, counts and receptive field, and the totals.

    `spec` is a Spec or a path; `input` overrides the spec's input shape; `dtype` its
    dtype (float32 when neither says)."""
    if isinstance(spec, str):
        spec = load(spec)
    dtype = dtype or spec.dtype or "float32"
    if dtype not in DTYPE_BYTES:
        raise ConvcalcError(f"unknown dtype {dtype!r}; expected one of {', '.join(DTYPE_BYTES)}",
                            Location("--dtype"))
    network = build(spec, input)
    try:
        analysis = walk(network.graph, dtype, convention)
    except ConvcalcError as exc:
        raise _with_inputs(exc, network) from None
    result = NetworkAnalysis(analysis, network)
    out = result.output_row()
    total = analysis.total
    lines = {node.name: node.location.line for node in network.graph.nodes if node.location} \
        if network.unread else {}
    unread = [(lines.get(n), n) for n in network.unread]
    extra = [f"{spec.where(line, n)}: no entry reads this layer's output, and it is not the network's output "
             "(the last entry)" for line, n in unread]
    if out.output_shape != total.output_shape or extra:
        analysis = replace(analysis, total=replace(total, output_shape=out.output_shape),
                           warnings=analysis.warnings + tuple(extra))
        result = NetworkAnalysis(analysis, network)
    result.spec_warnings = [(line, w) for (line, _), w in zip(unread, extra)]
    return result


def _with_inputs(exc: ConvcalcError, network: Network) -> ConvcalcError:
    """A merge's error names the entries its inputs come from, in order."""
    entry = exc.location.entry if exc.location else None
    for node in network.graph.nodes:
        if node.name == entry and len(node.inputs) > 1:
            exc.message += f" (inputs from {', '.join(repr(i) for i in node.inputs)})"
            break
    return exc
