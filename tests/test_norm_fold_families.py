"""GroupNorm, LayerNorm, InstanceNorm, LocalResponseNorm, Unfold, Fold and Softmax2d
beyond shapes (which the recorded torch fixture and the live sweep cover): receptive
fields, buffers, warnings and error wording.

Expected values are arithmetic written here, or PyTorch's own answer where torch is
importable: autograd tells which input positions reach one output unit (positive random
weights, float64), and `buffers()` what a module keeps.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

import convcalc
from convcalc.layers import build_layer

try:
    import torch
except ImportError:  # the arithmetic tests still run
    torch = None

requires_torch = pytest.mark.skipif(torch is None, reason="needs torch")


def rf(exprs, shape, row=-1):
    field = convcalc.analyze(exprs, shape).layers[row].receptive_field
    return None if field is None else (field.size, field.stride, field.start)


# ------------------------------------------------------------------ receptive fields: arithmetic

@pytest.mark.parametrize("norm", ["GroupNorm(2, 4)", "GroupNorm(4, 4, affine=False)", "InstanceNorm2d(4)",
                                  "LayerNorm((4, 32, 32))", "LayerNorm((32, 32), elementwise_affine=False)"])
def test_statistics_over_the_whole_extent_reach_every_unit(norm):
    """A 3×3 padding-1 convolution on 32×32 reads positions −1 .. 32; a norm that takes its
    statistics over H and W lets all of them reach every unit, which then all see the same
    region (stride 0), and a later convolution cannot widen it (CONTRACT section 4)."""
    conv = "Conv2d(3, 4, 3, padding=1)"
    whole = ((32 + 2, 32 + 2), (Fraction(0), Fraction(0)), (-1, -1))
    assert rf([conv, norm], (1, 3, 32, 32)) == whole
    assert rf([conv, norm, "ReLU()", "Conv2d(4, 4, 3, padding=1, stride=2)", "MaxPool2d(2)"],
              (1, 3, 32, 32)) == whole


def test_layernorm_over_the_last_axis_reads_only_that_axis():
    size, stride, start = rf(["Conv2d(3, 4, 3)", "LayerNorm(30)"], (1, 3, 32, 32))
    assert (size, stride, start) == ((3, 32), (1, 0), (0, 0))  # H: the conv's window; W: whole


@pytest.mark.parametrize("layer", ["InstanceNorm2d(4, track_running_stats=True)", "LocalResponseNorm(3)",
                                   "Softmax2d()", "BatchNorm2d(4)"])
def test_channel_only_layers_keep_the_receptive_field(layer):
    """Running statistics, or a window over channels only: position i reads position i."""
    conv = "Conv2d(3, 4, 5, stride=2, padding=2)"
    assert rf([conv, layer], (1, 3, 16, 16)) == rf([conv], (1, 3, 16, 16)) == ((5, 5), (2, 2), (-2, -2))


def test_unfold_reads_one_block_per_column():
    """Column l reads block l's window: d×(k−1)+1 positions, moving by the stride, the first
    starting in the padding (as the convolution Unfold is the first half of)."""
    size, stride, start = rf(["Unfold((3, 2), dilation=(1, 2), padding=(1, 0), stride=(2, 3))"], (1, 2, 9, 9))
    assert size == (1 * (3 - 1) + 1, 2 * (2 - 1) + 1) and stride == (2, 3) and start == (-1, 0)
    conv = rf(["Conv2d(2, 5, (3, 2), dilation=(1, 2), padding=(1, 0), stride=(2, 3))"], (1, 2, 9, 9))
    assert (size, stride, start) == conv


def test_after_unfold_the_receptive_field_is_no_longer_followed():
    """Unfold's L axis lists blocks, not positions (README, "Choices"): the rows after it
    keep one block's window."""
    block = rf(["Unfold(3, stride=2)"], (1, 2, 9, 9))
    assert rf(["Unfold(3, stride=2)", "Linear(16, 4)", "ReLU()"], (1, 2, 9, 9)) == block
    assert rf(["Unfold(3)", "Fold(9, 3)"], (1, 2, 9, 9)) == rf(["Unfold(3)"], (1, 2, 9, 9))


