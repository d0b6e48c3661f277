"""The Rich table for a terminal."""

from __future__ import annotations

from ..analysis.result import Analysis
from .columns import COLUMNS, shape_text


def print_table(analysis: Analysis, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    import sys
    # Piped output gets the table's natural width instead of being squeezed into 80 columns.
    console = console or Console(width=None if sys.stdout.isatty() else 250)
    table = Table(title=f"input {shape_text(analysis.input_shape)} ({analysis.dtype})", show_footer=True,
                  title_justify="left")
    for column in COLUMNS:
        table.add_column(column.header, footer=column.total(analysis.total), justify=column.align.value,
                         no_wrap=True)
    for row in analysis.layers:
        table.add_row(*(column.cell(row) for column in COLUMNS))
    console.print(table)
