"""The layer-family protocol: every registered family has each piece, every convention
and (from issue 11) the executor find it, and a gap fails a test that names it."""

from __future__ import annotations

import json
import pathlib

import pytest

import convcalc
from convcalc.analysis import Graph, Node, conventions, walk
from convcalc.analysis.explain import explain
from convcalc.classtable import MissingEntry
from convcalc.errors import ConvcalcError, LayerConfigError
from convcalc.layers import build_layer
from convcalc.layers.base import Layer, Parameterless, Pointwise, protocol_gaps
from convcalc.layers.conv import ConvNd, ConvTransposeNd
from convcalc.layers.registry import families, table
from convcalc.numeric import kernels
from convcalc.record import fields, record

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "torch_layers.json"

#: one valid use of every registered name: (expression, input shape[, number of inputs])
SAMPLES = {
    "Conv{n}d": ("Conv{n}d(4, 6, 3, padding=1, groups=2)", "2x4x{s}"),
    "ConvTranspose{n}d": ("ConvTranspose{n}d(4, 6, 3, stride=2, groups=2)", "2x4x{s}"),
    "LazyConv{n}d": ("LazyConv{n}d(6, 3)", "2x4x{s}"),
    "LazyConvTranspose{n}d": ("LazyConvTranspose{n}d(6, 3, stride=2)", "2x4x{s}"),
    "SeparableConv{n}d": ("SeparableConv{n}d(4, 6, 3)", "2x4x{s}"),
    "MaxPool{n}d": ("MaxPool{n}d(2, ceil_mode=True)", "2x4x{s}"),
    "AvgPool{n}d": ("AvgPool{n}d(2, padding=1)", "2x4x{s}"),
    "AdaptiveAvgPool{n}d": ("AdaptiveAvgPool{n}d(3)", "2x4x{s}"),
    "AdaptiveMaxPool{n}d": ("AdaptiveMaxPool{n}d(3)", "2x4x{s}"),
    "BatchNorm{n}d": ("BatchNorm{n}d(4)", "2x4x{s}"),
    "LazyBatchNorm{n}d": ("LazyBatchNorm{n}d()", "2x4x{s}"),
    "ZeroPad{n}d": ("ZeroPad{n}d(1)", "2x4x{s}"),
    "ConstantPad{n}d": ("ConstantPad{n}d(1, 0.5)", "2x4x{s}"),
    "ReflectionPad{n}d": ("ReflectionPad{n}d(1)", "2x4x{s}"),
    "ReplicationPad{n}d": ("ReplicationPad{n}d(1)", "2x4x{s}"),
    "CircularPad{n}d": ("CircularPad{n}d(1)", "2x4x{s}"),
    "Dropout{n}d": ("Dropout{n}d()", "2x4x{s}"),
    "Linear": ("Linear(7, 3)", "2x4x7"), "LazyLinear": ("LazyLinear(3)", "2x4x7"),
    "Flatten": ("Flatten()", "2x4x7"), "Identity": ("Identity()", "2x4x7"),
    "PReLU": ("PReLU(4)", "2x4x7"),
    "Upsample": ("Upsample(scale_factor=2, mode='bilinear')", "2x4x5x5"),
    "UpsamplingNearest2d": ("UpsamplingNearest2d(scale_factor=2)", "2x4x5x5"),
    "UpsamplingBilinear2d": ("UpsamplingBilinear2d(size=(8, 8))", "2x4x5x5"),
    "PixelShuffle": ("PixelShuffle(2)", "2x4x5x5"), "PixelUnshuffle": ("PixelUnshuffle(5)", "2x4x5x5"),
    "ChannelShuffle": ("ChannelShuffle(2)", "2x4x5x5"),
    "InstanceNorm{n}d": ("InstanceNorm{n}d(4, affine=True)", "2x4x{s}"),
    "GroupNorm": ("GroupNorm(2, 4)", "2x4x5x5"), "LayerNorm": ("LayerNorm((5, 5))", "2x4x5x5"),
    "LocalResponseNorm": ("LocalResponseNorm(3)", "2x4x5x5"), "Softmax2d": ("Softmax2d()", "2x4x5x5"),
    "Unfold": ("Unfold(2, padding=1, stride=2)", "2x4x5x5"), "Fold": ("Fold(5, 2)", "2x16x16"),
    # x and its offset: 18 = 2·3·3 offset channels on the 5×5 output (offset_groups=1)
    "DeformConv2d": ("DeformConv2d(18, 6, 3, padding=1, groups=2)", "2x18x5x5", 2),
    "Add": ("Add()", "2x4x5x5", 2), "Mul": ("Mul()", "2x4x5x5", 2), "Concat": ("Concat(dim=1)", "2x4x5x5", 2),
}
ACTIVATION_SAMPLE = "2x4x5x5"