def test_a_network_that_starts_with_fold_has_no_receptive_field():
    assert rf(["Fold(4, 2)", "Conv2d(3, 3, 3)"], (1, 12, 9)) is None


# ------------------------------------------------------------------ receptive fields: torch autograd

def _reached(modules, shape, unit):
    """Input positions (per spatial axis, as sets) whose gradient for output `unit` is
    non-zero: positive random weights (channels differ, so a softmax over them is not
    flat), float64, random input so that no statistic is degenerate."""
    torch.manual_seed(0)
    x = torch.rand(shape, dtype=torch.float64, requires_grad=True)
    y = x
    for m in modules:
        m = m.double().eval()
        for p in m.parameters():
            torch.nn.init.uniform_(p, 0.5, 1.5)
        y = m(y)
    y[unit].sum().backward()
    nonzero = (x.grad.abs() > 0).nonzero().tolist()
    return [sorted({pos[a] for pos in nonzero}) for a in range(2, len(shape))]


@requires_torch
@pytest.mark.parametrize("expr, build", [
    ("GroupNorm(2, 4)", lambda: torch.nn.GroupNorm(2, 4)),
    ("InstanceNorm2d(4, affine=True)", lambda: torch.nn.InstanceNorm2d(4, affine=True)),
    ("LayerNorm((4, 12, 12))", lambda: torch.nn.LayerNorm((4, 12, 12))),
])
def test_torch_gradients_reach_the_whole_input_through_statistics(expr, build):
    conv = (lambda: torch.nn.Conv2d(3, 4, 3, padding=1))
    reached = _reached([conv(), build()], (1, 3, 12, 12), (0, 1, 5, 5))
    assert reached == [list(range(12)), list(range(12))]
    size, _, start = rf(["Conv2d(3, 4, 3, padding=1)", expr], (1, 3, 12, 12))
    # the inside of the whole extent −1 .. 12: the gradient cannot see the padding
    assert [list(range(max(s, 0), min(s + n, 12))) for n, s in zip(size, start)] == reached


@requires_torch
@pytest.mark.parametrize("expr, build", [
    ("LocalResponseNorm(3)", lambda: torch.nn.LocalResponseNorm(3)),
    ("Softmax2d()", lambda: torch.nn.Softmax2d()),
    ("InstanceNorm2d(4, track_running_stats=True)", lambda: torch.nn.InstanceNorm2d(4, track_running_stats=True)),
])
def test_torch_gradients_stay_at_the_position_for_channel_only_layers(expr, build):
    reached = _reached([torch.nn.Conv2d(3, 4, 3), build()], (1, 3, 12, 12), (0, 1, 5, 6))
    size, _, start = rf(["Conv2d(3, 4, 3)", expr], (1, 3, 12, 12))
    assert reached == [list(range(5, 8)), list(range(6, 9))]
    assert size == (3, 3) and start == (0, 0)


@requires_torch
def test_torch_gradients_of_one_unfold_column_are_its_window():
    kw = dict(kernel_size=(3, 2), dilation=(1, 2), padding=(1, 0), stride=(2, 3))
    unfold = torch.nn.Unfold(**kw)
    blocks_w = (11 - 2 * (2 - 1) - 1) // 3 + 1
    column = 2 * blocks_w + 1  # block (row 2, column 1)
    reached = _reached([unfold], (1, 2, 11, 11), (0, slice(None), column))
    size, stride, start = rf(["Unfold((3, 2), dilation=(1, 2), padding=(1, 0), stride=(2, 3))"], (1, 2, 11, 11))
    first = [int(start[0] + 2 * stride[0]), int(start[1] + 1 * stride[1])]
    assert reached == [list(range(first[0], first[0] + size[0])), [first[1], first[1] + 2]]  # dilation 2 on W


# ------------------------------------------------------------------ parameters and buffers

