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
from typing import List, Optional

import typer
from typer.core import TyperCommand

from .analysis.conventions import NAMES as CONVENTIONS
from .dtypes import DTYPE_BYTES
from .errors import ConvcalcError, Location

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
#: commands that take a network spec or a chain (compare, verify)
NET_OR_LAYERS_ARG = typer.Argument(..., metavar="NET.yaml | LAYER...", show_default=False,
                                   help="A YAML network spec, or PyTorch layer expressions, '->' chains, "
                                        "nn.Sequential(...) or @FILE.")
SPEC_INPUT_OPT = typer.Option(None, "--input", "-i", metavar="SHAPE",
                              help="Input shape: 1x3x224x224, also written 1,3,224,224 (needed for layers; "
                                   "for a spec, overrides its input:).")
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


def _spec_path(args: list[str]) -> str | None:
    """The one argument when it names a YAML network spec (a .yaml/.yml path, or - for
    standard input), else None: the arguments are layers."""
    if len(args) == 1 and (args[0] == "-" or args[0].lower().endswith((".yaml", ".yml"))):
        return args[0]
    return None


def _required_input(value: str | None) -> str:
    if value is None:
        raise ConvcalcError("expected an input shape for a chain of layers (only a NET.yaml spec has its own); "
                            "got none", Location("--input"))
    return value


def _warn(messages) -> None:
    from .render.wrap import fit
    _say(*(fit(f"warning: {message}", sys.stderr) for message in messages))


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


CompareFormat = Format  # every command that prints a table takes all four (CONTRACT section 3)


@app.command(cls=_Command, short_help="Each counting convention's MACs side by side, per layer.",
             epilog=_examples("convcalc compare 'ConvTranspose2d(64, 32, 4, stride=2, padding=1)' -i 1x64x16x16",
                              "convcalc compare examples/dcgan_generator.yaml",
                              "convcalc compare @model.txt -i 1x3x224x224 -f markdown"))
