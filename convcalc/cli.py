"""The command line: parses options, calls the API, maps errors to exit codes.

Exit status: 0 ok, 1 a check failed, 2 bad input (one line on stderr, never a traceback),
3 an internal error (a bug, or a write the system refused: still one line).  Heavy modules
are imported inside the commands, so `convcalc shape` starts fast.  Only typer's public
names are used, so the same code runs on every typer from 0.15 (click outside) to 0.29
(click bundled inside).
"""

from __future__ import annotations

import errno
import os
import sys
from enum import Enum
from typing import List

import typer
from typer.core import TyperCommand

from .analysis.conventions import NAMES as CONVENTIONS
from .dtypes import DTYPE_BYTES

LAYER_SYNTAX = ("A LAYER is a PyTorch constructor call as written in code or printed by "
                "print(model), e.g. 'Conv2d(3, 64, 3, stride=2)'. Several LAYER arguments, or one "
                "joined by '->', make a chain; a pasted nn.Sequential(...) reads as its layers; "
                "@FILE reads the layers from a file, one per line (print(model) output works).")


def _examples(*lines: str) -> str:
    """An examples paragraph that click prints as written (\\b stops it rewrapping)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  rich_markup_mode=None, context_settings={"help_option_names": ["-h", "--help"]},
                  help="Shapes, parameters, MACs/FLOPs and receptive fields of PyTorch layers, "
                       "without PyTorch.\n\n" + LAYER_SYNTAX + "\n\n" + _examples(
                           "convcalc shape 'Conv2d(3, 64, 7, stride=2, padding=3)' -i 1x3x224x224",
                           "convcalc shape 'Conv2d(3, 8, 3) -> ReLU() -> MaxPool2d(2)' -i 1x3x32x32",
                           "convcalc explain 'MaxPool2d(3, stride=2)' -i 'torch.Size([1, 8, 9, 9])'"))


class _Command(TyperCommand):
    """A command whose help reads the same on every typer: the usage line says `LAYER...`
    (typer 0.28 writes `{LAYER...}`, 0.29 `{LAYER...}...`), and `[required]` is not
    escaped as `\\[required]` (typer < 0.16 with rich installed but not used)."""

    def collect_usage_pieces(self, ctx):
        return [p.replace("{", "").replace("}", "").replace("......", "...")
                for p in super().collect_usage_pieces(ctx)]

    def get_help(self, ctx) -> str:
        return super().get_help(ctx).replace("\\[", "[")


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


class ExplainFormat(str, Enum):
    text = "text"
    json = "json"


LAYERS_ARG = typer.Argument(..., metavar="LAYER...", show_default=False,
                            help="PyTorch layer expressions, '->' chains, nn.Sequential(...) "
                                 "or @FILE.")
CONVENTION_OPT = typer.Option("convcalc", "--convention", metavar="NAME",
                              help=f"How MACs are counted: {', '.join(CONVENTIONS)}. convcalc (the default) "
                                   "counts the multiply-accumulates of weighted layers (CONTRACT section 4); "
                                   "the others give that tool's own count (FLOPs: 2 x that count); the README's "
                                   "'Counting conventions' has every rule.")
INPUT_OPT = typer.Option(..., "--input", "-i", metavar="SHAPE",
                         help="Input shape: 1x3x224x224, also written 1,3,224,224, "
                              "(1, 3, 224, 224) or torch.Size([1, 3, 224, 224]).")
_DTYPE_NAMES = ", ".join(DTYPE_BYTES)


def _dtype_name(value: str) -> str:
    """`torch.float16`, as PyTorch prints a dtype, names the same type as `float16`."""
    value = value.strip()
    return value[len("torch."):] if value.startswith("torch.") else value


DTYPE_OPT = typer.Option("float32", "--dtype", metavar="DTYPE", callback=_dtype_name,
                         help=f"Element type for memory figures: {_DTYPE_NAMES} "
                              "(or torch.float16 and so on).")


def _sources(layers: list[str]) -> list[str]:
    return [f"<arg {i + 1}>" for i in range(len(layers))]


def _warn(messages) -> None:
    _say(*(f"warning: {message}" for message in messages))


@app.command(cls=_Command, short_help="Shapes, params, MACs, FLOPs, memory and receptive fields.",
             epilog=_examples("convcalc shape 'Conv2d(3, 64, 3, stride=2)' -i 1x3x224x224",
                              "convcalc shape 'Conv2d(3, 8, 3)' ReLU Flatten 'Linear(8, 2)' -i 1x3x3x3",
                              "convcalc shape @model.txt -i 1x3x32x32 --dtype torch.float16 -f json"))
def shape(
    layers: List[str] = LAYERS_ARG,
    input: str = INPUT_OPT,
    format: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    dtype: str = DTYPE_OPT,
    convention: str = CONVENTION_OPT,
    wide: bool = typer.Option(False, "--wide", help="Show every table column, however narrow the terminal."),
) -> None:
    """Output shape, params, MACs, FLOPs, memory and receptive field of each layer in a chain.

    A LAYER is a PyTorch constructor call as written in code or printed by print(model).
    Several LAYER arguments, or one joined by '->', make a chain; a pasted nn.Sequential(...)
    reads as its layers; @FILE reads the layers from a file, one per line.
    """
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


class CompareFormat(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"


@app.command(cls=_Command, short_help="Each counting convention's MACs side by side, per layer.",
             epilog=_examples("convcalc compare 'ConvTranspose2d(64, 32, 4, stride=2, padding=1)' -i 1x64x16x16",
                              "convcalc compare @model.txt -i 1x3x224x224 -f markdown"))
def compare(
    layers: List[str] = LAYERS_ARG,
    input: str = INPUT_OPT,
    format: CompareFormat = typer.Option(CompareFormat.table, "--format", "-f", help="Output format."),
) -> None:
    """MACs of each layer under every counting convention (convcalc, torchinfo, ptflops, fvcore, thop).

    Below the table, each layer where a tool's count differs from convcalc's, with the
    rule's one-line reason; a count that is wrong by the tool's own definition (a
    transposed convolution counted over its output positions, an operation counted twice)
    is flagged as a miscount.
    """
    from .analysis.compare import compare as compare_graph
    from .api import chain_graph
    from .render import compare as rendering

    comparison = compare_graph(chain_graph(layers, input, _sources(layers)))
    _warn(comparison.warnings)
    if format is CompareFormat.table:
        rendering.print_comparison(comparison)
        return
    text = rendering.to_json(comparison) if format is CompareFormat.json else rendering.to_markdown(comparison)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


@app.command(cls=_Command, short_help="Each formula with the numbers put in, step by step.",
             epilog=_examples("convcalc explain 'Conv1d(64, 32, 4, stride=2)' -i 3,64,128",
                              "convcalc explain 'MaxPool2d(3, ceil_mode=True) -> Flatten()' -i 1x1x5x5",
                              "convcalc explain @model.txt -i 1x3x32x32 -f json"))
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


@app.command("layers", cls=_Command, short_help="List the layer names convcalc understands.",
             epilog=_examples("convcalc layers", "convcalc layers | grep -i pool"))
def list_layers() -> None:
    """List the layer names convcalc understands.

    Each name is written in a LAYER as a PyTorch constructor call, e.g. 'Conv2d(3, 64, 3)';
    '->' joins layers into a chain, a pasted nn.Sequential(...) reads as its layers, and
    @FILE reads them from a file, one per line.
    """
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
    # The root's help is the Typer(help=...) above.
    pass


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app; a user error becomes one line on stderr and exit 2, a bug
    or a failed write one line and exit 3, a closed stdout (`| head`) a quiet exit 0 —
    never a traceback."""
    from .errors import ConvcalcError, one_line

    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:  # closed by the shell (`>&-`): what is written there is lost
            setattr(sys, name, open(os.devnull, "w"))
    args = _bounded_argv(sys.argv[1:] if argv is None else list(argv))
    command = typer.main.get_command(app)
    streams = sys.stdout, sys.stderr
    try:
        if not args:  # the root's help, on stderr: click signals no_args_is_help differently by version
            sys.stdout = sys.stderr
            try:
                command.main(args=["--help"], prog_name="convcalc", standalone_mode=False)
            finally:
                sys.stdout = streams[0]
            return 2
        code = command.main(args=args, prog_name="convcalc", standalone_mode=False)
        sys.stdout.flush()  # a closed pipe shows up here rather than in Python's flush at exit
    except ConvcalcError as exc:
        _say(f"error: {exc}", exc.caret(_caret_width()))
        return 2
    except (KeyboardInterrupt, typer.Abort):
        _say("error: interrupted")
        return 130
    except SystemExit as exc:  # click and rich end a broken pipe with sys.exit(1)
        if not _broken_pipe(exc):
            raise
        _discard_stdout(*streams)
        return 0
    except Exception as exc:
        if _broken_pipe(exc):  # the reader has gone (`convcalc ... | head -1`): nothing to say
            _discard_stdout(*streams)
            return 0
        if _is_usage_error(exc):
            _say(f"error: {one_line(exc.format_message())}")
            return 2
        if isinstance(exc, OSError):  # the system refused a write (a full disk): not a bug
            _discard_stdout(*streams)
            _say(f"error: {one_line(_text(exc))}")
            return 3
        # a bug in convcalc, not the user's input: still no traceback
        _say(f"error: internal error ({type(exc).__name__}: {one_line(_text(exc))}); please "
             "report it with the command line")
        return 3
    return code if isinstance(code, int) else 0


