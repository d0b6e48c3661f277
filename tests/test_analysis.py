"""The analytic engine: counting rules, receptive fields, warnings, graphs with merges."""

import math
from fractions import Fraction

import pytest

import convcalc
from convcalc.analysis import Graph, Node, walk
from convcalc.layers import build_layer


def one(expr, shape):
    return convcalc.analyze([expr], shape).layers[0]


# ------------------------------------------------------------------ MACs (contract definitions)

@pytest.mark.parametrize("expr, shape, macs", [
    ("Conv2d(3, 64, 7, stride=2, padding=3, bias=False)", (1, 3, 224, 224), 1 * 64 * 112 * 112 * 3 * 7 * 7),
    ("Conv2d(32, 64, 3, groups=4)", (2, 32, 10, 10), 2 * 64 * 8 * 8 * (32 // 4) * 3 * 3),
    ("Conv1d(4, 6, 3, dilation=2)", (4, 10), 1 * 6 * 6 * 4 * 3),  # unbatched
    ("Conv3d(2, 4, (1, 3, 3), padding=(0, 1, 1))", (1, 2, 5, 8, 8), 4 * 5 * 8 * 8 * 2 * 9),
    ("ConvTranspose2d(16, 8, 4, stride=2, padding=1)", (1, 16, 7, 7), 1 * 16 * 7 * 7 * 8 * 4 * 4),
    ("ConvTranspose1d(6, 4, 3, stride=3, groups=2)", (2, 6, 5), 2 * 6 * 5 * (4 // 2) * 3),
    ("Linear(512, 1000)", (8, 512), 8 * 512 * 1000),
    ("Linear(16, 4)", (2, 3, 5, 16), 2 * 3 * 5 * 16 * 4),
    ("MaxPool2d(3, 2, 1)", (1, 8, 16, 16), 0),
    ("BatchNorm2d(8)", (1, 8, 16, 16), 0),
])
def test_macs(expr, shape, macs):
    assert one(expr, shape).macs == macs


# ------------------------------------------------------------------ FLOP rules (README)

@pytest.mark.parametrize("expr, shape, per_element", [
    ("ReLU()", (1, 4, 8, 8), 1), ("ReLU6()", (1, 4, 8, 8), 2), ("LeakyReLU(0.1)", (1, 4, 8, 8), 2),
    ("Sigmoid()", (1, 4, 8, 8), 4), ("Tanh()", (1, 4, 8, 8), 1), ("SiLU()", (1, 4, 8, 8), 5),
    ("GELU()", (1, 4, 8, 8), 5), ("GELU(approximate='tanh')", (1, 4, 8, 8), 9),
    ("Hardswish()", (1, 4, 8, 8), 5), ("Hardsigmoid()", (1, 4, 8, 8), 4),
    ("BatchNorm2d(4)", (1, 4, 8, 8), 2), ("Dropout(0.1)", (1, 4, 8, 8), 0), ("Identity()", (1, 4, 8, 8), 0),
    ("Upsample(scale_factor=2)", (1, 4, 8, 8), 0), ("Upsample(scale_factor=2, mode='bilinear')", (1, 4, 8, 8), 7),
    ("Upsample(scale_factor=2, mode='bicubic')", (1, 4, 8, 8), 31),
])
def test_elementwise_flops(expr, shape, per_element):
    row = one(expr, shape)
    assert row.flops == per_element * math.prod(row.output_shape)


def test_weighted_flops_are_two_macs_plus_bias_adds():
    with_bias = one("Conv2d(3, 8, 3)", (1, 3, 10, 10))
    without = one("Conv2d(3, 8, 3, bias=False)", (1, 3, 10, 10))
    assert without.flops == 2 * without.macs
    assert with_bias.flops == 2 * with_bias.macs + 8 * 8 * 8


def test_pool_flops():
    assert one("MaxPool2d(3, 2)", (1, 2, 9, 9)).flops == 2 * 4 * 4 * (9 - 1)
    assert one("AvgPool2d(2)", (1, 2, 8, 8)).flops == 2 * 4 * 4 * 4


def test_adaptive_pool_flops_sum_the_uneven_windows():
    # 5 -> 3: windows [0,2) [1,4) [3,5): lengths 2, 3, 2 per axis
    row = one("AdaptiveAvgPool2d(3)", (1, 1, 5, 5))
    assert row.flops == (2 + 3 + 2) ** 2
    assert one("AdaptiveMaxPool2d(3)", (1, 1, 5, 5)).flops == (2 + 3 + 2) ** 2 - 9


def test_separable_conv_is_depthwise_plus_pointwise():
    a = convcalc.analyze(["SeparableConv2d(16, 32, 3, padding=1)"], (1, 16, 8, 8))
    dw, pw = a.layers
    assert dw.spec == "Conv2d(16, 16, kernel_size=(3, 3), padding=(1, 1), groups=16, bias=False)"
    assert pw.spec == "Conv2d(16, 32, kernel_size=(1, 1))"
    assert a.total.params == 16 * 9 + 16 * 32 + 32  # Keras' SeparableConv2D count
    assert a.total.macs == 16 * 8 * 8 * 9 + 32 * 8 * 8 * 16


def test_output_bytes_follow_dtype():
    assert one("ReLU()", (2, 3, 4, 4)).output_bytes == 2 * 3 * 4 * 4 * 4
    a = convcalc.analyze(["ReLU()"], (2, 3, 4, 4), dtype="float64")
    assert a.layers[0].output_bytes == 2 * 3 * 4 * 4 * 8
    b = convcalc.analyze(["Conv2d(3, 3, 1, dtype=torch.float16)"], (2, 3, 4, 4))
    assert b.layers[0].output_bytes == 2 * 3 * 4 * 4 * 2


# ------------------------------------------------------------------ receptive fields

def rf(layers, shape):
    field = convcalc.analyze(layers, shape).layers[-1].receptive_field
    return field.size, field.stride, field.start


def test_contract_example_rf():
    assert rf(["Conv2d(3, 64, 7, stride=2, padding=3)"], (1, 3, 224, 224)) == ((7, 7), (2, 2), (-3, -3))


def test_transposed_stride_three_sees_one_position():
    assert rf(["ConvTranspose1d(1, 1, 3, stride=3)"], (1, 1, 8)) == ((1,), (Fraction(1, 3),), (0,))


def test_no_input_reaches_unit_zero():
    # output o receives input i when o = 2i - 1: even outputs only see the bias
    assert rf(["ConvTranspose1d(1, 1, 1, stride=2, padding=1)"], (1, 1, 8))[2] == (None,)


def test_upsampling_halves_the_stride_then_conv():
    size, stride, start = rf(["Conv1d(1, 1, 3, stride=2)", "Upsample(scale_factor=2)", "Conv1d(1, 1, 3)"], (1, 1, 32))
    # units 2k, 2k+1 of the upsample read conv unit k: a 3-window of upsample units spans 2 conv units
    assert stride == (1,) and size == (5,) and start == (0,)


def test_resnet_stem_rf():
    size, stride, start = rf(["Conv2d(3, 64, 7, 2, 3)", "MaxPool2d(3, 2, 1)"], (1, 3, 224, 224))
    assert size == (11, 11) and stride == (4, 4) and start == (-5, -5)


def test_global_pool_sees_the_whole_input():
    size, _, start = rf(["Conv2d(3, 8, 3)", "AdaptiveAvgPool2d(1)"], (1, 3, 32, 32))
    assert size == (32, 32) and start == (0, 0)


def test_linear_after_flatten_sees_the_whole_input():
    size, _, start = rf(["Conv2d(1, 2, 3, padding=1)", "Flatten()", "Linear(128, 4)"], (1, 1, 8, 8))
    assert size == (10, 10) and start == (-1, -1)


def test_mlp_has_no_receptive_field():
    assert convcalc.analyze(["Linear(8, 4)"], (2, 8)).layers[0].receptive_field is None


# ------------------------------------------------------------------ warnings

def test_dropped_positions_warning():
    a = convcalc.analyze(["Conv2d(1, 1, 3, stride=2)"], (1, 1, 8, 8))
    assert any("1 input position along each of H and W is read by no window: the output size is rounded down"
               in w for w in a.warnings)


def test_checkerboard_warning():
    a = convcalc.analyze(["ConvTranspose2d(1, 1, 3, stride=2)"], (1, 1, 4, 4))
    assert any("checkerboard" in w for w in a.warnings)
    assert not convcalc.analyze(["ConvTranspose2d(1, 1, 4, stride=2, padding=1)"], (1, 1, 4, 4)).warnings


def test_padding_only_window_warning():
    a = convcalc.analyze(["MaxPool1d(2, stride=1, padding=1, dilation=3)"], (1, 1, 2))
    assert any("1 output position along L sees only padding" in w for w in a.warnings)
    b = convcalc.analyze(["Conv1d(1, 1, 1, padding=2)"], (1, 1, 4))
    assert any("4 output positions along L see only padding" in w for w in b.warnings)


def test_same_padding_asymmetry_is_reported():
    a = convcalc.analyze(["Conv1d(1, 1, 4, padding='same')"], (1, 1, 9))
    assert a.total.output_shape == (1, 1, 9)
    assert any("1 before, 2 after" in w for w in a.warnings)


# ------------------------------------------------------------------ graphs (DAG walk)

def test_residual_block_and_concat():
    g = Graph((1, 8, 16, 16))
    g.nodes += [
        Node("a", build_layer("Conv2d(8, 8, 3, padding=1)"), ("input",), "Conv2d(8, 8, 3, padding=1)"),
        Node("b", build_layer("Conv2d(8, 8, 5, padding=2)"), ("a",), "Conv2d(8, 8, 5, padding=2)"),
        Node("sum", build_layer("Add()"), ("b", "input"), "Add()"),
        Node("cat", build_layer("Concat(dim=1)"), ("sum", "a"), "Concat(dim=1)"),
    ]
    a = walk(g)
    out = {r.name: r for r in a.layers}
    assert out["sum"].output_shape == (1, 8, 16, 16) and out["sum"].flops == 8 * 16 * 16
    assert out["cat"].output_shape == (1, 16, 16, 16)
    # the merge sees the union of its inputs' regions: 7x7 (a then b) and 1x1 (input)
    assert out["sum"].receptive_field.size == (7, 7)
    assert out["sum"].inputs == ("b", "input")


def test_merge_shape_mismatch_names_both_shapes():
    g = Graph((1, 8, 16, 16))
    g.nodes += [Node("a", build_layer("Conv2d(8, 4, 1)"), ("input",), "Conv2d(8, 4, 1)"),
                Node("sum", build_layer("Add()"), ("a", "input"), "Add()")]
    with pytest.raises(convcalc.ConvcalcError, match=r"cannot broadcast shapes \[1, 4, 16, 16\] and \[1, 8, 16, 16\]"):
        walk(g)


def test_mul_broadcasts_like_squeeze_excitation():
    g = Graph((1, 8, 16, 16))
    g.nodes += [Node("se", build_layer("AdaptiveAvgPool2d(1)"), ("input",), ""),
                Node("mul", build_layer("Mul()"), ("input", "se"), "")]
    assert walk(g).layers[-1].output_shape == (1, 8, 16, 16)


def test_analysis_is_linear_in_depth():
    # 2000 layers must not take long (a quadratic walk would)
    a = convcalc.analyze(["Conv2d(4, 4, 3, padding=1) -> ReLU()"] * 1000, (1, 4, 32, 32))
    assert len(a.layers) == 2000
    assert a.layers[-1].receptive_field.size == (2001, 2001)


@pytest.mark.parametrize("expr, shape", [
    ("Conv1d(1, 1, 999999999)", (1, 1, 1000000000)),
    ("Conv1d(1, 1, 3, padding=1000000000, dilation=5)", (1, 1, 10)),
    ("AdaptiveAvgPool2d(1000000)", (1, 1, 7, 7)),
    ("Linear(1000000000, 2)", (1, 1000000000)),
    ("Flatten() -> Linear(1000000000, 2)", (1, 1, 1000, 1000, 1000)),
    ("Upsample(scale_factor=1000000.0)", (1, 1, 1000, 1000)),
])
def test_huge_layers_are_analysed_instantly(expr, shape):
    import time
    start = time.perf_counter()
    convcalc.analyze([expr], shape)
    assert time.perf_counter() - start < 2.0


def test_adaptive_window_sum_closed_form():
    # a + b - gcd(a, b) reads along an axis; check against the windows themselves
    layer = build_layer("AdaptiveAvgPool1d(7)")
    for size in range(1, 30):
        windows = layer.windows(size, 7)
        row = one("AdaptiveAvgPool1d(7)", (1, 1, size))
        assert row.flops == sum(hi - lo for lo, hi in windows)


# PyTorch 2.13's accept/reject quirks, as observed (eval() mode); None means torch refuses
@pytest.mark.parametrize("expr, shape, expected", [
    ("AdaptiveAvgPool2d(1)", (2, 8), (1, 1)),              # mean shortcut skips the rank check
    ("AdaptiveAvgPool2d((1, 1))", (2, 8), None),           # ...but a tuple is checked first
    ("AdaptiveAvgPool2d((1, None))", (2, 8, 4, 9, 1, 1), (2, 8, 4, 9, 1, 1)),
    ("AdaptiveMaxPool2d(1)", (2, 8), None),
    ("AdaptiveAvgPool2d(0)", (1, 3, 8, 8), (1, 3, 0, 0)),
    ("Dropout2d(0.5)", (3,), (3,)),                        # feature dropout is a no-op in eval()
    ("Dropout1d(0.5)", (1, 3, 8, 8), None),
    ("ConstantPad3d((-2, -1, 0, -1, -3, 3), 0.5)", (1, 3, 8), None),  # crops before it pads
    ("ZeroPad2d(-5)", (1, 1, 10, 10), (1, 1, 0, 0)),
    ("ReplicationPad2d((-7, 0, 0, 0))", (1, 2, 7, 7), (1, 2, 7, 0)),
    ("ReplicationPad1d((-7, 0))", (1, 2, 7), None),
    ("CircularPad1d(-1)", (1, 1, 2), (1, 1, 0)),
    ("PReLU(3)", (3,), None),                              # a 1-D input has one channel
    ("Upsample(scale_factor=0.7, mode='area', recompute_scale_factor=True)", (1, 7, 3, 1, 1), (1, 7, 2, 0, 0)),
    ("Upsample(scale_factor=0.05)", (1, 1, 10), None),
    ("MaxPool2d(2, padding=2, dilation=3)", (1, 1, 8, 8), None),   # half the raw kernel, not the dilated one
    ("AvgPool3d(3, padding=1)", (1, 1, 1, 1, 1), None),    # avg_pool3d checks the unpadded input
    ("AvgPool2d(3, padding=1)", (1, 1, 1, 1), (1, 1, 1, 1)),
    ("Conv1d(2, 2, 3, padding=2, padding_mode='circular')", (1, 2, 2), (1, 2, 4)),
    ("Conv1d(2, 2, 3, padding=3, padding_mode='circular')", (1, 2, 2), None),
    ("Conv1d(2, 2, 1, 1, -1, padding_mode='reflect')", (1, 2, 3), (1, 2, 1)),
    ("BatchNorm2d(8, affine=False, track_running_stats=False)", (2, 3, 4, 4), (2, 3, 4, 4)),
    ("BatchNorm2d(3, track_running_stats=False)", (1, 3, 1, 1), None),
    ("ChannelShuffle(2)", (4, 5, 5), None),                # channels are always dim 1
    ("Conv2d(2, 2, 3, stride=(2,))", (1, 2, 9, 9), (1, 2, 4, 4)),
    ("Conv2d(2, 2, (3,))", (1, 2, 9, 9), None),
])
def test_torch_quirks(expr, shape, expected):
    if expected is None:
        with pytest.raises(convcalc.ConvcalcError):
            convcalc.analyze([expr], shape)
    else:
        assert convcalc.analyze([expr], shape).total.output_shape == expected


def test_a_channel_error_on_an_unbatched_reading_says_so():
    with pytest.raises(convcalc.IncompatibleInputError) as info:
        convcalc.analyze(["Conv2d(3, 8, 3)"], (1, 3, 32))  # meant N, C, L? Conv2d reads C, H, W
    assert "reads a 3-D input as unbatched (C, H, W); a batched input has 4 dims" in info.value.message
    with pytest.raises(convcalc.IncompatibleInputError) as info:
        convcalc.analyze(["Conv2d(3, 8, 3)"], (1, 4, 32, 32))
    assert "unbatched" not in info.value.message
