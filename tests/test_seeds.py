"""Every worked example of the seed tutorials (../shared/seeds) about shapes or parameter counts.

Numbers are the seeds' own, except where a seed slips; there PyTorch's answer is used
and the slip is named in a comment.
"""

import pytest

import convcalc


def out(layers, shape):
    return convcalc.analyze(layers, shape).total.output_shape


def params(expr):
    return convcalc.analyze([expr], _input_for(expr)).total.params


def _input_for(expr):
    layer = convcalc.build_layer(expr)
    return (1, getattr(layer, "in_channels", 1)) + (9,) * getattr(layer, "ndim", 2)


# 000: Conv1d example: m = Conv1d(64, 32, 4, stride=2); input (3, 64, 128) -> (3, 32, 63)
def test_conv1d_example():
    assert out(["Conv1d(64, 32, 4, stride=2)"], (3, 64, 128)) == (3, 32, 63)


def test_conv1d_explain_formula():
    (e,) = convcalc.explain("Conv1d(64, 32, 4, stride=2)", (3, 64, 128))
    text = "\n".join(line for s in e.sections for line in s.lines)
    assert "floor((128 + 2×0 − 1×(4−1) − 1) / 2) + 1" in text
    assert text.count("= 63") >= 1


# 001: the Conv2d table (input, kernel, stride, padding -> output)
@pytest.mark.parametrize("size, k, s, p, expected", [
    (5, 2, 1, 0, 4),   # 4 = (5-2)/1 + 1
    (5, 3, 1, 0, 3),   # 3 = (5-3)/1 + 1
    (5, 2, 2, 0, 2),   # 2 = (5-2)/2 + 1 (floor)
    (6, 2, 2, 0, 3),   # 3 = (6-2)/2 + 1
    (5, 2, 1, 1, 6),   # the seed prints "6x6" but computes 4 = ...: (5 + 2 - 2)/1 + 1 = 6
    (5, 3, 1, 1, 5),   # the seed's row says 3; (5 + 2 - 3)/1 + 1 = 5 (its own output column agrees)
    (5, 3, 2, 2, 4),   # the seed's arithmetic says 3; (5 + 4 - 3)/2 + 1 = 4 (its output column: 4x4)
])
def test_conv2d_table(size, k, s, p, expected):
    assert out([f"Conv2d(1, 1, {k}, stride={s}, padding={p})"], (1, 1, size, size)) == (1, 1, expected, expected)


def test_conv2d_param_formula():
    # F × F × C_i × K + K
    assert params("Conv2d(3, 16, 5)") == 5 * 5 * 3 * 16 + 16


@pytest.mark.parametrize("stride, padding, expected", [(1, 0, 3), (2, 0, 2), (2, 1, 3)])
def test_functional_conv2d_5x5_shapes(stride, padding, expected):
    shape = out([f"Conv2d(1, 1, 3, stride={stride}, padding={padding})"], (1, 1, 5, 5))
    assert shape == (1, 1, expected, expected)


@pytest.mark.parametrize("ceil, expected", [(True, 2), (False, 1)])
def test_maxpool_ceil_mode_5x5(ceil, expected):
    assert out([f"MaxPool2d(kernel_size=3, ceil_mode={ceil})"], (1, 1, 5, 5)) == (1, 1, expected, expected)


def test_maxpool_4x4x5_stride_3():
    # input 4x4x5 (HxWxD), filter 3x3, stride 3: floor((4-3)/3) + 1 = 1
    assert out(["MaxPool2d(3, stride=3)"], (5, 4, 4)) == (5, 1, 1)


# 002/003: dilated, spatially separable, grouped and depthwise convolutions
def test_dilated_conv_7x7():
    assert out(["Conv2d(in_channels=3, out_channels=1, kernel_size=3, stride=1, padding=0, dilation=2)"],
               (1, 3, 7, 7)) == (1, 1, 3, 3)


def test_dilated_kernel_size_formula():
    # K = k + (k-1)(a-1): a=2 -> 5, a=4 -> 9 (effective kernel = receptive field of one layer)
    for a, size in ((1, 3), (2, 5), (4, 9)):
        rf = convcalc.analyze([f"Conv2d(1, 1, 3, dilation={a})"], (1, 1, 32, 32)).layers[0].receptive_field
        assert rf.size == (size, size)


