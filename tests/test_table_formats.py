"""CONTRACT section 3: every command that prints a table takes --format
table|json|csv|markdown.  shape and summary have had all four; verify, solve and compare
print tables too, so their csv and markdown documents are checked here against their JSON."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
COMMANDS = {
    "verify": ["verify", "Conv2d(3, 16, 3, stride=2)", "ReLU()", "-i", "1x3x9x9"],
    "solve": ["solve", "Conv2d(3, 16, k=?, s=?, p=?)", "-i", "1x3x64x64", "-o", "1x16x32x32"],
    "compare": ["compare", "ConvTranspose2d(64, 32, 4, stride=2, padding=1)", "ReLU()", "-i", "1x64x16x16"],
}


def cli(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "convcalc", *args], cwd=ROOT, capture_output=True, text=True)


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown"])
def test_every_table_command_takes_every_format(command, fmt):
    proc = cli(COMMANDS[command] + ["--format", fmt])
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert proc.stdout.strip()


def _json(command):
    return json.loads(cli(COMMANDS[command] + ["-f", "json"]).stdout)


def test_verify_csv_and_markdown_hold_the_json_numbers():
    doc = _json("verify")
    rows = list(csv.DictReader(io.StringIO(cli(COMMANDS["verify"] + ["-f", "csv"]).stdout)))
    assert [int(r["macs_analysed"]) for r in rows] == [layer["macs"] for layer in doc["layers"]]
    assert [r["output_shape"] for r in rows] == ["x".join(map(str, layer["output_shape"])) for layer in doc["layers"]]
    assert all(r["shape_ok"] == "true" and r["macs_ok"] == "true" for r in rows)
    md = cli(COMMANDS["verify"] + ["-f", "markdown"]).stdout.splitlines()
    assert md[0].startswith("| # | Name") and len([m for m in md if m.startswith("| ")]) == 2 + len(rows)
    assert "6,912" in md[2]


def test_solve_csv_and_markdown_list_the_json_solutions():
    doc = _json("solve")
    rows = list(csv.DictReader(io.StringIO(cli(COMMANDS["solve"] + ["-f", "csv"]).stdout)))
    assert [(int(r["kernel_size"]), int(r["stride"]), int(r["padding"]), r["spec"]) for r in rows] == \
        [(s["kernel_size"], s["stride"], s["padding"], s["spec"]) for s in doc]
    md = cli(COMMANDS["solve"] + ["-f", "markdown"]).stdout.splitlines()
    assert md[0] == "| # | kernel_size | stride | padding | spec | marks |" and len(md) == 2 + len(doc)


def test_solve_without_solutions_is_exit_1_in_every_format():
    for fmt in ("csv", "markdown"):
        proc = cli(["solve", "Conv2d(3, 16, k=?)", "-i", "1x3x8x8", "-o", "1x16x32x32", "-f", fmt])
        assert proc.returncode == 1 and proc.stderr.count("\n") == 1


def test_compare_csv_holds_the_json_counts():
    doc = _json("compare")
    rows = list(csv.DictReader(io.StringIO(cli(COMMANDS["compare"] + ["-f", "csv"]).stdout)))
    assert [r["name"] for r in rows] == [layer["name"] for layer in doc["layers"]] + ["total"]
    for r, layer in zip(rows, doc["layers"]):
        assert {c: int(r[c]) for c in doc["conventions"]} == layer["macs"]