def _samples():
    from convcalc.layers.registry import ACTIVATIONS
    out = {}
    for pattern, sample in SAMPLES.items():
        for n, size in ((1, "9"), (2, "9x9"), (3, "9x9x9")):
            name = pattern.format(n=n)
            if "{n}" in pattern or n == 1:
                out[name.lower()] = (sample[0].format(n=n), sample[1].format(s=size), *sample[2:])
    for name in ACTIVATIONS:
        out.setdefault(name.lower(), (f"{name}()", ACTIVATION_SAMPLE))
    out["cat"] = out["concat"]
    return out


ALL_SAMPLES = _samples()


def _analyse(expr: str, shape: str, inputs: int = 1, convention=None):
    layer = build_layer(expr)
    x = convcalc.parse_shape(shape)
    if inputs == 1:
        graph = Graph(x, [Node("l", layer, ("input",), expr)])
    else:
        graph = Graph(x, [Node("a", build_layer("Identity()"), ("input",), "Identity()"),
                          Node("l", layer, ("input", "a"), expr)])
    return walk(graph, convention=convention)


def test_every_registered_name_has_a_sample():
    missing = sorted(spec.name for key, spec in table().items() if key not in ALL_SAMPLES)
    assert not missing, f"add a sample use of {missing} to SAMPLES"


@pytest.mark.parametrize("family", families(), ids=lambda f: f.__name__)
def test_every_family_implements_the_protocol(family):
    assert protocol_gaps(family) == [], f"{family.__name__} lacks {protocol_gaps(family)}"


@pytest.mark.parametrize("convention", conventions.NAMES)
def test_every_concrete_family_has_a_rule_in_every_convention(convention):
    concrete = [f for f in families() if not f.wrapper]
    assert conventions.get(convention).rules.missing(concrete) == []


@pytest.mark.parametrize("key", sorted(ALL_SAMPLES))
@pytest.mark.parametrize("convention", conventions.NAMES)
def test_every_registered_name_analyses_and_explains(key, convention):
    """Every name, under every convention: shape, params, counts, receptive field and an
    explanation whose formulas give the analysed shape; wrappers become concrete families."""
    analysis = _analyse(*ALL_SAMPLES[key], convention=convention)
    for row in analysis.layers:
        assert not type(row.layer).wrapper and type(row.layer) in families()
    for e in explain(analysis):
        assert e.derived_shape == e.row.output_shape
        text = e.text()
        assert "NotImplemented" not in text and e.row.spec in text


@pytest.mark.parametrize("key", sorted(ALL_SAMPLES))
def test_every_spec_builds_the_same_layer_again(key):
    """A layer's printed spec is an expression for the same layer (no argument dropped
    because it happens to equal a default convcalc gave the field)."""
    layer = build_layer(ALL_SAMPLES[key][0])
    assert build_layer(layer.spec()) == layer
    if not layer.wrapper:
        assert type(layer)(*[getattr(layer, f.name) for f in fields(layer)]) == layer


