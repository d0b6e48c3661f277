"""`convcalc draw --rf`: the drawn dependence sets are the real ones.

The reference is brute force, not convcalc's index maps: the network is run through the
NumPy executor on a batch of one-hot inputs (one per input position) with every weight
1, every bias 0 and BatchNorm the identity, so every value stays non-negative and an
output unit is non-zero exactly when its input position reaches it along some path
(ReLU and max pooling pass positive values, interpolation and averaging weigh them
positively).  The committed figure's grid sizes are also checked against the analysed
shapes, and its counts against the receptive field (size, stride, start) of `shape`.
"""

from __future__ import annotations

import builtins
import importlib.util
import math
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from convcalc.analysis.dependence import trace
from convcalc.api import analyze
from convcalc.cli import main
from convcalc.network import analyse
from convcalc.numeric.execute import execute, parameter_layout
from convcalc.record import replace
from convcalc.render import canvas, rfield

ROOT = Path(__file__).parent.parent
FIGURE = ROOT / "docs" / "figures" / "receptive_field.svg"
NS = "{http://www.w3.org/2000/svg}"

spec = importlib.util.spec_from_file_location("make_figures", ROOT / "docs" / "make_figures.py")
make_figures = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_figures)


def brute_force(make, shape, entry: str, unit: tuple[int, ...]) -> np.ndarray:
    """The input positions (last two axes, or one) whose change moves `unit` of `entry`:
    a finite difference per position, all in one batch (`make(shape)` analyses the
    network at an input shape).  Every value is positive (input 1, weights 1, biases 0,
    BatchNorm the identity), and a change of 1e6 at one position outweighs everything
    else, so it raises every unit that reads it along any path: through sums, products,
    ReLU, and maxima (which it wins)."""
    k = 2 if len(shape) >= 4 else 1
    spatial = shape[-k:]
    n = math.prod(spatial)
    analysis = make("x".join(map(str, (n + 1,) + tuple(shape[1:]))))
    rows = analysis.layers
    last = next(i for i, r in enumerate(rows) if r.name == entry)
    batch = replace(analysis, layers=rows[:last + 1])  # the entry's output is the result
    x = np.ones((n + 1,) + tuple(shape[1:]), dtype=np.float64)
    lead = x.reshape((n + 1,) + tuple(shape[1:-k]) + (n,))
    lead[np.arange(n), ..., np.arange(n)] += 1e6  # row i: position i changed, every channel; the last: none
    params = {}
    for r in batch.layers:
        layout = parameter_layout(r.layer)
        params[r.name] = {name: (np.ones(s) if name in ("weight", "running_var") else np.zeros(s))
                          for name, s in layout.items()}
    out = execute(batch, x, params=params, max_memory=None).output
    assert (out > 0).all()
    picked = out[(slice(None),) + (slice(None),) * (out.ndim - 1 - len(unit)) + tuple(unit)]
    picked = picked.reshape(n + 1, -1)
    reached = (picked[:n] - picked[n]).max(axis=1) > 0.5
    return reached.reshape((1,) * (2 - k) + tuple(spatial))


def drawn_input(analysis, entry, at=None) -> tuple[np.ndarray, tuple]:
    dep = trace(analysis, entry, at)
    return dep.tensors[0].seen, dep.unit


CHAINS = [
    (list(make_figures.RF_LAYERS), "1x1x16x16", ["0,4", "4,4", "7,7", "0,0"]),
    (["Conv2d(2, 3, 3, padding=1, padding_mode='reflect')", "ConvTranspose2d(3, 2, 3, stride=2)",
      "Upsample(scale_factor=2, mode='bilinear')", "MaxPool2d(3, stride=2, padding=1, ceil_mode=True)",
      "Conv2d(2, 1, 3, dilation=2)"], "1x2x7x7", ["0,0", "3,5", "6,6"]),
    (["Conv2d(1, 4, 3, padding=2, padding_mode='circular')", "ReLU()", "Conv2d(4, 4, 3, stride=2, groups=2)",
      "AvgPool2d(2, ceil_mode=True)", "Upsample(scale_factor=3, mode='nearest')"], "1x1x9x9", ["0,0", "2,4", "5,5"]),
    (["Conv1d(1, 2, 3, padding=1, padding_mode='replicate')", "Conv1d(2, 1, 3, stride=2, dilation=2)"],
     "1x1x12", ["0", "2", "3"]),
]


