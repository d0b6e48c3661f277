"""The engine (numeric/execute.py) and the memory budget (numeric/memory.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import convcalc
from convcalc.classtable import MissingEntry
from convcalc.errors import ConvcalcError
from convcalc.numeric.commands import verify_chain
from convcalc.numeric.execute import execute, parameter_layout, random_input, random_parameters
from convcalc.numeric.memory import BOOKKEEPING, chunk_for, estimate, fmt_bytes, parse_size
from convcalc.record import replace
from support import traced_peak

CHAIN = ["Conv2d(3, 8, 3, padding=1)", "Conv2d(8, 8, 3, stride=2, padding=2, padding_mode='reflect', groups=4)",
         "ConvTranspose2d(8, 4, 4, stride=2, padding=1)", "SeparableConv2d(4, 6, 3)", "Linear(10, 5)"]


# ------------------------------------------------------------------ parameters

def test_random_parameters_follow_pytorch_scale():
    layer = convcalc.build_layer("Conv2d(4, 6, 3, groups=2)")
    layout = parameter_layout(layer)
    assert layout == {"weight": (6, 2, 3, 3), "bias": (6,)}
    p = random_parameters(layout, np.random.default_rng(0), np.dtype(np.float32))
    bound = 1 / math.sqrt(2 * 3 * 3)  # fan_in = C_in/groups × kernel
    assert p["weight"].dtype == np.float32 and np.abs(p["weight"]).max() <= bound
    assert np.abs(p["weight"]).max() > bound * 0.8  # spread over the range, not squeezed
    assert np.abs(p["bias"]).max() <= bound
    ints = random_parameters({"weight": (3, 4), "running_var": (3,)}, np.random.default_rng(0), np.dtype(np.int64))
    assert ints["weight"].dtype == np.int64 and set(np.unique(ints["weight"])) <= set(range(-2, 3))
    assert ints["running_var"].min() >= 1
    floats = random_parameters({"weight": (5,), "bias": (5,), "running_var": (5,), "running_mean": (5,)},
                               np.random.default_rng(0), np.dtype(np.float64))
    assert floats["running_var"].min() >= 0.5 and floats["weight"].min() >= 0.5
    assert np.abs(floats["running_mean"]).max() <= 0.5


def test_transposed_layout_is_pytorchs():
    assert parameter_layout(convcalc.build_layer("ConvTranspose2d(4, 6, (2, 3), groups=2, bias=False)")) == {
        "weight": (4, 3, 2, 3)}
    assert parameter_layout(convcalc.build_layer("Linear(7, 3)")) == {"weight": (3, 7), "bias": (3,)}


def test_seeds_are_per_row_streams():
    analysis = convcalc.analyze(CHAIN, (1, 3, 10, 10))
    x = random_input(analysis.input_shape, 7)
    first = execute(analysis, x, seed=7)
    again = execute(analysis, x, seed=7)
    np.testing.assert_array_equal(first.output, again.output)
    other = execute(analysis, x, seed=8)
    assert not np.array_equal(first.output, other.output)
    # giving row 0 the very values its stream would draw changes nothing downstream
    drawn = random_parameters(parameter_layout(analysis.layers[0].layer), np.random.default_rng((7, 1)),
                              np.dtype(np.float32))
    given = execute(analysis, x, seed=7, params={"0": drawn})
    np.testing.assert_array_equal(first.output, given.output)
    # ... and a different weight for row 0 leaves row 1's parameters alone: rerun row 1 alone
    changed = execute(analysis, x, seed=7, params={"0": {"weight": drawn["weight"] * 2}})
    assert not np.array_equal(first.output, changed.output)


def test_every_step_is_recorded_with_its_macs():
    analysis = convcalc.analyze(CHAIN, (2, 3, 10, 10))
    result = execute(analysis, random_input(analysis.input_shape, 0))
    assert [s.row.name for s in result.steps] == [r.name for r in analysis.layers]
    for step in result.steps:
        assert step.output_shape == step.row.output_shape
        assert step.macs == step.row.macs > 0
    assert result.output.shape == analysis.total.output_shape and result.dtype == "float32"


def test_a_family_without_a_kernel_is_named_before_anything_runs():
    analysis = convcalc.analyze(["Conv2d(1, 1, 1)"], (1, 1, 2, 2))

    class NoKernel:
        pass
    broken = replace(analysis, layers=(replace(analysis.layers[0], layer=NoKernel()),))
    with pytest.raises(MissingEntry, match="NoKernel"):
        execute(broken, np.zeros((1, 1, 2, 2), dtype=np.float32))


# ------------------------------------------------------------------ memory

@pytest.mark.parametrize("layers, shape, max_memory", [
    (CHAIN[:-1] + ["Linear(40, 5)"], (2, 3, 40, 40), None),
    (["Conv2d(16, 32, 3, padding=4)", "Conv2d(32, 32, 1)", "Conv2d(32, 8, 5, dilation=2)"], (1, 16, 64, 64), 4 << 20),
    (["ConvTranspose2d(16, 16, 4, stride=2, padding=3)", "ConvTranspose2d(16, 8, 3, stride=3)"], (2, 16, 20, 20),
     None),
    (["Conv3d(4, 8, 3, padding=1, padding_mode='circular')"], (1, 4, 16, 16, 16), 2 << 20),
    (["Linear(64, 256)", "Linear(256, 8)"], (4, 32, 64), None),
])
def test_estimate_bounds_the_measured_peak(layers, shape, max_memory):
    """numpy's allocations, traced while the run goes, stay within the estimate."""
    analysis = convcalc.analyze(layers, shape)
    # the input is made inside the trace and handed over: the executor drops it after its
    # last reader, as the estimate assumes
    peak, result = traced_peak(lambda: execute(analysis, random_input(shape, 0), max_memory=max_memory or 1 << 40))
    # the arrays alone (the estimate without its 1 MiB of bookkeeping) bound the peak to
    # within 64 KiB of Python objects
    assert peak <= result.estimate.peak - BOOKKEEPING + (64 << 10), (fmt_bytes(peak), result.estimate.describe())


