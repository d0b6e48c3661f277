"""The README's FLOPs-per-element table ("What is counted") is what the code counts.

Every row of the table is read and checked through the public API: each layer it
names is analysed on a small shape and its FLOPs divided by its output elements must
equal the row's figure, or the row's formula (`prod(kernel) − 1`, `window size`,
`inputs − 1`, ...) evaluated here on the layer's own kernel, windows or inputs.  A row
this test does not understand fails it, so the table cannot drift from the code.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from fractions import Fraction
from pathlib import Path

import pytest

import convcalc
from convcalc.analysis import Graph, Node, walk

README = Path(__file__).resolve().parent.parent / "README.md"


def flops_rows() -> list[tuple[str, str, str]]:
    """(layer, figure, why) of each row of the table in the "What is counted" section."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## What is counted", 1)[1].split("\n## ", 1)[0]
    lines = [line.strip() for line in section.splitlines() if line.strip().startswith("|")]
    assert lines and "FLOPs per output element" in lines[0], "the table's header moved"
    rows = []
    for line in lines[2:]:  # after the header and the |---| line
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert len(cells) == 3, f"expected 3 cells in {line!r}"
        rows.append((cells[0], cells[1].replace("−", "-"), cells[2]))
    return rows


ROWS = flops_rows()


# ------------------------------------------------------------------ analysing a layer

ACT = (2, 3, 4, 5)


def analyse(expr: str, shape: tuple[int, ...], inputs: int = 1):
    """The layer's row; a merge reads `inputs` copies of the network input."""
    if inputs == 1:
        return convcalc.analyze([expr], shape).layers[-1]
    graph = Graph(shape)
    graph.nodes.append(Node(name="merge", layer=convcalc.build_layer(expr),
                            inputs=("input",) * inputs, spec=expr))
    return walk(graph).layers[-1]


def per_element(expr: str, shape: tuple[int, ...], inputs: int = 1) -> Fraction:
    row = analyse(expr, shape, inputs)
    return Fraction(row.flops, math.prod(row.output_shape))


#: what each name in the table stands for: (expression, input shape, number of inputs)
NAMED = {
    "BatchNorm": [("BatchNorm1d(3)", (2, 3, 5), 1), ("BatchNorm2d(3)", (2, 3, 4, 5), 1),
                  ("BatchNorm3d(3, affine=False)", (1, 3, 2, 3, 4), 1)],
    "InstanceNorm with track_running_stats=True": [
        ("InstanceNorm1d(3, track_running_stats=True)", (2, 3, 5), 1),
        ("InstanceNorm2d(3, affine=True, track_running_stats=True)", (3, 4, 5), 1),
        ("InstanceNorm3d(3, track_running_stats=True)", (1, 3, 1, 1, 1), 1)],
    "ReLU": [("ReLU()", ACT, 1)], "ReLU6": [("ReLU6()", ACT, 1)],
    "Hardtanh": [("Hardtanh(-2.0, 2.0)", ACT, 1)],
    "LeakyReLU": [("LeakyReLU(0.2)", ACT, 1)],
    "PReLU": [("PReLU()", ACT, 1), ("PReLU(3)", ACT, 1)],
    "Sigmoid": [("Sigmoid()", ACT, 1)], "Tanh": [("Tanh()", ACT, 1)], "SiLU": [("SiLU()", ACT, 1)],
    "GELU": [("GELU()", ACT, 1), ("GELU(approximate='none')", ACT, 1)],
    "GELU tanh": [("GELU(approximate='tanh')", ACT, 1)],
    "Hardswish": [("Hardswish()", ACT, 1)], "Hardsigmoid": [("Hardsigmoid()", ACT, 1)],
    "ELU": [("ELU()", ACT, 1)], "CELU": [("CELU()", ACT, 1)], "SELU": [("SELU()", ACT, 1)],
    "Mish": [("Mish()", ACT, 1)], "Softplus": [("Softplus()", ACT, 1)],
    "Softsign": [("Softsign()", ACT, 1)], "Tanhshrink": [("Tanhshrink()", ACT, 1)],
    "Softmax": [("Softmax(dim=1)", ACT, 1)], "LogSoftmax": [("LogSoftmax(dim=1)", ACT, 1)],
    "Softmax2d": [("Softmax2d()", ACT, 1), ("Softmax2d()", (3, 4, 5), 1)],
    "Upsample nearest": [("Upsample(scale_factor=2)", (1, 2, 3, 4), 1),
                         ("Upsample(size=(5, 7), mode='nearest-exact')", (1, 2, 3, 4), 1)],
    "padding": [("ZeroPad2d(1)", ACT, 1), ("ConstantPad1d((1, 2), 0.5)", ACT, 1),
                ("ReflectionPad2d(1)", ACT, 1), ("ReplicationPad3d(1)", ACT, 1),
                ("CircularPad2d(1)", ACT, 1)],
    "shuffles": [("PixelShuffle(2)", (1, 8, 2, 3), 1), ("PixelUnshuffle(2)", (1, 2, 4, 6), 1),
                 ("ChannelShuffle(3)", (1, 6, 2, 2), 1)],
    "Unfold": [("Unfold(2)", ACT, 1), ("Unfold((2, 3), dilation=2, padding=1, stride=2)", (3, 7, 8), 1)],
    "Flatten": [("Flatten()", ACT, 1)], "Identity": [("Identity()", ACT, 1)],
    "Dropout": [("Dropout(0.3)", ACT, 1), ("Dropout2d()", ACT, 1), ("AlphaDropout()", ACT, 1),
                ("FeatureAlphaDropout()", ACT, 1)],
    "Concat": [("Concat(dim=1)", ACT, 2), ("Concat(dim=1)", ACT, 3)],
}