@pytest.mark.parametrize("layers,shape,units", CHAINS)
def test_drawn_sets_are_the_brute_force_dependence(layers, shape, units):
    analysis = analyze(layers, shape)
    entry = analysis.layers[-1].name
    for at in units:
        seen, unit = drawn_input(analysis, entry, at)
        reached = brute_force(lambda s: analyze(layers, s), analysis.input_shape, entry,
                              unit[-len(at.split(",")):])
        assert seen.any()
        np.testing.assert_array_equal(seen, reached, err_msg=f"unit {at}")


def test_a_residual_network_unites_its_paths():
    result = analyse(str(ROOT / "examples" / "tiny_resnet.yaml"), "1x3x16x16")
    analysis = result.analysis
    for entry, at in (("layer1", "8,8"), ("layer1", "0,15"), ("layer2", "0,0"), ("layer2", "3,5")):
        row = result.last_row[result.network.find(entry)].name
        seen, unit = drawn_input(analysis, row, at)
        reached = brute_force(lambda s: analyse(str(ROOT / "examples" / "tiny_resnet.yaml"), s).analysis,
                              analysis.input_shape, row, unit)
        np.testing.assert_array_equal(seen, reached, err_msg=f"{entry} {at}")


MERGES = """
input: [1, 1, 8, 8]
layers:
  - {name: a, layer: "Conv2d(1, 1, 3, padding=1)"}
  - {name: g, layer: "AdaptiveAvgPool2d((1, 8))", from: input}
  - {name: m, layer: "Mul()", from: [a, g]}
  - {name: c, layer: "Concat(dim=3)", from: [m, a]}
  - {name: p, layer: "MaxPool2d(2, stride=(1, 2), padding=1)"}
"""


def test_broadcast_product_and_spatial_concat(tmp_path):
    path = tmp_path / "merges.yaml"
    path.write_text(MERGES)
    analysis = analyse(str(path)).analysis
    for entry, at in (("c", "2,3"), ("c", "2,12"), ("p", "0,4"), ("p", "5,7"), ("m", "7,0")):
        seen, unit = drawn_input(analysis, entry, at)
        reached = brute_force(lambda s: analyse(str(path), s).analysis, analysis.input_shape, entry, unit)
        np.testing.assert_array_equal(seen, reached, err_msg=f"{entry} {at}")
    seen, _ = drawn_input(analysis, "c", "2,3")
    assert seen.sum() == 8 + 6  # the broadcast column 3 whole, and the 3x3 window around it


def test_interior_units_see_the_receptive_field_box():
    """Away from the border the set is the whole box the receptive-field analysis gives."""
    analysis = analyze(list(make_figures.RF_LAYERS), "1x1x32x32")
    rf = analysis.layers[-1].receptive_field
    for at in ("5,5", "8,10"):
        seen, unit = drawn_input(analysis, "2", at)
        rows, cols = np.nonzero(seen)
        starts = [int(s + u * st) for s, u, st in zip(rf.start, unit, rf.stride)]
        assert (rows.min(), cols.min()) == tuple(starts)
        assert seen.sum() == math.prod(rf.size) == 13 * 13


def svg_grids(path: Path) -> dict[str, dict]:
    """Each receptive-field panel of an SVG: its attributes, and its cells expanded from
    the runs (`data-n` equal cells along a row from data-r, data-c)."""
    root = ET.parse(path).getroot()
    found = {}
    for g in root.iter(f"{NS}g"):
        if g.get("data-role") != "rf":
            continue
        cells = {}
        for r in g:
            if r.tag != f"{NS}rect":
                continue
            row, col, n = (int(r.get(k)) for k in ("data-r", "data-c", "data-n"))
            for c in range(col, col + n):
                assert (row, c) not in cells
                cells[(row, c)] = set(r.get("class").split())
        found[g.get("data-name")] = {
            "rows": int(g.get("data-rows")), "cols": int(g.get("data-cols")),
            "pad": tuple(int(v) for v in g.get("data-pad").split(",")),
            "cells": len(cells), "seen": sum("seen" in c for c in cells.values()),
            "read": sum("read" in c for c in cells.values()),
            "chosen": sum("chosen" in c for c in cells.values()),
            "inside": sum("input" in c for c in cells.values()),
            "label": int(g.get("data-seen")),
            "at": {p for p, c in cells.items() if "seen" in c},
            "kinds_ok": all(("input" in c) == (0 <= p[0] < int(g.get("data-rows")) and
                                               0 <= p[1] < int(g.get("data-cols"))) for p, c in cells.items()),
        }
    return found


