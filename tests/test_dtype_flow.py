"""A layer's own `dtype=` carries to the layers after it, as a tensor's dtype would; the
network input has `--dtype`.  Expected bytes are written as arithmetic: elements × size."""

from __future__ import annotations

import json

import convcalc
from convcalc.analysis import Graph, Node, walk
from convcalc.cli import main

F16, F32, F64 = 2, 4, 8


def test_a_layers_dtype_carries_down_the_chain():
    a = convcalc.analyze(["Conv2d(3, 8, 3, dtype=torch.float16)", "ReLU()", "MaxPool2d(2)",
                          "Conv2d(8, 4, 3, dtype=torch.float64)", "Flatten()", "Linear(36, 2)"],
                         (1, 3, 12, 12), dtype="float32")
    assert [r.dtype for r in a.layers] == ["float16"] * 3 + ["float64"] * 3
    assert [r.output_bytes for r in a.layers] == [8 * 10 * 10 * F16, 8 * 10 * 10 * F16, 8 * 5 * 5 * F16,
                                                  4 * 3 * 3 * F64, 36 * F64, 2 * F64]
    conv1, conv2, linear = 3 * 8 * 9 + 8, 8 * 4 * 9 + 4, 36 * 2 + 2
    assert a.total.param_bytes == conv1 * F16 + conv2 * F64 + linear * F64
    assert a.total.input_bytes == 3 * 12 * 12 * F32  # the input itself is --dtype's
    assert a.total.activation_bytes == sum(r.output_bytes for r in a.layers)


def test_without_any_dtype_every_layer_has_the_inputs():
    a = convcalc.analyze(["Conv2d(3, 8, 3)", "ReLU()"], (1, 3, 6, 6), dtype="bfloat16")
    assert [r.dtype for r in a.layers] == ["bfloat16", "bfloat16"]
    assert [r.output_bytes for r in a.layers] == [8 * 4 * 4 * 2] * 2


def test_a_merge_takes_its_first_inputs_dtype():
    def node(name, expr, *inputs, dtype=None):
        return Node(name, convcalc.build_layer(expr), inputs, expr, dtype)

    nodes = [node("half", "Conv2d(3, 3, 1)", "input", dtype="float16"), node("plain", "ReLU()", "input"),
             node("a", "Add()", "half", "plain"), node("b", "Add()", "plain", "half"),
             node("c", "ReLU()", "a")]
    rows = {r.name: r for r in walk(Graph((1, 3, 4, 4), nodes), dtype="float32").layers}
    assert {name: rows[name].dtype for name in rows} == {"half": "float16", "plain": "float32",
                                                         "a": "float16", "b": "float32", "c": "float16"}
    assert rows["c"].output_bytes == 3 * 4 * 4 * F16


def test_expanded_and_lazy_layers_share_their_dtype():
    a = convcalc.analyze(["LazyConv2d(4, 3, dtype=torch.float64)", "SeparableConv2d(4, 6, 3)"], (2, 3, 9, 9))
    assert [(r.name, r.dtype) for r in a.layers] == [("0", "float64"), ("1.depthwise", "float64"),
                                                     ("1.pointwise", "float64")]
    assert a.layers[-1].output_bytes == 2 * 6 * 5 * 5 * F64


def test_memory_on_the_command_line_follows(capsys):
    code = main(["shape", "Conv2d(3, 8, 3, dtype=torch.float64) -> ReLU() -> Conv2d(8, 2, 1)",
                 "-i", "1x3x6x6", "--dtype", "float16", "-f", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [layer["output_bytes"] for layer in doc["layers"]] == [8 * 4 * 4 * F64, 8 * 4 * 4 * F64,
                                                                  2 * 4 * 4 * F64]
    assert doc["total"]["input_bytes"] == 3 * 6 * 6 * F16
