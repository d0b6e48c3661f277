"""Which columns a terminal of a given width shows, and how wide each one is.

A table too wide for the terminal is never squeezed cell by cell (that is how numbers
got cut to '…' and narrow cells went blank): shapes are written compactly, then the
lowest-ranked columns are given up, and as a last resort the Name and Type columns
fold their text over several lines.  Pure Python, so it can be tested without rich;
`measure` is the terminal width of a string (rich's `cell_len` when printing).
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

from ..analysis.result import Analysis, LayerResult
from ..record import record
from .columns import COLUMNS, RF_KEYS, Column, Key

Measure = Callable[[str], int]

#: Name and Type never fold narrower than this
MIN_FOLD = 8


@record
class Layout:
    columns: tuple[Column, ...]
    headers: tuple[tuple[str, ...], ...]  # per column, its header lines
    cells: tuple[tuple[str, ...], ...]  # per column, one text per layer
    footers: tuple[str, ...]
    widths: tuple[int, ...]  # text width of each column, padding excluded
    hidden: tuple[Column, ...]  # columns given up to fit the terminal

    @property
    def width(self) -> int:
        return table_width(self.widths)


def table_width(widths: Sequence[int]) -> int:
    """A boxed table: one space either side of each cell, one rule between and around."""
    return sum(widths) + 3 * len(widths) + 1


def choose(analysis: Analysis, limit: int | None, measure: Measure = len,
           rows: Sequence[LayerResult] | None = None) -> Layout:
    """The widest layout that fits `limit` columns (None: no limit, every column in full).
    `rows` are the rows to show when they are not the analysis' layers (a network's
    summary shows its groups, some folded); the totals are always the analysis'."""
    rows = analysis.layers if rows is None else rows
    has_rf = any(r.receptive_field is not None for r in rows)
    columns = [c for c in COLUMNS if has_rf or c.key not in RF_KEYS]
    full = _layout(analysis, rows, columns, False, measure)
    if limit is None or full.width <= limit:
        return full
    compact = _layout(analysis, rows, columns, True, measure, reuse=full)
    # the mandatory columns, then each optional one that still fits, in rank order
    kept = [i for i, c in enumerate(columns) if c.rank == 0]
    for i in sorted((i for i, c in enumerate(columns) if c.rank), key=lambda i: columns[i].rank):
        if table_width([compact.widths[j] for j in kept + [i]]) <= limit:
            kept.append(i)
    kept.sort()
    pick = lambda values: tuple(values[i] for i in kept)  # noqa: E731
    shown = pick(compact.columns)
    return Layout(shown, pick(compact.headers), pick(compact.cells), pick(compact.footers),
                  _folded(limit, shown, pick(compact.widths), pick(compact.headers), pick(compact.footers),
                          measure),
                  tuple(c for c in columns if c not in shown))


def _layout(analysis: Analysis, rows: Sequence[LayerResult], columns: list[Column], compact: bool,
            measure: Measure, reuse: Layout | None = None) -> Layout:
    """Every column's texts and width; `reuse`'s for the columns that compacting leaves alone."""
    headers, cells, footers, widths = [], [], [], []
    for i, column in enumerate(columns):
        if reuse is not None and not column.compacts:
            headers.append(reuse.headers[i])
            cells.append(reuse.cells[i])
            footers.append(reuse.footers[i])
            widths.append(reuse.widths[i])
            continue
        texts = tuple(column.cell(row, compact) for row in rows)
        header = tuple(column.header.split("\n"))
        footer = column.total(analysis, compact)
        headers.append(header)
        cells.append(texts)
        footers.append(footer)
        widths.append(max(max(map(measure, header)), measure(footer), max(map(measure, texts), default=0)))
    return Layout(tuple(columns), tuple(headers), tuple(cells), tuple(footers), tuple(widths), ())


def _folded(limit: int, columns, widths, headers, footers, measure: Measure) -> tuple[int, ...]:
    """Narrow the wider of Name and Type, one position at a time, until the table fits.

    Their headers and the Total row's texts do not fold, and no column gets narrower than
    MIN_FOLD; a table still too wide is printed whole and the terminal wraps its lines.
    """
    widths = list(widths)
    least = {i: max(MIN_FOLD, measure(footers[i]), *map(measure, headers[i]))
             for i, c in enumerate(columns) if c.key in (Key.NAME, Key.TYPE)}
    while table_width(widths) > limit:
        room = [i for i in least if widths[i] > least[i]]
        if not room:
            break
        widths[max(room, key=lambda i: widths[i])] -= 1
    return tuple(widths)


_PIECES = re.compile(r"[^._]*[._]|[^._]+")


def fold(text: str, width: int, measure: Measure = len) -> list[str]:
    """Lines of at most `width`, broken after '.' or '_' where possible ('layer1.0.' / 'conv1')."""
    if measure(text) <= width:
        return [text]
    lines: list[str] = []
    line = ""
    for piece in _PIECES.findall(text):
        if line and measure(line + piece) > width and measure(piece) <= width:
            lines.append(line)
            line = ""
        line += piece
        while measure(line) > width:  # one piece longer than a line: cut it
            cut = 1
            while cut < len(line) and measure(line[:cut + 1]) <= width:
                cut += 1
            lines.append(line[:cut])
            line = line[cut:]
    if line:
        lines.append(line)
    return lines