def test_the_committed_figure_matches_the_analysis():
    layers, shape, at, entry = make_figures.CASES["receptive_field"]
    g = svg_grids(FIGURE)
    assert list(g) == ["input", "0", "1", "2"]
    # sizes from PyTorch's formula, out = (n + 2p - d(k-1) - 1) // s + 1: 16 -> 16 -> 8 -> 8
    sizes = {"input": 16, "0": (16 + 2 - 2 - 1) // 1 + 1, "1": (16 + 2 - 2 - 1) // 2 + 1,
             "2": (8 + 4 - 4 - 1) // 1 + 1}
    # the padding each tensor's reader adds: conv 0 pads the input by 1, conv 1 its input by 1,
    # the dilated conv 2 by 2; the entry is read by nobody
    pads = {"input": 1, "0": 1, "1": 2, "2": 0}
    for name, n in sizes.items():
        grid = g[name]
        assert (grid["rows"], grid["cols"]) == (n, n)
        assert grid["pad"] == (pads[name],) * 4
        assert grid["cells"] == (n + 2 * pads[name]) ** 2 and grid["inside"] == n * n and grid["kinds_ok"]
        assert grid["seen"] == grid["label"]
    assert g["2"]["chosen"] == 1 and g["2"]["seen"] == 1
    # the unit 0,4 near the top border: its receptive-field box, clipped to the input
    analysis = analyze(list(layers), shape)
    assert [tuple(r.output_shape[-2:]) for r in analysis.layers] == [(sizes[n], sizes[n]) for n in "012"]
    rf = analysis.layers[-1].receptive_field
    unit = [int(v) for v in at.split(",")]
    spans = []
    for start, size, stride, u, n in zip(rf.start, rf.size, rf.stride, unit, (16, 16)):
        lo = int(start + u * stride)
        spans.append(range(max(lo, 0), min(lo + size, n)))
    assert g["input"]["at"] == {(r, c) for r in spans[0] for c in spans[1]}
    assert g["input"]["read"] > 0  # its top row reads the padding
    # and the brute-force dependence of that unit
    reached = brute_force(lambda s: analyze(list(layers), s), analysis.input_shape, entry, tuple(unit))
    assert g["input"]["at"] == {tuple(map(int, p)) for p in zip(*np.nonzero(reached))}
    # the dilated layer after the strided one leaves holes in the first tensor
    assert g["0"]["seen"] < (max(r for r, _ in g["0"]["at"]) + 1) * (max(c for _, c in g["0"]["at"])
                                                                   - min(c for _, c in g["0"]["at"]) + 1)


def test_whole_input_after_flatten_and_linear(capsys):
    assert main(["draw", "Conv2d(1, 2, 3)", "Flatten()", "Linear(18, 4)", "-i", "1x1x5x5"]) == 0
    out = capsys.readouterr().out
    assert "no spatial axes" in out and "25 of 25 (5x5)" in out
    analysis = analyze(["Conv2d(1, 2, 3)", "AdaptiveAvgPool2d(1)"], "1x1x6x6")
    seen, unit = drawn_input(analysis, "1")
    assert seen.all() and unit == (0, 0)


def test_text_fits_80_columns_and_marks_the_set(capsys):
    for args in (["examples/tiny_resnet.yaml"], ["examples/tiny_unet.yaml", "--rf", "up1"],
                 ["examples/resnet18.yaml", "--rf", "layer1", "--at", "0,0"],
                 [*make_figures.RF_LAYERS, "-i", "1x1x16x16", "--at", "0,4"]):
        assert main(["draw", *args]) == 0, args
        lines = capsys.readouterr().out.splitlines()
        assert max(len(line) for line in lines) <= 80, args
    main(["draw", "Conv1d(1, 1, 3, padding=1)", "Conv1d(1, 1, 3, stride=2, dilation=2)", "-i", "1x1x12"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[4].split("   ")[0].replace(" ", "") == "◦···■■■■■■■··◦"  # one row: 7 seen, padding unread
    assert lines[0] == "receptive field of 1 at 2"


def test_large_grids_are_summarised(capsys):
    assert main(["draw", "Conv2d(1, 1, 3)", "AvgPool2d(2)", "-i", "1x1x200x200", "--rf", "1"]) == 0
    out = capsys.readouterr().out
    assert "rows 97..102, cols 97..102:" in out  # cropped around the 4x4 (98..101) it depends on
    assert main(["draw", "Conv2d(1, 1, 3)", "AdaptiveAvgPool2d(1)", "-i", "1x1x200x100"]) == 0
    out = capsys.readouterr().out
    assert "box rows 0..199, cols 0..99" in out and max(map(len, out.splitlines())) <= 80


@pytest.mark.parametrize("args,message", [
    (["examples/tiny_resnet.yaml", "--rf", "layer9"], "--rf: expected an entry of"),
    (["examples/tiny_resnet.yaml", "--rf", "layer1", "--at", "32,0"], "--at: expected a unit inside"),
    (["examples/tiny_resnet.yaml", "--rf", "layer1", "--at", "1"], "--at: expected 2 index"),
    (["examples/tiny_resnet.yaml", "--at", "0,0"], "--at: expected no --at"),
    (["Conv2d(1, 1, 3)", "ReLU()", "-i", "1x1x5x5", "--rf", "2"], "--rf: expected a layer index 0..1"),
    (["Conv2d(1, 1, 3)", "ReLU()", "-i", "1x1x5x5", "-o", "f.pdf"], "--output: expected a file name ending"),
    (["Linear(4, 2)", "ReLU()", "-i", "1x4"], "--input: expected an input with spatial axes"),
])
def test_errors_are_one_line_exit_2(args, message):
    proc = subprocess.run([sys.executable, "-m", "convcalc", "draw", *args], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and message in proc.stderr and "Traceback" not in proc.stderr


def test_chain_entry_by_name_or_index(capsys):
    chain = ["Conv2d(1, 1, 3)", "Conv2d(1, 1, 3)", "-i", "1x1x9x9"]
    assert main(["draw", *chain, "--rf", "0"]) == 0
    first = capsys.readouterr().out
    assert main(["draw", *chain, "--rf", "-2"]) == 0
    assert capsys.readouterr().out == first and first.startswith("receptive field of 0 at 3,3")
    assert main(["draw", "Conv2d(1, 1, 3)", "-i", "1x1x5x5", "--rf", "0"]) == 0  # one layer, as a field
    assert "9 of 25 (5x5)" in capsys.readouterr().out



@pytest.mark.parametrize("argv", [
    ["Conv2d(1, 1, 3, stride=2, padding=1)", "-i", "1x1x5x5", "--at", "1,1"],
    [*make_figures.RF_LAYERS, "-i", "1x1x16x16", "--at", "0,4"],
])
def test_png_paints_the_svg_geometry(argv, tmp_path):
    Image = pytest.importorskip("PIL.Image")
    path = tmp_path / "fig.png"
    assert main(["draw", *argv, "-o", str(path)]) == 0
    assert main(["draw", *argv, "-o", str(tmp_path / "fig.svg")]) == 0
    root = ET.parse(tmp_path / "fig.svg").getroot()
    width, height = int(root.get("width")), int(root.get("height"))
    image = Image.open(path).convert("RGB")
    assert image.size == (2 * width, 2 * height)
    checked = 0
    for rect in root.iter(f"{NS}rect"):
        if "cell" not in (rect.get("class") or ""):
            continue
        x, y, w = (float(rect.get(k)) for k in ("x", "y", "height"))
        colour = tuple(int(rect.get("fill")[i:i + 2], 16) for i in (1, 3, 5))
        assert image.getpixel((int(2 * (x + w / 2)), int(2 * (y + w / 2)))) == colour
        checked += 1
    assert checked > 20


def test_png_without_pillow_names_the_extra(monkeypatch, tmp_path, capsys):
    real = builtins.__import__

    def no_pil(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("No module named 'PIL'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pil)
    for argv in (["Conv2d(1, 1, 3)", "-i", "1x1x5x5"], ["examples/tiny_resnet.yaml", "--rf", "layer1"]):
        code = main(["draw", *argv, "-o", str(tmp_path / "f.png")])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and 'pip install "convcalc[image]"' in err
        assert not (tmp_path / "f.png").exists()


def test_one_layout_two_backends():
    """The SVG is the canvas written out: every canvas rect is one SVG rect."""
    dep = trace(analyze(list(make_figures.RF_LAYERS), "1x1x16x16"), "2", "0,4")
    layout = rfield.layout(dep)
    root = ET.fromstring(canvas.to_svg(layout))
    assert len(list(root.iter(f"{NS}rect"))) == 1 + sum(e.tag == "rect" for e in layout.elements)


def test_torch_agrees_where_importable():
    """The same one-hot reach computed by PyTorch itself (the modules built directly here)."""
    torch = pytest.importorskip("torch")
    nn = torch.nn
    layers = CHAINS[1][0]
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"), nn.ConvTranspose2d(3, 2, 3, stride=2),
                          nn.Upsample(scale_factor=2, mode="bilinear"),
                          nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), nn.Conv2d(2, 1, 3, dilation=2))
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    n = 7 * 7
    x = torch.zeros(n, 2, n, dtype=torch.float64)
    x[torch.arange(n), :, torch.arange(n)] = 1.0
    with torch.no_grad():
        out = model.double()(x.reshape(n, 2, 7, 7))
    analysis = analyze(layers, "1x2x7x7")
    assert tuple(out.shape[1:]) == analysis.layers[-1].output_shape[1:]
    for unit in ((0, 0), (3, 5), (6, 6), (2, 1)):
        reached = (out[:, 0, unit[0], unit[1]] > 0).numpy().reshape(7, 7)
        seen, _ = drawn_input(analysis, analysis.layers[-1].name, f"{unit[0]},{unit[1]}")
        np.testing.assert_array_equal(seen, reached, err_msg=str(unit))


def test_an_onnx_model_draws_like_its_spec(capsys):
    pytest.importorskip("onnx")
    path = ROOT / "tests" / "fixtures" / "importers" / "resnet18.onnx"
    assert main(["draw", str(path), "--rf", "maxpool", "--at", "0,0"]) == 0
    out = capsys.readouterr().out
    # maxpool unit 0 reads conv1 units 0..1 (its padding 1 before), which read input -3..6
    assert "36 of 50176 (224x224) +45 padding" in out and "4 of 12544 (112x112)" in out


def test_a_large_input_traces_quickly():
    """The tap products run over the set's bounding box in float BLAS, not dense int64 over
    the whole grid (a 1024x1024 chain took half a minute, 4096x4096 did not finish)."""
    import time
    t = time.perf_counter()
    dep = trace(analyze(["Conv2d(1,1,3,padding=1)", "Conv2d(1,1,3,stride=2)", "Conv2d(1,1,3)"],
                        (1, 1, 1024, 1024)), "2")
    assert time.perf_counter() - t < 10
    assert dep.tensors[0].count == 9 * 9  # 3, then 3 + 2*2 = 7, then 7 + 2 = 9 along each axis


@pytest.mark.parametrize("shape", ["1x1x100000x100000", "1x1x9000x9000"])
def test_a_grid_too_large_to_trace_is_refused_in_one_line(shape):
    proc = subprocess.run([sys.executable, "-m", "convcalc", "draw", "Conv2d(1, 1, 3)", "-i", shape,
                           "--rf", "0"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: --input: expected")


def test_a_window_of_millions_of_taps_traces_in_seconds():
    """An adaptive pool to 3 over 10 M positions: each unit reads 3.3 M taps, set at once (a
    loop over tap rows ran past a minute)."""
    import time
    t = time.perf_counter()
    dep = trace(analyze(["AdaptiveAvgPool1d(3)"], (1, 1, 9_999_991)), "0", "1")
    assert time.perf_counter() - t < 20
    assert dep.tensors[0].count == 3_333_331  # [floor(n/3), ceil(2n/3)) for the middle unit
