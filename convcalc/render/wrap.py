"""Prose lines (warnings, notes, explain's arithmetic, compare's reasons, legends) folded
at word boundaries to a terminal's width, with a hanging indent: a terminal wraps them
mid-word otherwise.  Pipes and files get the lines unchanged, one per message."""

from __future__ import annotations

import shutil
import textwrap


def terminal_width(stream) -> int | None:
    """The width to fold to, or None when `stream` is not a terminal."""
    try:
        if not stream.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    return max(shutil.get_terminal_size().columns, 20)


def fold(text: str, width: int | None, hang: int = 2) -> str:
    """Every line of `text` longer than `width` broken at spaces; continuation lines are
    indented `hang` columns past the line's own indent."""
    if width is None:
        return text
    out = []
    for line in text.split("\n"):
        if len(line) <= width:
            out.append(line)
            continue
        indent = " " * (len(line) - len(line.lstrip(" ")) + hang)
        out.extend(textwrap.wrap(line, width, subsequent_indent=indent, break_on_hyphens=False,
                                 replace_whitespace=False) or [line])
    return "\n".join(out)


def fit(text: str, stream) -> str:
    return fold(text, terminal_width(stream))
