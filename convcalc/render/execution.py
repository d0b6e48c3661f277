"""Rich output of the executor's commands: `run`'s tensor, `verify`'s table, the progress bar.

Nothing here imports numpy: `run` hands over the tensor already written as text.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager

from ..numeric.memory import fmt_bytes
from .columns import shape_text

OK, BAD = "✓", "✗"


def print_tensor(text: str, shape, dtype: str, console=None) -> None:
    """A title line (`output [3, 3] int64`) and the values, never re-wrapped by rich."""
    from rich.console import Console

    console = console or Console()
    console.print(f"output {shape_text(shape)} {dtype}", style="table.title", markup=False, highlight=False)
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def print_verify(report, console=None) -> None:
    """One row per layer: executed against analysed output shape and MACs, ✓ or ✗."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    if not console.is_terminal:  # a pipe or a file gets every column in full, as `shape` does
        console = Console(file=console.file, width=10_000, color_system=None)
    a = report.analysis
    table = Table(title=f"verify: input {shape_text(a.input_shape)} float32, seed {report.seed}",
                  title_justify="left")
    # Two-line numeric headers and an unbroken type: a ConvTranspose2d row fits 80 columns
    for title, justify, fold in (("#", "right", False), ("Name", "left", True), ("Type", "left", False),
                                 ("Output shape", "left", False), ("", "center", False),
                                 ("MACs\nexecuted", "right", False), ("MACs\nanalysed", "right", False),
                                 (" ", "center", False)):
        table.add_column(title, justify=justify, no_wrap=not fold, overflow="fold" if fold else "ellipsis")
    for check in report.checks:
        row, step = check.step.row, check.step
        shape = shape_text(step.output_shape)
        if not check.shape_ok:
            shape += f" (analysed {shape_text(row.output_shape)})"
        table.add_row(str(row.index), row.name, row.type, shape, _mark(check.shape_ok),
                      f"{step.macs:,}", f"{row.macs:,}", _mark(check.macs_ok))
    console.print(table)
    bad = sum(not c.ok for c in report.checks)
    n = len(report.checks)
    if bad:
        console.print(f"{BAD} {bad} of {n} layers disagree with the analysis", style="bold red", highlight=False)
    else:
        console.print(f"{OK} all {n} layers agree with the analysis (peak memory estimate "
                      f"{fmt_bytes(report.estimate_bytes)})", highlight=False)


def _mark(ok: bool) -> str:
    return f"[green]{OK}[/green]" if ok else f"[bold red]{BAD}[/bold red]"


@contextmanager
def progress_bar(total: int, enabled: bool):
    """A transient bar on stderr, `advance(label)` per step — only when stderr is a
    terminal and `enabled` (a long run): pipes and logs get nothing."""
    if not (enabled and sys.stderr.isatty()):
        yield lambda label="": None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("verify", total=total)

        def advance(label: str = "") -> None:
            progress.update(task, advance=1, description=label or "verify")
        yield advance
