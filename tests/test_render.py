"""The terminal table and its units: fits 80 columns without cutting a number, renders
10,000 rows fast, never writes exponents, prints receptive fields and memory totals
unambiguously.  Golden files for the rendered tables (regenerate with
CONVCALC_REGEN_GOLDEN=1, review the diff, commit)."""

from __future__ import annotations

import functools
import io
import json
import os
import re
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table

import convcalc
from convcalc.cli import main
from convcalc.render.columns import COLUMNS, human, human_bytes
from convcalc.render.layout import choose, fold
from convcalc.render.table import print_table

ROOT = Path(__file__).parent.parent
GOLDEN = Path(__file__).parent / "golden"
FIXTURES = Path(__file__).parent / "fixtures"
NETWORKS = json.loads((FIXTURES / "networks.json").read_text())["networks"]

CHAIN = (["Conv2d(3, 16, 3, stride=2, padding=1, bias=False)", "BatchNorm2d(16)", "ReLU()",
          "MaxPool2d(3, stride=2, padding=1) -> SeparableConv2d(16, 32, 3, padding=1)",
          "AdaptiveAvgPool2d(1)", "Flatten()", "Linear(32, 10)"], "2x3x64x64")
# up-sampling: fractional strides, and a unit 0 that no input position reaches
UPSAMPLE = (["Conv2d(1, 4, 3, padding=1)", "ConvTranspose2d(4, 4, 1, stride=2, padding=1)",
             "Upsample(scale_factor=2)", "Conv2d(4, 1, 3)"], "1x1x16x16")
# the names print(model) gives a deep model, too long for Name to keep at 80 columns
DEEP = (["@" + str(GOLDEN / "deep_model.txt")], "1x3x7x7")


def render(analysis, width: int | None, wide: bool = False) -> str:
    """What a terminal of `width` columns shows (None: a pipe)."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width or 80, force_terminal=width is not None, color_system=None)
    print_table(analysis, console=console, wide=wide)
    return buffer.getvalue()


def body(text: str) -> list[list[str]]:
    """The body rows' cells, stripped (lines between the header rule and the footer rule)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("┡"))
    end = next(i for i, line in enumerate(lines) if line.startswith("├"))
    return [[cell.strip() for cell in line.split("│")[1:-1]] for line in lines[start + 1:end]]


def headers(text: str) -> list[str]:
    """Each column's header, its lines joined by a space."""
    lines = [line for line in text.splitlines() if line.startswith("┃")]
    columns = zip(*([cell.strip() for cell in line.split("┃")[1:-1]] for line in lines))
    return [" ".join(part for part in column if part) for column in columns]


def footer(text: str) -> list[str]:
    lines = text.splitlines()
    end = next(i for i, line in enumerate(lines) if line.startswith("├"))
    return [cell.strip() for cell in lines[end + 1].split("│")[1:-1]]


# ------------------------------------------------------------------ human units

UNIT_TEXT = re.compile(r"^(\d+)(?:\.(\d+))? ?([KMGTPE]i?B?|B)?$")


@given(st.integers(min_value=0, max_value=2**80))
@settings(max_examples=500, deadline=None)
def test_human_is_three_digits_of_the_right_unit(value):
    text = human(value)
    assert "e" not in text and UNIT_TEXT.match(text), text
    match = UNIT_TEXT.match(text)
    number = Fraction(match.group(1) + "." + (match.group(2) or "0"))
    unit = match.group(3) or ""
    scale = 1000 ** ("KMGTPE".index(unit) + 1) if unit else 1
    if not unit:
        assert number == value  # below 1000: exact
    else:
        assert abs(number * scale - value) <= Fraction(5, 1000) * value  # half a unit of the 3rd digit
        assert 1 <= number and (number < 1000 or unit == "E")
        assert len((match.group(1) + (match.group(2) or "")).lstrip("0")) == 3 or number >= 1000