@requires_torch
@pytest.mark.parametrize("expr, build, shape", [
    ("GroupNorm(3, 6, bias=False)", lambda: torch.nn.GroupNorm(3, 6, bias=False), (2, 6, 4)),
    ("LayerNorm((3, 4), elementwise_affine=True)", lambda: torch.nn.LayerNorm((3, 4)), (2, 3, 4)),
    ("InstanceNorm1d(5, affine=True, track_running_stats=True)",
     lambda: torch.nn.InstanceNorm1d(5, affine=True, track_running_stats=True), (2, 5, 7)),
    ("InstanceNorm3d(2, track_running_stats=True)",
     lambda: torch.nn.InstanceNorm3d(2, track_running_stats=True), (2, 2, 2, 2)),
    ("InstanceNorm2d(4)", lambda: torch.nn.InstanceNorm2d(4), (4, 3, 3)),
    ("LocalResponseNorm(5)", lambda: torch.nn.LocalResponseNorm(5), (1, 8, 3, 3)),
])
def test_params_and_buffers_are_torchs(expr, build, shape):
    module = build()
    row = convcalc.analyze([expr], shape).layers[0]
    assert row.params == sum(p.numel() for p in module.parameters())
    assert row.buffers == sum(b.numel() for b in module.buffers())


def test_instance_norm_buffers_are_arithmetic():
    # running_mean and running_var (num_features each) and the num_batches_tracked counter
    assert build_layer("InstanceNorm2d(7, track_running_stats=True)").buffers() == 7 + 7 + 1
    assert build_layer("InstanceNorm2d(7)").buffers() == 0


# ------------------------------------------------------------------ warnings

def test_instance_norm_channel_mismatch_warns_as_pytorch_does():
    a = convcalc.analyze(["InstanceNorm1d(3)"], (2, 4, 5))
    assert a.total.output_shape == (2, 4, 5)
    (note,) = a.warnings
    assert "4 channels but num_features=3" in note and "PyTorch warns" in note


def test_fold_warns_of_positions_no_block_reaches():
    """Fold(5, 2, stride=3): blocks start at 0 and 3 and cover 0, 1, 3, 4: position 2 gets
    nothing, along each axis."""
    a = convcalc.analyze(["Fold(5, 2, stride=3)"], (1, 4, 4))
    covered = {b * 3 + j for b in range(2) for j in range(2)}
    missed = len(set(range(5)) - covered)
    assert [w.split(": ", 1)[1] for w in a.warnings] == [
        f"Fold: {missed} output position along each of H and W receives no block value (left at zero)"]
    assert convcalc.analyze(["Fold(4, 2)"], (1, 4, 9)).warnings == ()


def test_unfold_warns_of_positions_no_block_reads():
    a = convcalc.analyze(["Unfold(2, stride=2)"], (1, 1, 5, 5))  # blocks read 0 .. 3 of 0 .. 4
    (warning,) = a.warnings  # one warning naming both axes
    assert "1 input position along each of H and W is read by no window" in warning


# ------------------------------------------------------------------ errors: where, expected, got

