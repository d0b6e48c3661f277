"""Layer lists in files: `convcalc shape @layers.txt`."""

from __future__ import annotations

import re

from ..errors import ConvcalcError, Location

_NAME_PREFIX = re.compile(r"^\s*\(([^)]*)\):\s*")


def read_layer_file(path: str) -> list[tuple[str, Location]]:
    """Layers from a file, one per line: expressions, or the lines of `print(model)` for a
    model built from nn.Sequential (`(0): Conv2d(...)` prefixes are names; container lines
    such as `Sequential(` and `)` are skipped)."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError as exc:
        raise ConvcalcError(f"cannot read layer file {path!r}: {exc.strerror or exc}", Location(path)) from None
    found = []
    containers: list[str] = []  # names of the open Sequential(...) blocks
    for number, line in enumerate(lines, start=1):
        text = line if line.lstrip().startswith("(") else line.split("#", 1)[0]
        match = _NAME_PREFIX.match(text)
        body = text[match.end():] if match else text
        stripped = body.strip()
        if not stripped:
            continue
        if stripped.endswith("(") and not stripped.startswith("#"):
            containers.append(match.group(1) if match else "")
            continue
        if stripped == ")":
            if containers:
                containers.pop()
            continue
        name = ".".join(p for p in containers + [match.group(1) if match else ""] if p) or None
        offset = len(text) - len(body) + (len(body) - len(body.lstrip()))
        found.append((stripped, Location(path, number, offset + 1, name, line)))
    if not found:
        raise ConvcalcError("no layers in the file", Location(path))
    return found