@given(st.integers(min_value=0, max_value=2**80))
@settings(max_examples=500, deadline=None)
def test_human_bytes_is_three_digits_of_the_right_binary_unit(value):
    text = human_bytes(value)
    assert "e" not in text, text
    match = re.match(r"^(\d+)(?:\.(\d+))? (B|KiB|MiB|GiB|TiB|PiB|EiB)$", text)
    assert match, text
    number = Fraction(match.group(1) + "." + (match.group(2) or "0"))
    unit = match.group(3)
    if unit == "B":
        assert number == value and value < 1024
    else:
        scale = 1024 ** ("KMGTPE".index(unit[0]) + 1)
        assert abs(number * scale - value) <= Fraction(5, 1000) * value
        assert 1 <= number and (number < 1024 or unit == "EiB")


@pytest.mark.parametrize("value, text", [
    (999, "999"), (1000, "1.00 K"), (1234, "1.23 K"), (9_994, "9.99 K"), (9_995, "10.0 K"),
    (99_949, "99.9 K"), (99_950, "100 K"), (999_499, "999 K"), (999_500, "1.00 M"),
    (999_999, "1.00 M"), (999 * 1000, "999 K"), (1000 * 999 + 999, "1.00 M"),
    (999_999_999_999_999, "1.00 P"), (10**18, "1.00 E"), (1234 * 10**18, "1234 E"),
])
def test_human_boundaries(value, text):
    assert human(value) == text