@pytest.mark.parametrize("expr, shape, fragment", [
    ("GroupNorm(3, 4)", (1, 4, 2), "GroupNorm: num_channels (4) must be divisible by num_groups (3)"),
    ("GroupNorm(4, 4)", (1, 4), "each group's statistics need more than 1 value; got shape [1, 4]"),
    ("GroupNorm(2, 4)", (2, 6, 3), "expected input with 4 channels (dim 1); got shape [2, 6, 3]"),
    ("LayerNorm((3, 5))", (2, 3, 4), "expected an input of shape [*, 3, 5]"),
    ("LayerNorm(())", (2, 3), "normalized_shape must have at least one entry"),
    ("InstanceNorm2d(3)", (2, 3, 1, 1), "need more than 1 spatial element; got shape [2, 3, 1, 1]"),
    ("InstanceNorm2d(3, affine=True)", (2, 4, 2, 2), "expected input with 3 channels; got 4"),
    ("InstanceNorm1d(3)", (5,), "expected a 2-D (unbatched) or 3-D (batched) input; got shape [5]"),
    ("LocalResponseNorm(0)", (1, 2, 3), "size must be a positive integer"),
    ("Unfold(7)", (2, 3, 5, 6), "expected at least 1 block along H and W; got -1×0 blocks for spatial size 5×6"),
    ("Unfold(3, padding=(1,))", (2, 3, 5, 6), "padding must be an integer or a tuple of 2 integers"),
    ("Fold(4, 2)", (1, 12, 8), "output_size=4 holds 3×3 blocks"),
    ("Fold(4, 2)", (1, 13, 9), "expected dim 1 divisible by k_H×k_W = 4"),
    ("Softmax2d()", (4, 5), "expected a 3-D (unbatched) or 4-D (batched) input; got shape [4, 5]"),
])
def test_errors_say_what_was_expected(expr, shape, fragment):
    with pytest.raises(convcalc.ConvcalcError) as info:
        convcalc.analyze([expr], shape)
    message = str(info.value)
    assert fragment in message, message
    assert "\n" not in message


def test_printed_forms_build_the_same_layers():
    """What print(model) shows for each family reads back as that family (PyTorch 2.13's text)."""
    printed = {
        "GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)": "GroupNorm(2, 4)",
        "LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=True)": "LayerNorm(4)",
        "InstanceNorm2d(3, eps=1e-05, momentum=0.1, affine=False, bias=False, track_running_stats=False)":
            "InstanceNorm2d(3, bias=False)",
        "LocalResponseNorm(5, alpha=0.0001, beta=0.75, k=1.0)": "LocalResponseNorm(5)",
        "Unfold(kernel_size=(2, 3), dilation=2, padding=1, stride=(2, 1))":
            "Unfold((2, 3), dilation=2, padding=1, stride=(2, 1))",
        "Fold(output_size=(4, 5), kernel_size=2, dilation=1, padding=1, stride=1)": "Fold((4, 5), 2, padding=1)",
    }
    for text, same in printed.items():
        layer = build_layer(text)
        assert layer == build_layer(same) and build_layer(layer.spec()) == layer, text