def test_a_family_missing_a_piece_is_named():
    @record
    class Half(Layer):  # a shape rule, but no parameter count and no receptive-field step
        def derive(self, inputs, terms):
            return inputs[0]

    assert protocol_gaps(Half) == ["parameter count (params)", "receptive-field step (rf_effect)"]

    @record
    class Wrapper(Layer):
        wrapper = True

    assert protocol_gaps(Wrapper) == ["resolve or expand"]


def test_a_family_without_a_counting_rule_is_an_error_not_zero():
    @record
    class Unregistered(Parameterless, Pointwise, Layer):
        type_name = "Unregistered"

        def derive(self, inputs, terms):
            return inputs[0]

    assert conventions.get().rules.missing([Unregistered]) == ["Unregistered"]
    with pytest.raises(MissingEntry, match="Unregistered has no counting rule in the 'convcalc' convention"):
        convcalc.analyze([Unregistered()], (1, 3, 8, 8))


def test_a_subclass_is_counted_as_its_family():
    @record
    class MyConv(ConvNd):
        pass

    layer = MyConv(3, 8, 3)
    row = convcalc.analyze([layer], (2, 3, 10, 10)).layers[0]
    assert row.macs == 2 * 8 * 8 * 8 * 3 * 3 * 3
    assert row.flops == 2 * row.macs + 2 * 8 * 8 * 8


def test_kernel_registration_detects_a_missing_kernel():
    from convcalc.classtable import ClassTable
    table_ = ClassTable("numeric kernel")
    table_.register(ConvNd)(lambda layer, inputs, params: None)
    assert table_.missing([ConvNd, ConvTransposeNd]) == ["ConvTransposeNd"]
    with pytest.raises(MissingEntry, match="ConvTransposeNd has no numeric kernel"):
        table_.lookup(ConvTransposeNd)


def test_every_concrete_family_has_a_numeric_kernel():
    assert kernels.missing() == []


# ----------------------------------------------------------- checks live in the classes

BAD = [
    ("Conv2d(3, 64, 3, stride=0)", lambda: ConvNd(3, 64, 3, stride=0)),
    ("Conv2d(3, 64, (3, 3), (0, 0), (0, 0), (1, 1))", lambda: ConvNd(3, 64, (3, 3), (0, 0), (0, 0), (1, 1))),
    ("Conv2d(3, 64, 3, groups=2)", lambda: ConvNd(3, 64, 3, groups=2)),
    ("Conv2d(3, 64, 3, padding='same', stride=2)", lambda: ConvNd(3, 64, 3, stride=2, padding="same")),
    ("Conv1d(3, 64, 3, padding_mode='mirror')", lambda: ConvNd(3, 64, 3, padding_mode="mirror", ndim=1)),
    ("ConvTranspose2d(4, 4, 3, output_padding=-1)",
     lambda: ConvTransposeNd(4, 4, 3, output_padding=-1)),
]


@pytest.mark.parametrize("expr, build", BAD, ids=[b[0] for b in BAD])
def test_a_layer_built_in_python_is_refused_as_the_expression_is(expr, build):
    with pytest.raises(LayerConfigError) as parsed:
        build_layer(expr)
    with pytest.raises(LayerConfigError) as direct:
        build()
    assert direct.value.message == parsed.value.message


def test_the_reported_zero_division_is_a_config_error():
    with pytest.raises(LayerConfigError, match="stride must be positive"):
        convcalc.analyze([ConvNd(3, 64, (3, 3), (0, 0), (0, 0), (1, 1))], (1, 3, 8, 8))


def test_python_built_layers_normalise_like_pytorch():
    assert ConvNd(3, 8, 3, padding=1).kernel_size == (3, 3)
    assert ConvNd(3, 8, 3, stride=(2,)).stride == (2, 2)  # PyTorch repeats a 1-tuple
    assert convcalc.analyze([ConvNd(3, 8, 3, padding=1)], (1, 3, 8, 8)).total.output_shape == (1, 8, 8, 8)


