"""`verify` and the memory estimate on chains that use GroupNorm, LayerNorm, InstanceNorm
(with and without running statistics), LocalResponseNorm, Softmax2d, Unfold and Fold.

Their values against PyTorch are in test_numeric_ops.py (recorded) and
test_numeric_ops_live.py (live); here the executor runs them inside whole chains: every
shape and MAC count must agree with the analysis, and numpy's allocations, traced while
the chain runs, must stay within the peak-memory estimate.
"""

from __future__ import annotations

import json

import pytest

import convcalc
from convcalc.cli import main
from convcalc.numeric.execute import execute, random_input
from convcalc.numeric.memory import BOOKKEEPING, fmt_bytes
from support import traced_peak

def chain(size: int) -> list[str]:
    """Every family, on a (N, 4, size, size) input."""
    return ["GroupNorm(2, 4)", f"LayerNorm({size})", "InstanceNorm2d(4, affine=True)",
            "InstanceNorm2d(4, track_running_stats=True)", "LocalResponseNorm(3)", "Softmax2d()",
            "Unfold(3, padding=1)", f"Fold({size}, 3, padding=1)", "Conv2d(4, 2, 3)"]


CHAIN = chain(8)
FAMILIES = {"GroupNorm", "LayerNorm", "InstanceNorm2d", "LocalResponseNorm", "Softmax2d", "Unfold", "Fold"}


def test_verify_agrees_on_every_layer_of_the_chain(capsys):
    code = main(["verify", *CHAIN, "-i", "2x4x8x8", "-f", "json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = json.loads(captured.out)
    assert result["verified"] is True and result["mismatches"] == 0
    layers = result["layers"]
    assert FAMILIES <= {row["type"] for row in layers}
    for row in layers:
        assert row["shape_ok"] and row["macs_ok"], row["type"]
        assert row["executed"]["output_shape"] == row["output_shape"]
    # the conv at the end multiplies: 2 × 2 × 6 × 6 outputs × 4 × 3 × 3 terms; nothing else does
    assert [row["executed"]["macs"] for row in layers] == [0] * 8 + [2 * 2 * 6 * 6 * 4 * 3 * 3]


def test_verify_on_an_unbatched_and_a_three_dimensional_chain(capsys):
    chain = ["InstanceNorm3d(3)", "GroupNorm(3, 3, affine=False)", "LayerNorm((4, 5))",
             "LocalResponseNorm(2)"]
    code = main(["verify", *chain, "-i", "2x3x3x4x5", "-f", "json"])
    captured = capsys.readouterr()
    assert code == 0 and json.loads(captured.out)["verified"] is True, captured.err
    for layers, shape in ((["InstanceNorm1d(3, affine=True)", "LayerNorm(6)"], "3x6"),
                          (["Softmax2d()", "LocalResponseNorm(4)", "Unfold((1, 2))", "Fold(5, (1, 2))"], "3x5x5")):
        code = main(["verify", *layers, "-i", shape, "-f", "json"])
        captured = capsys.readouterr()
        assert code == 0 and json.loads(captured.out)["verified"] is True, captured.err


@pytest.mark.parametrize("layers, shape, max_memory", [
    (chain(64), (2, 4, 64, 64), None),
    (chain(64), (2, 4, 64, 64), 4 << 20),  # chunks of 512 KiB
    (["LocalResponseNorm(5)", "Unfold(5, padding=6, stride=2)", "Fold(64, 5, padding=6, stride=2)"],
     (1, 16, 64, 64), None),
    (["LayerNorm((32, 32))", "GroupNorm(4, 8)", "InstanceNorm2d(8)"], (8, 8, 32, 32), 3 << 20),
    # one row bigger than a chunk (768 KiB): the statistics split it; LayerNorm's weight and
    # bias are as large as the input and stay float32
    (["GroupNorm(1, 8)", "LayerNorm((8, 128, 128))", "LocalResponseNorm(5)",
      "InstanceNorm2d(8, track_running_stats=True)", "Softmax2d()"], (1, 8, 128, 128), 6 << 20),
])
def test_estimate_bounds_the_measured_peak(layers, shape, max_memory):
    analysis = convcalc.analyze(layers, shape)
    peak, result = traced_peak(lambda: execute(analysis, random_input(shape, 0),
                                                max_memory=max_memory or 1 << 40))
    # the arrays alone (the estimate without its 1 MiB of bookkeeping) bound the peak to
    # within 64 KiB of Python objects
    assert peak <= result.estimate.peak - BOOKKEEPING + (64 << 10), (fmt_bytes(peak), result.estimate.describe())
