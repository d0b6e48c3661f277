"""Run an Analysis on real arrays: each row's kernel, its parameters, the MACs it performed.

    result = execute(analysis, x, seed=0)          # x: the input array
    result.output, [(s.row.name, s.macs) for s in result.steps]

The rows of an `Analysis` hold the concrete layers (Lazy layers resolved, blocks expanded)
with the names of the rows they read, so the executor needs no graph of its own: it runs
the rows in order, keeps each output while a later row still reads it, and counts every
product's multiply-accumulates from its operands (`kernels.Context`).

Element type: the input's decides (`arrays.compute_dtype`): float64 stays float64, other
floats compute in float32, integers exactly in int64. Parameters not given are seeded
random values (`random_parameters`), each row from its own stream, so giving one
layer's weight changes no other layer's values.
"""

from __future__ import annotations

import math
import time
from typing import Callable, Mapping

import numpy as np

from ..analysis.result import Analysis, LayerResult
from ..classtable import MissingEntry
from ..errors import ConvcalcError, Location
from ..record import record
from .arrays import compute_dtype
from .kernels import KERNELS, PARAMETERS, Context, load_all
from .memory import DEFAULT_MAX_MEMORY, Estimate, check_budget, chunk_for, estimate


@record
class Step:
    """One row as executed."""

    row: LayerResult
    output_shape: tuple[int, ...]
    macs: int  # counted from the operands of the products the kernel computed
    seconds: float
    dtype: str


@record
class Execution:
    output: np.ndarray
    steps: tuple[Step, ...]
    estimate: Estimate
    dtype: str


def parameter_layout(layer) -> dict[str, tuple[int, ...]]:
    """The layer's arrays by PyTorch name and shape ({} for a family that has none)."""
    load_all()
    cls = type(layer)
    return PARAMETERS.lookup(cls)(layer) if PARAMETERS.covers(cls) else {}


def random_parameters(layout: Mapping[str, tuple[int, ...]], rng: np.random.Generator,
                      dtype: np.dtype) -> dict[str, np.ndarray]:
    """Seeded values at PyTorch's scale.

    Floats: a weight of 2 or more dims is uniform in ±1/√fan_in, fan_in = prod(shape[1:])
    (PyTorch's kaiming_uniform(a=√5) bound for Conv, ConvTranspose and Linear), and so is
    the bias beside it; running variances are uniform in [0.5, 1.5]; other 1-D weights
    (norm scales) in [0.5, 1.5]; everything else (biases without a weight, running means)
    in ±0.5. Integers: small exact values, 1..3 for variances, -2..2 for everything else.
    """
    out: dict[str, np.ndarray] = {}
    weight = layout.get("weight")
    fan_in = math.prod(weight[1:]) if weight is not None and len(weight) >= 2 else 0
    for name, shape in layout.items():
        positive = name.endswith("var") or (name == "weight" and len(shape) < 2)
        if dtype.kind == "i":
            low, high = (1, 3) if name.endswith("var") else (-2, 2)
            out[name] = rng.integers(low, high, size=shape, endpoint=True, dtype=np.int64)
            continue
        if positive:
            low, high = 0.5, 1.5
        elif fan_in and name in ("weight", "bias"):
            low, high = -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in)
        else:
            low, high = -0.5, 0.5
        # drawn in the target type and scaled in place: a 25088×4096 weight takes its own
        # 392 MiB, never a float64 draw twice that size beside it
        values = rng.random(size=shape, dtype=dtype)
        values *= high - low
        values += low
        out[name] = values
    return out


def random_input(shape: tuple[int, ...], seed: int, dtype=np.float32) -> np.ndarray:
    """Standard normal values, from a stream of their own, drawn in their own type."""
    return np.random.default_rng((seed, 0)).standard_normal(shape, dtype=dtype)


def check_kernels(analysis: Analysis) -> None:
    """Fail before anything runs when a row's family has no kernel (a gap in convcalc)."""
    load_all()
    gaps = sorted({type(r.layer).__name__ for r in analysis.layers if not KERNELS.covers(type(r.layer))})
    if gaps:
        raise MissingEntry(f"no numeric kernel for {', '.join(gaps)}")


def plan(analysis: Analysis, dtype, max_memory: int | None = DEFAULT_MAX_MEMORY,
         chunk_bytes: int | None = None) -> tuple[Estimate, int]:
    """The peak-memory estimate and the chunk size, refusing a run over `max_memory`
    (ConvcalcError at --max-memory) before anything is allocated."""
    check_kernels(analysis)  # loads every kernel module: their layouts and scratch estimates too
    chunk = chunk_bytes or chunk_for(max_memory)
    found = estimate(analysis, np.dtype(dtype).itemsize, chunk)
    check_budget(found, max_memory)
    return found, chunk


def execute(analysis: Analysis, x: np.ndarray, *, seed: int = 0,
            params: Mapping[str, Mapping[str, np.ndarray]] | None = None,
            max_memory: int | None = DEFAULT_MAX_MEMORY, chunk_bytes: int | None = None,
            on_step: Callable[[Step], None] | None = None) -> Execution:
    """Every row of `analysis` on `x` (whose shape is the analysis' input shape).

    `params` maps a row name to arrays that replace its random ones (already in PyTorch's
    shapes). The memory estimate is checked against `max_memory` (None: no limit) before
    `x` is even read (a memory-mapped `.npy` stays on disk until then).
    """
    if tuple(x.shape) != tuple(analysis.input_shape):
        raise ValueError(f"input shape {x.shape} is not the analysed {analysis.input_shape}")
    dtype = compute_dtype(x.dtype)
    found, chunk = plan(analysis, dtype, max_memory, chunk_bytes)
    values: dict[str, np.ndarray] = {"input": np.ascontiguousarray(x, dtype=dtype)}
    del x  # the input lives in `values` only, dropped after its last reader
    rows = analysis.layers
    last_use = {ref: i for i, row in enumerate(rows) for ref in row.inputs}
    steps: list[Step] = []
    given = params or {}
    for i, row in enumerate(rows):
        layer = row.layer
        arrays = dict(given.get(row.name, {}))
        layout = parameter_layout(layer)
        missing = {k: v for k, v in layout.items() if k not in arrays}
        drawn = None
        if missing:
            rng = np.random.default_rng((seed, row.index + 1))
            drawn = random_parameters(layout, rng, dtype)  # all drawn: one stream, same values
            arrays.update({k: drawn[k] for k in missing})
        arrays = {k: np.asarray(v, dtype=dtype) for k, v in arrays.items()}
        ctx = Context(chunk)
        start = time.perf_counter()
        try:
            out = KERNELS.lookup(type(layer))(layer, [values[r] for r in row.inputs], arrays, ctx)
        except ConvcalcError as exc:
            raise exc.at(Location(f"layer {row.name!r} ({row.type})"))
        del arrays, drawn  # the row's parameters go with it (a 392 MiB weight included)
        out = np.asarray(out)
        step = Step(row, tuple(out.shape), ctx.macs, time.perf_counter() - start, str(out.dtype))
        steps.append(step)
        values[row.name] = out
        final = rows[-1].name
        for ref in set(row.inputs) | {row.name}:  # what no later row reads (a dead end too)
            if last_use.get(ref, -1) <= i and ref != final:
                values.pop(ref, None)
        if on_step is not None:
            on_step(step)
    return Execution(values[rows[-1].name], tuple(steps), found, str(dtype))