def compare(
    layers: List[str] = NET_OR_LAYERS_ARG,
    input: str = SPEC_INPUT_OPT,
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

    spec = _spec_path(layers)
    if spec is not None:
        from .network import build, load
        graph = build(load(spec), input).graph
    else:
        graph = chain_graph(layers, _required_input(input), _sources(layers))
    comparison = compare_graph(graph)
    _warn(comparison.warnings)
    if format is CompareFormat.table:
        rendering.print_comparison(comparison)
        return
    if format is Format.csv:
        from .render.tables import compare_csv
        text = compare_csv(comparison)
    else:
        text = rendering.to_json(comparison) if format is Format.json else rendering.to_markdown(comparison)
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
        from .render.wrap import fit
        print(fit("\n\n".join(e.text() for e in explanations), sys.stdout))
    _warn(w for e in explanations for w in (f"{e.row.name}: {n}" for n in e.row.notes))


@app.command("draw", cls=_Command, short_help="A layer's convolution-arithmetic figure, or one unit's receptive field.",
             epilog=_examples("convcalc draw 'Conv2d(1, 1, 3, stride=2, padding=1)' -i 1x1x5x5 --at 1,1",
                              "convcalc draw 'ConvTranspose2d(1, 1, 3, stride=2)' -i 1x1x3x3 -o fig.svg",
                              "convcalc draw examples/tiny_resnet.yaml --rf layer1 -o rf.png",
                              "convcalc draw 'Conv2d(1, 1, 3)' 'Conv2d(1, 1, 3, stride=2)' -i 1x1x9x9 --rf 1"))
def draw(
    targets: List[str] = typer.Argument(..., metavar="LAYER... | NET.yaml", show_default=False,
                                        help="One window layer (its arithmetic figure), a chain, or a YAML "
                                             "network spec (a receptive field)."),
    input: Optional[str] = SPEC_INPUT_OPT,
    rf: Optional[str] = typer.Option(None, "--rf", metavar="ENTRY",
                                     help="Draw the receptive field of one unit of ENTRY: an entry name of the "
                                          "spec, or a chain's layer index (default: the last layer, for a "
                                          "chain or a spec)."),
    at: Optional[str] = typer.Option(None, "--at", metavar="I,J",
                                     help="The output unit drawn (one index in 1-D; default 0,0 for a layer's "
                                          "figure, the centre for a receptive field)."),
    output: Optional[str] = typer.Option(None, "--output", "-o", metavar="FILE",
                                         help="Write FILE.svg, or FILE.png (needs Pillow: pip install "
                                              "\"convcalc[image]\"); without it a text rendering is printed."),
) -> None:
    """One layer: input grid with padding, the taps one output unit reads, the next window, the
    output grid (a transposed convolution also as its direct convolution over the zero-inserted
    input).  A chain, a spec or --rf: the positions one unit depends on in every tensor from the
    input to ENTRY, padding it reads apart, with the counts.

    Text legend (a layer): . input, p padding, 0 inserted zero, # tap on input, * tap on padding or
    zero, + the next window's taps, x the ceil_mode window beyond the padded input, o output, @ the
    chosen unit.  (A receptive field): ■ depends on, · does not, □ padding read, ◦ padding not read.
    """
    from .render import svg

    from .analysis.dependence import trace
    from .render import rfield

    kind = _figure_kind(output)
    spec_path = _spec_path(targets)
    if spec_path is None and len(targets) == 1 and _is_model_file(targets[0]):
        spec_path = targets[0]  # an .onnx file reads as its spec
    if spec_path is not None:
        from .network import analyse
        result = analyse(_load_spec(spec_path, input), input)
        row_name = _spec_entry(result, rf)
        analysis = result.analysis
    else:
        from .api import analyze
        analysis = analyze(targets, _required_input(input), sources=_sources(targets))
        if rf is None and len(targets) == 1 and len(analysis.layers) == 1:
            row = analysis.layers[0]
            figure = svg.build(row.layer, row.input_shape, row.output_shape, at)
            _write_figure(output, kind, figure, svg)
            if output is not None:
                from .render.wrap import fit
                _say(*(fit(f"note: {n}", sys.stderr) for n in figure.notes))
            return
        row_name = _chain_entry(analysis, rf)
    _write_figure(output, kind, trace(analysis, row_name, at), rfield)


def _figure_kind(output: str | None) -> str | None:
    if output is None:
        return None
    suffix = os.path.splitext(output)[1].lower()
    if suffix not in (".svg", ".png"):
        raise ConvcalcError(f"expected a file name ending in .svg or .png; got {output!r}", Location("--output"))
    return suffix[1:]


def _write_figure(output: str | None, kind: str | None, figure, backend) -> None:
    """Text on stdout, or the SVG or PNG file; the one place draw writes."""
    if output is None:
        from .render.wrap import fit
        print(fit(backend.text(figure), sys.stdout), end="")
        return
    try:
        if kind == "png":
            backend.png(figure, output)
        else:
            with open(output, "w", encoding="utf-8") as f:
                f.write(backend.svg(figure))
    except ImportError as exc:
        raise ConvcalcError(str(exc), Location("--output")) from None
    except OSError as exc:
        raise ConvcalcError(f"cannot write {output!r}: {exc.strerror or exc}", Location("--output")) from None


def _spec_entry(result, entry: str | None) -> str:
    """The row whose output ENTRY names (the network's output when not given)."""
    if entry is None:
        return result.output_row().name
    node = result.network.find(entry)
    if node is None or node not in result.last_row:
        import difflib
        close = difflib.get_close_matches(entry, list(result.last_row), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConvcalcError(f"expected an entry of {result.spec.source}; it has no {entry!r}{hint}",
                            Location("--rf"))
    return result.last_row[node].name


def _chain_entry(analysis, entry: str | None) -> str:
    """A chain's layer by index (negative from the end) or row name."""
    rows = analysis.layers
    if entry is None:
        return rows[-1].name
    names = [r.name for r in rows]
    if entry in names:
        return entry
    try:
        index = int(entry)
    except ValueError:
        index = None
    if index is not None and -len(rows) <= index < len(rows):
        return rows[index].name
    raise ConvcalcError(f"expected a layer index 0..{len(rows) - 1} or a layer name of the chain; got {entry!r}",
                        Location("--rf"))


class RunFormat(str, Enum):
    table = "table"
    json = "json"


MAX_MEMORY_OPT = typer.Option("2GiB", "--max-memory", metavar="SIZE",
                              help="Refuse a run whose estimated peak memory is larger: 2GiB, 512MiB, "
                                   "1.5GB, a number of bytes, or none.")
SEED_OPT = typer.Option(0, "--seed", metavar="N", help="Seed of the random values (weights not given, "
                                                       "verify's input).")


@app.command("run", cls=_Command, short_help="Compute real output values with the NumPy executor.",
             epilog=_examples("convcalc run 'Conv2d(1, 1, 3)' -i '[[1, 2, 0, 3, 1], [0, 1, 2, 3, 1], "
                              "[1, 2, 1, 0, 0], [5, 2, 3, 1, 1], [2, 1, 0, 1, 1]]' "
                              "-w '[[1, 2, 1], [0, 1, 0], [2, 1, 0]]' -b '[0]'",
                              "convcalc run 'Conv2d(3, 8, 3, padding=1) -> ReLU()' -i x.npy -o y.npy",
                              "convcalc run 'MaxPool2d(3)' -i examples/picture.png -o pooled.png --rgb",
                              "convcalc run 'Linear(4, 2)' -i '[1.0, 2.0, 3.0, 4.0]' --seed 3 -f json"))
def run_command(
    layers: List[str] = LAYERS_ARG,
    input: str = typer.Option(..., "--input", "-i", metavar="ARRAY",
                              help="A .npy file or an inline nested list in PyTorch's layout (N, C, *spatial; "
                                   "or unbatched C, *spatial). For a first layer with one input channel a "
                                   "bare spatial array (a 5x5 list) is read as 1x1x5x5. Integers compute "
                                   "exactly, a float64 .npy in float64, other floats in float32. An image "
                                   "(.png, .jpg, ...; needs Pillow) is 1xCxHxW in [0, 1]."),
    weight: Optional[str] = typer.Option(None, "--weight", "-w", metavar="ARRAY",
                                         help="The weight of the FIRST weighted layer of the chain (Conv, "
                                              "ConvTranspose, Linear or DeformConv2d), in PyTorch's layout; a bare kernel "
                                              "(3x3) for one channel in and out. Others are seeded random."),
    bias: Optional[str] = typer.Option(None, "--bias", "-b", metavar="ARRAY",
                                       help="The bias of that same first weighted layer."),
    seed: int = SEED_OPT,
    output: Optional[str] = typer.Option(None, "--output", "-o", metavar="FILE.npy|FILE.png",
                                         help="Also save the output: FILE.npy the tensor (numpy.save); "
                                              "FILE.png (.jpg, .bmp, .tif, .webp) its channels as a grid "
                                              "image (needs Pillow)."),
    rgb: bool = typer.Option(False, "--rgb", help="With an image --output: write a 3-channel output in "
                                                  "colour, one tile per batch item, not a tile per channel."),
    format: RunFormat = typer.Option(RunFormat.table, "--format", "-f",
                                     help='Output format: table (the values as a nested list) or json '
                                          '({"output_shape": [...], "output": [...]}).'),
    max_memory: str = MAX_MEMORY_OPT,
) -> None:
    """Push real arrays through a layer or a chain with the NumPy executor and print the output.

    Arrays use PyTorch's layouts; --weight and --bias set the first Conv, ConvTranspose,
    Linear or DeformConv2d layer of the chain (a DeformConv2d in a chain runs on zero
    offsets, the regular grid), every other parameter is a seeded random value at PyTorch's
    initial scale.
    """
    from .numeric.arrays import format_array
    from .numeric.commands import run_chain
    from .numeric.images import check_output_path, write_image
    from .numeric.memory import parse_size

    if rgb and output is None:
        raise ConvcalcError("expected --output FILE.png to go with it; got no --output", Location("--rgb"))
    kind = check_output_path(output, rgb) if output is not None else None  # refused before the run
    result = run_chain(layers, input, weight=weight, bias=bias, seed=seed, max_memory=parse_size(max_memory),
                       sources=_sources(layers))
    _warn(result.analysis.warnings)
    out = result.output
    if kind == "npy":
        _save(output, out)
    elif kind == "image":
        _say("note: " + write_image(output, out, unbatched=result.unbatched_2d, rgb=rgb))
    if format is RunFormat.json:
        import json
        import math
        values = out.tolist()
        if out.dtype.kind == "f" and not bool(abs(out).max(initial=0) < math.inf):
            _warn(["the output holds values beyond the float range: written as null"])
            values = _nulls(values)
        print(json.dumps({"output_shape": list(out.shape), "dtype": str(out.dtype), "output": values},
                         allow_nan=False))
        return
    from rich.console import Console

    from .render.execution import print_tensor
    console = Console()
    print_tensor(format_array(out, console.width), out.shape, str(out.dtype), console)


def _nulls(values):
    import math
    if isinstance(values, list):
        return [_nulls(v) for v in values]
    return values if math.isfinite(values) else None


def _save(path: str, array) -> None:
    import numpy as np

    from .errors import ConvcalcError, Location
    try:
        with open(path, "wb") as f:
            np.save(f, array, allow_pickle=False)
    except OSError as exc:
        raise ConvcalcError(f"cannot write {path!r}: {exc.strerror or exc}", Location("--output")) from None


@app.command("verify", cls=_Command, short_help="Run random tensors through the executor; check shapes and MACs.",
             epilog=_examples("convcalc verify 'Conv2d(3, 16, 3, stride=2)' ReLU 'Linear(16, 4)' -i 1x3x9x9",
                              "convcalc verify examples/resnet18.yaml",
                              "convcalc verify @model.txt -i 1x3x224x224 -f json"))
def verify_command(
    layers: List[str] = NET_OR_LAYERS_ARG,
    input: str = SPEC_INPUT_OPT,
    format: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    seed: int = SEED_OPT,
    max_memory: str = MAX_MEMORY_OPT,
) -> None:
    """Push a random float32 input through a network spec or a chain with the NumPy executor and
    check, layer by layer, the output shape and the multiply-accumulates it performed (counted from the
    operands of its products) against the analytic engine. Exit status 1 on any mismatch.
    """
    from .numeric.commands import verify_chain
    from .numeric.memory import parse_size
    from .render.execution import progress_bar

    limit = parse_size(max_memory)
    state: dict = {}

    def started(analysis) -> None:
        rows = analysis.layers
        long_run = analysis.total.macs >= 200_000_000 or len(rows) >= 30
        state["bar"] = bar = progress_bar(len(rows), long_run)
        state["advance"] = bar.__enter__()

    def stepped(step) -> None:
        state["advance"](f"{step.row.name} {step.row.type}")

    try:
        spec = _spec_path(layers)
        if len(layers) == 1 and _is_model_file(layers[0]):  # an .onnx file (issue 13)
            report = _verify_model(layers[0], input, seed, limit, started, stepped)
        elif spec is not None:
            from .numeric.commands import verify_network
            report = verify_network(spec, input, seed=seed, max_memory=limit, on_start=started, on_step=stepped)
        else:
            report = verify_chain(layers, _required_input(input), seed=seed, max_memory=limit,
                                  sources=_sources(layers), on_start=started, on_step=stepped)
    finally:
        if "bar" in state:
            state["bar"].__exit__(None, None, None)
    _warn(report.analysis.warnings)
    if format is Format.json:
        import json
        print(json.dumps(report.to_dict(), indent=2))
    elif format in (Format.csv, Format.markdown):
        from .render.tables import verify_text
        sys.stdout.write(verify_text(report, format.value))
    else:
        from .render.execution import print_verify
        print_verify(report)
    if not report.ok:
        raise typer.Exit(1)


@app.command("layers", cls=_Command, short_help="The layers convcalc understands, with their signatures.",
             epilog=_examples("convcalc layers", "convcalc layers | grep -i pool", "convcalc layers nn.conv2d"))
def list_layers(
    name: str = typer.Argument(None, metavar="[NAME]", show_default=False,
                               help="One layer (any case, nn. prefix allowed): its signature, defaults "
                                    "and the aliases that apply."),
) -> None:
    """List the layers convcalc understands, one signature a line, or describe one.

    Each name is written in a LAYER as a PyTorch constructor call, e.g. 'Conv2d(3, 64, 3)';
    '->' joins layers into a chain, a pasted nn.Sequential(...) reads as its layers, and
    @FILE reads them from a file, one per line.
    """
    from .errors import Location
    from .layers.registry import describe, layer_names, lookup, signature, table

    if name is None:
        print("\n".join(signature(table()[n.lower()]) for n in layer_names()))
        return
    print("\n".join(describe(lookup(name, Location("<arg 1>")))))



SolveFormat = Format


@app.command("solve", cls=_Command, short_help="Which kernel, stride, padding... give this output shape.",
             epilog=_examples("convcalc solve 'ConvTranspose2d(64, 32, k=?, s=2, p=?, op=?)' "
                              "--input 1,64,16,16 --output 1,32,32,32",
                              "convcalc solve 'Conv2d(3, 16, k=?, s=?, p=?)' -i 1x3x64x64 -o 1x16x32x32 -f json"))
def solve_command(
    template: str = typer.Argument(..., metavar="TEMPLATE", show_default=False,
                                   help="A convolution or pooling layer with unknowns written '?', "
                                        "e.g. 'Conv2d(3, 8, k=?, s=2, p=?)'."),
    input: str = INPUT_OPT,
    output: str = typer.Option(..., "--output", "-o", metavar="SHAPE", help="The output shape wanted."),
    format: SolveFormat = typer.Option(SolveFormat.table, "--format", "-f", help="Output format."),
) -> None:
    """Every assignment of the unknowns (kernel_size 1..11, dilation 1..4, stride 1..4, padding below
    the kernel's extent, output_padding below max(stride, dilation)) that takes the input shape to the
    output shape, simplest first, each checked by the layer's own shape rules and marked when it drops
    input positions, has outputs that see only padding, or overlaps unevenly.

    Exit status 0 when some assignment fits, 1 when none does, 2 for a malformed template or shape.
    """
    import json

    from .analysis.solve import no_solution_message, parse_template, solve
    from .layers.base import fmt_shape
    from .parsing.shapes import parse_shape

    parsed = parse_template(template)
    shape_in = parse_shape(input, "--input")
    shape_out = parse_shape(output, "--output")
    solutions = solve(template, shape_in, shape_out)
    params = list(dict.fromkeys(u.param for u in parsed.unknowns))
    rows = [["#", *params, "spec", "marks"]]
    for i, s in enumerate(solutions, 1):
        cells = [",".join(map(str, v)) if isinstance(v, tuple) else str(v) for v in (s.values[p] for p in params)]
        rows.append([str(i), *cells, s.spec, ", ".join(s.marks)])
    if format is SolveFormat.json:
        print(json.dumps([s.to_dict() for s in solutions], indent=2))
    elif format in (Format.csv, Format.markdown):
        from .render.tables import csv_text, markdown_text
        sys.stdout.write(csv_text(rows[0], rows[1:]) if format is Format.csv else
                         markdown_text(rows[0], rows[1:], [True] + [False] * (len(rows[0]) - 1)))
    if not solutions:
        _say(no_solution_message(shape_in, shape_out, parsed))
        raise typer.Exit(1)
    if format is not SolveFormat.table:
        return
    from .render.tables import solve_lines
    from .render.wrap import terminal_width
    print(f"{len(solutions)} configuration{'s' if len(solutions) != 1 else ''} give "
          f"{fmt_shape(shape_out)} from {fmt_shape(shape_in)}:")
    print("\n".join(solve_lines(rows, terminal_width(sys.stdout))))


# ---------------------------------------------------------------- network specs (issue 12)

SPEC_ARG = typer.Argument(..., metavar="NET.yaml", show_default=False,
                          help="A YAML network spec (see README: the network format); - reads standard input.")


def _optional_dtype(value: str | None) -> str | None:
    return None if value is None else _dtype_name(value)


SPEC_DTYPE_OPT = typer.Option(None, "--dtype", metavar="DTYPE", callback=_optional_dtype,
                              help=f"Element type for memory figures: {_DTYPE_NAMES} (default: the spec's "
                                   "dtype, else float32).")


class CheckFormat(str, Enum):
    text = "text"
    github = "github"


@app.command(cls=_Command, short_help="The whole network's table from a YAML spec, grouped by block.",
             epilog=_examples("convcalc summary examples/tiny_resnet.yaml",
                              "convcalc summary examples/tiny_resnet.yaml --depth 1",
                              "convcalc summary net.yaml -i 8x3x224x224 -f json"))
def summary(
    spec: str = SPEC_ARG,
    input: str = typer.Option(None, "--input", "-i", metavar="SHAPE",
                              help="Input shape, overriding the spec's input: (1x3x224x224, ...)."),
    depth: int = typer.Option(None, "--depth", "-d", min=1, metavar="N",
                              help="Fold blocks nested deeper than N levels into one row each (table and "
                                   "markdown; JSON and CSV list every layer)."),
    format: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    dtype: str = SPEC_DTYPE_OPT,
    convention: str = CONVENTION_OPT,
    wide: bool = typer.Option(False, "--wide", help="Show every table column, however narrow the terminal."),
) -> None:
    """Every layer of a YAML network spec: output shape, params, MACs, FLOPs, memory and receptive
    field, grouped by block, with the totals.

    Layers are listed under their full dotted names (a block's layers as layer1.0.conv1); --depth
    folds deeper blocks into one row each, with their sums.
    """
    from .network import analyse
    from .network.summary import display_rows

    result = analyse(_load_spec(spec, input), input, dtype=dtype, convention=convention)
    _warn(result.analysis.warnings)
    analysis = result.analysis
    if format is Format.table:
        from .render.table import print_table
        print_table(analysis, wide=wide, rows=display_rows(result, depth),
                    title=result.spec.name or result.spec.source)
        return
    if format is Format.json:
        text = result.to_json()
    elif format is Format.csv:
        from .render.formats import to_csv
        text = to_csv(analysis)
    else:
        from .render.formats import to_markdown
        text = to_markdown(analysis, display_rows(result, depth, full_names=True))
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


@app.command(cls=_Command, short_help="Hold YAML specs to their expect: blocks (for CI).",
             epilog=_examples("convcalc check examples/*.yaml",
                              "convcalc check nets/*.yaml --format github --junit-xml report.xml"))
def check(
    specs: List[str] = typer.Argument(..., metavar="NET.yaml...", show_default=False,
                                      help="YAML network specs."),
    format: CheckFormat = typer.Option(CheckFormat.text, "--format", "-f",
                                       help="text, or github: GitHub Actions annotations at each failure."),
    junit_xml: str = typer.Option(None, "--junit-xml", metavar="PATH", help="Also write a JUnit XML report."),
    dtype: str = SPEC_DTYPE_OPT,
    convention: str = CONVENTION_OPT,
) -> None:
    """Check each spec: its network computes (every layer accepts its input) and every expectation of
    its expect: block holds (output shape, per-entry shapes, params/MACs/FLOPs/memory ceilings,
    receptive-field bounds).

    Every failure is listed with file:line. Exit status 0 when all pass, 1 when any fails, 2 when a
    spec cannot be read.
    """
    from .network import check as checking

    reports = [checking.check_file(path, dtype=dtype, convention=convention, loader=_load_spec) for path in specs]
    for r in reports:
        if r.error is not None:
            _say(f"error: {r.error}", r.error.caret(_caret_width()))
        if format is CheckFormat.text:
            _warn(w for _, w in r.warnings)
    lines = checking.github_lines(reports) if format is CheckFormat.github else checking.text_lines(reports)
    sys.stdout.write("\n".join(lines) + "\n")
    if junit_xml is not None:
        try:
            with open(junit_xml, "w", encoding="utf-8") as handle:
                handle.write(checking.junit_xml(reports))
        except OSError as exc:
            from .errors import ConvcalcError, Location
            raise ConvcalcError(f"cannot write the JUnit report: {exc.strerror or exc}",
                                Location("--junit-xml")) from None
    raise typer.Exit(checking.status(reports))


def _is_model_file(path: str) -> bool:
    from .importers import is_onnx_path
    return is_onnx_path(path)


def _verify_model(path: str, input: str, seed: int, limit, started, stepped):
    """verify on an imported model: its whole graph, at --input."""
    from .network import analyse
    from .numeric.commands import check_seed, verify_analysis

    check_seed(seed)
    analysis = analyse(_load_spec(path, input), input).analysis
    return verify_analysis(analysis, seed=seed, max_memory=limit, on_start=started, on_step=stepped)


def _load_spec(path: str, input: str | None = None):
    """A YAML spec, or a model file an importer reads (.onnx, at `input` when given: its padding
    and resize sizes follow the shape): the one place the CLI loads a spec."""
    from .importers import is_onnx_path
    if is_onnx_path(path):
        from .importers import load_spec
        return load_spec(path, input)
    from .network import load
    return load(path)


@app.command("import", cls=_Command, short_help="Write an ONNX file or a PyTorch module out as a YAML spec.",
             epilog=_examples("convcalc import model.onnx -o net.yaml",
                              "convcalc import torchvision.models:resnet18 -i 1x3x224x224 -o resnet18.yaml"))
def import_command(
    model: str = typer.Argument(..., metavar="MODEL", show_default=False,
                                help="An ONNX file (*.onnx, needs the onnx package), or a PyTorch factory "
                                     "module.path:callable returning an nn.Module (traced with torch.fx)."),
    output: Optional[str] = typer.Option(None, "--output", "-o", metavar="NET.yaml",
                                         help="Write the spec there (default: standard output)."),
    input: str = typer.Option(None, "--input", "-i", metavar="SHAPE",
                              help="Input shape (needed for a PyTorch factory; for ONNX it overrides the "
                                   "graph input's shape)."),
) -> None:
    """Turn an existing model into a convcalc network spec in YAML: one entry per layer, with `from`
    where a layer reads other than the previous one. Operators or modules convcalc has no layer for
    are named in the error (exit 2), never left out.
    """
    from .importers import import_model
    from .network import load_text

    imported = import_model(model, input)
    _warn(imported.notes)
    text = imported.to_yaml()
    load_text(text, model)  # the written spec must read back
    if output is None:
        sys.stdout.write(text)
        return
    try:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        from .errors import ConvcalcError, Location
        raise ConvcalcError(f"cannot write {output!r}: {exc.strerror or exc}", Location("--output")) from None


@app.command("schema", cls=_Command, short_help="The JSON Schema of the YAML network format.",
             epilog=_examples("convcalc schema > convcalc-spec.schema.json"))
def print_schema() -> None:
    """Print the JSON Schema (draft-07) of the YAML network format, blocks and expect: included, for
    editors that validate and complete YAML files against a schema."""
    import json

    from .network.schema import schema
    print(json.dumps(schema(), indent=2))


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
