"""torchvision.ops.DeformConv2d against torchvision: shapes, parameters and every refusal
(a recorded random sweep), the tools' counts, the NumPy kernel's values (recorded
outputs of torchvision.ops.deform_conv2d) and its MAC count, the graph (YAML `from:`
with offset and mask, the receptive field), the command line's single-input rule.

Fixtures: tests/fixtures/record_torchvision_deform.py (torchvision_deform.json,
torchvision_deform_numeric.npz). The live comparisons skip without torchvision.
"""
from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import convcalc
from convcalc.analysis import Graph, Node, conventions, walk
from convcalc.errors import ConvcalcError, IncompatibleInputError, LayerConfigError
from convcalc.layers import build_layer
from convcalc.network import analyse
from convcalc.numeric.execute import execute
from convcalc.numeric.kernels import Context
from convcalc.numeric.ops_conv import correlate
from convcalc.numeric.ops_deform import deform_conv
from support import traced_peak

ROOT = pathlib.Path(__file__).parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
DATA = json.loads((FIXTURES / "torchvision_deform.json").read_text())
NUMERIC = np.load(FIXTURES / "torchvision_deform_numeric.npz")
META = json.loads(str(NUMERIC["meta"]))


def expression(case: dict) -> str:
    kw = ", ".join(f"{k}={v!r}" for k, v in case["kwargs"].items())
    return f"DeformConv2d({case['in_channels']}, {case['out_channels']}, {kw})"


def _judge(case: dict):
    """(accepted, output shape, params) as convcalc sees the case, or the refusal."""
    try:
        layer = build_layer(expression(case))
    except LayerConfigError as exc:
        return False, "construct", str(exc)
    inputs = [tuple(s) for s in case["inputs"]]
    try:
        out = layer.output_shape(inputs)
    except IncompatibleInputError as exc:
        return False, "forward", str(exc)
    return True, list(out), layer.params()


# ------------------------------------------------------------------ the recorded sweep

def test_the_sweep_covers_acceptance_and_every_kind_of_refusal():
    sweep = DATA["sweep"]
    assert len(sweep) >= 500 and 0.25 < sum(c["ok"] for c in sweep) / len(sweep) < 0.75
    errors = " ".join(c.get("error", "") for c in sweep)
    for kind in ("divisible by groups", "offset.shape[1] is not valid", "mask.shape[1] is not valid",
                 "invalid batch size of offset", "invalid batch size of mask", "offset output dims",
                 "mask output dims", "Calculated output size too small", "pad_h", "dilation_h",
                 "not enough values to unpack", "the shape of the offset tensor at dimension 1"):
        assert kind in errors, kind


@pytest.mark.parametrize("index", range(len(DATA["sweep"])))
def test_recorded_sweep(index):
    case = DATA["sweep"][index]
    found = _judge(case)
    if case["ok"]:
        assert found == (True, case["output"], case["params"]), (expression(case), case["inputs"])
    else:
        assert not found[0], (expression(case), case["inputs"], case["error"])
        message = found[2].splitlines()[0]  # a construction error also shows the expression, caret under
        assert "DeformConv2d: " in message
        if found[1] == "forward":
            assert "expected" in message and "got" in message, message


def test_implicit_groups_from_the_input_channels_are_torchvisions():
    """torchvision reads the groups off the input: 8 channels into DeformConv2d(4, 4, 3)
    run as 2 groups of 4, without an error; convcalc follows and warns."""
    cases = [c for c in DATA["sweep"] if c["ok"] and c["inputs"][0][1] != c["in_channels"]]
    assert cases, "the sweep records an input whose channels are a multiple of in_channels/groups"
    layer = build_layer("DeformConv2d(4, 4, 3)")
    out = layer.output_shape([(1, 8, 5, 5), (1, 18, 3, 3)])
    assert out == (1, 4, 3, 3)
    notes = layer.notes([(1, 8, 5, 5), (1, 18, 3, 3)], out)
    assert any("groups=2" in n for n in notes)


