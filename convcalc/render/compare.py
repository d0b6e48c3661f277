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
    A pipe or a file gets the table at its natural width, lines unwrapped."""
    from rich.box import HEAVY_HEAD
    from rich.console import Console
    from rich.table import Table

    from .wrap import fold

    console = console or Console()
    fold_at = console.width if console.is_terminal else None  # prose folded at words in a terminal
    if not console.is_terminal:
        console = Console(file=console.file, width=100_000, color_system=None)
    table = Table(box=HEAVY_HEAD, show_footer=True)
    table.add_column("Name", footer="Total", overflow="fold")
    table.add_column("Type", footer=_layers(len(comparison.layers)), overflow="fold")
    cells = []
    for layer in comparison.layers:
        flagged = {d.convention for d in layer.differences if d.miscount}
        cells.append([f"{m:,}" + ("!" if name in flagged else " ") for name, m in zip(comparison.conventions,
                                                                                        layer.macs)])
    for i, name in enumerate(comparison.conventions):
        footer = f"{comparison.totals[i]:,} "
        width = max([len(name), len(footer)] + [len(row[i]) for row in cells])
        table.add_column(name, justify="right", footer=footer, no_wrap=True, min_width=width)
    for layer, row in zip(comparison.layers, cells):
        table.add_row(layer.name, layer.type, *row)
    console.print(f"MACs by convention, input {list(comparison.input_shape)}", style="table.title",
                  markup=False, highlight=False, soft_wrap=True)
    console.print(table, crop=False)
    for line in difference_lines(comparison):
        console.print(fold(line, fold_at, hang=4), markup=False, highlight=False, crop=False, soft_wrap=True)
    if any(d.miscount for layer in comparison.layers for d in layer.differences):
        console.print(fold("! and MISCOUNT: wrong by that tool's own definition; the other differences are "
                           "conventions. `convcalc explain --convention NAME` shows the arithmetic.", fold_at),
                      markup=False, highlight=False, soft_wrap=True)


def to_json(comparison: Comparison) -> str:
    return json.dumps(comparison.to_dict(), indent=2)


def to_markdown(comparison: Comparison) -> str:
    def line(cells):
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    names = comparison.conventions
    lines = [line(["Name", "Type", *names]), "| :--- | :--- | " + " | ".join("---:" for _ in names) + " |"]
    for layer in comparison.layers:
        cells = []
        for name, macs in zip(names, layer.macs):
            d = next((d for d in layer.differences if d.convention == name), None)
            cells.append(f"{macs:,}" + (" (miscount)" if d is not None and d.miscount else ""))
        lines.append(line([layer.name, layer.type, *cells]))
    lines.append(line(["**Total**", _layers(len(comparison.layers)), *(f"**{t:,}**" for t in comparison.totals)]))
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
