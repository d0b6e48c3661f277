"""Importers: an existing model (an ONNX file, a PyTorch module traced with torch.fx) turned
into a convcalc network spec, written out as YAML or read straight into a `Spec`.

    >>> from convcalc.importers import import_model
    >>> text = import_model("model.onnx").to_yaml()          # doctest: +SKIP

Every importer produces an `Imported`: the input shape and a flat list of entries, each a
layer expression with the names of the entries it reads. An operator or module convcalc
has no layer for is named in a `ConvcalcError` (exit 2), never left out.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ..errors import ConvcalcError, Location


@dataclass
class Entry:
    name: str
    layer: str
    inputs: list[str]  # names of earlier entries, or "input"
    source: str = ""   # the operator or module it came from, written as a comment


@dataclass
class Imported:
    name: str
    input: tuple[int, ...]
    entries: list[Entry] = field(default_factory=list)
    origin: str = ""
    notes: list[str] = field(default_factory=list)  # written as comments, and warned about by `import`

    def to_yaml(self) -> str:
        """The spec as YAML: one entry per line, `from` given only where it is not the previous entry."""
        lines = [f"# Imported by convcalc from {self.origin}" if self.origin else "# Imported by convcalc",
                 *(f"# note: {n}" for n in self.notes),
                 f"name: {json.dumps(self.name)}",
                 f"input: [{', '.join(str(d) for d in self.input)}]", "", "layers:"]
        previous = "input"
        for e in self.entries:
            parts = [f"name: {_word(e.name)}", f"layer: {json.dumps(e.layer)}"]
            if len(e.inputs) != 1:
                parts.append(f"from: [{', '.join(_word(i) for i in e.inputs)}]")
            elif e.inputs[0] != previous:
                parts.append(f"from: {_word(e.inputs[0])}")
            comment = f"  # {e.source}" if e.source else ""
            lines.append(f"  - {{{', '.join(parts)}}}{comment}")
            previous = e.name
        return "\n".join(lines) + "\n"


#: words YAML 1.1 reads as booleans or null: an entry named `off` (an ONNX tensor) is quoted
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


def _word(name: str) -> str:
    return json.dumps(name) if name.lower() in _YAML_WORDS else name


class Namer:
    """Unique entry names (words of letters, digits and underscores) from module or node paths."""

    def __init__(self) -> None:
        self.used: set[str] = {"input"}

    def __call__(self, hint: str, fallback: str) -> str:
        base = re.sub(r"[^0-9A-Za-z_]+", "_", hint).strip("_") or fallback
        if base[0].isdigit():
            base = f"{fallback}_{base}"
        name, k = base, 1
        while name in self.used:
            name, k = f"{base}_{k}", k + 1
        self.used.add(name)
        return name


def is_onnx_path(path: str) -> bool:
    return path.lower().endswith(".onnx")


def import_model(model: str, input: object = None) -> Imported:
    """An ONNX file (`*.onnx`) or a PyTorch factory (`module.path:factory`, torch.fx) as an Imported."""
    if is_onnx_path(model):
        from .onnx import from_file
        return from_file(model, input)
    if ":" in model:
        from .fx import from_target
        return from_target(model, input)
    raise ConvcalcError(f"expected an ONNX file (*.onnx) or a PyTorch factory 'module.path:factory'; "
                        f"got {model!r}", Location("<arg 1>"))


def load_spec(model: str, input: object = None):
    """The imported model as a checked `convcalc.network.Spec` (as if its YAML had been read)."""
    from ..network import load_text
    return load_text(import_model(model, input).to_yaml(), model)