def test_constructor_checks():
    for bad, fragment in (("DeformConv2d(5, 4, 3, groups=2)", "in_channels must be divisible by groups"),
                          ("DeformConv2d(4, 3, 3, groups=2)", "out_channels must be divisible by groups"),
                          ("DeformConv2d(0, 4, 3)", "in_channels must be a positive integer"),
                          ("DeformConv2d(4, 4, 0)", "kernel_size must be positive"),
                          ("DeformConv2d(4, 4, 3, stride=0)", "stride must be positive"),
                          ("DeformConv2d(4, 4, 3.0)", "kernel_size must be an integer"),
                          ("DeformConv2d(4, 4, 3, groups=0)", "groups must be a positive integer")):
        with pytest.raises(LayerConfigError, match=fragment):
            build_layer(bad)


def test_printout_parses_and_prints_back():
    """What print(model) shows (torchvision's __repr__ always prints the stride)."""
    text = "DeformConv2d(4, 4, kernel_size=(3, 2), stride=(1, 1), padding=(1, 1), groups=2, bias=False)"
    layer = build_layer(text)
    assert layer.spec() == text
    assert build_layer("torchvision.ops.DeformConv2d(4, 6, 3)") == build_layer("DeformConv2d(4, 6, 3)")
    with pytest.raises(ConvcalcError, match="torchvision.ops"):
        build_layer("torchvision.ops.Conv2d(4, 6, 3)")


def test_cpp_integer_division_rounds_toward_zero():
    """(in + 2p − ker) / stride in C: a 2×2 input, kernel 3, stride 2 gives one position."""
    layer = build_layer("DeformConv2d(4, 4, 3, stride=2)")
    assert layer.output_shape([(1, 4, 2, 2), (1, 18, 1, 1)]) == (1, 4, 1, 1)
    with pytest.raises(IncompatibleInputError, match="expected a positive output size"):
        layer.output_shape([(1, 4, 1, 1), (1, 18, 0, 0)])


# ------------------------------------------------------------------ what the tools count

def _count(convention: str, expr: str, shape, og: int, mask: bool) -> int:
    layer = build_layer(expr)
    kh, kw = layer.kernel_size
    out = layer.output_shape([tuple(shape)])
    inputs = [tuple(shape), (shape[0], 2 * og * kh * kw) + out[2:]]
    if mask:
        inputs.append((shape[0], og * kh * kw) + out[2:])
    return conventions.get(convention).count(layer, inputs, layer.output_shape(inputs))[0]


@pytest.mark.parametrize("entry", DATA["tools"], ids=lambda e: f"{e['expr']}-og{e['offset_groups']}-{e['mask']}")
def test_every_convention_counts_what_its_tool_reports(entry):
    args = (entry["expr"], entry["input_shape"], entry["offset_groups"], entry["mask"])
    assert _count("torchinfo", *args) == entry["torchinfo"]
    assert _count("ptflops", *args) == entry["ptflops"]
    assert _count("fvcore", *args) == entry["fvcore"]["total"] == 0
    assert entry["fvcore"]["unsupported"] == {"torchvision::deform_conv2d": 1}
    assert _count("thop", *args) == entry["thop"] == 0
    assert "error" in entry["ptflops_keyword"]  # its public call with the offset as a keyword


def test_convcalc_macs_are_the_convolution_plus_the_sampling():
    n, c, co, k, ho, wo = 2, 4, 6, 9, 7, 7
    conv = n * co * ho * wo * c * k
    plain = _count("convcalc", "DeformConv2d(4, 6, 3, padding=1)", (2, 4, 7, 7), 1, False)
    masked = _count("convcalc", "DeformConv2d(4, 6, 3, padding=1)", (2, 4, 7, 7), 2, True)
    assert plain == conv + 4 * n * c * k * ho * wo
    assert masked == conv + 5 * n * c * k * ho * wo


# ------------------------------------------------------------------ the kernel's values

