"""`convcalc compare` output: a table of each convention's MACs per layer, then the
layers where they differ with one reason per difference (miscounts flagged)."""

from __future__ import annotations

import json

from ..analysis.compare import Comparison, Difference


def _layers(count: int) -> str:
    return f"{count} layer{'' if count == 1 else 's'}"


def _signed(value: int) -> str:
    return f"{value:+,}"


def _reason(d: Difference) -> str:
    return f"MISCOUNT: {d.reason}" if d.miscount else d.reason


def difference_lines(comparison: Comparison) -> list[str]:
    """The differences as text: a heading per layer, one line per convention."""
    differing = comparison.differing()
    ref = comparison.reference
    if not differing:
        return [f"All {len(comparison.conventions)} conventions agree on every layer."]
    lines = [f"Where they differ from {ref}'s count ({len(differing)} of {len(comparison.layers)} layers):"]
    width = max(len(d.convention) for layer in differing for d in layer.differences)
    amount = max(len(_signed(d.delta)) for layer in differing for d in layer.differences)
    for layer in differing:
        lines.append(f"  {layer.name}: {layer.spec}")
        for d in layer.differences:
            lines.append(f"    {d.convention:<{width}}  {_signed(d.delta):>{amount}}  {_reason(d)}")
    return lines


def print_comparison(comparison: Comparison, console=None) -> None:
    """The table (numbers exact, never cut: a miscount marked `!`), then the differences.
    A pipe or a file gets the table at its natural width, lines unwrapped.  Rows are laid
    out as strings by render.table's writer: rich's Table took about 2 ms a row (over two
    minutes for a 100,000-layer network)."""
    from rich.box import HEAVY_HEAD
    from rich.cells import cell_len
    from rich.console import Console
    from rich.segment import Segment, Segments

    from .layout import MIN_FOLD, Layout, table_width
    from .table import _lines
    from .wrap import fold

    console = console or Console()
    fold_at = console.width if console.is_terminal else None  # prose folded at words in a terminal
    names = comparison.conventions
    flagged = [{d.convention for d in layer.differences if d.miscount} for layer in comparison.layers]
    rounded = False

    def table(number):
        cols = [tuple(layer.name for layer in comparison.layers), tuple(layer.type for layer in comparison.layers)]
        cols += [tuple(number(layer.macs[i]) + ("!" if name in marks else " ") for layer, marks in
                       zip(comparison.layers, flagged)) for i, name in enumerate(names)]
        foot = ["Total", _layers(len(comparison.layers))] + [number(t) + " " for t in comparison.totals]
        sizes = [max([cell_len(h), cell_len(f)] + [cell_len(c) for c in col])
                 for h, f, col in zip(["Name", "Type", *names], foot, cols)]
        return cols, foot, sizes

    cells, footers, widths = table(lambda m: f"{m:,}")
    if fold_at is not None:  # Name and Type fold (never below MIN_FOLD); then numbers are rounded
        if table_width([min(w, MIN_FOLD) for w in widths[:2]] + widths[2:]) > fold_at:
            from .columns import human
            cells, footers, widths = table(human)
            rounded = True
        for i in (0, 1):
            excess = table_width(widths) - fold_at
            if excess > 0:
                widths[i] = max(min(widths[i], MIN_FOLD), widths[i] - excess)
    # widths count the space kept for a '!'; the cells are written without it (as rich justified them)
    cells = [tuple(c.rstrip() for c in col) for col in cells]
    footers = [f.rstrip() for f in footers]
    columns = tuple(_Column("left") for _ in range(2)) + tuple(_Column("right") for _ in names)
    layout = Layout(columns, tuple((h,) for h in ["Name", "Type", *names]), tuple(cells), tuple(footers),
                    tuple(widths), ())
    styles = {"title": console.get_style("table.title"), "header": console.get_style("table.header"),
              "footer": console.get_style("table.footer"), None: None}
    segments: list = []
    for line in _lines(f"MACs by convention, input {list(comparison.input_shape)}", layout, HEAVY_HEAD, cell_len):
        segments += [Segment(text, styles[part]) for text, part in line]
        segments.append(Segment.line())
    console.print(Segments(segments), crop=False, end="")
    prose = [fold("MACs rounded to fit the terminal (a pipe, --format csv or --format json gives them "
                  "exact)", fold_at)] if rounded else []
    prose += [fold(line, fold_at, hang=4) for line in difference_lines(comparison)]
    if any(d.miscount for layer in comparison.layers for d in layer.differences):
        prose.append(fold("! and MISCOUNT: wrong by that tool's own definition; the other differences are "
                          "conventions. `convcalc explain --convention NAME` shows the arithmetic.", fold_at))
    console.print("\n".join(prose), markup=False, highlight=False, crop=False, soft_wrap=True)


class _Column:
    """What render.table's writer reads of a column: its alignment."""

    def __init__(self, align: str):
        from .columns import Align
        self.align = Align.RIGHT if align == "right" else Align.LEFT


def to_json(comparison: Comparison) -> str:
    return json.dumps(comparison.to_dict(), indent=2)


def to_markdown(comparison: Comparison) -> str:
    from .tables import markdown_text
    names = comparison.conventions
    rows = []
    for layer in comparison.layers:
        cells = []
        for name, macs in zip(names, layer.macs):
            d = next((d for d in layer.differences if d.convention == name), None)
            cells.append(f"{macs:,}" + (" (miscount)" if d is not None and d.miscount else ""))
        rows.append([layer.name, layer.type, *cells])
    rows.append(["**Total**", _layers(len(comparison.layers)), *(f"**{t:,}**" for t in comparison.totals)])
    lines = markdown_text(["Name", "Type", *names], rows, [False, False] + [True] * len(names)).splitlines()
    lines.append("")
    differing = comparison.differing()
    if not differing:
        lines.append(f"All {len(names)} conventions agree on every layer.")
    for layer in differing:
        lines.append(f"- `{layer.name}` {layer.spec.replace('|', '/')}:")
        for d in layer.differences:
            lines.append(f"  - {d.convention} {_signed(d.delta)}: {'**miscount**: ' if d.miscount else ''}"
                         f"{d.reason}")
    return "\n".join(lines) + "\n"