def test_stacked_dilations_reach_15():
    # 1-, 2- and 4-dilated 3x3 convs stacked: 3x3 -> 7x7 -> 15x15
    a = convcalc.analyze(["Conv2d(1, 1, 3)", "Conv2d(1, 1, 3, dilation=2)", "Conv2d(1, 1, 3, dilation=4)"],
                         (1, 1, 64, 64))
    assert [r.receptive_field.size for r in a.layers] == [(3, 3), (7, 7), (15, 15)]


def test_three_plain_3x3_layers_reach_7():
    # (kernel-1)*layer + 1 = 7
    a = convcalc.analyze(["Conv2d(1, 1, 3)"] * 3, (1, 1, 32, 32))
    assert a.layers[-1].receptive_field.size == (7, 7)


def test_spatially_separable_3x1_then_1x3():
    a = convcalc.analyze(["Conv2d(3, 1, (3, 1))", "Conv2d(1, 1, (1, 3))"], (1, 3, 7, 7))
    assert [r.output_shape for r in a.layers] == [(1, 1, 5, 7), (1, 1, 5, 5)]


def test_separable_class_32_64_16():
    a = convcalc.analyze(["Conv2d(in_channels=32, out_channels=64, kernel_size=(3, 1))",
                          "Conv2d(in_channels=64, out_channels=16, kernel_size=(1, 3))"], (1, 32, 214, 214))
    assert a.total.output_shape == (1, 16, 212, 212)
    # c1.weight [64, 32, 3, 1], c1.bias [64], c2.weight [16, 64, 1, 3], c2.bias [16]
    assert [r.params for r in a.layers] == [64 * 32 * 3 * 1 + 64, 16 * 64 * 1 * 3 + 16]


def test_depthwise_vs_normal_8_channels():
    depthwise = convcalc.analyze(["Conv2d(8, 8, (3, 3), groups=8)", "Conv2d(8, 8, (1, 1))"], (1, 8, 32, 32))
    normal = convcalc.analyze(["Conv2d(8, 8, (3, 3))"], (1, 8, 32, 32))
    assert depthwise.total.output_shape == normal.total.output_shape == (1, 8, 30, 30)
    # c1.weight [8, 1, 3, 3] (3*3*1*1*8 = 72) + bias 8; c2.weight [8, 8, 1, 1] (64) + bias 8
    assert [r.params for r in depthwise.layers] == [72 + 8, 64 + 8]
    assert normal.total.params == 3 * 3 * 8 * 8 + 8  # 576 + 8


def test_grouped_conv_32_to_256():
    grouped = convcalc.analyze(["Conv2d(32, 256, 3, groups=8)"], (1, 32, 512, 512))
    plain = convcalc.analyze(["Conv2d(32, 256, 3)"], (1, 32, 512, 512))
    assert grouped.total.output_shape == plain.total.output_shape == (1, 256, 510, 510)
    assert grouped.total.params == 4 * 32 * 3 * 3 * 8 + 256  # weight [256, 4, 3, 3]
    assert plain.total.params == 32 * 256 * 3 * 3 + 256  # weight [256, 32, 3, 3]


def test_grouped_64_to_128_halves_weights():
    assert params("Conv2d(64, 128, 3, bias=False)") == 73_728
    assert params("Conv2d(64, 128, 3, groups=2, bias=False)") == 36_864


def test_lenet_like_network():
    layers = ["Conv2d(in_channels=1, out_channels=6, kernel_size=5)", "ReLU()", "AdaptiveAvgPool2d(14)",
              "Conv2d(in_channels=6, out_channels=16, kernel_size=5)", "ReLU()", "AdaptiveAvgPool2d(5)",
              "Flatten()", "Linear(400, 120)", "ReLU()",  # 16*5*5 in the seed
              "Linear(120, 84)", "ReLU()", "Linear(84, 10)"]
    a = convcalc.analyze(layers, (1, 1, 28, 28))
    shapes = [r.output_shape for r in a.layers]
    assert shapes[0] == (1, 6, 24, 24) and shapes[2] == (1, 6, 14, 14)
    assert shapes[3] == (1, 16, 10, 10) and shapes[5] == (1, 16, 5, 5) and shapes[6] == (1, 400)
    assert a.total.output_shape == (1, 10)
    assert a.total.params == (6 * 25 + 6) + (16 * 6 * 25 + 16) + (400 * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10)


