"""The command line: parses options, calls the API, maps errors to exit codes.

Exit status: 0 ok, 1 a check failed, 2 bad input (one line on stderr, never a traceback).
Heavy modules are imported inside the commands, so `convcalc shape` starts fast.
"""

from __future__ import annotations

import sys
from enum import Enum
from typing import List

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  rich_markup_mode=None,
                  help="Shapes, parameters, MACs/FLOPs and receptive fields of PyTorch layers, "
                       "without PyTorch.")


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


class ExplainFormat(str, Enum):
    text = "text"
    json = "json"


LAYERS_ARG = typer.Argument(..., metavar="LAYER...",
                            help="PyTorch layer expressions, e.g. 'Conv2d(3, 64, 3, stride=2)'; several "
                                 "arguments or one joined by '->' make a chain.")
CONVENTION_OPT = typer.Option("convcalc", "--convention", metavar="NAME",
                              help="How MACs and FLOPs are counted: convcalc (CONTRACT section 4).")
DTYPE_OPT = typer.Option("float32", "--dtype", help="Element type for memory figures.")
INPUT_OPT = typer.Option(..., "--input", "-i", metavar="SHAPE",
                         help="Input shape: 1x3x224x224, 1,3,224,224 or [1, 3, 224, 224].")


def _sources(layers: list[str]) -> list[str]:
    return [f"<arg {i + 1}>" for i in range(len(layers))]


def _warn(messages) -> None:
    for message in messages:
        print(f"warning: {message}", file=sys.stderr)


@app.command()
def shape(
    layers: List[str] = LAYERS_ARG,
    input: str = INPUT_OPT,
    format: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    dtype: str = DTYPE_OPT,
    convention: str = CONVENTION_OPT,
    wide: bool = typer.Option(False, "--wide", help="Show every table column, however narrow the terminal."),
) -> None:
    """Output shape, params, MACs, FLOPs, memory and receptive field of each layer in a chain."""
    from .api import analyze

    analysis = analyze(layers, input, dtype=dtype, convention=convention, sources=_sources(layers))
    _warn(analysis.warnings)
    _emit(analysis, format, wide)


def _emit(analysis, format: Format, wide: bool = False) -> None:
    if format is Format.table:
        from .render.table import print_table
        print_table(analysis, wide=wide)
        return
    from .render import formats
    text = {Format.json: formats.to_json, Format.csv: formats.to_csv,
            Format.markdown: formats.to_markdown}[format](analysis)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


@app.command()
def explain(
    layers: List[str] = LAYERS_ARG,
    input: str = INPUT_OPT,
    format: ExplainFormat = typer.Option(ExplainFormat.text, "--format", "-f", help="Output format."),
    dtype: str = DTYPE_OPT,
    convention: str = CONVENTION_OPT,
) -> None:
    """Each output-size formula with the numbers put in, then the parameter, MAC and receptive-field arithmetic."""
    from .api import explain as explain_layers

    explanations = explain_layers(layers, input, dtype=dtype, convention=convention, sources=_sources(layers))
    if format is ExplainFormat.json:
        import json
        print(json.dumps([e.to_dict() for e in explanations], indent=2))
    else:
        print("\n\n".join(e.text() for e in explanations))
    _warn(w for e in explanations for w in (f"{e.row.name}: {n}" for n in e.row.notes))


@app.command("layers")
def list_layers() -> None:
    """List the layer names convcalc understands."""
    from .layers import layer_names
    print("\n".join(layer_names()))


def _version(value: bool) -> None:
    if value:
        from . import __version__
        print(f"convcalc {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Show the version and exit.")) -> None:
    """Shapes, parameters, MACs/FLOPs and receptive fields of PyTorch layers, without PyTorch."""


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app and turn every user error into one line and exit 2."""
    try:  # typer >= 0.20 carries its own copy of click
        from typer._click import exceptions as cx
    except ImportError:  # pragma: no cover - older typer
        from click import exceptions as cx

    from .errors import ConvcalcError

    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="convcalc", standalone_mode=False)
    except ConvcalcError as exc:
        print(f"error: {exc}", file=sys.stderr)
        caret = exc.caret()
        if caret:
            print(caret, file=sys.stderr)
        return 2
    except getattr(cx, "NoArgsIsHelpError", ()) as exc:
        print(exc.ctx.get_help() if exc.ctx else "", file=sys.stderr)
        return 2
    except cx.UsageError as exc:
        print(f"error: {exc.format_message()}", file=sys.stderr)
        return 2
    except cx.Abort:
        print("error: aborted", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug in convcalc, not the user's input: still no traceback
        print(f"error: internal error ({type(exc).__name__}: {exc}); please report it with the "
              "command line", file=sys.stderr)
        return 3
    return code if isinstance(code, int) else 0


def run() -> None:
    sys.exit(main())
