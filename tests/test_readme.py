"""The README's command examples are run, and what they print is what the README shows.

A fenced block whose lines start with `$ convcalc` holds commands (a trailing `\\`
continues one) each followed by its expected output, stdout and stderr together as a
terminal shows them. `CONVCALC_REGEN_README=1` rewrites the outputs from a real run
(then read the diff before committing it).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)


def examples(text: str) -> list[tuple[str, str, int, int]]:
    """(command, expected output, start, end offsets of that output in the README)."""
    found = []
    for block in FENCE.finditer(text):
        body, base = block.group(1), block.start(1)
        if not body.startswith("$ convcalc"):
            continue
        starts = [m.start() for m in re.finditer(r"^\$ ", body, re.M)] + [len(body)]
        for a, b in zip(starts, starts[1:]):
            chunk = body[a:b]
            lines = chunk.split("\n")
            command = lines[0][2:]
            i = 1
            while command.endswith("\\"):
                command = command[:-1] + " " + lines[i].strip()
                i += 1
            head = len("\n".join(lines[:i])) + 1
            found.append((command, chunk[head:], base + a + head, base + b))
    return found


def run(command: str) -> str:
    argv = shlex.split(command)
    assert argv[0] == "convcalc"
    env = dict(os.environ, COLUMNS="200")
    proc = subprocess.run([sys.executable, "-m", "convcalc", *argv[1:]], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc.stdout


EXAMPLES = examples(README.read_text(encoding="utf-8"))


def test_the_readme_has_examples():
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("command, expected, start, end", EXAMPLES, ids=[e[0][:60] for e in EXAMPLES])
def test_readme_example(command, expected, start, end):
    assert run(command) == expected


def test_regenerate():  # CONVCALC_REGEN_README=1 python -m pytest tests/test_readme.py
    if not os.environ.get("CONVCALC_REGEN_README"):
        pytest.skip("set CONVCALC_REGEN_README=1 to rewrite the README's example outputs")
    text = README.read_text(encoding="utf-8")
    for command, _, start, end in reversed(examples(text)):
        text = text[:start] + run(command) + text[end:]
    README.write_text(text, encoding="utf-8")