# transposed convolution (the ConvTranspose2d tutorial)
def test_convtranspose_docs_examples():
    assert out(["ConvTranspose2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2))"], (20, 16, 50, 100)) \
        == (20, 33, 93, 100)
    assert out(["ConvTranspose2d(16, 33, 3, stride=2)"], (20, 16, 50, 100)) == (20, 33, 101, 201)


def test_downsample_then_upsample():
    # Conv2d(16,16,3,stride=2,padding=1) on 12x12 -> 6x6; the same ConvTranspose gives 11x11
    # (the tutorial reaches 12x12 only by passing output_size to forward)
    a = convcalc.analyze(["Conv2d(16, 16, 3, stride=2, padding=1)", "ConvTranspose2d(16, 16, 3, stride=2, padding=1)"],
                         (1, 16, 12, 12))
    assert [r.output_shape for r in a.layers] == [(1, 16, 6, 6), (1, 16, 11, 11)]
    # output_padding=1 recovers 12x12
    assert out(["ConvTranspose2d(16, 16, 3, stride=2, padding=1, output_padding=1)"], (1, 16, 6, 6)) == (1, 16, 12, 12)


def test_conv_then_transpose_same_arguments():
    # The tutorial claims tconv(conv(X)).shape == X.shape for 16x16 with k=3, padding=2,
    # stride=3. PyTorch gives 16 -> 6 -> 14, so the claim is a slip.
    a = convcalc.analyze(["Conv2d(7, 10, kernel_size=3, padding=2, stride=3)",
                          "ConvTranspose2d(10, 7, kernel_size=3, padding=2, stride=3)"], (1, 7, 16, 16))
    assert [r.output_shape for r in a.layers] == [(1, 10, 6, 6), (1, 7, 14, 14)]


@pytest.mark.parametrize("padding, size", [(1, 3), (0, 5)])
def test_transposed_padding_trims_the_border(padding, size):
    assert out([f"ConvTranspose2d(1, 1, kernel_size=3, stride=1, padding={padding}, output_padding=0, bias=False)"],
               (1, 1, 3, 3)) == (1, 1, size, size)


@pytest.mark.parametrize("op, size", [(0, 7), (1, 8)])
def test_transposed_output_padding_adds_one_side(op, size):
    assert out([f"ConvTranspose2d(1, 1, kernel_size=3, stride=2, padding=0, output_padding={op}, bias=False)"],
               (1, 1, 3, 3)) == (1, 1, size, size)


def test_output_padding_must_be_smaller_than_stride_or_dilation():
    with pytest.raises(convcalc.ConvcalcError, match="output_padding 1 along H must be smaller than either stride 1 or dilation 1"):
        convcalc.analyze(["ConvTranspose2d(1, 1, 3, output_padding=1)"], (1, 1, 3, 3))


@pytest.mark.parametrize("expr", ["ConvTranspose2d(8, 8, kernel_size=2, stride=2)",
                                  "ConvTranspose2d(8, 8, kernel_size=3, stride=2, padding=1, output_padding=1)"])
def test_two_ways_to_upsample_by_two(expr):
    assert out([expr], (1, 8, 10, 10)) == (1, 8, 20, 20)


def test_transposed_explain_shows_direct_convolution():
    (e,) = convcalc.explain("ConvTranspose2d(1, 1, 3, stride=2, padding=1)", (1, 1, 4, 4))
    direct = next(s for s in e.sections if s.title == "as a direct convolution")
    assert "H_zero_inserted = (H_in−1)×stride + 1 = (4−1)×2 + 1 = 7" in direct.lines[1]
    assert "H_pad = dilation×(kernel−1) − padding = 1×(3−1) − 1 = 1" in direct.lines[2]
