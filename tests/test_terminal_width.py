"""Every command's output in a real 80-column terminal (a pseudo-terminal, COLUMNS=80):
no line longer than 80 characters, so the terminal never breaks one mid-word.  Prose is
folded at words with a hanging indent; solve's table puts each spec under its row;
verify's table keeps a ConvTranspose2d type whole.  Pipes still get unfolded lines."""
from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from convcalc.render.wrap import fold

ROOT = Path(__file__).parent.parent
CT = "ConvTranspose2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2), output_padding=(1, 0), dilation=(2, 3))"
COMMANDS = [
    ["solve", "ConvTranspose2d(64, 32, k=?, s=2, p=?, op=?)", "-i", "1,64,16,16", "-o", "1,32,32,32"],
    ["verify", "Conv2d(3, 16, 3, stride=2, padding=1)", "ConvTranspose2d(16, 8, 4, stride=2, padding=1)",
     "Linear(32, 10)", "-i", "1x3x32x32"],
    ["explain", CT, "-i", "1x16x50x100"],
    ["compare", "examples/dcgan_generator.yaml"],
    ["shape", "DeformConv2d(64, 64, 3, padding=1)", "-i", "1x64x56x56"],
    ["summary", "examples/tiny_resnet.yaml"],
    ["draw", "ConvTranspose2d(1, 1, 3, stride=2)", "-i", "1x1x3x3"],
    ["draw", "examples/tiny_resnet.yaml", "--rf", "layer2"],
    ["draw", "Conv2d(1, 1, 3)", "-i", "1x1x1000x1000", "-o", "{tmp}/f.svg"],
]


def in_terminal(args: list[str]) -> str:
    """stdout and stderr of `convcalc ARGS` on one 80-column pseudo-terminal."""
    main, sub = pty.openpty()
    env = {**os.environ, "COLUMNS": "80", "LINES": "50", "TERM": "xterm"}
    proc = subprocess.Popen([sys.executable, "-m", "convcalc", *args], cwd=ROOT, stdout=sub, stderr=sub,
                            stdin=subprocess.DEVNULL, env=env)
    os.close(sub)
    chunks = []
    while True:
        ready, _, _ = select.select([main], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(main, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(60)
    os.close(main)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2])[:40])
def test_no_line_is_wider_than_the_terminal(args, tmp_path):
    import re
    text = in_terminal([a.replace("{tmp}", str(tmp_path)) for a in args])
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)  # colours
    lines = text.replace("\r\n", "\n").split("\n")
    assert len(lines) > 3
    assert max(len(line) for line in lines) <= 80, max(lines, key=len)
    if args[0] == "verify":
        assert "│ ConvTranspose2d │" in text  # whole, not folded into three rows
    if args[0] == "compare":  # names shown (rich once squeezed Name and Type to nothing), MACs rounded
        assert "│ up1.0" in text and "134 M!" in text and "rounded to fit" in text


def test_fold_breaks_at_words_with_a_hanging_indent():
    line = "    FLOPs = 2×MACs + output_elements = 2×39600000 + 342144 = 79,542,144  (2 per MAC, plus one"
    assert fold(line, 60).split("\n") == ["    FLOPs = 2×MACs + output_elements = 2×39600000 + 342144 =",
                                          "      79,542,144  (2 per MAC, plus one"]
    assert fold(line, None) == line and fold("short", 60) == "short"


def test_pipes_get_every_warning_on_one_line():
    proc = subprocess.run([sys.executable, "-m", "convcalc", "shape", "DeformConv2d(64, 64, 3, padding=1)", "-i",
                           "1x64x56x56"], cwd=ROOT, capture_output=True, text=True, env={**os.environ, "COLUMNS": "80"})
    assert all(line.startswith("warning: ") for line in proc.stderr.splitlines())
    assert max(map(len, proc.stderr.splitlines())) > 80


def test_compare_renders_ten_thousand_rows_in_seconds():
    """compare's table is laid out as strings (rich's Table took about 29 s for these rows)."""
    import io
    import time

    from rich.console import Console

    from convcalc.analysis.compare import compare
    from convcalc.api import chain_graph
    from convcalc.render.compare import print_comparison

    comparison = compare(chain_graph(["ConvTranspose2d(8, 8, 3, padding=1)", "BatchNorm2d(8)"] * 5000, (1, 8, 16, 16)))
    for terminal in (True, False):
        buffer = io.StringIO()
        start = time.perf_counter()
        print_comparison(comparison, Console(file=buffer, width=80, force_terminal=terminal, color_system=None))
        assert time.perf_counter() - start < 6
        lines = buffer.getvalue().splitlines()
        assert sum(line.startswith("│") for line in lines) >= 10_001  # every layer and the total
        assert (max(map(len, lines)) <= 80) is terminal