@pytest.mark.parametrize("value, text", [
    (1023, "1023 B"), (1024, "1.00 KiB"), (int(9.995 * 1024), "9.99 KiB"), (10 * 1024 - 1, "10.0 KiB"),
    (999 * 1024 + 511, "999 KiB"), (999 * 1024 + 512, "1000 KiB"), (1023 * 1024, "1023 KiB"),
    (int(1023.9 * 1024), "1.00 MiB"), (1024 * 1024 - 1, "1.00 MiB"), (1024**2, "1.00 MiB"),
    (3 * 1024**3 + 1024**3 // 2, "3.50 GiB"),
])
def test_human_bytes_boundaries(value, text):
    assert human_bytes(value) == text


def test_linear_1000_999_has_no_exponent(capsys):
    assert main(["shape", "Linear(1000, 999)", "-i", "1x1000"]) == 0
    out = capsys.readouterr().out
    cells = dict(zip(headers(out), body(out)[0]))
    assert cells["MACs"] == "999 K"  # 1000 * 999
    assert cells["Params"] == "1.00 M"  # 1000 * 999 + 999 = 999,999
    assert "e+" not in out


# ------------------------------------------------------------------ widths

@functools.cache
def networks():
    return [(net["name"], convcalc.analyze(["@" + str(FIXTURES / net["file"])], tuple(net["input_shape"])))
            for net in NETWORKS]


NAMED = {"chain": convcalc.analyze(*CHAIN), "upsample": convcalc.analyze(*UPSAMPLE), "deep": convcalc.analyze(*DEEP)}


@pytest.mark.parametrize("width", [80, 100, 120])
def test_every_recorded_network_fits_without_cutting_a_number(width):
    for name, analysis in [*networks(), ("chain", NAMED["chain"]), ("upsample", NAMED["upsample"])]:
        out = render(analysis, width)
        assert "…" not in out, name
        table = out.split("\nParameter memory")[0]
        assert max(cell_len(line) for line in table.splitlines()) <= width, name
        rows = body(out)
        assert len(rows) == len(analysis.layers), name  # nothing folded at these widths
        shown = headers(out)
        assert {"Name", "Type", "Output shape", "Params", "MACs"} <= set(shown), name
        for row, cells in zip(analysis.layers, rows):
            assert all(cells), (name, cells)  # no blank cell
            got = dict(zip(shown, cells))
            assert got["Params"] == human(row.params) and got["MACs"] == human(row.macs), (name, got)
            assert got["Output shape"] in ("×".join(map(str, row.output_shape)), str(list(row.output_shape)))
            if "FLOPs" in got:
                assert got["FLOPs"] == human(row.flops)
            if "Memory" in got:
                assert got["Memory"] == human_bytes(row.output_bytes)
        has_rf = any(row.receptive_field for row in analysis.layers)
        hidden = [c.title for c in COLUMNS if c.title not in shown and (has_rf or not c.title.startswith("RF"))]
        if hidden:
            assert f"Columns left out: {', '.join(hidden)} (--wide shows all)" in out, name
        else:
            assert "left out" not in out, name


def test_a_pipe_and_wide_get_every_column():
    analysis = NAMED["chain"]
    every = [c.title for c in COLUMNS]
    assert headers(render(analysis, None)) == every
    out = render(analysis, 80, wide=True)
    assert headers(out) == every and "left out" not in out
    assert max(cell_len(line) for line in out.splitlines()) > 80  # the terminal wraps it, nothing is cut


def test_an_mlp_has_no_receptive_field_columns():
    out = render(convcalc.analyze(["Linear(8, 4)", "ReLU()"], "2x8"), None)
    assert not any(h.startswith("RF") for h in headers(out))


@pytest.mark.parametrize("width", [60, 80])
def test_long_names_fold_at_dots_and_numbers_stay_whole(width):
    analysis = NAMED["deep"]
    out = render(analysis, width)
    assert max(cell_len(line) for line in out.split("\nParameter memory")[0].splitlines()) <= width
    rows = body(out)
    first_lines = [r for r in rows if r[0].startswith("features") or r[0].startswith("classifier")]
    assert len(first_lines) == len(analysis.layers) < len(rows)
    names = []
    for cells in rows:
        if cells[0].startswith(("features", "classifier")):
            names.append(cells[0])
        else:
            names[-1] += cells[0]
    assert names == [r.name for r in analysis.layers]  # folding loses nothing
    for row, cells in zip(analysis.layers, first_lines):
        got = dict(zip(headers(out), cells))
        assert got["Params"] == human(row.params) and got["MACs"] == human(row.macs)


def test_fold_prefers_dots_and_cuts_what_it_must():
    assert fold("features.denseblock4.denselayer16.conv2", 20) == ["features.", "denseblock4.", "denselayer16.conv2"]
    assert fold("4.depthwise", 8) == ["4.depthw", "ise"]
    assert fold("Conv2d", 8) == ["Conv2d"]


# ------------------------------------------------------------------ golden tables

@pytest.mark.parametrize("name", ["chain", "upsample", "deep"])
@pytest.mark.parametrize("width", [80, 120])
def test_golden_terminal_tables(name, width):
    out = render(NAMED[name], width)
    golden = GOLDEN / f"table_{name}_{width}.txt"
    if os.environ.get("CONVCALC_REGEN_GOLDEN"):
        golden.write_text(out)
    assert out == golden.read_text()


@pytest.mark.parametrize("width", [50, 60, 80, 120, None])
@pytest.mark.parametrize("name", ["chain", "upsample"])
def test_rows_are_what_richs_table_prints_for_the_same_widths(name, width):
    """The rows are written directly for speed; they must still be rich's table, line for line
    (folding included, for texts without dots: rich folds anywhere, Name folds after a dot)."""
    analysis = NAMED[name]
    layout = choose(analysis, width, cell_len)
    table = Table(title=f"input {list(analysis.input_shape)} ({analysis.dtype})", title_justify="left",
                  show_footer=True)
    for column, header, foot, w in zip(layout.columns, layout.headers, layout.footers, layout.widths):
        table.add_column("\n".join(header), footer=foot, justify=column.align.value, width=w, overflow="fold")
    for r in range(len(analysis.layers)):
        table.add_row(*(cells[r] for cells in layout.cells))
    buffer = io.StringIO()
    Console(file=buffer, width=max(width or 250, layout.width), color_system=None).print(table)
    expected = [line.rstrip() for line in buffer.getvalue().splitlines()]
    got = [line.rstrip() for line in render(analysis, width).splitlines()][:len(expected)]
    assert got == expected


# ------------------------------------------------------------------ speed

def test_ten_thousand_rows_render_in_seconds():
    analysis = convcalc.analyze(["Conv2d(8, 8, 3, padding=1)", "BatchNorm2d(8)", "ReLU()", "Dropout(0.1)"] * 2500,
                                "1x8x32x32")
    for width in (80, None):  # rich's Table took 9-25 s for either
        start = time.perf_counter()
        out = render(analysis, width)
        assert time.perf_counter() - start < 6
        assert len(body(out)) == 10_000


# ------------------------------------------------------------------ receptive fields

def test_receptive_field_after_up_sampling_is_unambiguous():
    out = render(NAMED["upsample"], None)
    rows = [dict(zip(headers(out), cells)) for cells in body(out)]
    # Conv2d(k=3, p=1): size 3, stride 1, start -1
    assert (rows[0]["RF size"], rows[0]["RF stride"], rows[0]["RF start"]) == ("3×3", "1×1", "-1,-1")
    # ConvTranspose2d(k=1, s=2, p=1): each output unit sees at most one position, and output unit 0
    # lies in the cropped padding: no input reaches it
    assert (rows[1]["RF size"], rows[1]["RF stride"], rows[1]["RF start"]) == ("3×3", "1/2×1/2", "none")
    assert rows[2]["RF stride"] == "1/4×1/4"  # nearest Upsample x2 halves it again
    total = dict(zip(headers(out), footer(out)))
    assert [total[k] for k in ("RF size", "RF stride", "RF start")] == [rows[-1][k] for k in
                                                                        ("RF size", "RF stride", "RF start")]
    assert total["Name"] == "Total" and total["Type"] == "4 layers"


# ------------------------------------------------------------------ memory totals

def test_memory_totals_as_torchinfo_defines_them(capsys):
    main(["shape", "Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)", "ReLU()",
          "-i", "1,3,224,224", "-f", "json"])
    doc = json.loads(capsys.readouterr().out)
    total = doc["total"]
    params = 64 * 3 * 7 * 7
    assert total["param_bytes"] == params * 4 == 37632  # CONTRACT section 4's example
    assert total["input_bytes"] == 1 * 3 * 224 * 224 * 4
    assert total["activation_bytes"] == total["output_bytes"] == 2 * (64 * 112 * 112 * 4)
    assert total["total_bytes"] == total["input_bytes"] + total["param_bytes"] + total["activation_bytes"]


def test_memory_totals_follow_the_dtype(capsys):
    main(["shape", "Conv2d(3, 8, 3)", "-i", "1x3x10x10", "-f", "json", "--dtype", "float16"])
    total = json.loads(capsys.readouterr().out)["total"]
    assert total["param_bytes"] == (8 * 3 * 3 * 3 + 8) * 2 and total["input_bytes"] == 3 * 10 * 10 * 2
    main(["shape", "Conv2d(3, 8, 3, dtype=torch.float64)", "-i", "1x3x10x10", "-f", "json"])
    total = json.loads(capsys.readouterr().out)["total"]
    assert total["param_bytes"] == (8 * 3 * 3 * 3 + 8) * 8  # the layer's own dtype
    assert total["input_bytes"] == 3 * 10 * 10 * 4  # the input tensor: --dtype's


def test_memory_block_under_the_table():
    analysis = NAMED["chain"]
    out = render(analysis, 80)
    t = analysis.total
    params = 16 * 3 * 3 * 3 + 2 * 16 + 16 * 3 * 3 + (32 * 16 + 32) + (10 * 32 + 10)
    assert t.params == params
    lines = out.split("└")[-1].splitlines()[1:]
    assert re.match(rf"Parameter memory +{re.escape(human_bytes(params * 4))}  \({params:,} parameters\)$", lines[0])
    assert re.match(rf"Input size +{re.escape(human_bytes(2 * 3 * 64 * 64 * 4))}  ", lines[1])
    assert re.match(rf"Activation memory +{re.escape(human_bytes(t.output_bytes))}  ", lines[2])
    assert re.match(rf"Estimated total +{re.escape(human_bytes(t.total_bytes))}  ", lines[3])


# ------------------------------------------------------------------ the real command line

def run_in_terminal(*argv: str, columns: int = 80) -> str:
    """`convcalc` as a terminal of `columns` runs it (rich reads TTY_COMPATIBLE and COLUMNS)."""
    env = {**os.environ, "TTY_COMPATIBLE": "1", "COLUMNS": str(columns), "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "convcalc", *argv], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return re.sub(r"\x1b\[[0-9;]*m", "", done.stdout)


def test_cli_in_an_80_column_terminal():
    layers, shape = CHAIN
    out = run_in_terminal("shape", *layers, "-i", shape)
    assert max(cell_len(line) for line in out.splitlines()) <= 80 and "…" not in out
    assert "Columns left out: FLOPs, Memory, RF stride, RF start (--wide shows all)" in out
    wide = run_in_terminal("shape", *layers, "-i", shape, "--wide")
    assert headers(wide) == [c.title for c in COLUMNS]
