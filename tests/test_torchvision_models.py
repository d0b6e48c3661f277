"""Real torchvision networks through both importers, against PyTorch's own figures.

tests/fixtures/torchvision.json and tests/fixtures/torchvision/ were recorded with
tests/fixtures/record_torchvision.py (torch 2.14, torchvision 0.29): for each model its
torch.fx trace as plain records, its ONNX export with the weights reduced to their dims, and
PyTorch's output shape, sum(p.numel()), Conv/ConvTranspose/Linear multiply-accumulates and
leaf-module output shapes, counted with forward hooks. The models between them use what the
importers read beyond chains of modules (see the recording script); three models convcalc
cannot represent (ConvNeXt, ViT, ShuffleNetV2) must be refused with what is missing named.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from convcalc.errors import ConvcalcError
from convcalc.network import analyse, load_text

FIXTURES = Path(__file__).parent / "fixtures"
RECORD = json.loads((FIXTURES / "torchvision.json").read_text())
MODELS = sorted(RECORD["models"])


def records(model: str) -> list[dict]:
    return json.loads((FIXTURES / "torchvision" / f"{model}.fx.json").read_text())


def check(imported, model: str) -> None:
    want = RECORD["models"][model]
    result = analyse(load_text(imported.to_yaml(), f"{model}.yaml"))
    total = result.analysis.total
    assert list(total.output_shape) == want["output_shape"]
    # modules forward never calls (GoogLeNet's and Inception's auxiliary classifiers in eval
    # mode) are in PyTorch's sum(p.numel()) and in no traced graph
    assert total.params == want["params"] - want["uncalled_params"]
    assert total.macs == want["macs"]
    rows = {row.name: row for row in result.analysis.layers}
    compared = 0
    for module, shape in want["layer_shapes"].items():
        row = rows.get(re.sub(r"[^0-9A-Za-z_]+", "_", module))  # as the importers name entries
        if row is not None:
            compared += 1
            assert list(row.output_shape) == shape, module
    assert compared >= 0.9 * len(want["layer_shapes"]), "most leaf modules keep their names"


def test_the_fixtures_are_small():
    for path in (FIXTURES / "torchvision").iterdir():
        assert path.stat().st_size < 200_000, path
    assert RECORD["models"]["googlenet"]["uncalled_params"] > 0  # the check above is not vacuous


@pytest.mark.parametrize("model", MODELS)
def test_fx_records_equal_torch(model):
    from convcalc.importers.fx import from_records
    check(from_records(records(model), tuple(RECORD["models"][model]["input"]), model), model)


@pytest.mark.parametrize("model", MODELS)
def test_onnx_equals_torch(model):
    pytest.importorskip("onnx")
    from convcalc.importers.onnx import from_file
    check(from_file(str(FIXTURES / "torchvision" / f"{model}.onnx")), model)


@pytest.mark.parametrize("model, missing", [
    ("convnext_tiny", ["function permute", "function layer_norm", "get_attr"]),
    ("vit_b_16", ["module MultiheadAttention", "function permute", "function expand"]),
    ("shufflenet_v2_x0_5", ["function chunk", "function transpose"]),
])
def test_what_cannot_be_represented_is_named(model, missing):
    from convcalc.importers.fx import from_records
    with pytest.raises(ConvcalcError) as info:
        from_records(records(model), tuple(RECORD["refused"][model]["input"]), model)
    message = str(info.value)
    assert "\n" not in message
    for what in missing:
        assert what in message
    assert "non-tensor input" not in message  # what reads a refused node is not named again


def test_onnx_summary_of_a_segmentation_model(capsys):
    """Its Resize sizes come from Shape -> Slice -> Concat on the graph's own tensors."""
    pytest.importorskip("onnx")
    from convcalc.cli import main
    code = main(["summary", str(FIXTURES / "torchvision" / "lraspp_mobilenet_v3_large.onnx"), "-f", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    want = RECORD["models"]["lraspp_mobilenet_v3_large"]
    assert doc["total"]["output_shape"] == want["output_shape"]
    assert doc["layers"][-1]["type"] == "Upsample"


@pytest.mark.parametrize("model", ["mnasnet0_5", "squeezenet1_1", "r3d_18"])
def test_live_torchvision_trace_equals_the_recording(model):
    """With torchvision installed: tracing now gives the recorded figures."""
    models = pytest.importorskip("torchvision.models")  # (other tests may stand a stub in for torchvision)
    from convcalc.importers.fx import from_module
    net = models.get_model(model, weights=None).eval()
    check(from_module(net, tuple(RECORD["models"][model]["input"]), model), model)