def test_fold_counts_values_landing_inside():
    """FLOPs of Fold: the block values that land inside the output (README's table),
    traced one by one here."""
    (oh, ow), k, s, p = (5, 7), 3, 2, 1
    blocks = [(o + 2 * p - (k - 1) - 1) // s + 1 for o in (oh, ow)]
    landed = sum(1 for bh in range(blocks[0]) for bw in range(blocks[1]) for i in range(k) for j in range(k)
                 if 0 <= bh * s - p + i < oh and 0 <= bw * s - p + j < ow)
    row = convcalc.analyze([f"Fold((5, 7), {k}, stride={s}, padding={p})"], (2, 3 * k * k, math.prod(blocks))).layers[0]
    assert row.flops == 2 * 3 * landed and row.macs == 0


def test_fold_flops_agree_with_tracing_every_value():
    """Random geometries: the closed-form count of values landing inside the output
    against tracing each (block, kernel offset) pair."""
    import random
    rng = random.Random(7)
    for _ in range(300):
        k, s, d, p = (rng.randint(1, 4) for _ in range(4))
        o = [rng.randint(max(1, d * (k - 1) + 1 - 2 * p), 12) for _ in range(2)]
        blocks = [(size + 2 * p - d * (k - 1) - 1) // s + 1 for size in o]
        expr = f"Fold({tuple(o)}, {k}, dilation={d}, padding={p}, stride={s})"
        row = convcalc.analyze([expr], (2 * k * k, blocks[0] * blocks[1])).layers[0]
        per_axis = [sum(1 for b in range(n) for j in range(k) if 0 <= b * s - p + j * d < size)
                    for n, size in zip(blocks, o)]
        assert row.flops == 2 * per_axis[0] * per_axis[1], expr


def test_fold_with_absurd_sizes_answers_at_once():
    import time
    start = time.perf_counter()
    big = 2**40
    row = convcalc.analyze([f"Fold(({big}, 1), ({big}, 1), stride=({big // 2}, 1))"], (big, 1)).layers[0]
    assert time.perf_counter() - start < 1.0
    assert row.output_shape == (1, big, 1) and row.flops == big  # one block, every value inside


# (input, kernel, stride, padding, output) rows of the Conv2d tutorial in the seeds
# (001_550b2e608409e9cd.txt: "H_o = (H_i + 2P − F)/S + 1")
SEED_ROWS = [(5, 2, 1, 0, 4), (5, 3, 1, 0, 3), (5, 2, 2, 0, 2), (6, 2, 2, 0, 3), (5, 2, 1, 1, 6),
             (5, 3, 1, 1, 5), (5, 3, 2, 2, 4)]


@pytest.mark.parametrize("size, kernel, stride, padding, out", SEED_ROWS)
def test_unfold_is_the_im2col_of_the_seed_convolutions(size, kernel, stride, padding, out):
    """im2col: one column of F×F values per output position, so the convolution is a
    (C_out, C×F×F) weight times the (C×F×F, L) columns, L = H_o × W_o positions."""
    c, c_out = 3, 4
    (row,) = convcalc.analyze([f"Unfold({kernel}, padding={padding}, stride={stride})"],
                              (1, c, size, size)).layers
    assert row.output_shape == (1, c * kernel * kernel, out * out)
    (conv,) = convcalc.analyze([f"Conv2d({c}, {c_out}, {kernel}, stride={stride}, padding={padding})"],
                               (1, c, size, size)).layers
    assert conv.output_shape[-2:] == (out, out)
    assert conv.macs == c_out * row.output_shape[1] * row.output_shape[2]  # the matrix product's MACs


# ------------------------------------------------------------------ against the brute-force tracer

try:
    from test_receptive_field import Repeat, Scatter, Traced, Window, brute_force_rf
except ImportError:  # tests/ imported as a package
    from tests.test_receptive_field import Repeat, Scatter, Traced, Window, brute_force_rf


class Whole:
    """Statistics over an axis of n units: every output unit reads all n (the tracer's
    own map, independent of convcalc's WholeAxis step)."""

    up = 1

    def __init__(self, n: int):
        self.n = n

    def reads(self, o: int) -> list[int]:
        return list(range(self.n))


TRACED = [  # (exprs on a 1-D input of 16, the tracer's ops)
    (["Conv1d(2, 2, 3, padding=1)", "GroupNorm(1, 2)", "Conv1d(2, 2, 3, padding=1)"],
     [Window(3, 1, 1), Whole(16), Window(3, 1, 1)]),
    (["Conv1d(2, 2, 5, stride=2, padding=1)", "InstanceNorm1d(2)", "MaxPool1d(2)"],
     [Window(5, 2, 1), Whole(7), Window(2, 2)]),
    (["ConvTranspose1d(2, 2, 3, stride=3, dilation=2)", "InstanceNorm1d(2, affine=True)", "Conv1d(2, 2, 2)"],
     [Scatter(3, 3, 0, 2), Whole(3 * 15 + 2 * 2 + 1), Window(2)]),
    (["Upsample(scale_factor=2)", "LayerNorm(32)", "Conv1d(2, 2, 3, stride=2)"],
     [Repeat(2), Whole(32), Window(3, 2)]),
    (["Conv1d(2, 2, 3)", "InstanceNorm1d(2, track_running_stats=True)", "LocalResponseNorm(2)",
      "Conv1d(2, 2, 3, dilation=2)"], [Window(3), Window(1), Window(1), Window(3, 1, 0, 2)]),
]


@pytest.mark.parametrize("exprs, ops", TRACED, ids=[" -> ".join(t[0]) for t in TRACED])
def test_norm_receptive_fields_match_the_tracer(exprs, ops):
    field = convcalc.analyze(exprs, (1, 2, 16)).layers[-1].receptive_field
    assert Traced(field.size[0], Fraction(field.stride[0]), field.start[0]) == brute_force_rf(ops)
