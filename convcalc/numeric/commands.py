"""What `convcalc run` and `convcalc verify` do, as functions the CLI only wires up.

    run_chain(["Conv2d(1, 1, 3)"], "[[1, 2, 0, 3, 1], ...]", weight="[[1, 2, 1], ...]")
    verify_chain(["Conv2d(3, 8, 3)", "ReLU()"], "1x3x32x32")
    verify_network("examples/tiny_resnet.yaml")            # a YAML spec, its input or --input
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..analysis import walk
from ..analysis.result import Analysis
from ..api import chain_graph
from ..errors import ConvcalcError, IncompatibleInputError, Location
from ..layers.conv import ConvNd, ConvTransposeNd
from ..layers.deform import DeformConv2d
from ..layers.linear import Linear
from ..record import record
from .arrays import compute_dtype, fit_parameter, read_array, to_compute
from .images import PendingImage
from .execute import Execution, Step, execute, parameter_layout, plan, random_input
from .memory import DEFAULT_MAX_MEMORY

#: the families `--weight` and `--bias` reach: the first of these in the chain
WEIGHTED = (ConvNd, ConvTransposeNd, Linear, DeformConv2d)
LAYOUTS = {ConvNd: "C_out, C_in/groups, *kernel", ConvTransposeNd: "C_in, C_out/groups, *kernel",
           Linear: "out_features, in_features", DeformConv2d: "C_out, C_in/groups, kh, kw"}


def check_seed(seed: int) -> None:
    if seed < 0:
        raise ConvcalcError(f"expected a non-negative integer; got {seed}", Location("--seed"))


# ------------------------------------------------------------------------ run

@record
class RunResult:
    output: np.ndarray  # as shown: without the (1, 1) put before a bare input
    analysis: Analysis
    execution: Execution
    bare: bool  # the input was a bare spatial array
    unbatched_2d: bool = False  # a 2-D input without its batch axis (C×H×W, or bare H×W)


def run_chain(layers: Sequence[str], input: str, *, weight: str | None = None, bias: str | None = None,
              seed: int = 0, max_memory: int | None = DEFAULT_MAX_MEMORY,
              sources: Sequence[str] | None = None) -> RunResult:
    """Real values through a chain. A bare spatial array (a 5×5 input) for a first layer
    with one input channel is read as 1×1×5×5, and the output shown without those axes
    when it has them too. An image is decoded only once the run fits the memory budget."""
    check_seed(seed)
    x = read_array(input, "--input", lazy_image=True)
    dtype = compute_dtype(x.dtype, "--input")
    if x.ndim == 0:
        raise ConvcalcError(f"expected an array; got the single number {x[()]} (write it as [{x[()]}] or in "
                            "a nested list)", Location("--input"))
    graph = chain_graph(layers, tuple(x.shape), sources)
    first = graph.nodes[0].layer
    spatial = first.spatial_ndim(tuple(x.shape))
    bare = bool(spatial) and x.ndim == spatial and _channels(first) == 1
    unbatched_2d = spatial == 2 and x.ndim in (2, 3)
    if bare:
        graph.input_shape = (1, 1) + tuple(x.shape)
        x = x.reshape(graph.input_shape)
    try:
        analysis = walk(graph, str(dtype))
    except IncompatibleInputError as exc:
        if exc.location is not None and exc.location.entry == graph.nodes[0].name:
            exc.location = Location("--input")  # the array does not fit the first layer
        raise
    params = _given(analysis, weight, bias, dtype)
    plan(analysis, dtype, max_memory)  # refuse over the budget before reading the input
    if isinstance(x, PendingImage):
        x = x.load()
    x = to_compute(x, dtype, "--input")
    execution = execute(analysis, x, seed=seed, params=params, max_memory=max_memory)
    for step in execution.steps:
        if step.output_shape != step.row.output_shape:
            raise RuntimeError(f"the {step.row.type} kernel gave shape {list(step.output_shape)} where the "
                               f"analysis says {list(step.row.output_shape)}")
    out = execution.output
    if bare and out.ndim == len(graph.input_shape) and out.shape[:2] == (1, 1):
        out = out[0, 0]
    return RunResult(out, analysis, execution, bare, unbatched_2d)


def _channels(layer) -> int:
    """The input channels a first layer states (1 for a Lazy layer, which takes them from
    the input, and for layers that state none)."""
    return getattr(layer, "in_channels", 1)


def _given(analysis: Analysis, weight: str | None, bias: str | None, dtype) -> dict:
    if weight is None and bias is None:
        return {}
    option = "--weight" if weight is not None else "--bias"
    row = next((r for r in analysis.layers if isinstance(r.layer, WEIGHTED)), None)
    if row is None:
        raise ConvcalcError("expected a chain with a Conv, ConvTranspose, Linear or DeformConv2d layer to take it; "
                            "got none",
                            Location(option))
    layout = parameter_layout(row.layer)
    hint = next(text for cls, text in LAYOUTS.items() if isinstance(row.layer, cls))
    arrays = {}
    for name, text, where in (("weight", weight, "--weight"), ("bias", bias, "--bias")):
        if text is None:
            continue
        if name not in layout:
            raise ConvcalcError(f"{row.spec} has bias=False: there is no bias to set", Location(where))
        array = read_array(text, where)
        array = fit_parameter(array, layout[name], name, row.layer, where, hint if name == "weight" else "")
        arrays[name] = to_compute(array, dtype, where)
    return {row.name: arrays}


# ------------------------------------------------------------------------ verify

@record
class Check:
    """One row: what the executor did against what the analysis says."""

    step: Step

    @property
    def shape_ok(self) -> bool:
        return self.step.output_shape == self.step.row.output_shape

    @property
    def macs_ok(self) -> bool:
        return self.step.macs == self.step.row.macs

    @property
    def ok(self) -> bool:
        return self.shape_ok and self.macs_ok

    def to_dict(self) -> dict:
        row = self.step.row
        return {**row.to_dict(), "executed": {"output_shape": list(self.step.output_shape), "macs": self.step.macs,
                                              "seconds": round(self.step.seconds, 6)},
                "shape_ok": self.shape_ok, "macs_ok": self.macs_ok}


@record
class VerifyReport:
    analysis: Analysis
    checks: tuple[Check, ...]
    seed: int
    estimate_bytes: int

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def to_dict(self) -> dict:
        doc = self.analysis.to_dict()
        doc["layers"] = [c.to_dict() for c in self.checks]
        doc.update({"verified": self.ok, "mismatches": sum(not c.ok for c in self.checks), "seed": self.seed,
                    "memory_estimate_bytes": self.estimate_bytes})
        return doc


def verify_chain(layers: Sequence[str], input_shape: str | Sequence[int], *, seed: int = 0,
                 max_memory: int | None = DEFAULT_MAX_MEMORY, sources: Sequence[str] | None = None,
                 on_start: Callable[[Analysis], None] | None = None,
                 on_step: Callable[[Step], None] | None = None) -> VerifyReport:
    """Random float32 values through the chain; per row the executed output shape and
    multiply-accumulates against the analysis'."""
    check_seed(seed)
    from ..parsing import parse_shape
    analysis = walk(chain_graph(layers, parse_shape(input_shape), sources))
    return verify_analysis(analysis, seed=seed, max_memory=max_memory, on_start=on_start, on_step=on_step)


