"""Importers (issue 13): ONNX files and torch.fx-traced modules turned into convcalc specs.

Expected figures come from PyTorch: tests/fixtures/importers.json was recorded with
tests/fixtures/record_importers.py (torchvision's ResNet-18 and MobileNetV2, exported to ONNX
with the weights stripped to their shapes, and traced with torch.fx), and the live tests
compare against the global torch; the hand-built ONNX graphs are checked against arithmetic
written here. Tests needing onnx or torch skip without them.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

from convcalc.cli import main
from convcalc.errors import ConvcalcError
from convcalc.network import analyse, load_text

FIXTURES = Path(__file__).parent / "fixtures"
RECORD = json.loads((FIXTURES / "importers.json").read_text())
MODELS = sorted(RECORD["models"])


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def analysed(imported):
    return analyse(load_text(imported.to_yaml(), "imported.yaml"))


def check_against_record(result, model):
    want = RECORD["models"][model]
    total = result.analysis.total
    assert list(total.output_shape) == want["output_shape"]
    assert total.params == want["params"]
    assert total.macs == want["macs"]
    rows = {row.name: row for row in result.analysis.layers}
    for module, shape in want["layer_shapes"].items():
        assert list(rows[module.replace(".", "_")].output_shape) == shape, module


def test_fixtures_are_small_and_hold_no_weights():
    for path in (FIXTURES / "importers").iterdir():
        assert path.stat().st_size < 1_000_000, path
    # ResNet-18's 11.7M float32 weights would be 46 MB
    assert (FIXTURES / "importers" / "resnet18.onnx").stat().st_size < 100_000


# ---------------------------------------------------------------- ONNX, recorded torchvision models

@pytest.mark.parametrize("model", MODELS)
def test_onnx_round_trip_equals_torch(model):
    pytest.importorskip("onnx")
    from convcalc.importers.onnx import from_file
    check_against_record(analysed(from_file(str(FIXTURES / "importers" / f"{model}.onnx"))), model)


@pytest.mark.parametrize("model", MODELS)
def test_fx_records_round_trip_equals_torch(model):
    from convcalc.importers.fx import from_records
    records = json.loads((FIXTURES / "importers" / f"{model}.fx.json").read_text())
    check_against_record(analysed(from_records(records, tuple(RECORD["input"]))), model)


def test_summary_and_check_read_an_onnx_file(capsys):
    pytest.importorskip("onnx")
    path = str(FIXTURES / "importers" / "resnet18.onnx")
    code, out, err = run(capsys, "summary", path, "-f", "json")
    assert code == 0, err
    assert json.loads(out)["total"]["params"] == RECORD["models"]["resnet18"]["params"]
    code, out, err = run(capsys, "check", path)
    assert code == 0 and "ok" in out, err


def test_import_writes_a_yaml_spec_that_reads_back(capsys, tmp_path):
    pytest.importorskip("onnx")
    target = tmp_path / "net.yaml"
    code, out, err = run(capsys, "import", str(FIXTURES / "importers" / "mobilenet_v2.onnx"), "-o", str(target))
    assert code == 0, err
    code, out, err = run(capsys, "summary", str(target), "-f", "json")
    assert code == 0, err
    assert json.loads(out)["total"]["macs"] == RECORD["models"]["mobilenet_v2"]["macs"]


def test_onnx_input_override(capsys):
    pytest.importorskip("onnx")
    from convcalc.importers.onnx import from_file
    imported = from_file(str(FIXTURES / "importers" / "resnet18.onnx"), "2x3x112x112")
    assert imported.input == (2, 3, 112, 112)
    result = analysed(imported)
    assert result.analysis.total.output_shape == (2, 1000)
    # the first convolution: 7x7x3 products for each of 2x64x56x56 outputs
    assert result.analysis.layers[0].macs == 2 * 64 * 56 * 56 * 7 * 7 * 3


# ---------------------------------------------------------------- ONNX, hand-built graphs

def graph(nodes, inits, shape, opset=17, name="g"):
    pytest.importorskip("onnx")
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    initializers = []
    for iname, value in inits.items():
        if isinstance(value, tuple):  # dims only: a stripped weight
            t = TensorProto(name=iname, data_type=TensorProto.FLOAT, dims=list(value))
        else:
            value = np.asarray(value)
            t = numpy_helper.from_array(value.astype(np.float32 if value.dtype.kind == "f" else np.int64), iname)
        initializers.append(t)
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                          [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)],
                          initializer=initializers)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def node(op, inputs, output, **attrs):
    from onnx import helper
    return helper.make_node(op, inputs, [output], name=f"/{output}/{op}", **attrs)


def imported(model):
    from convcalc.importers.onnx import from_model
    return from_model(model, "hand.onnx")


def test_asymmetric_pads_become_a_zero_pad_before_the_layer():
    model = graph([node("Conv", ["x", "w"], "conv", pads=[0, 1, 2, 1], strides=[2, 2])],
                  {"w": (4, 3, 3, 3)}, [1, 3, 10, 10])
    entries = imported(model).entries
    # top 0, left 1, bottom 2, right 1: symmetric part (0, 1); the rest (H: 0 before, 2 after)
    assert [e.layer for e in entries] == ["ZeroPad2d((0, 0, 0, 2))",
                                          "Conv2d(3, 4, 3, stride=2, padding=(0, 1), bias=False)"]
    result = analysed(imported(model))
    # H: (10 + 0 + 2 - 3) // 2 + 1 = 5; W: (10 + 1 + 1 - 3) // 2 + 1 = 5
    assert result.analysis.total.output_shape == (1, 4, 5, 5)


def test_summary_input_reaches_the_importer(capsys, tmp_path):
    onnx = pytest.importorskip("onnx")
    model = graph([node("Conv", ["x", "w"], "conv", auto_pad="SAME_UPPER", strides=[2, 2])],
                  {"w": (2, 1, 3, 3)}, [1, 1, 8, 8])
    path = tmp_path / "same.onnx"
    onnx.save(model, str(path))
    code, out, err = run(capsys, "summary", str(path), "-i", "1x1x11x11", "-f", "json")
    assert code == 0, err
    # SAME at 11: ceil(11 / 2) = 6 (at 8 the padding worked out would give 5)
    assert json.loads(out)["total"]["output_shape"] == [1, 2, 6, 6]


def test_auto_pad_same_upper():
    model = graph([node("Conv", ["x", "w", "b"], "conv", auto_pad="SAME_UPPER", strides=[2, 2])],
                  {"w": (8, 3, 4, 4), "b": (8,)}, [1, 3, 9, 9])
    result = analysed(imported(model))
    # SAME: ceil(9 / 2) = 5 outputs; total padding (5 - 1) * 2 + 4 - 9 = 3, 1 before and 2 after
    assert imported(model).entries[0].layer == "ZeroPad2d((0, 1, 0, 1))"
    assert result.analysis.total.output_shape == (1, 8, 5, 5)
    assert result.analysis.total.params == 8 * 3 * 4 * 4 + 8


def test_operator_attributes_map_to_layers():
    model = graph([
        node("Conv", ["x", "w1"], "c1", group=4, dilations=[2, 2], pads=[2, 2, 2, 2]),
        node("Clip", ["c1", "lo", "hi"], "r6"),
        node("MaxPool", ["r6"], "mp", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
        node("AveragePool", ["mp"], "ap", kernel_shape=[2, 2], pads=[1, 1, 1, 1]),
        node("Resize", ["ap", "", "scales"], "up", mode="nearest"),
        node("Pad", ["up", "pads"], "pad", mode="reflect"),
        node("LeakyRelu", ["pad"], "lr", alpha=0.2),
        node("HardSigmoid", ["lr"], "hs", alpha=1 / 6),
        node("Mul", ["lr", "hs"], "mul"),
        node("Concat", ["mul", "lr"], "cat", axis=-3),
        node("GlobalMaxPool", ["cat"], "gp"),
        node("Reshape", ["gp", "shape"], "flat"),
        node("MatMul", ["flat", "wl"], "mm"),
        node("Add", ["mm", "bl"], "fc"),
        node("Softmax", ["fc"], "sm", axis=1),
    ], {"w1": (8, 1, 3, 3), "lo": 0.0, "hi": 6.0, "scales": [1.0, 1.0, 2.0, 2.0],
        "pads": [0, 0, 1, 1, 0, 0, 1, 1], "shape": [1, -1], "wl": (16, 5), "bl": (5,)}, [1, 4, 16, 16])
    layers = [e.layer for e in imported(model).entries]
    assert layers == [
        "Conv2d(4, 8, 3, padding=2, dilation=2, groups=4, bias=False)", "ReLU6()",
        "MaxPool2d(3, stride=2, ceil_mode=True)", "AvgPool2d(2, stride=1, padding=1, count_include_pad=False)",
        "Upsample(scale_factor=2)", "ReflectionPad2d(1)", "LeakyReLU(negative_slope=0.2)", "Hardsigmoid()",
        "Mul()", "Concat(dim=1)", "AdaptiveMaxPool2d(1)", "Flatten()", "Linear(16, 5)", "Softmax(dim=1)"]
    result = analysed(imported(model))
    rows = {r.name: r for r in result.analysis.layers}
    # conv keeps 16x16; ceil((16 - 3) / 2) + 1 = 8; avg pool 2x2 stride 1 pad 1: 9; x2: 18; +2: 20
    assert rows["mp"].output_shape == (1, 8, 8, 8)
    assert rows["ap"].output_shape == (1, 8, 9, 9)
    assert rows["pad"].output_shape == (1, 8, 20, 20)
    assert result.analysis.total.output_shape == (1, 5)
    assert result.analysis.total.params == 8 * 9 + 16 * 5 + 5


def test_older_opsets_read_attributes():
    # before opset 11 Clip's bounds and Pad's pads are attributes; Upsample takes scales
    model = graph([node("Clip", ["x"], "r6", min=0.0, max=6.0),
                   node("Pad", ["r6"], "pad", pads=[0, 0, 1, 2, 0, 0, 3, 4], value=1.5),
                   node("Upsample", ["pad", "scales"], "up", mode="nearest")],
                  {"scales": [1.0, 1.0, 3.0, 2.0]}, [1, 2, 4, 4], opset=10)
    assert [e.layer for e in imported(model).entries] == [
        "ReLU6()", "ConstantPad2d((2, 4, 1, 3), 1.5)", "Upsample(scale_factor=(3, 2))"]
    # H: (4 + 1 + 3) * 3 = 24; W: (4 + 2 + 4) * 2 = 20
    assert analysed(imported(model)).analysis.total.output_shape == (1, 2, 24, 20)


def test_conv_transpose_and_gemm():
    model = graph([node("ConvTranspose", ["x", "w", "b"], "up", strides=[2, 2], pads=[1, 1, 1, 1],
                        output_padding=[1, 1]),
                   node("Flatten", ["up"], "flat"),
                   node("Gemm", ["flat", "wf"], "fc", transB=1)],
                  {"w": (6, 3, 3, 3), "b": (3,), "wf": (7, 3 * 8 * 8)}, [1, 6, 4, 4])
    assert [e.layer for e in imported(model).entries] == [
        "ConvTranspose2d(6, 3, 3, stride=2, padding=1, output_padding=1)", "Flatten()", "Linear(192, 7, bias=False)"]
    result = analysed(imported(model))
    # (4 - 1) * 2 - 2 + 3 + 1 = 8
    assert result.analysis.layers[0].output_shape == (1, 3, 8, 8)
    assert result.analysis.total.params == 6 * 3 * 9 + 3 + 7 * 192


def test_unknown_operator_is_named(capsys, tmp_path):
    onnx = pytest.importorskip("onnx")
    model = graph([node("Relu", ["x"], "r"), node("LSTM", ["r", "w", "w"], "l"), node("Erf", ["l"], "e")],
                  {"w": (1, 4, 4)}, [1, 4, 4])
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    code, out, err = run(capsys, "summary", str(path))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "unsupported ONNX operators: LSTM (node '/l/LSTM'), Erf" in err


def test_add_of_a_constant_is_refused_not_dropped():
    model = graph([node("Relu", ["x"], "r"), node("Add", ["r", "c"], "a")], {"c": (4,)}, [1, 4])
    with pytest.raises(ConvcalcError, match="Add with the constant 'c'"):
        imported(model)


@pytest.mark.parametrize("content", [b"", b"not an onnx file\n", "truncated"])
def test_bad_files_give_one_line(capsys, tmp_path, content):
    pytest.importorskip("onnx")
    if content == "truncated":
        content = (FIXTURES / "importers" / "resnet18.onnx").read_bytes()[:5000]
    path = tmp_path / "bad.onnx"
    path.write_bytes(content)
    for command in ("summary", "import", "check"):
        code, out, err = run(capsys, command, str(path))
        assert code == 2, (command, err)
        assert err.startswith(f"error: {path}: expected an ONNX model") and err.count("\n") == 1, err


def test_missing_file(capsys, tmp_path):
    pytest.importorskip("onnx")
    code, out, err = run(capsys, "import", str(tmp_path / "nope.onnx"))
    assert code == 2 and "no such file" in err and err.count("\n") == 1


def test_without_onnx_installed(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx raises ImportError
    code, out, err = run(capsys, "summary", str(FIXTURES / "importers" / "resnet18.onnx"))
    assert code == 2 and err.count("\n") == 1 and "pip install 'convcalc[onnx]'" in err


# ---------------------------------------------------------------- torch.fx and live torch

def _residual_model(torch):
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(c)
            self.conv2 = nn.Conv2d(c, c, 3, padding=2, dilation=2, groups=2)
            self.drop = nn.Dropout(0.1)

        def forward(self, x):
            y = torch.relu(self.bn1(self.conv1(x)))
            return torch.relu(self.drop(self.conv2(y)) + x)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1)
            self.block = Block(8)
            self.up = nn.ConvTranspose2d(16, 4, 2, stride=2)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(4, 10)

        def forward(self, x):
            x = self.stem(x)
            x = torch.cat([x, self.block(x)], 1)
            x = self.pool(self.up(x))
            return self.fc(x.view(x.size(0), -1))

    return Net().eval()


def _torch_figures(torch, model, shape):
    nn, macs, shapes = torch.nn, [0], {}
    names = {m: n for n, m in model.named_modules()}

    def hook(mod, inp, out):
        shapes[names[mod]] = tuple(out.shape)
        if isinstance(mod, nn.Conv2d):
            macs[0] += out.numel() * mod.in_channels // mod.groups * math.prod(mod.kernel_size)
        elif isinstance(mod, nn.ConvTranspose2d):  # each input position times its kernel
            macs[0] += inp[0].numel() * mod.out_channels // mod.groups * math.prod(mod.kernel_size)
        elif isinstance(mod, nn.Linear):
            macs[0] += out.numel() * mod.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    with torch.no_grad():
        y = model(torch.randn(*shape))
    for h in handles:
        h.remove()
    y = y["out"] if isinstance(y, dict) else y
    return tuple(y.shape), sum(p.numel() for p in model.parameters()), macs[0], shapes


def test_fx_live_residual_model():
    torch = pytest.importorskip("torch")
    pytest.importorskip("torch.fx")
    from convcalc.importers.fx import from_module
    model = _residual_model(torch)
    shape = (2, 3, 16, 16)
    out, params, macs, shapes = _torch_figures(torch, model, shape)
    result = analysed(from_module(model, shape))
    total = result.analysis.total
    assert (total.output_shape, total.params, total.macs) == (out, params, macs)
    rows = {r.name: r for r in result.analysis.layers}
    for module, s in shapes.items():
        if module != "block.drop":  # a no-op, not an entry
            assert rows[module.replace(".", "_")].output_shape == s, module


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")
def test_onnx_live_export_of_the_residual_model(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from convcalc.importers.onnx import from_file
    model = _residual_model(torch)
    shape = (1, 3, 16, 16)
    out, params, macs, shapes = _torch_figures(torch, model, shape)
    path = str(tmp_path / "m.onnx")
    try:
        torch.onnx.export(model, (torch.randn(*shape),), path, dynamo=False,
                          training=torch.onnx.TrainingMode.PRESERVE)
    except Exception as exc:  # an exporter that needs packages not installed here
        pytest.skip(f"torch.onnx.export unavailable: {exc}")
    total = analysed(from_file(path)).analysis.total
    assert (total.output_shape, total.params, total.macs) == (out, params, macs)


def test_fx_unknown_module_is_named():
    torch = pytest.importorskip("torch")
    from convcalc.importers.fx import from_module

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv1d(4, 4, 1)
            self.rnn = torch.nn.GRU(4, 4)

        def forward(self, x):
            return self.rnn(self.conv(x))[0]

    with pytest.raises(ConvcalcError, match=r"no convcalc layer for: module GRU \('rnn'\)"):
        from_module(Net(), (1, 4, 4))


def test_import_factory_from_the_command_line(capsys, tmp_path, monkeypatch):
    pytest.importorskip("torch")
    (tmp_path / "cc_fx_factory.py").write_text(
        "import torch.nn as nn\n"
        "def make():\n"
        "    return nn.Sequential(nn.Conv2d(3, 5, 3), nn.ReLU(), nn.Flatten(), nn.Linear(5 * 6 * 6, 2))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    code, out, err = run(capsys, "import", "cc_fx_factory:make", "-i", "1x3x8x8")
    assert code == 0, err
    result = analyse(load_text(out, "fx.yaml"))
    assert result.analysis.total.params == 5 * 3 * 9 + 5 + 180 * 2 + 2
    assert result.analysis.total.output_shape == (1, 2)


@pytest.mark.parametrize("target, message", [
    ("cc_no_such_module.sub:make", "cannot import the module 'cc_no_such_module.sub': ModuleNotFoundError"),
    ("os.path:no_such_factory", "the module 'os.path' has no attribute 'no_such_factory'"),
    ("not a target", "expected an ONNX file (*.onnx) or a PyTorch factory"),
])
def test_bad_factory_gives_one_line(capsys, target, message):
    if "not a" not in target:
        pytest.importorskip("torch")
    code, out, err = run(capsys, "import", target, "-i", "1x3x8x8")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert message in err


def test_verify_runs_an_onnx_file(capsys):
    pytest.importorskip("onnx")
    code, out, err = run(capsys, "verify", str(FIXTURES / "importers" / "resnet18.onnx"), "-i", "1x3x32x32",
                         "-f", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["verified"] is True and report["mismatches"] == 0
    # the first convolution at 32x32: 64 x 16 x 16 outputs of 7 x 7 x 3 products each
    assert report["layers"][0]["executed"]["macs"] == 64 * 16 * 16 * 7 * 7 * 3


def _functional_model(torch):
    """What real networks call beyond modules: functional pooling, activations and
    interpolation, means, squeeze-and-excitation's broadcast product, sizes read off tensors,
    views, a torch.nn subclass, a dict output and a module forward never calls."""
    nn, F = torch.nn, torch.nn.functional

    class MyConv(nn.Conv2d):  # keeps Conv2d's forward: a Conv2d
        pass

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = MyConv(3, 8, 3, stride=2, padding=1)
            self.se = nn.Conv2d(8, 8, 1)
            self.head = nn.Conv2d(8, 5, 1)
            self.aux = nn.Linear(8, 3)  # never called
            self.fc = nn.Linear(8 * 4 * 4, 10)
            self.cls = nn.Linear(8, 10)

        def forward(self, x):
            size = x.shape[-2:]
            y = F.relu(self.stem(x), inplace=True)
            y = y * F.hardsigmoid(self.se(y.mean((2, 3), keepdim=True)))
            z = F.max_pool2d(y, 3, 2, 1)
            z = F.avg_pool2d(z, kernel_size=2, ceil_mode=True)
            s = z.mean(dim=[-2, -1])
            out = F.interpolate(self.head(y), size=size, mode="bilinear", align_corners=False)
            flat = F.adaptive_max_pool2d(y, (4, 4)).reshape(y.size(0), -1)
            return {"out": torch.cat([self.fc(flat), self.cls(s), torch.flatten(out, 1)], 1), "aux": None}

    return Net().eval()


def test_fx_live_functional_model():
    torch = pytest.importorskip("torch")
    pytest.importorskip("torch.fx")
    from convcalc.importers.fx import from_module
    model = _functional_model(torch)
    shape = (1, 3, 19, 23)
    imported = from_module(model, shape)
    result = analysed(imported)
    with torch.no_grad():
        want = model(torch.randn(*shape))["out"]
    total = result.analysis.total
    assert tuple(total.output_shape) == tuple(want.shape) == (1, 20 + 5 * 19 * 23)
    used = sum(p.numel() for n, p in model.named_parameters() if not n.startswith("aux."))
    assert total.params == used
    assert [n for n in imported.notes if "aux (27)" in n]
    _, _, macs, shapes = _torch_figures(torch, model, shape)
    assert total.macs == macs
    types = [row.type for row in result.analysis.layers]
    for t in ("Conv2d", "ReLU", "AdaptiveAvgPool2d", "Hardsigmoid", "Mul", "MaxPool2d", "AvgPool2d", "Upsample"):
        assert t in types, t
    rows = {row.name: row for row in result.analysis.layers}
    assert rows["stem"].spec.startswith("Conv2d(3, 8")
    for module, torch_shape in shapes.items():
        if module.replace(".", "_") in rows:
            assert tuple(rows[module.replace(".", "_")].output_shape) == torch_shape, module
    assert tuple(rows["interpolate"].output_shape) == (1, 5, 19, 23)


@pytest.mark.parametrize("records, missing", [
    # a mean over the channels is not a pooling; a view that splits an axis is not a flatten
    ([{"name": "m", "op": "function", "target": "mean", "args": [{"node": "x"}, [1]], "kwargs": {},
       "shape": [1, 8]}], "function mean"),
    ([{"name": "v", "op": "function", "target": "view", "args": [{"node": "x"}, [1, 2, 4, 8, 8]], "kwargs": {},
       "shape": [1, 2, 4, 8, 8]}], "function view"),
])
def test_fx_records_refuse_what_is_not_a_layer(records, missing):
    from convcalc.importers.fx import from_records
    graph = [{"name": "x", "op": "placeholder", "target": "x", "args": [], "kwargs": {}, "shape": [1, 8, 8, 8]},
             *records, {"name": "output", "op": "output", "target": "output", "args": [{"node": records[-1]["name"]}],
                        "kwargs": {}}]
    with pytest.raises(ConvcalcError, match=missing):
        from_records(graph, (1, 8, 8, 8))


def test_onnx_resize_to_a_computed_shape_is_folded():
    """x.shape[-2:] fed to a Resize: Shape -> Slice -> Concat on constants, folded at the input's
    shape (with a Constant written as value_ints), then shapes are inferred again."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper
    from convcalc.importers.onnx import from_model
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Constant", [], ["lo"], value_ints=[2]),
        helper.make_node("Constant", [], ["hi"], value_ints=[4]),
        helper.make_node("Slice", ["s", "lo", "hi"], ["hw"]),
        helper.make_node("Constant", [], ["nc"], value_ints=[1, 4]),
        helper.make_node("Concat", ["nc", "hw"], ["size"], axis=0),
        helper.make_node("Resize", ["c", "", "", "size"], ["r"], mode="linear"),
        helper.make_node("ReduceMean", ["r"], ["m"], axes=[2, 3], keepdims=0),
    ]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 15, 17])],
                              [helper.make_tensor_value_info("m", TensorProto.FLOAT, None)],
                              [helper.make_tensor("w", TensorProto.FLOAT, [4, 3, 3, 3], [0.0] * 108)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    result = analysed(from_model(model))
    layers = [(row.type, tuple(row.output_shape)) for row in result.analysis.layers]
    assert layers == [("Conv2d", (1, 4, 8, 9)), ("Upsample", (1, 4, 15, 17)), ("AdaptiveAvgPool2d", (1, 4, 1, 1)),
                      ("Flatten", (1, 4))]
    assert result.analysis.layers[1].spec.startswith("Upsample(size=(15, 17), mode='bilinear'")


def test_onnx_layer_normalization_is_torch_layer_norm():
    onnx = pytest.importorskip("onnx")
    torch = pytest.importorskip("torch")
    import io
    from convcalc.importers.onnx import from_model

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(6, 8)
            self.ln = torch.nn.LayerNorm(8, eps=1e-6)
            self.ln2 = torch.nn.LayerNorm([4, 8], bias=False)

        def forward(self, x):
            return self.ln2(self.ln(self.fc(x)))

    model = Net().eval()
    buf = io.BytesIO()
    torch.onnx.export(model, (torch.randn(2, 4, 6),), buf, dynamo=False, opset_version=17)
    result = analysed(from_model(onnx.load_from_string(buf.getvalue())))
    assert [row.spec for row in result.analysis.layers][1:] == ["LayerNorm([8], eps=1e-06)", "LayerNorm((4, 8), bias=False)"]
    assert result.analysis.total.params == sum(p.numel() for p in model.parameters())
    assert tuple(result.analysis.total.output_shape) == (2, 4, 8)
