"""The network specs in examples/: `convcalc check` holds every one to its `expect:` block,
and each computes what PyTorch computes for the same network, from the ground truth that
tests/fixtures/record_examples.py recorded (torchvision's models where there is one):
the total parameters and MACs, the output shape and every module's output shape."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

from convcalc.network import analyse
from support import cli

ROOT = Path(__file__).parent.parent
FIXTURE = json.loads((ROOT / "tests/fixtures/examples.json").read_text())
# The specs that mirror a recorded network, and how their rows meet torch's modules:
# "names" -- a torch module's dotted name is the spec's entry name (a module called k > 1
# times, torchvision's shared ReLU, is the entries name1 ... namek, in order); "order" --
# the spec's rows, merges and Flatten aside, are torch's module calls in forward order.
MATCH = {"resnet18": "names", "resnet50": "names", "vgg16": "order", "mobilenet_v2": "names",
         "unet": "names", "dcgan_generator": "names", "r3d_18": "names", "tcn": "names",
         "lenet5": "names", "depthwise_separable": "names", "flattened_conv": "names", "shufflenet_unit": "names"}
SEEDS = ("lenet5", "depthwise_separable", "flattened_conv", "shufflenet_unit")  # seed 003's networks
FUNCTIONAL = ("Add", "Concat", "Flatten")  # torch does these in forward(), not as modules


@lru_cache(maxsize=None)
def result(example):
    return analyse(str(ROOT / f"examples/{example}.yaml"))


def test_every_example_is_covered():
    assert sorted(p.stem for p in (ROOT / "examples").glob("*.yaml") if not p.stem.startswith("tiny_")) \
        == sorted(MATCH)


def test_convcalc_check_passes_on_every_example():
    specs = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examples").glob("*.yaml"))
    proc = subprocess.run([sys.executable, "-m", "convcalc", "check", *specs], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1] == f"checked {len(specs)} specs: {len(specs)} passed, 0 failed"


@pytest.mark.parametrize("example", sorted(MATCH))
def test_totals_equal_torch(example):
    truth, analysis = FIXTURE[example], result(example).analysis
    assert list(analysis.input_shape) == truth["input"]
    assert list(analysis.total.output_shape) == truth["output"]
    assert analysis.total.params == truth["params"]
    assert analysis.total.macs == truth["macs"]


@pytest.mark.parametrize("example", sorted(MATCH))
def test_every_module_output_shape_equals_torch(example):
    calls = FIXTURE[example]["calls"]
    layers = result(example).analysis.layers
    if MATCH[example] == "order":
        ours = [list(r.output_shape) for r in layers if r.type not in FUNCTIONAL]
        assert ours == [shape for _, shape in calls]
        return
    rows = {r.name: r for r in layers}
    by_module: dict[str, list] = {}
    for name, shape in calls:
        by_module.setdefault(name, []).append(shape)
    matched = set()
    for name, shapes in by_module.items():
        names = [name] if len(shapes) == 1 else [f"{name}{i}" for i in range(1, len(shapes) + 1)]
        for entry, shape in zip(names, shapes):
            assert entry in rows, f"{example}: torch's {name} has no entry {entry}"
            assert list(rows[entry].output_shape) == shape, f"{example}: {entry}"
            matched.add(entry)
    # whatever the spec has beyond torch's modules is what torch does in forward()
    assert {r.type for r in layers if r.name not in matched} <= set(FUNCTIONAL) | {"AdaptiveAvgPool2d"}


@pytest.mark.parametrize("example", sorted(e for e, how in MATCH.items() if how == "names"))
def test_every_module_params_and_macs_equal_torch(example):
    """Per leaf module, its parameters and its MACs summed over its calls (a module called
    k times is the entries name1 ... namek)."""
    rows = {r.name: r for r in result(example).analysis.layers}
    calls = [name for name, _ in FIXTURE[example]["calls"]]
    for name, (params, macs) in FIXTURE[example]["modules"].items():
        k = calls.count(name)
        entries = [rows[name]] if k == 1 else [rows[f"{name}{i}"] for i in range(1, k + 1)]
        assert (sum(r.params for r in entries), sum(r.macs for r in entries)) == (params, macs), f"{example}: {name}"


@pytest.mark.parametrize("example", SEEDS)
def test_verify_passes_on_the_seed_networks(capsys, example):
    code, out, err = cli(capsys, "verify", ROOT / f"examples/{example}.yaml", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["verified"] is True and doc["mismatches"] == 0
    assert sum(r["executed"]["macs"] for r in doc["layers"]) == FIXTURE[example]["macs"]
    assert doc["layers"][-1]["executed"]["output_shape"] == FIXTURE[example]["output"]


def test_the_functional_pooling_is_only_where_torch_pools_in_forward():
    """MobileNetV2 pools with F.adaptive_avg_pool2d in forward(): the spec's one extra
    AdaptiveAvgPool2d row; everywhere else pooling is a module and so matched above."""
    for example in sorted(MATCH):
        names = {name for name, _ in FIXTURE[example]["calls"]}
        extra = [r.name for r in result(example).analysis.layers
                 if r.type == "AdaptiveAvgPool2d" and r.name not in names]
        assert extra == (["avgpool"] if example == "mobilenet_v2" else []), example


def test_specs_are_short_and_use_blocks():
    for example in sorted(MATCH):
        text = (ROOT / f"examples/{example}.yaml").read_text()
        assert len(text.splitlines()) <= 70, example
        assert re.search(r"^blocks:", text, re.M), example


# ------------------------------------------------------------------ verify, compare and --convention on a spec

def test_verify_runs_a_network_spec(capsys):
    code, out, err = cli(capsys, "verify", ROOT / "examples/tiny_resnet.yaml", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    analysis = result_of("tiny_resnet")
    assert doc["verified"] is True and doc["mismatches"] == 0
    assert [r["name"] for r in doc["layers"]] == [r.name for r in analysis.layers]
    executed = {r["name"]: r["executed"] for r in doc["layers"]}
    # the executor's own counts: the 1x1 projection of layer2 at 16x16, 16 -> 32 channels
    assert executed["layer2.0.downsample.0"] == {**executed["layer2.0.downsample.0"],
                                                 "output_shape": [1, 32, 16, 16], "macs": 16 * 16 * 32 * 16}
    assert sum(e["macs"] for e in executed.values()) == analysis.total.macs


def test_verify_of_a_spec_takes_input_and_seed(capsys):
    code, out, err = cli(capsys, "verify", ROOT / "examples/tiny_unet.yaml", "-i", "2x1x32x32", "--seed", "3")
    assert code == 0, err
    assert out.startswith("verify: input [2, 1, 32, 32] float32, seed 3")
    assert "up1.cat" in out and "✓ all 37 layers agree" in out


def test_verify_of_layers_still_needs_an_input(capsys):
    code, out, err = cli(capsys, "verify", "Conv2d(3, 4, 3)")
    assert code == 2 and out == ""
    assert err.startswith("error: --input: expected an input shape") and err.count("\n") == 1


def test_verify_of_an_unreadable_spec_is_one_line(capsys, tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text("input: [1, 3, 8, 8]\nlayers: ['Conv2d(4, 8, 3)']\n")
    code, out, err = cli(capsys, "verify", path)
    assert code == 2 and out == ""
    assert err.startswith(f"error: {path}:2") and "expected input with 4 channels" in err


def test_compare_takes_a_network_spec(capsys):
    code, out, err = cli(capsys, "compare", ROOT / "examples/dcgan_generator.yaml", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    layers = {r["name"]: r for r in doc["layers"]}
    assert list(layers) == [r.name for r in result_of("dcgan_generator").layers]
    # the 100 -> 512 projection from a 1x1 map: 100 x 512 x 4 x 4 products over its one
    # input position; torchinfo and thop count it over the 16 output positions
    assert layers["project.0"]["macs"]["convcalc"] == 100 * 512 * 16
    assert layers["project.0"]["macs"]["torchinfo"] == 100 * 512 * 16 * 16
    assert doc["input_shape"] == [1, 100, 1, 1]


def test_summary_and_check_count_under_a_convention(capsys, tmp_path):
    from convcalc import analyze
    layers = ["ConvTranspose2d(100, 8, 4)", "BatchNorm2d(8)", "ReLU()"]
    path = tmp_path / "net.yaml"
    path.write_text("input: [1, 100, 1, 1]\nlayers: " + json.dumps(layers) + "\nexpect:\n  max_macs: 20K\n")
    for convention in ("convcalc", "torchinfo", "ptflops", "fvcore", "thop"):
        code, out, err = cli(capsys, "summary", path, "--convention", convention, "-f", "json")
        assert code == 0, err
        chain = analyze(layers, (1, 100, 1, 1), convention=convention)
        assert [r["macs"] for r in json.loads(out)["layers"]] == [r.macs for r in chain.layers]
    assert analyze(layers[:1], (1, 100, 1, 1)).total.macs == 100 * 8 * 16  # within 20K ...
    assert cli(capsys, "check", path)[0] == 0
    code, out, _ = cli(capsys, "check", path, "--convention", "torchinfo")  # ... over 16 outputs: not
    assert code == 1 and "max_macs" in out


def result_of(example):
    return analyse(str(ROOT / f"examples/{example}.yaml")).analysis


def test_the_readme_lists_every_example_with_torchs_figures():
    from convcalc.render.columns import human
    readme = (ROOT / "README.md").read_text()
    table = dict((m.group(1), (m.group(2), m.group(3)))
                 for m in re.finditer(r"^\| `(\w+)\.yaml` \|[^|]+\|[^|]+\| ([^|]+) \| ([^|]+) \|$", readme, re.M))
    assert sorted(table) == sorted(p.stem for p in (ROOT / "examples").glob("*.yaml"))
    for example in MATCH:
        truth = FIXTURE[example]
        assert table[example] == (human(truth["params"]), human(truth["macs"])), example