@pytest.mark.parametrize("i", range(len(META)), ids=lambda i: META[i]["expr"])
def test_kernel_equals_torchvision(i):
    meta = META[i]
    layer = build_layer(meta["expr"])
    arrays = {k.split("_", 1)[1]: NUMERIC[k] for k in NUMERIC.files if k.startswith(f"{i}_")}
    inputs = [arrays["x"], arrays["offset"]] + ([arrays["mask"]] if meta["mask"] else [])
    params = {k: arrays[k] for k in ("weight", "bias") if k in arrays}
    for chunk in (64 << 20, 512):  # whole, and in many blocks
        ctx = Context(chunk_bytes=chunk)
        got = deform_conv(layer, inputs, params, ctx)
        np.testing.assert_allclose(got, arrays["output"], rtol=1e-12, atol=1e-12)
        shapes = [a.shape for a in inputs]
        out = layer.output_shape(shapes)
        assert ctx.macs == conventions.get("convcalc").count(layer, shapes, out)[0]
    got32 = deform_conv(layer, [a.astype(np.float32) for a in inputs],
                        {k: v.astype(np.float32) for k, v in params.items()}, Context())
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, arrays["output"], rtol=1e-4, atol=1e-4 * max(1, np.abs(arrays["output"]).max(initial=0)))


def test_the_numeric_cases_cover_the_edges():
    exprs = " ".join(m["expr"] for m in META)
    assert any(m["mask"] for m in META) and not all(m["mask"] for m in META)
    assert any(m["offset_groups"] > 1 for m in META)
    assert "groups=2" in exprs or "groups=3" in exprs
    assert any("(3, 2)" in m["expr"] or "(1, 3)" in m["expr"] or "(2, 3)" in m["expr"] for m in META)
    assert any(NUMERIC[f"{i}_x"].shape[0] == 0 for i in range(len(META)))
    # samples pushed out of the image, and integer offsets
    assert any(np.abs(NUMERIC[f"{i}_offset"]).max(initial=0) > 10 for i in range(len(META)))
    assert any(NUMERIC[f"{i}_offset"].size and np.all(NUMERIC[f"{i}_offset"] == np.round(NUMERIC[f"{i}_offset"]))
               for i in range(len(META)))


def test_zero_offsets_are_the_regular_convolution():
    """Independent of torchvision: with zero offsets and no mask, the deformable
    convolution is the plain one (the executor's ConvNd kernel)."""
    rng = np.random.default_rng(3)
    layer = build_layer("DeformConv2d(6, 4, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)")
    x = rng.standard_normal((2, 6, 9, 8))
    w = rng.standard_normal((4, 3, 3, 2))
    out = layer.output_shape([x.shape])
    got = deform_conv(layer, [x, np.zeros((2, 12) + out[2:])], {"weight": w, "bias": np.zeros(4)}, Context())
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (0, 0)))
    want = correlate(padded, w, (2, 1), (1, 2), 2, Context())
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    alone = deform_conv(layer, [x], {"weight": w, "bias": np.zeros(4)}, Context())  # one input: the same
    np.testing.assert_allclose(alone, want, rtol=1e-12, atol=1e-12)


def test_integer_input_is_refused_as_torchvision_refuses_it():
    layer = build_layer("DeformConv2d(1, 1, 3)")
    with pytest.raises(IncompatibleInputError, match="float32 or float64 input; got int64"):
        deform_conv(layer, [np.ones((1, 1, 5, 5), dtype=np.int64)], {"weight": np.ones((1, 1, 3, 3))}, Context())


# ------------------------------------------------------------------ the graph and the command line

SPEC = """
input: [1, 4, 12, 12]
layers:
  - {name: offset, layer: "Conv2d(4, 36, 5, padding=1)"}
  - {name: mask, layer: "Conv2d(4, 18, 5, padding=1)", from: input}
  - {name: dcn, layer: "DeformConv2d(4, 8, 3, stride=1, padding=0, groups=2)", from: [input, offset, mask]}
"""