def _say(*lines: str | None) -> None:
    """Error lines on stderr; if stderr itself cannot be written (`2>&-`), the exit status
    is all that is left to say it."""
    try:
        for line in lines:
            if line:
                print(line, file=sys.stderr)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def _caret_width() -> int:
    """How much source a caret line shows: QUOTE_LIMIT characters, or fewer in a narrower
    terminal, where a wrapped source line would leave the caret under the wrong character."""
    from .errors import QUOTE_LIMIT

    try:
        if sys.stderr.isatty():
            return max(20, min(QUOTE_LIMIT, os.get_terminal_size(sys.stderr.fileno()).columns - 6))
    except (AttributeError, OSError, ValueError):
        pass
    return QUOTE_LIMIT


def _is_usage_error(exc: Exception) -> bool:
    """Whether typer refused the command line (unknown option, missing argument, bad choice).

    These are click's ClickException family, which typer re-exports by no public name that
    every version shares (click itself before 0.26, a private copy since), so they are
    recognised by click's documented protocol: an int `exit_code` and `format_message()`.
    """
    return isinstance(getattr(exc, "exit_code", None), int) and callable(
        getattr(exc, "format_message", None))


_WORD_LIMIT = 100  # longer than any command or option name


def _bounded_argv(args: list[str]) -> list[str]:
    """The arguments, with an overlong command or `--option` name shortened (it stays
    unknown): click and typer search difflib for a close match, 1.7 s on 10 MB."""
    from .errors import shorten

    bounded, command_seen = [], False
    for arg in args:
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
            if len(name) > _WORD_LIMIT:
                arg = shorten(name, _WORD_LIMIT) + eq + value
        elif not command_seen and not arg.startswith("-"):
            command_seen = True
            arg = shorten(arg, _WORD_LIMIT)
        bounded.append(arg)
    return bounded


def _broken_pipe(exc: BaseException | None) -> bool:
    """Whether exc is, or was raised while handling, a write to a closed pipe."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno == errno.EPIPE:
            return True
        exc = exc.__context__
    return False


def _discard_stdout(stdout, stderr) -> None:
    """Stop writing to a stdout that cannot be written: its descriptor is pointed at the
    null device, so that Python's flush at exit has nowhere to fail; the streams that
    click swaps for wrappers on a broken pipe are put back."""
    try:
        fd = stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file: nothing is flushed at exit
        fd = None
    if fd is not None:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)
    sys.stdout, sys.stderr = stdout, stderr


def _text(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # an exception whose own message fails (e.g. a 5,000-digit int in it)
        return "(its message cannot be shown)"


def run() -> None:
    sys.exit(main())
