"""`convcalc draw`: the committed figures parse, and their grids match the arithmetic.

Expected sizes are written out here from PyTorch's documented formulas (Conv2d,
ConvTranspose2d, MaxPool2d with ceil_mode); tap counts are counted here from the
kernel positions o*s - p + j*d (or, for the transposed convolution, the positions of the
zero-inserted input), never read from convcalc.
"""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from convcalc.cli import main

ROOT = Path(__file__).parent.parent
FIGURES = ROOT / "docs" / "figures"
NS = "{http://www.w3.org/2000/svg}"

spec = importlib.util.spec_from_file_location("make_figures", ROOT / "docs" / "make_figures.py")
make_figures = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_figures)


def grids(path: Path) -> dict[str, dict]:
    root = ET.parse(path).getroot()
    found = {}
    for g in root.iter(f"{NS}g"):
        if g.get("class") != "grid":
            continue
        cells = [r for r in g if r.tag == f"{NS}rect"]
        kinds = {}
        for r in cells:
            for k in r.get("class").split()[1:]:
                kinds[k] = kinds.get(k, 0) + 1
        found[g.get("data-role")] = {"rows": int(g.get("data-rows")), "cols": int(g.get("data-cols")),
                                     "cells": len(cells), "kinds": kinds}
    return found