def test_chunks_keep_scratch_small():
    """A conv whose im2col matrix would be 37 MiB runs in 1 MiB chunks: the estimate and
    the measured peak stay far below the whole matrix."""
    shape, layer = (1, 16, 96, 96), "Conv2d(16, 16, 7, padding=3)"
    columns = 16 * 49 * 96 * 96 * 4
    analysis = convcalc.analyze([layer], shape)
    x = random_input(shape, 0)
    found = estimate(analysis, 4, chunk_for(8 << 20))
    assert found.peak < columns / 4
    peak, _ = traced_peak(lambda: execute(analysis, x, max_memory=8 << 20))
    assert peak < columns / 4


def test_over_budget_is_refused_before_any_large_allocation():
    """A 64×64×512×512 verify (17 GiB of activations): refused, with the estimate, and nothing large made."""
    def attempt():
        with pytest.raises(ConvcalcError) as info:
            verify_chain(["Conv2d(64, 64, 3)", "Conv2d(64, 64, 3)"], "64x64x512x512")
        return info.value
    peak, error = traced_peak(attempt)
    assert peak < 2 << 20
    message = str(error)
    assert message.startswith("--max-memory: expected a run that fits in 2 GiB; got an estimated peak of ")
    assert "GiB at layer '0' (Conv2d)" in message and "\n" not in message
    # the estimate counts at least the input and the first output
    assert error.args and "activations" in message


def test_budget_option_is_honoured_both_ways():
    analysis = convcalc.analyze(["Conv2d(3, 8, 3)"], (1, 3, 64, 64))
    x = random_input(analysis.input_shape, 0)
    with pytest.raises(ConvcalcError, match="fits in 100 KiB"):
        execute(analysis, x, max_memory=100 << 10)
    execute(analysis, x, max_memory=None)  # no limit


def test_activations_are_freed_after_their_last_reader():
    layers = ["Conv2d(8, 8, 3, padding=1)"] * 6
    analysis = convcalc.analyze(layers, (1, 8, 64, 64))
    one = 8 * 64 * 64 * 4
    found = estimate(analysis, 4, chunk_for(None))
    assert found.activations <= 2 * one  # the input of a row and its output, never all six


@pytest.mark.parametrize("text, value", [
    ("2GiB", 2 << 30), ("512MiB", 512 << 20), ("1.5GB", 1_500_000_000), ("4e9", 4_000_000_000),
    ("100000", 100_000), ("64 kib", 64 << 10), ("none", None),
])
def test_parse_size(text, value):
    assert parse_size(text) == value


@pytest.mark.parametrize("text", ["", "2 gigs", "-1GB", "0", "1e30"])
def test_parse_size_refusals(text):
    with pytest.raises(ConvcalcError, match="--max-memory: expected a size"):
        parse_size(text)
