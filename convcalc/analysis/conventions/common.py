"""Pieces the tools' conventions share: the MACs term with its reason, FLOPs as 2 × MACs.

Every rule of a tool's convention ends in `counted(...)`: the tool's count as the
`MACs` term, whose note is the one-line reason `convcalc compare` shows where the tool
disagrees with convcalc; a note that starts with `MISCOUNT` marks a count that is
wrong by the tool's own definition (a transposed convolution over output positions,
an operation counted twice), not merely a different convention.
"""

from __future__ import annotations

import math

from ...layers.base import Shape
from ...layers.formula import Expr, Num, Sym, term

#: the start of a note on a count that is wrong by the tool's own definition
MISCOUNT = "miscount: "

_TWICE = 2 * Sym("macs", "MACs")
_ZERO = Num(0)


def miscount(text: str) -> str:
    return MISCOUNT + text


def is_miscount(note: str | None) -> bool:
    return bool(note) and note.startswith(MISCOUNT)  # type: ignore[union-attr]


def joined(reasons: list[str], otherwise: str) -> str:
    """Several reasons as one note, a miscount first (so the note is flagged as one)."""
    ordered = [r for r in reasons if is_miscount(r)] + [r for r in reasons if not is_miscount(r)]
    return "; ".join(ordered) or otherwise


def transposed_note(x: Shape, output: Shape, ndim: int) -> str:
    """Why counting a transposed convolution over its output positions is wrong: each
    input position scatters one kernel; there are about stride^ndim outputs per input."""
    return (f"transposed, counted over its {numel(output[len(output) - ndim:]):,} output positions instead of "
            f"its {numel(x[len(x) - ndim:]):,} input positions")


def numel(shape: Shape) -> int:
    return math.prod(shape)


def counted(terms, expr: Expr, env: dict, note: str) -> tuple[int, int]:
    """The tool's count as MACs (a whole number), and FLOPs as 2 × MACs: none of the four
    tools counts FLOPs separately (fvcore calls its count "flops" but counts a fused
    multiply-add as one)."""
    macs = term(terms, "MACs", expr, env, note=note)
    if not isinstance(macs, int):  # a tool's float arithmetic: its totals truncate with int()
        macs = math.floor(macs)
        if terms is not None:
            terms.append(_rounded(terms[-1], macs))
    flops = term(terms, "FLOPs", _TWICE, {"macs": macs}, note="2 × MACs: the tool counts no FLOPs of its own")
    return macs, flops


def _rounded(previous, value: int):
    from ...layers.formula import Term, floor
    return Term("MACs", floor(Sym("count", "the count above")), {"count": previous.value}, "", value,
                "rounded down, as the tool's int() does to its total")


def nothing(terms, note: str) -> tuple[int, int]:
    """A layer the tool counts as 0."""
    return counted(terms, _ZERO, {}, note)