def named(name: str):
    assert name in NAMED, f"README names {name!r}, which this test does not know"
    return NAMED[name]


# ------------------------------------------------------------------ the README's formulas

_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}


def evaluate(formula: str, **variables: int) -> int:
    """`formula` (e.g. "prod(kernel) - 1") with its words replaced by `variables`
    (`prod(kernel)` -> prod_kernel, `window size` -> window_size); + - * only."""
    text = formula.replace("prod(kernel)", "prod_kernel").replace("window size", "window_size")

    def value(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name) and node.id in variables:
            return variables[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](value(node.left), value(node.right))
        raise AssertionError(f"formula {formula!r} not understood at {ast.dump(node)}")
    return value(ast.parse(text, mode="eval").body)


def adaptive_windows(sizes: tuple[int, ...], outs: tuple[int, ...]) -> list[int]:
    """Window size of every output position: PyTorch's adaptive windows are
    [floor(o*a/b), ceil((o+1)*a/b)) along an axis of a inputs and b outputs."""
    per_axis = [[-((-(o + 1) * a) // b) - (o * a) // b for o in range(b)] for a, b in zip(sizes, outs)]
    return [math.prod(combo) for combo in _product(per_axis)]


def _product(lists):
    if not lists:
        yield ()
        return
    for first in lists[0]:
        for rest in _product(lists[1:]):
            yield (first,) + rest


# ------------------------------------------------------------------ one checker per kind of row

def constant_row(layer: str, figure: str, why: str) -> bool:
    """`ReLU6, Hardtanh | 2`, and GELU's `5 (tanh approximation: 9)`."""
    m = re.fullmatch(r"(\d+)(?: \(tanh approximation: (\d+)\))?", figure)
    if not m:
        return False
    names = [n.strip() for n in re.sub(r"\s*\(inference\)", "", layer).split(",")]
    expected = {name: int(m[1]) for name in names}
    if m[2] is not None:
        assert names == ["GELU"], f"a tanh approximation for {names}"
        expected["GELU tanh"] = int(m[2])
    for name, figure_ in expected.items():
        for expr, shape, inputs in named(name):
            assert per_element(expr, shape, inputs) == figure_, f"{expr}: README says {figure_}"
    return True


def inline_row(layer: str, figure: str, why: str) -> bool:
    """`ELU 4, CELU 5, ... |  | as their formulas`: figures written next to the names."""
    pairs = [p.strip() for p in layer.split(",")]
    if figure or not all(re.fullmatch(r"\w+ \d+", p) for p in pairs):
        return False
    for pair in pairs:
        name, figure_ = pair.rsplit(" ", 1)
        for expr, shape, inputs in named(name):
            assert per_element(expr, shape, inputs) == int(figure_), f"{expr}: README says {figure_}"
    return True


POOLS = {  # (expression, input shape, kernel)
    "MaxPoolNd": [("MaxPool1d(3)", (2, 3, 10), (3,)),
                  ("MaxPool2d((2, 3), stride=1, dilation=2)", (1, 2, 7, 9), (2, 3)),
                  ("MaxPool3d(2, padding=1, ceil_mode=True)", (1, 2, 5, 4, 3), (2, 2, 2))],
    "AvgPoolNd": [("AvgPool1d(4, stride=2)", (2, 3, 11), (4,)),
                  ("AvgPool2d((3, 2), padding=1, count_include_pad=False)", (1, 2, 7, 6), (3, 2)),
                  ("AvgPool3d((1, 2, 3), divisor_override=5)", (1, 2, 4, 4, 6), (1, 2, 3))],
}


def pool_row(layer: str, figure: str, why: str) -> bool:
    """`MaxPoolNd | prod(kernel) - 1`."""
    if "prod(kernel)" not in figure:
        return False
    assert layer in POOLS, f"README gives a kernel rule for {layer!r}, which this test does not know"
    for expr, shape, kernel in POOLS[layer]:
        want = evaluate(figure, prod_kernel=math.prod(kernel))
        assert per_element(expr, shape) == want, f"{expr}: README says {figure} = {want}"
    return True


ADAPTIVE = {  # (expression, input shape, output spatial size)
    "AdaptiveAvgPool": [("AdaptiveAvgPool1d(3)", (2, 3, 8), (3,)),
                        ("AdaptiveAvgPool2d((3, 4))", (1, 2, 7, 10), (3, 4)),
                        ("AdaptiveAvgPool3d((2, 3, 5))", (1, 2, 5, 7, 3), (2, 3, 5))],
    "AdaptiveMaxPool": [("AdaptiveMaxPool1d(5)", (2, 3, 7), (5,)),
                        ("AdaptiveMaxPool2d((3, 4))", (1, 2, 7, 10), (3, 4)),
                        ("AdaptiveMaxPool3d(2)", (1, 2, 5, 3, 4), (2, 2, 2))],
    "Upsample(mode='area')": [("Upsample(size=(3, 5), mode='area')", (1, 2, 7, 4), (3, 5)),
                              ("Upsample(scale_factor=0.5, mode='area')", (2, 3, 9), (4,))],
}


def window_row(layer: str, figure: str, why: str) -> bool:
    """`AdaptiveAvgPool / Upsample(mode='area') | window size`: summed over the windows."""
    if "window size" not in figure:
        return False
    for name in (n.strip() for n in layer.split("/")):
        assert name in ADAPTIVE, f"README gives a window rule for {name!r}, which this test does not know"
        for expr, shape, outs in ADAPTIVE[name]:
            row = analyse(expr, shape)
            n = len(outs)
            assert row.output_shape == shape[:-n] + outs, expr
            lead = math.prod(shape[:-n])
            want = lead * sum(evaluate(figure, window_size=w) for w in adaptive_windows(shape[-n:], outs))
            assert row.flops == want, f"{expr}: README's {figure!r} over the windows gives {want}"
    return True


UPSAMPLE_RANK = {"linear": 1, "bilinear": 2, "trilinear": 3, "bicubic": 2}


def taps_row(layer: str, figure: str, why: str) -> bool:
    """`Upsample linear / bilinear / ... | 3 / 7 / ... | weighted sum of 2, 4, ... taps`."""
    m = re.fullmatch(r"Upsample (.+)", layer)
    if not m or "/" not in figure:
        return False
    modes = [s.strip() for s in m[1].split("/")]
    figures = [int(s) for s in figure.split("/")]
    taps_text = re.fullmatch(r"weighted sum of (.+) taps", why)
    assert taps_text, f"the taps of {layer!r} are not given as 'weighted sum of ... taps'"
    taps = [int(s) for s in taps_text[1].split(",")]
    assert len(modes) == len(figures) == len(taps), layer
    for mode, figure_, tap in zip(modes, figures, taps):
        assert mode in UPSAMPLE_RANK, f"README names Upsample mode {mode!r}, which this test does not know"
        assert figure_ == 2 * tap - 1, f"{tap} taps weighted and summed: {tap} multiplies, {tap - 1} adds"
        n = UPSAMPLE_RANK[mode]
        shape = (2, 3) + (3, 4, 2)[:n]
        size = (5, 3, 4)[:n]
        for resize in ("scale_factor=2", "scale_factor=1.5, align_corners=True",
                       f"size={size[0] if n == 1 else size}"):
            expr = f"Upsample({resize}, mode={mode!r})"
            assert per_element(expr, shape) == figure_, f"{expr}: README says {figure_}"
    return True


def merge_row(layer: str, figure: str, why: str) -> bool:
    """`Add, Mul | inputs - 1`, through a graph whose merge reads 2 and 3 inputs."""
    if "inputs" not in figure:
        return False
    for name in (n.strip() for n in layer.split(",")):
        assert name in ("Add", "Mul"), f"README gives an inputs rule for {name!r}, which this test does not know"
        for inputs in (2, 3, 4):
            want = evaluate(figure.replace("inputs", "k"), k=inputs)
            assert per_element(f"{name}()", ACT, inputs) == want, f"{name} of {inputs} inputs"
    return True


STATISTICS = {  # (expression, input shape, affine, bias)
    "GroupNorm": [("GroupNorm(2, 4, affine=False)", (2, 4, 3, 5), False, False),
                  ("GroupNorm(2, 4)", (2, 4, 3, 5), True, True),
                  ("GroupNorm(1, 3, bias=False)", (1, 3, 7), True, False)],
    "LayerNorm": [("LayerNorm((4, 5), elementwise_affine=False)", (2, 3, 4, 5), False, False),
                  ("LayerNorm(5)", (2, 3, 4, 5), True, True),
                  ("LayerNorm((3, 4, 5), bias=False)", (2, 3, 4, 5), True, False)],
    "InstanceNorm without running statistics": [
        ("InstanceNorm1d(3)", (2, 3, 5), False, False),
        ("InstanceNorm2d(3, affine=True)", (3, 4, 5), True, True),
        ("InstanceNorm3d(3, affine=True, bias=False)", (1, 3, 2, 3, 4), True, False)],
}


def statistics_row(layer: str, figure: str, why: str) -> bool:
    """`GroupNorm, ... | 6 (affine: 8, without bias: 7)`: one figure per affine setting."""
    m = re.fullmatch(r"(\d+) \(affine: (\d+), without bias: (\d+)\)", figure)
    if not m:
        return False
    for name in (n.strip() for n in layer.split(",")):
        assert name in STATISTICS, f"README gives statistics costs for {name!r}, which this test does not know"
        for expr, shape, affine, bias in STATISTICS[name]:
            want = int(m[1]) if not affine else int(m[2]) if bias else int(m[3])
            assert per_element(expr, shape) == want, f"{expr}: README says {want}"
    return True


def lrn_row(layer: str, figure: str, why: str) -> bool:
    """`LocalResponseNorm | size + 5`, evaluated on each layer's own size."""
    if layer != "LocalResponseNorm":
        return False
    for size, shape in ((1, (2, 3, 4)), (3, (2, 5, 4, 4)), (5, (1, 8, 3, 3)), (10, (1, 3, 2, 2, 2))):
        want = evaluate(figure, size=size)
        assert per_element(f"LocalResponseNorm({size})", shape) == want, f"size {size}: README says {want}"
    return True


FOLDS = [  # (expression, input shape): PyTorch's output is (N, C, *output_size)
    ("Fold(4, 2)", (1, 12, 9)),
    ("Fold((5, 6), (2, 3), dilation=(2, 1), padding=1, stride=(2, 1))", (2, 12, 18)),
    ("Fold(5, 2, stride=3)", (4, 4)),              # gaps: some positions receive nothing
    ("Fold(3, 3, padding=2, stride=2)", (1, 9, 9)),  # values falling in the padding
]


def fold_row(layer: str, figure: str, why: str) -> bool:
    """`Fold | block values landing on it`: every (channel, kernel offset, block) of the
    input traced to its output position, counting those inside the output."""
    if layer != "Fold":
        return False
    assert figure == "block values landing on it", figure
    for expr, shape in FOLDS:
        layer_ = convcalc.build_layer(expr)
        (oh, ow), (kh, kw) = layer_.output_size, layer_.kernel_size
        (dh, dw), (ph, pw), (sh, sw) = layer_.dilation, layer_.padding, layer_.stride
        row = analyse(expr, shape)
        *lead, c, h, w = row.output_shape
        assert (h, w) == (oh, ow), expr
        blocks_w = (ow + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        landed = 0
        for block in range(shape[-1]):
            bh, bw = divmod(block, blocks_w)
            for i in range(kh):
                for j in range(kw):
                    y, x = bh * sh - ph + i * dh, bw * sw - pw + j * dw
                    landed += 0 <= y < oh and 0 <= x < ow
        assert row.flops == math.prod(lead) * c * landed, f"{expr}: {landed} values land per channel"
    return True


DEFORMS = [  # (expression, input shape, offset groups, mask)
    ("DeformConv2d(4, 6, 3, padding=1)", (2, 4, 7, 7), 1, False),
    ("DeformConv2d(4, 6, 3, padding=1)", (2, 4, 7, 7), 2, True),
    ("DeformConv2d(6, 4, (3, 2), stride=2, dilation=(1, 2), groups=2, bias=False)", (1, 6, 9, 8), 3, True),
    ("DeformConv2d(8, 16, 1, groups=4)", (3, 8, 5, 4), 4, False),
]


def _fraction_formula(formula: str, **variables) -> Fraction:
    """`2·kh·kw·(C_in/groups + ...)` with exact division; names are looked up in `variables`."""
    ops = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}

    def value(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return Fraction(node.value)
        if isinstance(node, ast.Name) and node.id in variables:
            return Fraction(variables[node.id])
        if isinstance(node, ast.BinOp) and type(node.op) in ops:
            return ops[type(node.op)](value(node.left), value(node.right))
        raise AssertionError(f"formula {formula!r} not understood at {ast.dump(node)}")
    return value(ast.parse(formula.replace("·", "*"), mode="eval").body)


def deform_row(layer: str, figure: str, why: str) -> bool:
    """`DeformConv2d | 2·kh·kw·(...), + 1 with a bias`: through a graph that gives the
    layer an offset and (or not) a mask, per output element."""
    if layer != "DeformConv2d":
        return False
    formula, _, bias_text = figure.partition(", ")
    assert bias_text == "+ 1 with a bias", figure
    for expr, shape, og, mask in DEFORMS:
        dcn = convcalc.build_layer(expr)
        (kh, kw), n, c = dcn.kernel_size, len(shape), shape[1]
        window = (f"{dcn.kernel_size}, stride={dcn.stride}, padding={dcn.padding}, dilation={dcn.dilation}")
        graph = Graph(shape)
        graph.nodes.append(Node("offset", convcalc.build_layer(f"Conv2d({c}, {2 * og * kh * kw}, {window})"),
                                ("input",), "offset"))
        inputs = ("input", "offset")
        if mask:
            graph.nodes.append(Node("mask", convcalc.build_layer(f"Conv2d({c}, {og * kh * kw}, {window})"),
                                    ("input",), "mask"))
            inputs += ("mask",)
        graph.nodes.append(Node("dcn", dcn, inputs, expr))
        row = walk(graph).layers[-1]
        want = _fraction_formula(formula, kh=kh, kw=kw, C_in=c, groups=dcn.groups, C_out=dcn.out_channels,
                                 mask=int(mask)) + (1 if dcn.bias else 0)
        assert Fraction(row.flops, math.prod(row.output_shape)) == want, f"{expr}: README says {want}"
        assert n == 4
    return True


KINDS = [constant_row, inline_row, pool_row, window_row, taps_row, merge_row, statistics_row, lrn_row,
         fold_row, deform_row]


def test_the_table_is_there():
    assert len(ROWS) >= 10, ROWS


@pytest.mark.parametrize("layer, figure, why", ROWS, ids=[r[0] for r in ROWS])
def test_readme_row_is_what_the_code_counts(layer, figure, why):
    understood = [kind.__name__ for kind in KINDS if kind(layer, figure, why)]
    assert understood, f"README FLOPs row not understood: | {layer} | {figure} | {why} |"
    assert len(understood) == 1, f"row | {layer} | {figure} | read as {understood}"