def test_yaml_from_gives_offset_and_mask(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text(SPEC)
    analysis = analyse(str(path)).analysis
    dcn = analysis.layers[-1]
    assert dcn.output_shape == (1, 8, 10, 10) and dcn.params == 8 * 2 * 9 + 8
    samples = 1 * 4 * 9 * 100
    assert dcn.macs == 8 * 2 * 9 * 100 + 5 * samples
    # a unit reads a 3×3 window of the input and the offset/mask at its own position,
    # whose own field is the 5×5 window, padding 1: the union is 5×5 from −1
    assert dcn.receptive_field.size == (5, 5) and dcn.receptive_field.start == (-1, -1)
    proc = subprocess.run([sys.executable, "-m", "convcalc", "verify", str(path), "--format", "json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)["layers"]
    assert all(r["macs_ok"] and r["shape_ok"] for r in rows)


def test_offsets_from_a_narrower_branch_keep_the_input_window():
    """The offset is read at the unit's own position: its (smaller) field joins the
    window's, it does not replace it."""
    graph = Graph((1, 2, 9, 9), [
        Node("off", build_layer("Conv2d(2, 18, 1, padding=0)"), ("input",), "Conv2d(2, 18, 1)"),
        Node("dcn", build_layer("DeformConv2d(2, 2, 3, dilation=2)"), ("input", "off"), "DeformConv2d(2, 2, 3)")])
    with pytest.raises(IncompatibleInputError, match="expected an offset of the output's spatial size"):
        walk(graph)
    graph.nodes[0] = Node("off", build_layer("Conv2d(2, 18, 5)"), ("input",), "Conv2d(2, 18, 5)")
    row = walk(graph).layers[-1]
    assert row.receptive_field.size == (5, 5) and row.receptive_field.start == (0, 0)


def test_the_command_line_assumes_zero_offsets_and_says_so():
    proc = subprocess.run([sys.executable, "-m", "convcalc", "shape", "DeformConv2d(4, 6, 3, padding=1)",
                           "--input", "2x4x7x7", "--format", "json"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0
    row = json.loads(proc.stdout)["layers"][0]
    assert row["output_shape"] == [2, 6, 7, 7] and row["params"] == 222
    assert row["macs"] == 2 * 6 * 49 * 4 * 9 + 4 * 2 * 4 * 9 * 49
    assert "zero offsets of shape [2, 18, 7, 7] assumed" in proc.stderr


@pytest.mark.parametrize("shapes, fragment", [
    ([(4, 5, 5)], "expected a 4-D input"),
    ([(1, 4, 5, 5), (1, 10, 3, 3)], "expected an offset with a multiple of 2·kh·kw = 18 channels"),
    ([(1, 4, 5, 5), (1, 20, 3, 3)], "expected offset channels 2·offset_groups·kh·kw = 18"),
    ([(1, 4, 5, 5), (1, 54, 3, 3)], "expected input channels divisible by offset_groups=3"),
    ([(1, 4, 5, 5), (2, 18, 3, 3)], "expected an offset with the input's batch 1"),
    ([(1, 4, 5, 5), (1, 18, 3, 3), (1, 18, 3, 3)], "expected mask channels offset_groups·kh·kw = 9"),
    ([(1, 4, 5, 5), (1, 18, 3, 3), (1, 9, 2, 3)], "expected a mask of the output's spatial size (3, 3)"),
    ([(1, 6, 5, 5), (1, 18, 3, 3)], "expected input with a multiple of in_channels/groups = 4 channels"),
    ([(1, 4, 5, 5), (1, 18, 3, 3), (1, 9, 3, 3), (1, 9, 3, 3)], "expected 1 to 3 inputs"),
])
def test_refusals_are_worded_expected_got(shapes, fragment):
    with pytest.raises(IncompatibleInputError) as info:
        build_layer("DeformConv2d(4, 4, 3)").output_shape(shapes)
    assert fragment in str(info.value) and "; got" in str(info.value)


@pytest.mark.parametrize("spec, max_memory", [
    ("input: [2, 16, 48, 48]\nlayers: ['DeformConv2d(16, 32, 3, padding=1)']", 4 << 20),
    ("input: [3, 8, 40, 40]\nlayers: ['DeformConv2d(8, 8, (3, 5), stride=2, dilation=2, groups=2)']", 2 << 20),
    ("input: [2, 16, 40, 40]\nlayers: ['DeformConv2d(16, 16, 3, padding=1)']", None),
    (SPEC.replace("[1, 4, 12, 12]", "[2, 4, 40, 40]"), 3 << 20),
])
def test_the_estimate_bounds_the_measured_peak(spec, max_memory):
    """numpy's allocations, traced while the run goes, stay within the estimate (as
    tests/test_execute.py holds the other kernels)."""
    from convcalc.network import load_text
    from convcalc.numeric.memory import BOOKKEEPING, fmt_bytes
    from convcalc.numeric.execute import random_input
    analysis = analyse(load_text(spec, "net.yaml")).analysis
    execute(convcalc.analyze(["DeformConv2d(1, 1, 1)"], (1, 1, 2, 2)), np.zeros((1, 1, 2, 2), np.float32))  # imports
    peak, result = traced_peak(lambda: execute(analysis, random_input(analysis.input_shape, 0),
                                                max_memory=max_memory or 1 << 40))
    assert peak <= result.estimate.peak - BOOKKEEPING + (64 << 10), (fmt_bytes(peak), result.estimate.describe())


def test_the_memory_budget_applies():
    analysis = convcalc.analyze(["DeformConv2d(64, 64, 3, padding=1)"], (8, 64, 128, 128))
    x = np.zeros((8, 64, 128, 128), dtype=np.float32)
    with pytest.raises(ConvcalcError, match="expected a run that fits in"):
        execute(analysis, x, max_memory=64 << 20)


# ------------------------------------------------------------------ live, against torchvision

def test_live_against_torchvision():
    torch = pytest.importorskip("torch")
    ops = pytest.importorskip("torchvision.ops")
    rng = np.random.default_rng(11)
    checked = 0
    for t in range(40):
        g, og = int(rng.integers(1, 3)), int(rng.integers(1, 3))
        cin, cout = g * og * int(rng.integers(1, 3)), g * int(rng.integers(1, 3))
        kh, kw = (int(v) for v in rng.integers(1, 4, 2))
        s, p, d = (tuple(int(v) for v in rng.integers(lo, hi, 2)) for lo, hi in ((1, 3), (0, 3), (1, 3)))
        n, h, w = int(rng.integers(1, 3)), int(rng.integers(1, 8)), int(rng.integers(1, 8))
        expr = f"DeformConv2d({cin}, {cout}, ({kh}, {kw}), stride={s}, padding={p}, dilation={d}, groups={g})"
        layer = build_layer(expr)
        module = ops.DeformConv2d(cin, cout, (kh, kw), s, p, d, g).double()
        oh, ow = [(size + 2 * pp - dd * (k - 1) - 1) // ss + 1 for size, pp, dd, k, ss in
                  zip((h, w), p, d, (kh, kw), s)]
        if oh <= 0 or ow <= 0:
            continue
        x = rng.standard_normal((n, cin, h, w))
        off = rng.standard_normal((n, 2 * og * kh * kw, oh, ow)) * 3
        mask = rng.random((n, og * kh * kw, oh, ow))
        want = module(*(torch.from_numpy(a) for a in (x, off, mask))).detach().numpy()
        assert layer.output_shape([x.shape, off.shape, mask.shape]) == want.shape
        assert layer.params() == sum(q.numel() for q in module.parameters())
        params = {"weight": module.weight.detach().numpy(), "bias": module.bias.detach().numpy()}
        got = deform_conv(layer, [x, off, mask], params, Context(chunk_bytes=4096))
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
        checked += 1
    assert checked >= 20


# ------------------------------------------------------------------ torch.fx import

def test_fx_import_of_a_recorded_dcn_model():
    """torchvision's DeformConv2d is a leaf of convcalc's tracer: its offset (and mask),
    positional or by keyword, become the entry's `from:` inputs."""
    from convcalc.importers.fx import from_records
    from convcalc.network import load_text
    fx = DATA["fx"]
    imported = from_records(fx["records"], tuple(fx["input_shape"]))
    result = analyse(load_text(imported.to_yaml(), "imported.yaml"))
    total = result.analysis.total
    assert list(total.output_shape) == fx["output_shape"] and total.params == fx["params"]
    rows = {row.name: row for row in result.analysis.layers}
    for module, shape in fx["layer_shapes"].items():
        assert list(rows[module].output_shape) == shape, module
    assert len(rows["dcn"].inputs) == 3 and len(rows["dcn2"].inputs) == 2


def test_onnx_deformconv_becomes_a_deformconv2d_with_offset_and_mask():
    """ONNX's DeformConv (opset 19; torchvision 0.29 itself exports none): X, W, offset,
    B, mask, as a graph another exporter writes it."""
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    from convcalc.importers.onnx import from_model
    from convcalc.network import load_text
    inits = [TensorProto(name=n, data_type=TensorProto.FLOAT, dims=list(d)) for n, d in
             (("wo", (36, 4, 3, 3)), ("wm", (18, 4, 3, 3)), ("w", (8, 2, 3, 3)), ("b", (8,)))]
    nodes = [helper.make_node("Conv", ["x", "wo"], ["off"], pads=[1, 1, 1, 1], strides=[2, 2]),
             helper.make_node("Conv", ["x", "wm"], ["m0"], pads=[1, 1, 1, 1], strides=[2, 2]),
             helper.make_node("Sigmoid", ["m0"], ["m"]),
             helper.make_node("DeformConv", ["x", "w", "off", "b", "m"], ["y"], pads=[1, 1, 1, 1], strides=[2, 2],
                              group=2, offset_group=2, kernel_shape=[3, 3])]
    g = helper.make_graph(nodes, "dcn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 10, 10])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=inits)
    imported = from_model(helper.make_model(g, opset_imports=[helper.make_opsetid("", 19)]), "dcn.onnx")
    entry = imported.entries[-1]
    assert entry.layer == "DeformConv2d(4, 8, 3, stride=2, padding=1, groups=2)"
    assert len(entry.inputs) == 3
    row = analyse(load_text(imported.to_yaml(), "dcn.yaml")).analysis.layers[-1]
    assert row.output_shape == (1, 8, 5, 5)
    assert row.macs == 8 * 2 * 9 * 25 + 5 * 4 * 9 * 25


def test_live_sweep_against_torchvision():
    """Fresh random configurations from the recording script's generator, judged by
    torchvision now: the same acceptance, shape and parameters."""
    pytest.importorskip("torchvision.ops")
    import importlib.util
    import random
    spec = importlib.util.spec_from_file_location("record_deform", FIXTURES / "record_torchvision_deform.py")
    record = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(record)
    rng = random.Random(7)
    judged = 0
    while judged < 300:
        case = record.sweep_case(rng)
        try:
            case.update(record.judge(case))
        except ValueError:  # a configuration that crashes torchvision's kernel
            continue
        found = _judge(case)
        if case["ok"]:
            assert found == (True, case["output"], case["params"]), (expression(case), case["inputs"])
        else:
            assert not found[0], (expression(case), case["inputs"], case["error"])
        judged += 1


# ------------------------------------------------------------------ wrongly typed arguments

def _arg_expr(kwargs: dict) -> str:
    return "DeformConv2d(" + ", ".join(f"{k}={v}" for k, v in kwargs.items()) + ")"


@pytest.mark.parametrize("case", [c for c in DATA["args"] if not c.get("resource")],
                         ids=lambda c: f"{c['param']}={c['value']}")
def test_wrongly_typed_arguments_as_torchvision(case):
    """Strings, floats, bools, None, tuples of every length, 64-bit edges: accepted or
    refused as torchvision's module and its first forward accepted or refused them."""
    try:
        layer = build_layer(_arg_expr(case["kwargs"]))
        kh, kw = layer.kernel_size
        x = (2, 18, 5, 5)
        outs = [(x[2 + i] + 2 * layer.padding[i] - layer.dilation[i] * ((kh, kw)[i] - 1) - 1) // layer.stride[i] + 1
                for i in range(2)]
        layer.output_shape([x, (2, 2 * kh * kw, max(outs[0], 0), max(outs[1], 0))])
        accepted = True
    except ConvcalcError:
        accepted = False
    assert accepted == case["accepted"], (_arg_expr(case["kwargs"]), case["error"])


def test_the_argument_sweep_is_complete():
    params = {c["param"] for c in DATA["args"]}
    assert params == {None, "in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation",
                      "groups", "bias"}
    assert any(c["phase"] == "crash" for c in DATA["args"])  # stride=0: SIGFPE in torchvision's kernel