# ----------------------------------------------------------- graphs

def _node(name, expr, *inputs):
    return Node(name, build_layer(expr), inputs or ("input",), expr)


@pytest.mark.parametrize("nodes, fragment, entry", [
    ([_node("a", "ReLU()", "nowhere")], "unknown reference 'nowhere'", "a"),
    ([_node("a", "ReLU()", "b"), _node("b", "ReLU()", "a")], "cycle", "b"),
    ([_node("a", "ReLU()"), _node("a", "ReLU()")], "the name 'a' is used twice", "a"),
    ([_node("input", "ReLU()")], "reserved for the network input", "input"),
    ([_node("a", "ReLU()"), _node("b", "ReLU()", "input", "a")], "ReLU takes 1 input; got 2", "b"),
    ([_node("a", "Add()")], "needs at least two inputs; got 1", "a"),
])
def test_graph_validation_names_the_entry(nodes, fragment, entry):
    with pytest.raises(ConvcalcError) as info:
        walk(Graph((1, 3, 8, 8), nodes))
    assert fragment in info.value.message and info.value.location.entry == entry


def test_graph_nodes_may_come_in_any_order():
    nodes = [_node("sum", "Add()", "left", "right"), _node("left", "Conv2d(3, 3, 3, padding=1)"),
             _node("right", "ReLU()")]
    analysis = walk(Graph((1, 3, 8, 8), nodes))
    assert [r.name for r in analysis.layers] == ["left", "right", "sum"]
    assert analysis.total.output_shape == (1, 3, 8, 8)


# ----------------------------------------------------------- explain over the torch fixture

def _valid_cases():
    with FIXTURE.open() as f:
        return [c for c in json.load(f)["cases"] if c["ok"]]


def test_explain_reproduces_every_recorded_torch_shape():
    """For every configuration PyTorch accepted, the printed formulas give the analysed
    (and recorded) output shape, and each `*_out` quantity is the size on its axis."""
    checked = 0
    for case in _valid_cases():
        analysis = convcalc.analyze([case["expr"]], tuple(case["input_shape"]))
        for e in explain(analysis):
            assert e.derived_shape == e.row.output_shape, case["expr"]
            outs = [t for s in e.sections if s.title == "shape" for t in s.terms if t.label.endswith("_out")]
            for t in outs:
                assert t.value in e.row.output_shape, (case["expr"], t.label)
        assert list(analysis.total.output_shape) == case["output_shape"]
        checked += 1
    assert checked > 600


def test_explain_json_has_formula_values_and_result():
    (e,) = convcalc.explain("Conv2d(3, 8, 3, stride=2, padding=1)", "1x3x32x32", dtype="float16")
    doc = e.to_dict()
    assert doc["layer"]["output_bytes"] == 8 * 16 * 16 * 2  # --dtype applies
    shape = next(s for s in doc["sections"] if s["title"] == "shape")
    h = next(q for q in shape["quantities"] if q["name"] == "H_out")
    assert h == {"name": "H_out", "formula": "floor((H_in + 2×padding − dilation×(kernel−1) − 1) / stride) + 1",
                 "values": {"H_in": 32, "padding": 1, "dilation": 1, "kernel": 3, "stride": 2},
                 "substituted": "floor((32 + 2×1 − 1×(3−1) − 1) / 2) + 1", "result": (32 + 2 - 2 - 1) // 2 + 1}
    counts = next(s for s in doc["sections"] if s["title"].startswith("multiply-accumulates"))
    macs = next(q for q in counts["quantities"] if q["name"] == "MACs")
    assert macs["result"] == 1 * 8 * 16 * 16 * 3 * 3 * 3 == e.row.macs
    # N × C_out × H_out × W_out × C_in/groups × k_H × k_W, each value put in by name
    assert macs["values"] == {"N": 1, "C_out": 8, "H_out": 16, "W_out": 16, "C_in": 3, "groups": 1,
                              "k_H": 3, "k_W": 3}
