"""`convcalc summary NET.yaml --format json` against network size: linear growth.

Writes specs of N and 2N layers of three kinds and times the whole command in this
process (reading the YAML, expanding, the walk, the JSON), the best CPU time of a few
runs, alternating the sizes so machine load affects both alike; prints each time, the
ratio (2.0 is linear) and the share of the time each stage takes for the larger spec.
Then runs the largest spec once as a fresh process, as a user would (wall time,
interpreter start included).

    python benchmarks/network.py [--layers 5000] [--runs 3]

Kinds of spec:
  flat      one layer expression per line (BatchNorm, ReLU, Conv repeated)
  residual  mapping entries with names, a residual Add every third entry (a DAG)
  blocks    a residual block defined once and used N/4 times (`repeat`)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from convcalc.cli import main  # noqa: E402


def flat(n: int) -> str:
    cycle = ["BatchNorm2d(16)", "ReLU()", "Conv2d(16, 16, 3, padding=1)"]
    lines = ["name: flat", "input: [1, 16, 32, 32]", "layers:"]
    lines += [f"  - {cycle[i % 3]}" for i in range(n)]
    return "\n".join(lines) + "\n"


def residual(n: int) -> str:
    lines = ["name: residual", "input: [1, 16, 32, 32]", "layers:"]
    for i in range(n):
        if i % 3 == 2:
            lines.append(f"  - {{name: add{i}, layer: Add(), from: [-1, -3]}}")
        else:
            lines.append(f"  - {{name: conv{i}, layer: 'Conv2d(16, 16, 3, padding=1)'}}")
    return "\n".join(lines) + "\n"


def blocks(n: int) -> str:
    return "\n".join([
        "name: blocks", "input: [1, 16, 32, 32]",
        "blocks:",
        "  Res:",
        "    params: [c]",
        "    layers:",
        "      - {name: conv, layer: 'Conv2d({c}, {c}, 3, padding=1, bias=False)'}",
        "      - {name: bn, layer: 'BatchNorm2d({c})'}",
        "      - {name: add, layer: Add(), from: [-1, input]}",
        "      - {name: relu, layer: ReLU()}",
        "layers:",
        f"  - {{name: body, layer: 'Res(16)', repeat: {n // 4}}}",
    ]) + "\n"


KINDS = {"flat": flat, "residual": residual, "blocks": blocks}


def cpu(argv: list[str]) -> float:
    sink = io.StringIO()
    start = time.process_time()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(io.StringIO()):
        code = main(argv)
    spent = time.process_time() - start
    assert code == 0, sink.getvalue()[:500]
    return spent


def stages(path: str) -> dict[str, float]:
    from convcalc.analysis import walk
    from convcalc.network import build, load
    from convcalc.network.result import NetworkAnalysis

    times = {}
    t = time.process_time()
    spec = load(path)
    times["read YAML"], t = time.process_time() - t, time.process_time()
    network = build(spec)
    times["expand"], t = time.process_time() - t, time.process_time()
    analysis = walk(network.graph)
    times["walk"], t = time.process_time() - t, time.process_time()
    NetworkAnalysis(analysis, network).to_json()
    times["JSON"] = time.process_time() - t
    return times


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sizes = (args.layers, 2 * args.layers)
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for kind, make in KINDS.items():
            for n in sizes:
                paths[kind, n] = os.path.join(tmp, f"{kind}{n}.yaml")
                Path(paths[kind, n]).write_text(make(n), encoding="utf-8")
        for kind in KINDS:
            best: dict[int, float] = {}
            for _ in range(args.runs):
                for n in sizes:
                    t = cpu(["summary", paths[kind, n], "--format", "json"])
                    best[n] = min(best.get(n, t), t)
            small, large = sizes
            share = stages(paths[kind, large])
            total = sum(share.values())
            parts = ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in share.items())
            print(f"{kind:8s} {small:,} layers {best[small]:.3f} s, {large:,} layers {best[large]:.3f} s "
                  f"(ratio {best[large] / best[small]:.2f}; linear is 2.00) — {parts}")
        path = paths["flat", sizes[1]]
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "convcalc", "summary", path, "--format", "json"],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wall = time.perf_counter() - start
        assert proc.returncode == 0, proc.stderr.decode()[:500]
        print(f"a fresh `convcalc summary` of the {sizes[1]:,}-layer flat spec, --format json: {wall:.2f} s wall")


if __name__ == "__main__":
    main_()