def verify_network(spec, input_shape: str | Sequence[int] | None = None, *, seed: int = 0,
                   max_memory: int | None = DEFAULT_MAX_MEMORY, on_start: Callable[[Analysis], None] | None = None,
                   on_step: Callable[[Step], None] | None = None) -> VerifyReport:
    """Random float32 values through a YAML network spec (a path or a loaded Spec), at its
    `input:` or at `input_shape`; per row the executed output shape and MACs against the
    network's analysis (rows under their full dotted names)."""
    check_seed(seed)
    from ..network import analyse
    analysis = analyse(spec, input_shape).analysis
    return verify_analysis(analysis, seed=seed, max_memory=max_memory, on_start=on_start, on_step=on_step)


def verify_analysis(analysis: Analysis, *, seed: int = 0, max_memory: int | None = DEFAULT_MAX_MEMORY,
                    on_start=None, on_step=None) -> VerifyReport:
    found, _ = plan(analysis, np.float32, max_memory)  # before the random input is made
    if on_start is not None:
        on_start(analysis)
    # made inline: the executor drops the input after its last reader, no local keeps it
    execution = execute(analysis, random_input(analysis.input_shape, seed), seed=seed, max_memory=max_memory,
                        on_step=on_step)
    return VerifyReport(analysis, tuple(Check(s) for s in execution.steps), seed, found.peak)