def window_out(n, k, s=1, p=0, d=1, ceil=False):
    span = n + 2 * p - d * (k - 1) - 1
    out = (math.ceil(span / s) if ceil else span // s) + 1
    if ceil and (out - 1) * s >= n + p:
        out -= 1
    return out


def inside(o, k, s, p, d, padded):
    """Kernel taps of output o that land inside the padded input (0..padded-1, left pad p)."""
    return sum(0 <= o * s + j * d < padded for j in range(k))


@pytest.mark.parametrize("name,n,k,s,p,d,ceil,at", [
    ("plain", 4, 3, 1, 0, 1, False, (0, 0)),
    ("strided", 5, 3, 2, 0, 1, False, (1, 1)),
    ("padded", 5, 3, 2, 1, 1, False, (1, 1)),
    ("dilated", 7, 3, 1, 0, 2, False, (0, 0)),
    ("ceil_pool", 5, 2, 2, 0, 1, True, (2, 2)),
])
def test_window_figures(name, n, k, s, p, d, ceil, at):
    g = grids(FIGURES / f"{name}.svg")
    padded = n + 2 * p
    out = window_out(n, k, s, p, d, ceil)
    assert (g["input"]["rows"], g["input"]["cols"]) == (padded, padded)
    assert g["input"]["cells"] == padded * padded
    assert g["input"]["kinds"]["input"] == n * n
    assert g["input"]["kinds"].get("pad", 0) == padded * padded - n * n
    assert (g["output"]["rows"], g["output"]["cols"], g["output"]["cells"]) == (out, out, out * out)
    assert g["output"]["kinds"]["chosen"] == 1
    taps = inside(at[0], k, s, p, d, padded) * inside(at[1], k, s, p, d, padded)
    assert g["input"]["kinds"]["tap"] == taps
    if ceil:
        assert taps < k * k  # the extra window hangs over the edge
        root = ET.parse(FIGURES / f"{name}.svg").getroot()
        assert any(r.get("class") == "extra-window" for r in root.iter(f"{NS}rect"))


def test_transposed_figure():
    n, k, s, p, op, d, (oi, oj) = 3, 3, 2, 1, 1, 1, (1, 2)
    g = grids(FIGURES / "transposed.svg")
    out = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
    assert (g["output"]["rows"], g["output"]["cols"]) == (out, out)
    assert g["output"]["kinds"]["chosen"] == 1
    # the plain input: the units whose kernel taps reach the chosen output
    reach = [sum(1 for i in range(n) for j in range(k) if i * s - p + j * d == o) for o in (oi, oj)]
    assert g["input"]["kinds"]["tap"] == reach[0] * reach[1]
    # the direct convolution: (n-1)*s+1 zero-inserted, padded d*(k-1)-p each side, op more after
    inserted = (n - 1) * s + 1
    pad = d * (k - 1) - p
    padded = inserted + 2 * pad + op
    direct = g["direct"]
    assert (direct["rows"], direct["cols"], direct["cells"]) == (padded, padded, padded * padded)
    assert direct["kinds"]["input"] == n * n
    assert direct["kinds"]["zero"] == inserted * inserted - n * n
    assert direct["kinds"]["pad"] == padded * padded - inserted * inserted
    assert direct["kinds"]["tap"] == inside(oi, k, 1, 0, d, padded) * inside(oj, k, 1, 0, d, padded)
    assert padded - d * (k - 1) == out  # a stride-1 convolution over it gives the output


@pytest.mark.parametrize("name", list(make_figures.CASES))
def test_committed_figures_are_current(name, tmp_path):
    assert main(make_figures.argv(name, tmp_path / "f.svg")) == 0
    assert (tmp_path / "f.svg").read_text() == (FIGURES / f"{name}.svg").read_text()


def test_text_rendering_marks_taps_and_padding(capsys):
    assert main(["draw", "Conv2d(1, 1, 3, stride=2, padding=1)", "-i", "1x1x5x5", "--at", "1,1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    grid = [line.split()[0] for line in lines[3:10]]
    assert grid[0] == "p" * 7 and grid[-1] == "p" * 7
    assert sum(line.count("#") for line in grid) == 9
    # output 1 starts at 1*2 - 1 = 1, shifted by the padding 1: rows and columns 2..4 of the grid
    assert [line[2:5] for line in grid[2:5]] == ["###"] * 3 and "#" not in grid[1] + grid[5]
    assert "legend:" in "\n".join(lines)


def test_one_dimensional_is_one_row(capsys):
    assert main(["draw", "Conv1d(1, 1, 3, stride=2)", "-i", "1x1x9"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[3].split() == ["###++....", "@" + "o" * ((9 - 3) // 2)]


def test_large_grid_is_cropped_with_a_note(capsys, tmp_path):
    assert main(["draw", "Conv2d(1, 1, 3, padding=1)", "-i", "1x1x100x6", "--at", "50,0"]) == 0
    captured = capsys.readouterr().out
    assert "…" in captured and "cropped to 64" in captured
    path = tmp_path / "big.svg"
    assert main(["draw", "Conv2d(1, 1, 3, padding=1)", "-i", "1x1x100x6", "-o", str(path), "--at", "50,0"]) == 0
    g = grids(path)
    assert g["input"]["rows"] == 102 and g["input"]["cells"] == 64 * 8
    assert g["input"]["kinds"]["tap"] == 9


@pytest.mark.parametrize("args,message", [
    (["ReLU()", "-i", "1x1x5x5"], "expected a window layer"),
    (["AdaptiveAvgPool2d(2)", "-i", "1x1x5x5"], "expected a window layer"),
    (["Conv2d(1, 1, 3)", "-i", "1x1x5x5", "--at", "3,0"], "--at: expected an output unit inside"),
    (["Conv2d(1, 1, 3)", "-i", "1x1x5x5", "--at", "1"], "--at: expected 2 index"),
])
def test_errors_are_one_line_exit_2(args, message):
    proc = subprocess.run([sys.executable, "-m", "convcalc", "draw", *args], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and message in proc.stderr and "Traceback" not in proc.stderr


def test_three_dimensional_draws_the_last_two_axes(tmp_path):
    path = tmp_path / "c3.svg"
    assert main(["draw", "Conv3d(1, 1, (3, 2, 3), padding=(0, 1, 0))", "-i", "1x1x4x5x6", "-o", str(path)]) == 0
    g = grids(path)
    assert (g["input"]["rows"], g["input"]["cols"]) == (5 + 2, 6)
    assert (g["output"]["rows"], g["output"]["cols"]) == (5 + 2 - 2 + 1, 6 - 3 + 1)
    assert g["input"]["kinds"]["tap"] == 2 * 3


def test_a_kernel_too_large_to_draw_is_refused_in_one_line():
    """Its taps were listed one by one: 2.5 billion for this kernel, 17 GB and no end."""
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-m", "convcalc", "draw", "Conv2d(1, 1, 50000, padding=49999)", "-i",
                           "1x1x5x5"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "expected a window of at most 1,048,576 taps to draw; got 50000x50000" in proc.stderr
