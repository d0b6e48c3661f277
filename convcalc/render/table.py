"""The table for a terminal: rich's box characters and styles, rows laid out here.

rich's Table measured every cell, then rendered each through its padding, wrapping and
cropping pipeline: about 1 ms a row, 25 s for 10,000 layers.  The layout already
knows every column's width and no cell wraps (Name and Type fold at most, on known
widths), so each row is written as one string and rich only styles and prints them.
The output is the one rich's Table would print for the same widths (a test holds it
to that).  rich is imported inside the functions: `convcalc shape --format json`
never loads it.
"""

from __future__ import annotations

from ..analysis.result import Analysis
from .columns import Align, memory_items, shape_text
from .layout import Layout, Measure, choose, fold


def print_table(analysis: Analysis, console=None, wide: bool = False, rows=None, title: str | None = None) -> None:
    """Print the layer table, the memory totals under it and, when the terminal was too
    narrow for every column, which ones were left out. `rows` replace the analysis'
    layers in the body (a network's groups); `title` goes before the input line."""
    from rich.box import HEAVY_HEAD
    from rich.cells import cell_len
    from rich.console import Console
    from rich.segment import Segment, Segments

    console = console or Console()
    # Only a terminal's width limits the table: a pipe or a file gets every column in full.
    limit = console.width if console.is_terminal and not wide else None
    layout = choose(analysis, limit, cell_len, rows)
    header, footer = console.get_style("table.header"), console.get_style("table.footer")
    title = (f"{title}: " if title else "") + f"input {shape_text(analysis.input_shape)} ({analysis.dtype})"
    styles = {"title": console.get_style("table.title"), "header": header, "footer": footer, None: None}
    segments: list = []
    for line in _lines(title, layout, HEAVY_HEAD, cell_len):
        segments += [Segment(text, styles[part]) for text, part in line]
        segments.append(Segment.line())
    items = memory_items(analysis)
    label, amount = (max(len(item[k]) for item in items) for k in (0, 1))
    for name, value, why in items:
        segments += [Segment(f"{name:<{label}}  {value:>{amount}}  ({why})"), Segment.line()]
    console.print(Segments(segments), crop=False, end="")  # wider than the terminal only under --wide
    if layout.hidden:
        names = ", ".join(c.title for c in layout.hidden)
        console.print(f"Columns left out: {names} (--wide shows all)", markup=False, highlight=False)


def _lines(title: str, layout: Layout, box, measure: Measure):
    """The table as lines of (text, part) pieces; part names the style: title, header, footer or None."""
    widths = layout.widths
    padded = [w + 2 for w in widths]
    aligns = [c.align for c in layout.columns]
    yield [(title, "title")]  # unpadded: a table wider than the terminal (--wide) leaves no blank line
    yield [(box.get_top(padded), None)]
    height = max(len(h) for h in layout.headers)
    for i in range(height):  # headers sit on the rule below them, as rich aligns them
        texts = [h[i - height + len(h)] if i >= height - len(h) else "" for h in layout.headers]
        yield _styled(texts, widths, aligns, box.head_left, box.head_vertical, box.head_right, "header", measure)
    yield [(box.get_row(padded, "head"), None)]
    left, mid, right = box.mid_left, box.mid_vertical, box.mid_right
    cells = layout.cells
    for r in range(len(cells[0]) if cells else 0):
        texts = [column[r] for column in cells]
        sizes = [measure(t) for t in texts]
        if any(s > w for s, w in zip(sizes, widths)):  # a folded Name or Type: several lines
            parts = [fold(t, w, measure) for t, w in zip(texts, widths)]
            for k in range(max(map(len, parts))):
                texts = [p[k] if k < len(p) else "" for p in parts]
                yield [(_row(texts, [measure(t) for t in texts], widths, aligns, left, mid, right), None)]
        else:
            yield [(_row(texts, sizes, widths, aligns, left, mid, right), None)]
    yield [(box.get_row(padded, "foot"), None)]
    yield _styled(list(layout.footers), widths, aligns, box.foot_left, box.foot_vertical, box.foot_right,
                  "footer", measure)
    yield [(box.get_bottom(padded), None)]


def _cell(text: str, size: int, width: int, align: Align) -> str:
    pad = " " * (width - size)
    return f" {pad}{text} " if align is Align.RIGHT else f" {text}{pad} "


def _row(texts, sizes, widths, aligns, left: str, mid: str, right: str) -> str:
    return left + mid.join(_cell(t, s, w, a) for t, s, w, a in zip(texts, sizes, widths, aligns)) + right


def _styled(texts, widths, aligns, left: str, mid: str, right: str, part: str, measure: Measure):
    """A header or footer line: the rules unstyled, each padded cell in the part's style."""
    pieces: list = [(left, None)]
    for i, (t, w, a) in enumerate(zip(texts, widths, aligns)):
        if i:
            pieces.append((mid, None))
        pieces.append((_cell(t, measure(t), w, a), part))
    pieces.append((right, None))
    return pieces
